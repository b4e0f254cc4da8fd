/// A problem with something the user supplied (a flag, a file, a value).
///
/// Its description is one line that names the bad value and says what is allowed; the CLI
/// prints it and exits with status 2 without writing any output file.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    /// Line breaks (which can come from quoted user input) are shown as "\n", so the message
    /// stays one line.
    public init(_ message: String) { self.message = InputError.oneLine(message) }

    static func oneLine(_ s: String) -> String {
        s.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }
    public var description: String { message }

    /// "NAME 'VALUE' is not allowed: REASON", or just REASON when `name` is empty (a flag
    /// parser's caller already names the flag and the value).
    public static func notAllowed(_ name: String, _ value: String, _ reason: String) -> InputError {
        InputError(name.isEmpty ? reason : "\(name) '\(value)' is not allowed: \(reason)")
    }
}

/// A numerical computation that could not deliver a trustworthy answer.
public struct NumericalError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = InputError.oneLine(message) }
    public var description: String { message }
}

extension Double {
    /// Shortest representation that reads back to the same Double ("0.1", "1e-12", "nan").
    /// Swift's `description` is deterministic and round-trips, which keeps CSV and JSON
    /// byte-identical across runs.
    var exactText: String { description }
}

enum Check {
    /// Throws an `InputError` unless `value` is finite.
    static func finite(_ value: Double, _ name: String) throws {
        guard value.isFinite else {
            throw InputError("\(name) = \(value) is not allowed: it must be a finite number")
        }
    }

    static func positive(_ value: Double, _ name: String) throws {
        guard value.isFinite, value > 0 else {
            throw InputError("\(name) = \(value) is not allowed: it must be a finite number > 0")
        }
    }

    static func nonNegative(_ value: Double, _ name: String) throws {
        guard value.isFinite, value >= 0 else {
            throw InputError("\(name) = \(value) is not allowed: it must be a finite number >= 0")
        }
    }
}

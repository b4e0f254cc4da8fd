import Foundation

/// The JSON manifest written beside every CSV: what produced it, with which configuration.
///
/// Deliberately free of timestamps and host names so that the same configuration gives the same
/// bytes; the commit is the one ccsim was built from.
public struct Manifest: Codable, Sendable {
    public var tool = "ccsim"
    public var version = CrossClassLibrary.version
    public var commit: String
    public var command: String
    public var gsl: String
    public var output: String
    public var configuration: [String: JSONValue]
    public var notes: [String]

    public init(command: String, output: String, configuration: [String: JSONValue], notes: [String] = []) {
        self.command = command
        self.output = (output as NSString).lastPathComponent
        self.configuration = configuration
        self.notes = notes
        self.commit = Manifest.currentCommit
        self.gsl = GSLVersion.string
    }

    /// Path of the manifest that belongs to an output: "x.csv" -> "x.manifest.json" (the
    /// extension, if any, is replaced, so the name is never doubled: "s.json" ->
    /// "s.manifest.json").
    public static func path(for output: String) -> String {
        let (directory, name) = OutputTarget.split(output)
        var stem = name
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { stem = String(name[..<dot]) }
        let file = stem + ".manifest.json"
        return output.contains("/") ? (directory == "/" ? "/" : directory + "/") + file : file
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// The commit ccsim was built from (embedded at build time); $CCSIM_COMMIT overrides it
    /// (scripts/regenerate-results pins it so manifests do not change with every commit).
    static let currentCommit: String = {
        if let env = ProcessInfo.processInfo.environment["CCSIM_COMMIT"], !env.isEmpty { return env }
        return CrossClassLibrary.commit
    }()
}

/// A JSON value for free-form configuration in manifests and command output.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(_ d: Double?) { self = d.map { .number($0) } ?? .null }
    public init(_ s: String) { self = .string(s) }
    public init(_ i: Int) { self = .number(Double(i)) }
    public init(_ b: Bool) { self = .bool(b) }
    public init(_ a: [Double]) { self = .array(a.map { .number($0) }) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            // JSON has no NaN/inf; they never belong in results, so make them visible as null.
            if d.isFinite {
                if d == d.rounded(), abs(d) < 1e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
            } else { try c.encodeNil() }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Compact, key-sorted JSON text (one line).
    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "null"
    }
}

enum GSLVersion {
    static var string: String { GSLInfo.version }
}

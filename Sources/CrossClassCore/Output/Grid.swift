/// A list of parameter values from text: "start:stop:step" (inclusive of stop when it falls on
/// the grid, to within 1e-9 of a step), a comma list "0.1,0.2,0.35", or a single number.
public struct Grid: Sendable, Equatable, Codable {
    public let values: [Double]
    public let text: String

    public static let maxPoints = 1_000_000

    public init(values: [Double], text: String? = nil) {
        self.values = values
        self.text = text ?? values.map(\.description).joined(separator: ",")
    }

    /// Parses `raw`; with `range`, every point must lie in it (one message names the first
    /// that does not).
    public static func parse(_ raw: String, name: String, range: ParameterRange) throws -> Grid {
        let grid = try parse(raw, name: name)
        for v in grid.values { try range.check(v, name: name.isEmpty ? "entry" : "\(name) entry") }
        return grid
    }

    public static func parse(_ raw: String, name: String) throws -> Grid {
        let text = raw.trimmingCharacters(in: .whitespaces)
        func fail(_ reason: String) -> InputError { InputError.notAllowed(name, String(raw.prefix(60)), reason) }
        guard !text.isEmpty, text.count <= 100_000 else {
            throw fail("give start:stop:step, a comma list, or a number")
        }
        if text.contains(":") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard parts.count == 3, let a = Double(parts[0]), let b = Double(parts[1]), let h = Double(parts[2]),
                  a.isFinite, b.isFinite, h.isFinite
            else {
                throw fail("a range is start:stop:step with three finite numbers")
            }
            guard h > 0 else {
                throw fail("step \(h) must be > 0")
            }
            guard b >= a else {
                throw fail("stop \(b) is below start \(a); stop must be >= start")
            }
            let count = ((b - a) / h + 1e-9).rounded(.down) + 1
            guard count <= Double(maxPoints) else {
                throw fail("it has \(count) points; at most \(maxPoints) are allowed")
            }
            // Values computed as start + i * step (no accumulated rounding), then rounded to
            // 12 significant decimals so that 0.1 * 3 prints as 0.3.
            let values = (0..<Int(count)).map { i in Self.tidy(a + Double(i) * h) }
            return Grid(values: values, text: text)
        }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maxPoints else {
            throw fail("it has \(parts.count) points; at most \(maxPoints) are allowed")
        }
        var values: [Double] = []
        for p in parts {
            let t = p.trimmingCharacters(in: .whitespaces)
            guard let v = Double(t), v.isFinite else {
                throw fail("entry '\(t.prefix(40))' is not a finite number; entries must be finite numbers")
            }
            values.append(v)
        }
        return Grid(values: values, text: text)
    }

    public static func tidy(_ x: Double) -> Double {
        if x == 0 { return 0 }
        let digits = 12 - Int((abs(x)).log10.rounded(.down))
        guard digits > 0 && digits < 300 else { return x }
        let scale = pow10(digits)
        let r = (x * scale).rounded() / scale
        return abs(r - x) <= 1e-9 * max(abs(x), 1e-300) ? r : x
    }

    static func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= 10 }
        return r
    }
}

private extension Double {
    var log10: Double { Foundation.log10(self) }
}

import Foundation

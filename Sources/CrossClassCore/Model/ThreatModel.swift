/// The adversary's norm ball.
public enum Norm: String, Sendable, Codable, CaseIterable {
    case linf
    case l2

    /// Dual norm of `v`: l1 for l_inf, l2 for l2. `max_{||d|| <= eps} w.d = eps * dual(w)`.
    @inline(__always)
    public func dual<C: Collection>(_ v: C) -> Double where C.Element == Double {
        switch self {
        case .linf: return v.reduce(0) { $0 + abs($1) }
        case .l2: return v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }

    public static func parse(_ text: String) throws -> Norm {
        switch text.lowercased() {
        case "linf", "l_inf", "inf", "l-inf": return .linf
        case "l2", "l_2", "2": return .l2
        default: throw InputError("--norm '\(text)' is unknown: use linf or l2")
        }
    }
}

/// An l_inf or l_2 ball of radius eps around each input.
public struct ThreatModel: Sendable, Equatable, Codable {
    public let norm: Norm
    public let eps: Double

    public init(norm: Norm, eps: Double) throws {
        guard eps.isFinite, eps >= 0 else {
            throw InputError("eps = \(eps) is not allowed: it must be a finite number >= 0")
        }
        self.norm = norm
        self.eps = eps
    }

    /// No adversary (natural accuracy).
    public static let none = try! ThreatModel(norm: .linf, eps: 0)
}

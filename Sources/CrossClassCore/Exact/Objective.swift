import Foundation

/// The adversarial-training objectives of THEORY.md section 4.3, as losses of the margin
/// vector d = (z_y - z_k)_{k != y} (every loss here ignores a constant added to all logits).
public enum Objective: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Softmax cross-entropy.
    case ce
    /// Label-smoothed cross-entropy: target 1 - alpha on y, alpha / (K - 1) elsewhere.
    case ls(alpha: Double)
    /// Maximise E[min_k m_k] (robust margins) at ||(w1, w2)||_2 = 1; as a loss: -min_k m_k.
    case worstMargin
    /// (kappa - min_k m_k)_+ at a fixed scale.
    case hinge(kappa: Double)
    /// 1 - robust accuracy (scale-free).
    case zeroOne
    /// Natural CE + beta * max_delta KL(p(x) || p(x + delta)).
    case trades(beta: Double)

    /// Parses "ce", "ls:0.1", "worst-margin", "hinge:1", "zero-one", "trades:6" (defaults:
    /// ls 0.1, hinge 1, trades 6).
    public static func parse(_ text: String) throws -> Objective {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        func parameter(_ label: String, default value: Double, range: ParameterRange) throws -> Double {
            guard parts.count == 2 else { return value }
            return try range.check(parts[1], name: "objective '\(text)': \(label)")
        }
        switch name {
        case "ce", "cross-entropy":
            guard parts.count == 1 else { throw InputError("objective '\(text)': ce takes no parameter") }
            return .ce
        case "ls", "label-smoothing": return .ls(alpha: try parameter("alpha", default: 0.1, range: .smoothing))
        case "worst-margin", "margin":
            guard parts.count == 1 else { throw InputError("objective '\(text)': worst-margin takes no parameter") }
            return .worstMargin
        case "hinge": return .hinge(kappa: try parameter("kappa", default: 1, range: .marginParameter))
        case "zero-one", "01", "0-1":
            guard parts.count == 1 else { throw InputError("objective '\(text)': zero-one takes no parameter") }
            return .zeroOne
        case "trades": return .trades(beta: try parameter("beta", default: 6, range: .marginParameter))
        default:
            throw InputError("objective '\(text)' is unknown: use ce, ls[:alpha], worst-margin, hinge[:kappa], zero-one, trades[:beta]")
        }
    }

    public var description: String {
        switch self {
        case .ce: return "ce"
        case .ls(let a): return "ls:\(a)"
        case .worstMargin: return "worst-margin"
        case .hinge(let k): return "hinge:\(k)"
        case .zeroOne: return "zero-one"
        case .trades(let b): return "trades:\(b)"
        }
    }

    /// Losses of the robust margins m_k = d_k - eps ||w_y - w_k||_*: the inner maximum is
    /// closed-form (each margin's own worst case), for either norm.
    public var isMarginBased: Bool {
        switch self {
        case .worstMargin, .hinge, .zeroOne: return true
        case .ce, .ls, .trades: return false
        }
    }

    /// Non-increasing in every margin: the adversary then wants every margin as low as
    /// possible, and a componentwise-lowest vertex, when one exists, is the maximiser.
    public var isMonotone: Bool {
        switch self {
        case .ce, .worstMargin, .hinge, .zeroOne: return true
        case .ls, .trades: return false
        }
    }

    /// The objective's natural scale convention.
    public var defaultScale: ScaleMode {
        switch self {
        case .ce, .ls, .trades: return .free
        case .worstMargin, .hinge: return .fixed(1)
        case .zeroOne: return .fixed(1)
        }
    }
}

/// How the size of W is set when optimising over the symmetric family.
public enum ScaleMode: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Minimise over all (w1, w2) >= 0.
    case free
    /// ||(w1, w2)||_2 = s.
    case fixed(Double)
    /// Add (lambda / 2) ||W||_F^2 of the full K x d matrix; scale free.
    case weightDecay(Double)
    /// Add (lambda / 2) ||W - 1 mean(W)||_F^2: the penalty on the column-centred W. Softmax
    /// losses ignore a vector added to every row, so weight decay in training drives that
    /// component to zero; this is the convention that matches a trained model.
    case centeredWeightDecay(Double)

    public var description: String {
        switch self {
        case .free: return "free"
        case .fixed(let s): return "scale=\(s)"
        case .weightDecay(let l): return "weight-decay=\(l)"
        case .centeredWeightDecay(let l): return "centred-weight-decay=\(l)"
        }
    }
}

/// Loss functions of margin vectors (d_k = z_y - z_k for the m = K - 1 other classes).
enum MarginLoss {
    /// log(1 + sum_k exp(-d_k)), computed without overflow.
    @inline(__always)
    static func ce(_ d: UnsafePointer<Double>, _ m: Int) -> Double {
        var top = 0.0
        for k in 0..<m where -d[k] > top { top = -d[k] }
        var s = exp(-top)
        for k in 0..<m { s += exp(-d[k] - top) }
        return top + log(s)
    }
}

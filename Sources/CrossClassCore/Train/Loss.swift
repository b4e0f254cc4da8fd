import Foundation

/// Training losses on a batch of logits. Each returns the per-sample losses and the gradient
/// with respect to the logits, scaled by `scale` (1/n for a mean over the batch).
public enum TrainingLoss: Sendable, Equatable, Codable, CustomStringConvertible {
    case ce
    /// Label smoothing: target 1 - alpha on y, alpha / (K - 1) elsewhere.
    case ls(alpha: Double)
    /// Knowledge distillation: target (1 - weight) onehot(y) + weight softmax(teacher / T).
    case kd(temperature: Double, weight: Double)
    /// TRADES: CE(clean) + beta KL(p(clean) || p(adversarial)).
    case trades(beta: Double)
    /// Multi-class hinge on the worst margin, (kappa - min_k (z_y - z_k))_+ (with weight decay it
    /// is the trainable counterpart of the exact `hinge` / `worst-margin` objectives).
    case hinge(kappa: Double)

    public var description: String {
        switch self {
        case .ce: return "ce"
        case .ls(let a): return "ls:\(a)"
        case .kd(let t, let w): return "kd:T=\(t),weight=\(w)"
        case .trades(let b): return "trades:\(b)"
        case .hinge(let k): return "hinge:\(k)"
        }
    }

    /// The exact robust objective this loss trains towards (nil for kd, which has none).
    public var exactObjective: Objective? {
        switch self {
        case .ce: return .ce
        case .ls(let a): return .ls(alpha: a)
        case .trades(let b): return .trades(beta: b)
        case .hinge(let k): return .hinge(kappa: k)
        case .kd: return nil
        }
    }

    /// Parses "ce", "ls[:alpha]", "kd", "trades[:beta]" (kd's temperature and weight come from
    /// their own flags).
    public static func parse(_ text: String, temperature: Double = 4, kdWeight: Double = 0.9) throws -> TrainingLoss {
        let lower = text.lowercased()
        if lower == "kd" {
            guard temperature.isFinite, temperature > 0 else { throw InputError("--temperature \(temperature) is not allowed: it must be > 0") }
            guard kdWeight.isFinite, (0...1).contains(kdWeight) else { throw InputError("--kd-weight \(kdWeight) is not allowed: it must be in [0, 1]") }
            return .kd(temperature: temperature, weight: kdWeight)
        }
        switch try Objective.parse(lower) {
        case .ce: return .ce
        case .ls(let a): return .ls(alpha: a)
        case .trades(let b): return .trades(beta: b)
        case .hinge(let k): return .hinge(kappa: k)
        default:
            throw InputError("training objective '\(text)' is not allowed: use ce, ls[:alpha], kd, trades[:beta] or hinge[:kappa]")
        }
    }
}

enum BatchLoss {
    /// Row-wise log-softmax of z (n x k) into out.
    static func logSoftmax(_ z: UnsafePointer<Double>, _ n: Int, _ k: Int, _ out: UnsafeMutablePointer<Double>) {
        for i in 0..<n {
            var top = -Double.infinity
            for c in 0..<k { top = max(top, z[i * k + c]) }
            var s = 0.0
            for c in 0..<k { s += exp(z[i * k + c] - top) }
            let lse = top + log(s)
            for c in 0..<k { out[i * k + c] = z[i * k + c] - lse }
        }
    }

    /// Cross-entropy against soft targets q (n x k): loss_i = -sum_c q_ic log p_ic, and
    /// dZ = scale * (p - q).
    static func softTarget(
        logits z: UnsafePointer<Double>, targets q: UnsafePointer<Double>, n: Int, k: Int, scale: Double,
        losses: UnsafeMutablePointer<Double>, dLogits: UnsafeMutablePointer<Double>?
    ) {
        let lp = UnsafeMutablePointer<Double>.allocate(capacity: n * k)
        defer { lp.deallocate() }
        logSoftmax(z, n, k, lp)
        for i in 0..<n {
            var l = 0.0
            for c in 0..<k {
                let t = q[i * k + c]
                if t != 0 { l -= t * lp[i * k + c] }
                dLogits?[i * k + c] = scale * (exp(lp[i * k + c]) - t)
            }
            losses[i] = l
        }
    }

    /// KL(p || softmax(za)) per row with p = softmax(zc), and its gradients:
    /// dKL/dza = softmax(za) - p; dKL/dzc = p * ((log p - log q) - KL).
    static func kl(
        clean zc: UnsafePointer<Double>, adversarial za: UnsafePointer<Double>, n: Int, k: Int, scale: Double,
        losses: UnsafeMutablePointer<Double>, dClean: UnsafeMutablePointer<Double>?, dAdversarial: UnsafeMutablePointer<Double>?
    ) {
        let lc = UnsafeMutablePointer<Double>.allocate(capacity: n * k)
        let la = UnsafeMutablePointer<Double>.allocate(capacity: n * k)
        defer { lc.deallocate(); la.deallocate() }
        logSoftmax(zc, n, k, lc)
        logSoftmax(za, n, k, la)
        for i in 0..<n {
            var kl = 0.0
            for c in 0..<k { kl += exp(lc[i * k + c]) * (lc[i * k + c] - la[i * k + c]) }
            losses[i] = kl
            for c in 0..<k {
                let p = exp(lc[i * k + c])
                dAdversarial?[i * k + c] = scale * (exp(la[i * k + c]) - p)
                dClean?[i * k + c] = scale * p * ((lc[i * k + c] - la[i * k + c]) - kl)
            }
        }
    }

    /// Worst-margin hinge: loss_i = (kappa - min_{c != y} (z_y - z_c))_+ and its gradient
    /// (scale on z_c* and -scale on z_y where active).
    static func hinge(
        logits z: UnsafePointer<Double>, labels: ArraySlice<Int>, k: Int, kappa: Double, scale: Double,
        losses: UnsafeMutablePointer<Double>, dLogits: UnsafeMutablePointer<Double>?
    ) {
        for (i, y) in labels.enumerated() {
            var worst = Double.infinity, arg = -1
            for c in 0..<k where c != y {
                let m = z[i * k + y] - z[i * k + c]
                if m < worst { worst = m; arg = c }
            }
            for c in 0..<k { dLogits?[i * k + c] = 0 }
            losses[i] = max(0, kappa - worst)
            if kappa - worst > 0 {
                dLogits?[i * k + y] = -scale
                dLogits?[i * k + arg] = scale
            }
        }
    }

    /// Soft targets for ce / ls / kd.
    static func targets(
        _ loss: TrainingLoss, labels: ArraySlice<Int>, k: Int, teacherLogits: UnsafePointer<Double>?
    ) -> [Double] {
        let n = labels.count
        var q = [Double](repeating: 0, count: n * k)
        for (i, y) in labels.enumerated() {
            switch loss {
            case .ce, .trades, .hinge:
                q[i * k + y] = 1
            case .ls(let a):
                for c in 0..<k { q[i * k + c] = c == y ? 1 - a : a / Double(k - 1) }
            case .kd(let t, let w):
                // softmax(teacher / T)
                var top = -Double.infinity
                for c in 0..<k { top = max(top, teacherLogits![i * k + c] / t) }
                var s = 0.0
                for c in 0..<k { s += exp(teacherLogits![i * k + c] / t - top) }
                for c in 0..<k {
                    let soft = exp(teacherLogits![i * k + c] / t - top) / s
                    q[i * k + c] = w * soft + (c == y ? 1 - w : 0)
                }
            }
        }
        return q
    }
}

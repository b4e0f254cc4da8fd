import Foundation
import GSL

/// PGD / FGSM settings.
public struct AttackConfiguration: Sendable, Equatable, Codable {
    public var norm: Norm
    public var eps: Double
    /// Number of gradient steps (1 with stepSize = eps and no random start is FGSM).
    public var steps: Int
    public var stepSize: Double
    /// Start from a uniform point of the ball (l_inf: the box; l_2: radius eps * U^(1/d) times a
    /// uniform direction) instead of the clean input.
    public var randomStart: Bool
    /// Independent restarts (each with its own random start when `randomStart`); per sample the
    /// restart with the highest loss is kept.
    public var restarts: Int
    /// Return the iterate with the highest loss seen (true) or the last iterate (false).
    public var keepBest: Bool

    public init(norm: Norm, eps: Double, steps: Int, stepSize: Double? = nil, randomStart: Bool = true, restarts: Int = 1, keepBest: Bool = false) {
        self.norm = norm
        self.eps = eps
        self.steps = steps
        self.stepSize = stepSize ?? eps / 4
        self.randomStart = randomStart
        self.restarts = max(1, restarts)
        self.keepBest = keepBest
    }

    public static func fgsm(norm: Norm, eps: Double) -> AttackConfiguration {
        AttackConfiguration(norm: norm, eps: eps, steps: 1, stepSize: eps, randomStart: false)
    }

    public func validate() throws {
        guard eps.isFinite, eps >= 0 else { throw InputError("attack eps \(eps) is not allowed: it must be >= 0") }
        guard (0...10_000).contains(steps) else { throw InputError("--pgd-steps \(steps) is not allowed: it must be in 0...10000") }
        guard stepSize.isFinite, stepSize >= 0 else { throw InputError("--pgd-step-size \(stepSize) is not allowed: it must be >= 0") }
        guard (1...100).contains(restarts) else { throw InputError("--pgd-restarts \(restarts) is not allowed: it must be in 1...100") }
    }
}

/// What the attack maximises.
public enum AttackObjective: Sendable {
    /// Cross-entropy against soft targets (ce, ls, kd), n x K.
    case softTargets([Double])
    /// KL(softmax(clean logits) || softmax(f(x + delta))) (TRADES), clean logits n x K.
    case kl(cleanLogits: [Double])
    /// -min_{k != y} (z_y - z_k): the worst margin, pushed down (for the hinge loss, whose own
    /// gradient vanishes where it is inactive). Attacked as K - 1 targeted runs, one per wrong
    /// class, keeping the lowest margin (a single run can chase alternating classes).
    case worstMargin(labels: [Int])
    /// -(z_y - z_t) for a given target class t per sample.
    case targetedMargin(labels: [Int], targets: [Int])
}

/// Projected gradient ascent on the input, batched.
public struct PGD {
    public let configuration: AttackConfiguration

    public init(_ configuration: AttackConfiguration) { self.configuration = configuration }

    /// Adversarial versions of the first n rows of x (n x d). Returns the inputs and the
    /// per-sample loss at them.
    public func attack(
        network: Network, inputs x: [Double], count n: Int, objective: AttackObjective,
        workspace ws: Workspace, random: RandomSource
    ) -> (inputs: [Double], losses: [Double]) {
        let d = network.inputs, k = network.classes
        let c = configuration
        if c.eps == 0 || c.steps == 0 && !c.randomStart {
            let losses = Self.losses(network, x, n, objective, ws)
            return (x, losses)
        }
        if case .worstMargin(let labels) = objective {
            var best = x
            var bestLoss = [Double](repeating: -.infinity, count: n)
            for shift in 1..<k {
                let targets = labels.map { ($0 + shift) % k }
                let r = attack(network: network, inputs: x, count: n, objective: .targetedMargin(labels: labels, targets: targets),
                               workspace: ws, random: random)
                // Score every candidate by the worst margin over all classes.
                let scores = Self.losses(network, r.inputs, n, objective, ws)
                for i in 0..<n where scores[i] > bestLoss[i] {
                    bestLoss[i] = scores[i]
                    for j in 0..<d { best[i * d + j] = r.inputs[i * d + j] }
                }
            }
            return (best, bestLoss)
        }
        var bestInputs = c.restarts == 1 ? [] : x
        var bestLosses = [Double](repeating: -.infinity, count: n)
        // The iterate and the input gradient reuse the workspace's storage (taken out of it, so
        // that it is uniquely referenced once the previous attack's result has been dropped).
        var adv = ws.attackInputs
        ws.attackInputs = []
        if adv.count != x.count { adv = [Double](repeating: 0, count: x.count) }
        var gradient = ws.attackGradient
        ws.attackGradient = []
        if gradient.count != n * d { gradient = [Double](repeating: 0, count: n * d) }
        defer { ws.attackGradient = gradient }
        var dz = [Double](repeating: 0, count: n * k)
        var losses = [Double](repeating: 0, count: n)
        for _ in 0..<c.restarts {
            // adv = x, then the random start overwrites the first n rows.
            Self.copy(x, into: &adv, from: c.randomStart ? n * d : 0)
            if c.randomStart { randomStart(&adv, x, n, d, random) }
            var restartBest = c.keepBest ? adv : []
            var restartBestLoss = [Double](repeating: -.infinity, count: n)
            for step in 0...c.steps {
                // Loss and input gradient at the current iterate.
                adv.withUnsafeBufferPointer { a in network.forward(a.baseAddress!, count: n, ws) }
                Self.lossAndGradient(ws.logits, n, k, objective, &losses, &dz)
                for i in 0..<n where losses[i] > restartBestLoss[i] {
                    restartBestLoss[i] = losses[i]
                    if c.keepBest { for j in 0..<d { restartBest[i * d + j] = adv[i * d + j] } }
                }
                if step == c.steps { break }
                adv.withUnsafeBufferPointer { a in
                    dz.withUnsafeBufferPointer { g in
                        gradient.withUnsafeMutableBufferPointer { gx in
                            network.backward(a.baseAddress!, count: n, dLogits: g.baseAddress!, ws, gradient: nil, inputGradient: gx.baseAddress!)
                        }
                    }
                }
                ascend(&adv, x, gradient, n, d)
            }
            // One restart, last iterate: every finite loss beats -infinity, so the per-sample
            // selection below would copy all of adv into bestInputs; return it as it is.
            if c.restarts == 1 && !c.keepBest && !losses.contains(where: { !($0 > -.infinity) }) {
                ws.attackInputs = adv
                return (adv, losses)
            }
            if bestInputs.isEmpty { bestInputs = x }
            // Keep, per sample, the better restart.
            let final = c.keepBest ? restartBest : adv
            let finalLoss = c.keepBest ? restartBestLoss : losses
            for i in 0..<n where finalLoss[i] > bestLosses[i] {
                bestLosses[i] = finalLoss[i]
                for j in 0..<d { bestInputs[i * d + j] = final[i * d + j] }
            }
        }
        ws.attackInputs = adv
        return (bestInputs, bestLosses)
    }

    /// target[i] = source[i] for i >= start (both of the same length).
    private static func copy(_ source: [Double], into target: inout [Double], from start: Int) {
        precondition(source.count == target.count && start >= 0)
        guard start < source.count else { return }
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                (t.baseAddress! + start).update(from: s.baseAddress! + start, count: s.count - start)
            }
        }
    }

    private func randomStart(_ adv: inout [Double], _ x: [Double], _ n: Int, _ d: Int, _ random: RandomSource) {
        let eps = configuration.eps
        switch configuration.norm {
        case .linf:
            // One uniform per coordinate, in order (the same draws as an indexed loop).
            precondition(adv.count >= n * d && x.count >= n * d)
            adv.withUnsafeMutableBufferPointer { a in
                x.withUnsafeBufferPointer { xs in
                    for i in 0..<(n * d) { a[i] = xs[i] + eps * (2 * random.uniform() - 1) }
                }
            }
        case .l2:
            // Uniform in the ball: Gaussian direction, radius eps * U^(1/d).
            for i in 0..<n {
                var norm = 0.0
                var dir = [Double](repeating: 0, count: d)
                for j in 0..<d { dir[j] = random.gaussian(); norm += dir[j] * dir[j] }
                norm = norm.squareRoot()
                let radius = eps * pow(random.uniformPositive(), 1 / Double(d))
                for j in 0..<d { adv[i * d + j] = x[i * d + j] + (norm > 0 ? radius * dir[j] / norm : 0) }
            }
        }
    }

    /// One ascent step followed by projection back onto the ball around x.
    private func ascend(_ adv: inout [Double], _ x: [Double], _ g: [Double], _ n: Int, _ d: Int) {
        let eps = configuration.eps, alpha = configuration.stepSize
        switch configuration.norm {
        case .linf:
            // adv = clamp(adv + alpha sign(g), x - eps, x + eps), four lanes at a time (the
            // scalar loop's branches on the sign were a tenth of a linear training step).
            let count = n * d
            let stride = MemoryLayout<Double>.stride
            adv.withUnsafeMutableBytes { a in
                x.withUnsafeBytes { xr in
                    g.withUnsafeBytes { gr in
                        var i = 0
                        while i + 4 <= count {
                            let gv = gr.loadUnaligned(fromByteOffset: i * stride, as: SIMD4<Double>.self)
                            let xv = xr.loadUnaligned(fromByteOffset: i * stride, as: SIMD4<Double>.self)
                            var sign = SIMD4<Double>(repeating: 0)
                            sign.replace(with: 1, where: gv .> 0)
                            sign.replace(with: -1, where: gv .< 0)
                            let step = a.loadUnaligned(fromByteOffset: i * stride, as: SIMD4<Double>.self) + alpha * sign
                            // min(max(step, lo), hi) with Swift's min/max tie rules (pointwiseMin/
                            // Max are not inlined and were slower than the scalar loop).
                            let lo = xv - eps, hi = xv + eps
                            let raised = step.replacing(with: lo, where: lo .>= step)
                            let clamped = raised.replacing(with: hi, where: hi .< raised)
                            a.storeBytes(of: clamped, toByteOffset: i * stride, as: SIMD4<Double>.self)
                            i += 4
                        }
                        while i < count {
                            let s: Double = g[i] > 0 ? 1 : (g[i] < 0 ? -1 : 0)
                            let v = a.load(fromByteOffset: i * stride, as: Double.self)
                            a.storeBytes(of: min(max(v + alpha * s, x[i] - eps), x[i] + eps), toByteOffset: i * stride, as: Double.self)
                            i += 1
                        }
                    }
                }
            }
        case .l2:
            for i in 0..<n {
                var gn = 0.0
                for j in 0..<d { gn += g[i * d + j] * g[i * d + j] }
                gn = gn.squareRoot()
                var dn = 0.0
                for j in 0..<d {
                    if gn > 0 { adv[i * d + j] += alpha * g[i * d + j] / gn }
                    let delta = adv[i * d + j] - x[i * d + j]
                    dn += delta * delta
                }
                dn = dn.squareRoot()
                if dn > eps {
                    let f = eps / dn
                    for j in 0..<d { adv[i * d + j] = x[i * d + j] + f * (adv[i * d + j] - x[i * d + j]) }
                }
            }
        }
    }

    /// Per-sample loss and dLoss/dlogits (unscaled) for the attack objective.
    static func lossAndGradient(_ z: [Double], _ n: Int, _ k: Int, _ objective: AttackObjective, _ losses: inout [Double], _ dz: inout [Double]) {
        z.withUnsafeBufferPointer { zp in
            losses.withUnsafeMutableBufferPointer { l in
                dz.withUnsafeMutableBufferPointer { g in
                    switch objective {
                    case .softTargets(let q):
                        q.withUnsafeBufferPointer { qp in
                            BatchLoss.softTarget(logits: zp.baseAddress!, targets: qp.baseAddress!, n: n, k: k, scale: 1,
                                                 losses: l.baseAddress!, dLogits: g.baseAddress!)
                        }
                    case .targetedMargin(let labels, let targets):
                        for i in 0..<n {
                            let y = labels[i], t = targets[i]
                            l[i] = zp[i * k + t] - zp[i * k + y]
                            for c in 0..<k { g[i * k + c] = 0 }
                            g[i * k + y] = -1
                            g[i * k + t] = 1
                        }
                    case .worstMargin(let labels):
                        for i in 0..<n {
                            let y = labels[i]
                            var worst = Double.infinity, arg = 0
                            for c in 0..<k where c != y && zp[i * k + y] - zp[i * k + c] < worst {
                                worst = zp[i * k + y] - zp[i * k + c]; arg = c
                            }
                            l[i] = -worst
                            for c in 0..<k { g[i * k + c] = 0 }
                            g[i * k + y] = -1
                            g[i * k + arg] = 1
                        }
                    case .kl(let clean):
                        clean.withUnsafeBufferPointer { cp in
                            BatchLoss.kl(clean: cp.baseAddress!, adversarial: zp.baseAddress!, n: n, k: k, scale: 1,
                                         losses: l.baseAddress!, dClean: nil, dAdversarial: g.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    static func losses(_ network: Network, _ x: [Double], _ n: Int, _ objective: AttackObjective, _ ws: Workspace) -> [Double] {
        x.withUnsafeBufferPointer { network.forward($0.baseAddress!, count: n, ws) }
        var losses = [Double](repeating: 0, count: n)
        var dz = [Double](repeating: 0, count: n * network.classes)
        lossAndGradient(ws.logits, n, network.classes, objective, &losses, &dz)
        return losses
    }
}

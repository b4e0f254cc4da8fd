import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

/// Issue 12: the fixed-rule fast path (ce on complement(3) under l_inf: value and gradient by
/// composite Gauss-Legendre in whitened coordinates, Newton optimiser) against the adaptive
/// reference path.
@Suite("fast exact path equals the reference path")
struct FastPathTests {
    static func objective(_ model: DataModel, eps: Double, _ method: ExactMethod, tolerance: Double = 1e-11, objective: Objective = .ce) throws -> RobustObjective {
        var r = RobustObjective(model: model, threat: try ThreatModel(norm: .linf, eps: eps), objective: objective, tolerance: tolerance)
        r.method = method
        return r
    }

    @Test("ce value: fast == reference to 1e-9 on a grid of (eps, sigma/mu, scale, w2/w1), tau = 0 and tau > 0")
    func valueGrid() throws {
        var worst = 0.0
        var points = 0
        for (sigma, tau) in [(0.25, 0.0), (0.5, 0.0), (1.0, 0.0), (0.5, 0.2)] {
            let model = try DataModel.paper3(mu: 1, sigma: sigma, tau: tau)
            for eps in [0.02, 0.2, 0.35, 0.499] {
                let fast = try Self.objective(model, eps: eps, .fast)
                let reference = try Self.objective(model, eps: eps, .reference)
                for scale in [0.05, 1.0, 4.0, 12.0] {
                    for ratio in [0.0, 0.3, 1.0, 3.0] {
                        let w1 = scale / (1 + ratio * ratio).squareRoot(), w2 = ratio * w1
                        let f = try fast.evaluate(w1: w1, w2: w2)
                        let r = try reference.evaluate(w1: w1, w2: w2)
                        #expect(f.method == Estimate.Method.gaussLegendre2D && r.method != f.method)
                        #expect(f.converged && f.errorBound <= 1e-11, "sigma \(sigma) tau \(tau) eps \(eps) w (\(w1), \(w2)): error bound \(f.errorBound)")
                        let difference = abs(f.value - r.value)
                        worst = max(worst, difference)
                        points += 1
                        #expect(difference <= 1e-9, "sigma \(sigma) tau \(tau) eps \(eps) w (\(w1), \(w2)): fast \(f.value) reference \(r.value) (+- \(r.errorBound))")
                    }
                }
            }
        }
        #expect(points == 256 && worst.isFinite)
    }

    @Test("ce gradient: equals central differences of reference values (h = 1e-3, reference tolerance 1e-12)")
    func gradient() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for eps in [0.1, 0.3, 0.45] {
            let fast = try Self.objective(model, eps: eps, .fast)
            let reference = try Self.objective(model, eps: eps, .reference, tolerance: 1e-12)
            for (w1, w2) in [(3.7, 2.7), (1.0, 0.2), (0.4, 1.1)] {
                let g = try #require(fast.valueAndGradient(w1: w1, w2: w2))
                let h = 1e-3
                let d1 = (try reference.evaluate(w1: w1 + h, w2: w2).value - reference.evaluate(w1: w1 - h, w2: w2).value) / (2 * h)
                let d2 = (try reference.evaluate(w1: w1, w2: w2 + h).value - reference.evaluate(w1: w1, w2: w2 - h).value) / (2 * h)
                #expect(abs(g.gradient[0] - d1) <= 1e-6 && abs(g.gradient[1] - d2) <= 1e-6,
                        "eps \(eps) w (\(w1), \(w2)): gradient \(g.gradient) vs differences (\(d1), \(d2))")
                #expect(g.gradientError <= 1e-9)
            }
        }
        // Settings without an exact gradient path say so.
        var l2 = RobustObjective(model: model, threat: try ThreatModel(norm: .l2, eps: 0.3), objective: .ce)
        l2.method = .fast
        #expect(l2.valueAndGradient(w1: 1, w2: 1) == nil)
        var ls = RobustObjective(model: model, threat: try ThreatModel(norm: .linf, eps: 0.3), objective: .ls(alpha: 0.1))
        ls.method = .reference
        #expect(ls.valueAndGradient(w1: 1, w2: 1) == nil)
        // trades: the exact gradient against central differences of fast values (each within
        // its verified bound, ~1e-12: h = 1e-4 leaves O(h^2) ~ 1e-8 truncation).
        for (beta, eps, w1, w2) in [(1.0, 0.3, 2.28, 1.39), (6.0, 0.1, 1.0, 0.2), (6.0, 0.45, 0.4, 1.1)] {
            let trades = try Self.objective(model, eps: eps, .fast, objective: .trades(beta: beta))
            let g = try #require(trades.valueAndGradient(w1: w1, w2: w2))
            let h = 1e-4
            let d1 = (try trades.evaluate(w1: w1 + h, w2: w2).value - trades.evaluate(w1: w1 - h, w2: w2).value) / (2 * h)
            let d2 = (try trades.evaluate(w1: w1, w2: w2 + h).value - trades.evaluate(w1: w1, w2: w2 - h).value) / (2 * h)
            #expect(abs(g.gradient[0] - d1) <= 1e-6 && abs(g.gradient[1] - d2) <= 1e-6,
                    "trades:\(beta) eps \(eps) w (\(w1), \(w2)): gradient \(g.gradient) vs differences (\(d1), \(d2))")
            #expect(g.gradientError <= 1e-9)
        }
    }

    @Test("one-sided derivative at w2 = 0+: exact gradient within the reference Richardson estimate's error")
    func derivativeAtZero() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for eps in [0.1, 0.3, 0.45] {
            let threat = try ThreatModel(norm: .linf, eps: eps)
            let fast = try SymmetricOptimizer(model: model, threat: threat, objective: .ce, scale: .free)
            var reference = fast
            reference.method = .reference
            for w1 in [0.5, 2.0, 5.0] {
                let f = try fast.derivativeAtZeroEstimate(w1: w1)
                let r = try reference.derivativeAtZeroEstimate(w1: w1)
                #expect(f.errorBound <= 1e-9 && f.method == Estimate.Method.gaussLegendre2DGradient)
                #expect(abs(f.value - r.value) <= r.errorBound + 1e-9, "eps \(eps) w1 \(w1): exact \(f.value) vs Richardson \(r.value) +- \(r.errorBound)")
            }
        }
    }

    @Test("ce optimum: fast (Newton on exact gradients) == reference (simplex) at free scale, fixed scale and weight decay")
    func optimum() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let cases: [(Double, ScaleMode)] = [(0.3, .free), (0.45, .fixed(2)), (0.3, .weightDecay(0.01)), (0.49, .fixed(8))]
        for (eps, scale) in cases {
            let threat = try ThreatModel(norm: .linf, eps: eps)
            let fast = try SymmetricOptimizer(model: model, threat: threat, objective: .ce, scale: scale).solve()
            var referenceOptimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .ce, scale: scale)
            referenceOptimizer.method = .reference
            let reference = try referenceOptimizer.solve()
            #expect(fast.converged && reference.converged, "eps \(eps) \(scale): \(fast.notes) \(reference.notes)")
            #expect(fast.onBoundary == reference.onBoundary)
            // The reference simplex / Brent stop at 1e-6 in their coordinates; the fast value is
            // never worse than the reference's beyond rounding.
            #expect(abs(fast.w1 - reference.w1) <= 2e-5 * max(1, reference.w1) && abs(fast.w2 - reference.w2) <= 2e-5 * max(1, reference.w1),
                    "eps \(eps) \(scale): fast (\(fast.w1), \(fast.w2)) reference (\(reference.w1), \(reference.w2))")
            #expect(fast.value <= reference.value + 1e-11, "eps \(eps) \(scale): fast \(fast.value) reference \(reference.value)")
            #expect(abs(fast.value - reference.value) <= 1e-9)
        }
    }

    @Test("a fast free-scale optimum pinned at the lower scale bound reports converged = false")
    func pinned() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 1)
        var o = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: .linf, eps: 0.499), objective: .ce, scale: .free)
        o.smallestLogScale = -5
        let r = try o.solve()
        // F falls into the family at the pinned axis point (dF/dw2 < 0), so the interior is
        // searched too: its best point is at (or below) the same bound.
        #expect(!r.converged && 0.5 * log(r.w1 * r.w1 + r.w2 * r.w2) <= -5 + 1e-6, "\(r)")
        #expect(r.notes.contains { $0.contains("search limit") }, "\(r.notes)")
        // Inside the default range the same point is resolved.
        let resolved = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: .linf, eps: 0.499), objective: .ce, scale: .free).solve()
        let scale = 0.5 * log(resolved.w1 * resolved.w1 + resolved.w2 * resolved.w2)
        #expect(scale > -12 && scale < -5 && resolved.converged, "\(resolved)")
    }

    // MARK: ls (kinks where the best of the six vertices changes, in closed form)

    static let kinkedObjectives: [Objective] = [.ls(alpha: 0.1), .ls(alpha: 0.45)]

    @Test("ls value: fast == reference to 1e-9 on a grid of (eps, sigma/mu, scale, w2/w1), tau = 0 and tau > 0")
    func kinkedValueGrid() throws {
        struct Point: Sendable { var objective: Objective; var sigma: Double; var tau: Double; var eps: Double; var w1: Double; var w2: Double }
        var points: [Point] = []
        for objective in Self.kinkedObjectives {
            for (sigma, tau) in [(0.25, 0.0), (0.5, 0.0), (1.0, 0.2)] {
                for eps in [0.05, 0.3, 0.49] {
                    for scale in [0.3, 2.0, 8.0] {
                        for ratio in [0.0, 0.4, 2.0] {
                            let w1 = scale / (1 + ratio * ratio).squareRoot()
                            points.append(Point(objective: objective, sigma: sigma, tau: tau, eps: eps, w1: w1, w2: ratio * w1))
                        }
                    }
                }
            }
        }
        let grid = points
        let outcomes = try Parallel.map(grid) { p -> (Estimate, Estimate) in
            let model = try DataModel.paper3(mu: 1, sigma: p.sigma, tau: p.tau)
            // Fast tolerance 1e-10: its bound, not the reference difference, is what it certifies.
            let fast = try Self.objective(model, eps: p.eps, .fast, tolerance: 1e-10, objective: p.objective)
            let reference = try Self.objective(model, eps: p.eps, .reference, tolerance: 1e-11, objective: p.objective)
            return (try fast.evaluate(w1: p.w1, w2: p.w2), try reference.evaluate(w1: p.w1, w2: p.w2))
        }
        var worst = 0.0
        for (p, (f, r)) in zip(points, outcomes) {
            let label = "\(p.objective) sigma \(p.sigma) tau \(p.tau) eps \(p.eps) w (\(p.w1), \(p.w2))"
            #expect(f.method == Estimate.Method.gaussLegendre2D && r.method != f.method, "\(label): \(f.method)")
            #expect(f.converged && f.errorBound <= 1e-10, "\(label): error bound \(f.errorBound)")
            let difference = abs(f.value - r.value)
            worst = max(worst, difference)
            #expect(difference <= 1e-9, "\(label): fast \(f.value) (+- \(f.errorBound)) reference \(r.value) (+- \(r.errorBound))")
        }
        #expect(points.count == 162 && worst.isFinite)
    }

    @Test("ls gradient: equals central differences of reference values (h = 1e-3, reference tolerance 1e-12)")
    func kinkedGradient() throws {
        struct Point: Sendable { var objective: Objective; var eps: Double; var w1: Double; var w2: Double }
        var points: [Point] = []
        for objective in Self.kinkedObjectives {
            for eps in [0.1, 0.4] {
                for (w1, w2) in [(3.7, 2.7), (1.0, 0.2), (0.4, 1.1)] { points.append(Point(objective: objective, eps: eps, w1: w1, w2: w2)) }
            }
        }
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let grid = points
        let outcomes = try Parallel.map(grid) { p -> ([Double], Double, Double, Double) in
            let fast = try Self.objective(model, eps: p.eps, .fast, objective: p.objective)
            let reference = try Self.objective(model, eps: p.eps, .reference, tolerance: 1e-12, objective: p.objective)
            guard let g = fast.valueAndGradient(w1: p.w1, w2: p.w2) else { return ([], 0, 0, .infinity) }
            let h = 1e-3
            let d1 = (try reference.evaluate(w1: p.w1 + h, w2: p.w2).value - reference.evaluate(w1: p.w1 - h, w2: p.w2).value) / (2 * h)
            let d2 = (try reference.evaluate(w1: p.w1, w2: p.w2 + h).value - reference.evaluate(w1: p.w1, w2: p.w2 - h).value) / (2 * h)
            return (g.gradient, d1, d2, g.gradientError)
        }
        for (p, (g, d1, d2, error)) in zip(points, outcomes) {
            #expect(g.count == 2 && error <= 1e-9, "\(p.objective) eps \(p.eps) w (\(p.w1), \(p.w2)): gradient error \(error)")
            guard g.count == 2 else { continue }
            // Central differences: O(h^2) truncation (the third derivative is O(1) here).
            #expect(abs(g[0] - d1) <= 2e-6 && abs(g[1] - d2) <= 2e-6,
                    "\(p.objective) eps \(p.eps) w (\(p.w1), \(p.w2)): gradient \(g) vs differences (\(d1), \(d2))")
        }
    }

    @Test("ls optimum: fast (exact gradients) == reference (simplex) at free scale, fixed scale and weight decay")
    func kinkedOptimum() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let cases: [(Objective, Double, ScaleMode)] = [(.ls(alpha: 0.1), 0.3, .free), (.ls(alpha: 0.4), 0.45, .fixed(2)), (.ls(alpha: 0.2), 0.2, .weightDecay(0.01))]
        let outcomes = try Parallel.map(Array(cases.indices)) { i -> (SymmetricOptimum, SymmetricOptimum) in
            let (objective, eps, scale) = cases[i]
            let threat = try ThreatModel(norm: .linf, eps: eps)
            let fast = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: scale).solve()
            var referenceOptimizer = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: scale)
            referenceOptimizer.method = .reference
            return (fast, try referenceOptimizer.solve())
        }
        for ((objective, eps, scale), (fast, reference)) in zip(cases, outcomes) {
            let label = "\(objective) eps \(eps) \(scale)"
            #expect(fast.converged && reference.converged, "\(label): \(fast.notes) \(reference.notes)")
            #expect(fast.onBoundary == reference.onBoundary, "\(label)")
            #expect(abs(fast.w1 - reference.w1) <= 2e-5 * max(1, reference.w1) && abs(fast.w2 - reference.w2) <= 2e-5 * max(1, reference.w1),
                    "\(label): fast (\(fast.w1), \(fast.w2)) reference (\(reference.w1), \(reference.w2))")
            #expect(fast.value <= reference.value + 1e-10, "\(label): fast \(fast.value) reference \(reference.value)")
            #expect(abs(fast.value - reference.value) <= 1e-9, "\(label)")
        }
    }

    // MARK: trades (kinks are certified roots along each inner line, see FastTradesTests)

    /// 4 points in the suite (sigma = mu, tau 0.2, trades:6); 24 with CCSIM_SLOW_TESTS=1.
    @Test("trades value: fast == reference to 1e-9 on a grid of (beta, eps, sigma/mu, tau, w2/w1) at margin scale 2")
    func tradesValueGrid() throws {
        struct Point: Sendable { var beta: Double; var sigma: Double; var tau: Double; var eps: Double; var w1: Double; var w2: Double }
        var points: [Point] = []
        for beta in SlowTier.enabled ? [1.0, 6.0] : [6.0] {
            for (sigma, tau) in SlowTier.enabled ? [(0.5, 0.0), (1.0, 0.2)] : [(1.0, 0.2)] {
                for eps in SlowTier.enabled ? [0.05, 0.3, 0.49] : [0.05, 0.49] {
                    for ratio in [0.0, 0.4] {
                        let w1 = 2 / (1 + ratio * ratio).squareRoot()
                        points.append(Point(beta: beta, sigma: sigma, tau: tau, eps: eps, w1: w1, w2: ratio * w1))
                    }
                }
            }
        }
        let grid = points
        let outcomes = try Parallel.map(grid) { p -> (Estimate, Estimate) in
            let model = try DataModel.paper3(mu: 1, sigma: p.sigma, tau: p.tau)
            let fast = try Self.objective(model, eps: p.eps, .fast, tolerance: 1e-10, objective: .trades(beta: p.beta))
            let reference = try Self.objective(model, eps: p.eps, .reference, tolerance: 1e-11, objective: .trades(beta: p.beta))
            return (try fast.evaluate(w1: p.w1, w2: p.w2), try reference.evaluate(w1: p.w1, w2: p.w2))
        }
        for (p, (f, r)) in zip(points, outcomes) {
            let label = "trades:\(p.beta) sigma \(p.sigma) tau \(p.tau) eps \(p.eps) w (\(p.w1), \(p.w2))"
            #expect(f.method == Estimate.Method.gaussLegendre2D && r.method != f.method, "\(label): \(f.method)")
            #expect(f.converged && f.errorBound <= 1e-10, "\(label): error bound \(f.errorBound)")
            #expect(abs(f.value - r.value) <= 1e-9, "\(label): fast \(f.value) (+- \(f.errorBound)) reference \(r.value) (+- \(r.errorBound))")
        }
        #expect(points.count == (SlowTier.enabled ? 24 : 4))
    }

    @Test("trades optimum (free scale, fixed scale): the fast optimum's value equals the reference value there, and no reference value on a ring around it is lower")
    func tradesOptimum() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        // trades:6 at eps 0.45, free scale, in the slow tier (CCSIM_SLOW_TESTS=1).
        let cases: [(Objective, Double, ScaleMode)] = [(.trades(beta: 1), 0.3, .free), (.trades(beta: 6), 0.2, .fixed(2))]
            + (SlowTier.enabled ? [(.trades(beta: 6), 0.45, .free)] : [])
        let optima = try Parallel.map(Array(cases.indices)) { i -> SymmetricOptimum in
            let (objective, eps, scale) = cases[i]
            return try SymmetricOptimizer(model: model, threat: ThreatModel(norm: .linf, eps: eps), objective: objective, scale: scale).solve()
        }
        struct Ring: Sendable { var index: Int; var w1: Double; var w2: Double }
        var ring: [Ring] = []
        for (i, o) in optima.enumerated() {
            let size = (o.w1 * o.w1 + o.w2 * o.w2).squareRoot()
            ring.append(Ring(index: i, w1: o.w1, w2: o.w2))
            for k in 0..<8 {
                let t = Double(k) * Double.pi / 4
                var w1 = o.w1 + 0.01 * size * cos(t), w2 = max(o.w2 + 0.01 * size * sin(t), 0)
                if case .fixed(let s) = cases[i].2 {
                    // Along the arc ||w|| = s.
                    let theta = atan2(o.w2, o.w1) + 0.01 * (k < 4 ? 1 : -1) * Double(k % 4 + 1)
                    w1 = s * cos(theta); w2 = s * sin(max(theta, 0))
                }
                ring.append(Ring(index: i, w1: w1, w2: w2))
            }
        }
        let grid = ring
        let values = try Parallel.map(grid) { r -> Double in
            var reference = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: .linf, eps: cases[r.index].1), objective: cases[r.index].0, scale: cases[r.index].2)
            reference.method = .reference
            return try reference.value(w1: r.w1, w2: r.w2).value
        }
        for (i, o) in optima.enumerated() {
            let label = "\(cases[i].0) eps \(cases[i].1) \(cases[i].2)"
            #expect(o.converged && o.w1 > 0, "\(label): \(o.notes)")
            let atOptimum = zip(grid, values).first { $0.0.index == i }!.1
            #expect(abs(o.value - atOptimum) <= 1e-9, "\(label): fast \(o.value) reference \(atOptimum)")
            for (r, v) in zip(grid, values) where r.index == i {
                #expect(v >= atOptimum - 1e-12, "\(label): reference value \(v) at (\(r.w1), \(r.w2)) beats the optimum's \(atOptimum)")
            }
        }
    }

    @Test("an evaluation is converged only when its error bound is within the tolerance")
    func convergedMeansWithinTolerance() throws {
        // Margin scale ~1e6: beyond the fixed panels; the bound of the path that answers must
        // decide `converged`.
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for method in ExactMethod.allCases {
            for tolerance in [1e-10, 1e-6] {
                let objective = try Self.objective(model, eps: 0.1, method, tolerance: tolerance)
                let e = try objective.evaluate(w1: 1e6, w2: 5e5)
                #expect(e.converged == (e.errorBound <= tolerance), "\(method) tolerance \(tolerance): \(e)")
            }
        }
        let e = try Self.objective(model, eps: 0.1, .fast, tolerance: 1e-10).evaluate(w1: 1e6, w2: 5e5)
        #expect(!e.converged || e.errorBound <= 1e-10, "\(e)")
    }

    @Test("continuation along an eps grid (warm starts) gives the same optima as independent solves")
    func continuation() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let eps = [0.05, 0.15, 0.25, 0.35, 0.45]
        for spec in [ObjectiveSpec(.ce, .free), ObjectiveSpec(.ls(alpha: 0.1), .free), ObjectiveSpec(.ce, .weightDecay(0.01))] {
            let warm = try Sweeps.continuation(model: model, norm: .linf, eps: eps, spec: spec)
            let cold = try Sweeps.optima(model: model, norm: .linf, eps: eps, specs: [spec])
            #expect(warm.count == cold.count)
            for (w, c) in zip(warm, cold) {
                #expect(w.optimum.converged == c.optimum.converged && w.optimum.onBoundary == c.optimum.onBoundary, "\(spec) eps \(w.eps)")
                #expect(abs(w.optimum.w1 - c.optimum.w1) <= 1e-8 * max(1, c.optimum.w1) && abs(w.optimum.w2 - c.optimum.w2) <= 1e-8 * max(1, c.optimum.w1),
                        "\(spec) eps \(w.eps): warm (\(w.optimum.w1), \(w.optimum.w2)) cold (\(c.optimum.w1), \(c.optimum.w2))")
                #expect(abs(w.optimum.value - c.optimum.value) <= 1e-12 * max(1, abs(c.optimum.value)), "\(spec) eps \(w.eps)")
            }
        }
    }

    @Test("an optimum with its evaluations spread over all cores has the same bits as on one thread (ls, trades)")
    func parallelEvaluationSameBits() throws {
        let model = try DataModel.paper3()
        for objective in [Objective.ls(alpha: 0.1), .trades(beta: 1)] {
            var serial = try SymmetricOptimizer(model: model, threat: try ThreatModel(norm: .linf, eps: 0.3), objective: objective, scale: .free)
            var parallel = serial
            serial.parallelEvaluation = false
            parallel.parallelEvaluation = true
            let a = try serial.solve(), b = try parallel.solve()
            #expect(a.converged && b.converged, "\(objective)")
            #expect(a.w1.bitPattern == b.w1.bitPattern && a.w2.bitPattern == b.w2.bitPattern, "\(objective): (\(a.w1), \(a.w2)) against (\(b.w1), \(b.w2))")
            #expect(a.value.bitPattern == b.value.bitPattern && a.objectiveValue.bitPattern == b.objectiveValue.bitPattern, "\(objective)")
        }
    }

    @Test("the searches without a fast optimiser report each objective evaluation (progress hook, a model without the complement structure included); the fast optimiser makes none there")
    func evaluationHook() throws {
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var n = 0
            func add() { lock.lock(); n += 1; lock.unlock() }
        }
        let slow = Counter(), fast = Counter()
        var generic = try SymmetricOptimizer(model: try DataModel.complement(classes: 4), threat: try ThreatModel(norm: .linf, eps: 0.2),
                                             objective: .worstMargin, scale: .fixed(1))
        generic.onEvaluation = { slow.add() }
        #expect(try generic.solve().converged)
        #expect(slow.n >= 10, "\(slow.n) evaluations reported")
        var pair = try SymmetricOptimizer(model: try DataModel.paper3(), threat: try ThreatModel(norm: .linf, eps: 0.3), objective: .ce, scale: .free)
        pair.onEvaluation = { fast.add() }
        #expect(try pair.solve().converged)
        #expect(fast.n == 0)
        // A model without the complement structure: the axis on values, the derivative at
        // w2 = 0 and the family Newton on the full-W evaluator all count.
        let family = Counter()
        var skewed = try SymmetricOptimizer(model: try FamilyNewtonTests.skewed(), threat: try ThreatModel(norm: .linf, eps: 0.3), objective: .ce)
        skewed.onEvaluation = { family.add() }
        #expect(try skewed.solve().converged)
        #expect(family.n >= 20, "\(family.n) evaluations reported")
        // The derivative alone: the axis value and the two interior estimates.
        let derivative = Counter()
        skewed.onEvaluation = { derivative.add() }
        _ = try skewed.derivativeAtZeroEstimate(w1: 1.5)
        #expect(derivative.n == 3, "\(derivative.n) evaluations reported")
    }
}

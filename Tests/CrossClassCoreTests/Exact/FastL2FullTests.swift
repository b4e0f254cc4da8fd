import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

/// Issue 12: the fixed-rule fast path beyond the symmetric l_inf family -- ce under l_2 for the
/// symmetric family, and ce of a general 3-class W (l_inf, l_2) with its exact gradient, and the
/// full-W Newton optimiser -- against the adaptive reference path.
@Suite("fast exact l2 and full-W paths equal the reference path")
struct FastL2FullTests {
    static var slow: Bool { SlowTier.enabled }

    static func objective(_ model: DataModel, _ norm: Norm, eps: Double, _ method: ExactMethod, tolerance: Double = 1e-11) throws -> RobustObjective {
        var r = RobustObjective(model: model, threat: try ThreatModel(norm: norm, eps: eps), objective: .ce, tolerance: tolerance)
        r.method = method
        return r
    }

    /// A fixed pseudo-random general W (3 x 6), entries in [-2, 3].
    static func randomWeights(seed: UInt64) -> Matrix {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var w = Matrix(rows: 3, columns: 6)
        for r in 0..<3 {
            for c in 0..<6 {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                w[r, c] = -2 + 5 * Double(state % 1_000_000) / 1_000_000
            }
        }
        return w
    }

    @Test("l2 ce, symmetric family: fast == reference (adaptive, ellipse scan + Brent at its two best peaks) to 1e-9")
    func l2Values() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        // (0.45, 6, 4): eps ||w|| = 3.2 > sqrt(6), two maximiser branches switching at r = 0.
        // The suite: an interior point and one where two maximiser branches switch; the slow
        // tier adds (0.1, 1, 0.3), (0.45, 2, 0) and a grid (the reference takes ~2 s a point).
        var points: [(Double, Double, Double)] = [(0.3, 3.0, 2.0), (0.45, 6.0, 4.0)]
        if Self.slow {
            points += [(0.1, 1.0, 0.3), (0.45, 2.0, 0.0)]
            for eps in [0.05, 0.2, 0.35, 0.49] { for (w1, w2) in [(0.5, 0.5), (4.0, 1.0), (2.0, 3.0), (6.0, 0.0)] { points.append((eps, w1, w2)) } }
        }
        for (eps, w1, w2) in points {
            let fast = try Self.objective(model, .l2, eps: eps, .fast)
            let reference = try Self.objective(model, .l2, eps: eps, .reference)
            let f = try fast.evaluate(w1: w1, w2: w2)
            let r = try reference.evaluate(w1: w1, w2: w2)
            #expect(f.method == Estimate.Method.gaussLegendre2DL2 && r.method != f.method)
            #expect(f.converged && f.errorBound <= 1e-11, "eps \(eps) w (\(w1), \(w2)): error bound \(f.errorBound)")
            #expect(abs(f.value - r.value) <= 1e-9, "eps \(eps) w (\(w1), \(w2)): fast \(f.value) reference \(r.value) (+- \(r.errorBound))")
        }
    }

    @Test("l2 ce gradient in (w1, w2) equals central differences of the fast values (h = 1e-5)")
    func l2Gradient() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for eps in [0.1, 0.3, 0.45] {
            let e = try #require(L2PairObjective(model: model, threat: try ThreatModel(norm: .l2, eps: eps), objective: .ce))
            for (w1, w2) in [(3.7, 2.7), (1.0, 0.2), (0.4, 1.1), (6.0, 4.0)] {
                let g = try #require(e.estimate(w1: w1, w2: w2))
                let h = 1e-5
                let d1 = (try #require(e.evaluate(w1: w1 + h, w2: w2)).value - (try #require(e.evaluate(w1: w1 - h, w2: w2))).value) / (2 * h)
                let d2 = (try #require(e.evaluate(w1: w1, w2: w2 + h)).value - (try #require(e.evaluate(w1: w1, w2: w2 - h))).value) / (2 * h)
                #expect(abs(g.g1 - d1) <= 1e-7 && abs(g.g2 - d2) <= 1e-7, "eps \(eps) w (\(w1), \(w2)): gradient (\(g.g1), \(g.g2)) vs differences (\(d1), \(d2))")
                #expect(g.gradientError <= 1e-9)
            }
        }
    }

    @Test("l2, w2 = 0 with mirror-image inner maximisers (eps ||w|| > sqrt 6): the one-sided dR/dw2(0+) with its kink term equals fourth-order forward differences (ce, ls, trades)")
    func l2KinkAtZero() throws {
        // At W(6, 0), eps 0.45 the maximisers on v = 0 are t and -t (sin t != 0): R(w1, h) has
        // the term h E|v'| E[|dL/dv|] that averaging the two maximisers misses (ce was -0.2830
        // against -0.2487 before `ClassPairCE.vKink`, trades:6 off by 3.9e-4 at W(2, 0)).
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .l2, eps: 0.45)
        for objective in [Objective.ce, .ls(alpha: 0.1), .trades(beta: 6)] {
            let e = try #require(L2PairObjective(model: model, threat: threat, objective: objective))
            let w1 = 6.0, h = 1e-3
            func f(_ w2: Double) throws -> Double { try #require(e.evaluate(w1: w1, w2: w2)).value }
            let g = try #require(e.evaluate(w1: w1, w2: 0)), reported = try #require(e.estimate(w1: w1, w2: 0))
            let d2 = (try -25 * g.value + 48 * f(h) - 36 * f(2 * h) + 16 * f(3 * h) - 3 * f(4 * h)) / (12 * h)
            // The kink term's integrand |dL/dv| has a square-root onset in u where the maximiser
            // leaves t = pi (trades: 6e-7 on the working rule); the reported bound covers it.
            #expect(abs(reported.g2 - d2) <= reported.gradientError + 1e-7 && abs(g.g2 - d2) <= reported.gradientError + 1e-7,
                    "\(objective): exact \(reported.g2) (working \(g.g2), +- \(reported.gradientError)), differences \(d2)")
            #expect(reported.gradientError <= 1e-6)
        }
    }

    @Test("l2 threshold scan: the exact one-sided derivative at w2 = 0+ (ce, ls) equals Richardson differences of the values, and its bound is small")
    func l2DerivativeAtZero() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for objective in [Objective.ce, .ls(alpha: 0.1)] {
            let finder = try ThresholdFinder(model: model, norm: .l2, objective: objective)
            for eps in Self.slow ? [0.05, 0.2, 0.35, 0.49] : (objective == .ce ? [0.2, 0.45] : [0.45]) {
                let point = try finder.scanPoint(at: eps)
                #expect(point.derivativeError <= 1e-10 && !point.atSearchBound, "\(objective) eps \(eps): error \(point.derivativeError)")
                // Independent: Richardson extrapolation (h, h/2, h/4) of one-sided differences of
                // the values at the same w1 (the axis optimum), O(h^2) + rounding / h.
                let optimizer = try SymmetricOptimizer(model: model, threat: try ThreatModel(norm: .l2, eps: eps), objective: objective, scale: .free)
                let w1 = point.w1, h = 1e-3 * w1
                let f: [Double] = try [0, h, h / 2, h / 4].map { try optimizer.value(w1: w1, w2: $0).value }
                let d1: Double = (f[1] - f[0]) / h, d2: Double = (f[2] - f[0]) / (h / 2), d3: Double = (f[3] - f[0]) / (h / 4)
                let coarse: Double = 2 * d2 - d1, fine: Double = 2 * d3 - d2
                #expect(abs(point.derivative - fine) <= abs(coarse - fine) + 1e-9,
                        "\(objective) eps \(eps): exact \(point.derivative), Richardson \(fine) (coarse \(coarse))")
                // The axis optimum is a stationary point of F(w1, 0) in w1.
                let up: Double = try optimizer.value(w1: w1 * (1 + 1e-5), w2: 0).value
                let down: Double = try optimizer.value(w1: w1 * (1 - 1e-5), w2: 0).value
                let g1: Double = (up - down) / (2e-5 * w1)
                #expect(abs(g1) <= 1e-7, "\(objective) eps \(eps): dF/dw1 at the axis optimum \(g1)")
            }
            if Self.slow {
                // Against the reference path's Richardson derivative at the same w1 (its own
                // axis search locates w1 only to about 1e-6 from golden-section values, which
                // moves D by more than its stated error).
                let fast = try finder.scanPoint(at: 0.3)
                var reference = try SymmetricOptimizer(model: model, threat: try ThreatModel(norm: .l2, eps: 0.3), objective: objective, scale: .free)
                reference.method = .reference
                let r = try reference.derivativeAtZeroEstimate(w1: fast.w1)
                #expect(r.converged && abs(fast.derivative - r.value) <= r.errorBound + fast.derivativeError,
                        "\(objective): fast \(fast.derivative), reference \(r.value) +- \(r.errorBound)")
            }
        }
    }

    @Test("general W (l_inf and l_2): fast == reference (general adaptive path) to 1e-9 (l_2: one W against its committed reference value, 8 computed in the slow tier)")
    func generalValues() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for norm in [Norm.linf, .l2] {
            // The l_2 reference (a 48-point scan and Brent at its two best peaks, at every node) takes seconds a
            // point: the suite holds seed 1 to its committed value below, the slow tier computes
            // it at every seed.
            let seeds: [UInt64] = Self.slow ? Array(1...8) : (norm == .linf ? [1, 2, 3, 4] : [])
            for seed in seeds {
                let w = Self.randomWeights(seed: seed)
                let threat = try ThreatModel(norm: norm, eps: 0.3)
                let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .ce))
                guard let fast = engine.estimate(w) else {
                    // Declined (an l_2 maximiser that may switch branches): the reference path
                    // serves such points, and every l_inf point must be accepted.
                    #expect(norm == .l2, "seed \(seed): l_inf declined")
                    continue
                }
                let reference = try Self.objective(model, norm, eps: 0.3, .reference).evaluate(LinearClassifier(weights: w))
                #expect(fast.errorBound <= 1e-11, "\(norm) seed \(seed): error bound \(fast.errorBound)")
                #expect(abs(fast.value - reference.value) <= 1e-9, "\(norm) seed \(seed): fast \(fast.value) reference \(reference.value) (+- \(reference.errorBound))")
                if norm == .l2 && seed == 1 {
                    #expect(abs(reference.value - Self.l2ReferenceSeed1) <= reference.errorBound + 1e-12, "the committed value is today's reference: \(reference.value)")
                }
            }
        }
        // Seed 1 under l_2 against the reference's value, committed (made by `ccsim objective
        // --norm l2 --eps 0.3 --objective ce --mu 1 --sigma 0.5 --weights W --reference
        // --tolerance 1e-11`, W = randomWeights(seed: 1); bound 1.4e-11).
        let engine = try #require(LinearPairCE(model: model, threat: try ThreatModel(norm: .l2, eps: 0.3), objective: .ce))
        let fast = try #require(engine.estimate(Self.randomWeights(seed: 1)))
        #expect(fast.errorBound <= 1e-11 && abs(fast.value - Self.l2ReferenceSeed1) <= 1e-9, "l2 seed 1: fast \(fast.value) +- \(fast.errorBound)")
    }

    /// The reference path's ce of `randomWeights(seed: 1)` under l_2, eps 0.3 (see `generalValues`).
    static let l2ReferenceSeed1 = 1.1260421546237704

    @Test("general W: exact gradient equals central differences of the fast values (h = 1e-5)")
    func generalGradient() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for norm in [Norm.linf, .l2] {
            let engine = try #require(LinearPairCE(model: model, threat: try ThreatModel(norm: norm, eps: 0.3), objective: .ce))
            for seed: UInt64 in [3, 4] {
                let w = Self.randomWeights(seed: seed)
                guard let g = engine.estimate(w) else { #expect(norm == .l2); continue }
                #expect(g.gradientError <= 1e-9, "\(norm) seed \(seed): gradient error \(g.gradientError)")
                let worst = try centralDifferenceError(w, gradient: g.gradient, entries: Array(0..<w.storage.count), step: 1e-5) { engine.evaluate($0)?.value }
                #expect(worst <= 1e-7, "\(norm) seed \(seed): gradient vs central differences differ by \(worst)")
            }
        }
    }

    @Test("rounding dust on the zero entries of a symmetric W (what a Newton step leaves) does not move the general-W value: equals the reference from 1e-15 to 1e-4")
    func dustOnZeroEntries() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .ce))
        let (w1, w2) = (3.739790762185947, 2.746359363560705)
        // The pattern of the point that once evaluated to 0.453 instead of 0.510.
        for p in [3.5e-15, 1e-10, 1e-4] {
            var w = Matrix(rows: 3, columns: 6)
            let row0 = [w1, -p, -w1, -w2, 0.18 * p, w2], row1 = [-p, w1, -w1, 0.04 * p, -w2, w2]
            for f in 0..<6 { w[0, f] = row0[f]; w[1, f] = row1[f] }
            let reference = try RobustObjective(model: model, threat: threat, objective: .ce, tolerance: 1e-11)
                .evaluate(LinearClassifier(weights: w))
            let fast = try #require(engine.estimate(w))
            expectClose(fast.value, reference.value, tolerance: fast.errorBound + reference.errorBound + 1e-12, "dust \(p)")
        }
    }

    @Test("full W, l_inf, paper3 eps 0.3: Newton from the symmetric optimum, value <= symmetric, gradient ~ 0, converged")
    func fullOptimum() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .ce)
        #expect(full.method == .fast)
        #expect(full.converged, "notes: \(full.notes)")
        #expect(full.value <= full.symmetricValue + 1e-12)
        #expect((full.gradientNorm ?? 1) <= 1e-6, "gradient norm \(String(describing: full.gradientNorm))")
        #expect((full.errorBound ?? 1) <= 1e-9)
        // The symmetric optimum by the independent symmetric fast path (PairObjective).
        let symmetric = try SymmetricOptimizer(model: model, threat: threat, objective: .ce).solve()
        #expect(abs(full.symmetricValue - symmetric.objectiveValue) <= 1e-10, "\(full.symmetricValue) vs \(symmetric.objectiveValue)")
    }

    /// paper3's full-W trades optimum under l_2 is its symmetric one: the wide panels' run stops
    /// at the start (its decrement ~1e-18, below `stallBelow`), and the start is certified there
    /// without the fine panels' stage (which cost one more iteration and Hessians on the dearest
    /// panels: 1.8 s against stop 54's 1.25 s back to back, bench/ANALYSIS.md stop 76).
    @Test("full W, l_2 trades:6, paper3 eps 0.3: the symmetric optimum is certified at the start on the wide panels, in one iteration, no fine stage")
    func l2TradesCertifiedAtStart() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let full = try FullOptimizer.solve(model: model, threat: try ThreatModel(norm: .l2, eps: 0.3), objective: .trades(beta: 6))
        #expect(full.method == .fast && full.converged, "notes: \(full.notes)")
        #expect(full.iterations == 1 && full.value == full.symmetricValue && full.notes.isEmpty,
                "iterations \(full.iterations), value \(full.value) symmetric \(full.symmetricValue), notes \(full.notes)")
        #expect((full.optimalityGap ?? 1) <= 1e-14 && (full.errorBound ?? 1) <= 1e-10,
                "gap \(String(describing: full.optimalityGap)), bound \(String(describing: full.errorBound))")
    }

    /// Under l_2 the start's evaluations are the symmetric optimiser's last ones (class 0's share,
    /// rearranged for classes 1 and 2): they must agree with the full-W evaluator integrating
    /// the same W itself, and leave the start stationary (a wrongly rearranged gradient is ~0.1
    /// in the directions that break the symmetry: Newton would step away).
    @Test("full W, l_2 ls:0.1, paper3 eps 0.3: the start taken from the symmetric optimiser equals the full-W evaluator's own estimate there, within both bounds, and is stationary")
    func l2StartFromSymmetric() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .ls(alpha: 0.1))
        #expect(full.method == .fast && full.converged, "notes: \(full.notes)")
        #expect(full.iterations == 1 && full.value == full.symmetricValue, "iterations \(full.iterations), value \(full.value) symmetric \(full.symmetricValue)")
        #expect((full.gradientNorm ?? 1) <= 1e-9, "gradient norm \(String(describing: full.gradientNorm))")
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .ls(alpha: 0.1)))
        let own = try #require(engine.estimate(ClassCorrespondenceTests.freeLayout(full.classifier.weights)))
        let bound = own.errorBound + (full.errorBound ?? 1)
        #expect(abs(own.value - full.value) <= bound, "own \(own.value) (+- \(own.errorBound)) from the symmetric optimiser \(full.value) (+- \(String(describing: full.errorBound)))")
        let ownNorm = own.gradient.storage.prefix(12).reduce(0) { max($0, abs($1)) }
        #expect(ownNorm <= 1e-9 + own.gradientError, "own gradient norm \(ownNorm)")
        // Taken, not recomputed: the symmetric optimiser's value to rounding (the full-W
        // evaluator's own integration differs from it by ~1e-14, in its own coordinates).
        let symmetric = try SymmetricOptimizer(model: model, threat: threat, objective: .ls(alpha: 0.1)).solve()
        #expect(abs(full.symmetricValue - symmetric.objectiveValue) <= 4e-16 * symmetric.objectiveValue, "\(full.symmetricValue) vs \(symmetric.objectiveValue)")
    }

    @Test("full W on an asymmetric 3-class model: Newton reaches a stationary point below its start")
    func asymmetricNewton() throws {
        var model = try DataModel.paper3(mu: 1, sigma: 0.5)
        model.mu[0] = 1.3; model.sigma[4] = 0.7; model.mu[5] = 0.8
        let engine = try #require(LinearPairCE(model: model, threat: try ThreatModel(norm: .linf, eps: 0.25), objective: .ce))
        let start = LinearClassifier.symmetric(model: model, w1: 3, w2: 2).weights
        var x0: [Double] = []
        for r in 0..<2 { for f in 0..<6 { x0.append(start[r, f] - start[2, f]) } }
        func matrix(_ x: [Double]) -> Matrix {
            var w = Matrix(rows: 3, columns: 6)
            for r in 0..<2 { for f in 0..<6 { w[r, f] = x[r * 6 + f] } }
            return w
        }
        let result = try DampedNewton.minimize(start: x0, maxIterations: 60) { x in
            let r = try #require(engine.evaluate(matrix(x)))
            return (r.value, Array(r.gradient.storage.prefix(12)))
        }
        let startValue = try #require(engine.evaluate(matrix(x0))).value
        #expect(result.converged && result.value < startValue - 1e-3)
        #expect(result.gradient.reduce(0) { max($0, abs($1)) } <= 1e-7, "gradient \(result.gradient)")
        // The reference path agrees on the value at the optimum.
        let reference = try Self.objective(model, .linf, eps: 0.25, .reference).evaluate(LinearClassifier(weights: matrix(result.argument)))
        #expect(abs(reference.value - result.value) <= 1e-9, "fast \(result.value) reference \(reference.value)")
    }

    @Test("l2 symmetric optimum: fast Newton optimiser, converged, stationary, equals the reference optimiser (slow)")
    func l2Optimum() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        let fast = try SymmetricOptimizer(model: model, threat: threat, objective: .ce).solve()
        #expect(fast.converged, "\(fast.notes)")
        let e = try #require(L2PairObjective(model: model, threat: threat, objective: .ce))
        let g = try #require(e.evaluate(w1: fast.w1, w2: fast.w2))
        if fast.onBoundary { #expect(g.g2 >= 0 && abs(g.g1) <= 1e-8) } else { #expect(abs(g.g1) <= 1e-8 && abs(g.g2) <= 1e-8, "gradient (\(g.g1), \(g.g2))") }
        if Self.slow {
            var reference = try SymmetricOptimizer(model: model, threat: threat, objective: .ce)
            reference.method = .reference
            let r = try reference.solve()
            #expect(abs(r.objectiveValue - fast.objectiveValue) <= 1e-8 && fast.objectiveValue <= r.objectiveValue + 1e-10,
                    "fast \(fast.objectiveValue) (\(fast.w1), \(fast.w2)) reference \(r.objectiveValue) (\(r.w1), \(r.w2))")
        }
    }

    @Test("full W, reference simplex at a small point agrees with the fast Newton optimum (slow)", .enabled(if: slow))
    func fullAgainstReference() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let fast = try FullOptimizer.solve(model: model, threat: threat, objective: .ce)
        let reference = try FullOptimizer.solve(model: model, threat: threat, objective: .ce, maxIterations: 300, method: .reference)
        // The simplex is a local search with a step budget: it may stop above the optimum, never
        // (beyond the integration error) below it.
        #expect(reference.value >= fast.value - 1e-9, "reference \(reference.value) below fast \(fast.value)")
        #expect(abs(reference.symmetricValue - fast.symmetricValue) <= 1e-9)
    }

    @Test("full W, l_2 trades:1 on a random 3-class model whose symmetric optimum is a saddle of the full W: converged, well below it, in few iterations (slow)",
          .enabled(if: slow))
    func fullFromSaddle() throws {
        // q0 of bench/ANALYSIS.md stop 57: the Hessian at the start has eigenvalues -0.008 ..
        // 0.45; the steps shifted by the diagonal's magnitudes crawled out of it (140
        // iterations, 252 s), the saddle-free ones take 21 (21 s).
        let full = try FullOptimizer.solve(model: try FinerPanelsTests.q0(), threat: try ThreatModel(norm: .l2, eps: 0.3), objective: .trades(beta: 1))
        #expect(full.method == .fast && full.converged, "notes: \(full.notes)")
        #expect(full.value <= full.symmetricValue - 0.3, "value \(full.value), symmetric \(full.symmetricValue)")
        // Two independent paths (shifted and saddle-free steps) reached this value within 3e-13.
        #expect(abs(full.value - 0.3219077556443) <= 1e-10, "value \(full.value)")
        #expect(full.iterations <= 40, "\(full.iterations) iterations")
        // The wide run stops once its secant model's decrement is a hundredth of the tolerance
        // and is certified there (stop 69: 18 iterations; it went on to its rule's noise floor
        // at iteration 20 before, 3.6e-13 lower, within the bound 8.2e-11).
        #expect(full.notes.contains { $0.contains("its secant model's decrement") && $0.contains("certified there") }, "notes: \(full.notes)")
        #expect(full.iterations < 20, "\(full.iterations) iterations")
    }
}

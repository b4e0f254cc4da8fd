import CrossClassCore
import Foundation
import TestSupport
import Testing

/// The symmetric family's interior optimum on a 3-class model without the complement structure
/// (per-feature sigma), where no pair evaluator exists: Newton on the full-W evaluator's exact
/// gradient through W(w1, w2) (`familyNewton`) instead of a simplex on values. Checked
/// independently of the optimiser: the gradient of R through the family is zero there (the
/// full-W evaluator, chain rule by hand), the point is below its neighbours on a ring, and its
/// value equals the adaptive reference path's (l_inf).
@Suite("symmetric family on models without a pair evaluator")
struct FamilyNewtonTests {
    static func skewed() throws -> DataModel {
        let base = try DataModel.paper3(mu: 1, sigma: 0.5)
        var sigma = [Double](repeating: 0.5, count: 6)
        sigma[0] = 0.6
        sigma[5] = 0.45
        return try DataModel(name: "skewed", membership: base.membership, mu: .init(repeating: 1, count: 6), sigma: sigma)
    }

    @Test("absent features with tau > 0 (a non-degenerate axis): the axis minimiser is the root of the family evaluator's derivative, below its neighbours e^+-0.02 away, and the trades:2 optimum converges in seconds (a value search on the axis ran 17 min and refused)")
    func nonDegenerateAxis() throws {
        let base = try DataModel.paper3(mu: 1, sigma: 0.5)
        let model = try DataModel(name: "tau", membership: base.membership, mu: [1, 1.2, 0.8, 1, 1, 1], sigma: .init(repeating: 0.5, count: 6), tau: 0.1)
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        var optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .trades(beta: 2), scale: .free)
        optimizer.parallelEvaluation = true
        let axis = try optimizer.optimalScaleOnAxis()
        #expect(!axis.atSearchBound && axis.logScale > -2 && axis.logScale < 3, "\(axis)")
        let objective = RobustObjective(model: model, threat: threat, objective: .trades(beta: 2))
        let centre = try objective.evaluate(w1: exp(axis.logScale), w2: 0)
        for side in [-0.02, 0.02] {
            let neighbour = try objective.evaluate(w1: exp(axis.logScale + side), w2: 0)
            #expect(neighbour.value > centre.value + centre.errorBound + neighbour.errorBound, "side \(side): \(neighbour.value) vs \(centre.value)")
        }
        let o = try optimizer.solve()
        #expect(o.converged && o.w2 > 0, "\(o)")
    }

    @Test("interior optimum (ce and ls:0.1 under l_inf, ce under l_2): converged, stationary through W(w1, w2), below a ring of neighbours, and (l_inf) the reference path's value there")
    func interiorOptimum() throws {
        let model = try Self.skewed()
        let cases: [(Norm, Objective)] = [(.linf, .ce), (.linf, .ls(alpha: 0.1)), (.l2, .ce)]
        struct Outcome: Sendable {
            var optimum: SymmetricOptimum
            var gradient: (Double, Double)
            var ring: [(w1: Double, w2: Double, value: Double)]
            var reference: Estimate?
        }
        let outcomes = try Parallel.map(cases.indices.map { $0 }) { c -> Outcome in
            let (norm, objective) = cases[c]
            let threat = try ThreatModel(norm: norm, eps: 0.3)
            let o = try SymmetricOptimizer(model: model, threat: threat, objective: objective).solve()
            // dR/dw_i = <dR/dW, U_i> on the full-W evaluator.
            let engine = try #require(LinearPairCE(model: model, threat: threat, objective: objective))
            let r = try #require(engine.evaluate(LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2).weights))
            let u1 = LinearClassifier.symmetric(model: model, w1: 1, w2: 0).weights
            let u2 = LinearClassifier.symmetric(model: model, w1: 0, w2: 1).weights
            var g1 = 0.0, g2 = 0.0
            for i in 0..<r.gradient.storage.count {
                g1 += r.gradient.storage[i] * u1.storage[i]
                g2 += r.gradient.storage[i] * u2.storage[i]
            }
            var evaluator = RobustObjective(model: model, threat: threat, objective: objective, tolerance: 1e-11)
            evaluator.method = .fast
            let ring = try (0..<8).map { k -> (w1: Double, w2: Double, value: Double) in
                let angle = Double(k) * Double.pi / 4
                let w1 = o.w1 * (1 + 1e-3 * cos(angle)), w2 = o.w2 * (1 + 1e-3 * sin(angle))
                return (w1, w2, try evaluator.evaluate(w1: w1, w2: w2).value)
            }
            // The adaptive path's value (l_inf: 0.1 s; under l_2 it takes 40 s, and the full-W
            // evaluator's l_2 values are held to it in FastL2FullTests.generalValues).
            evaluator.method = .reference
            let reference = norm == .linf ? try evaluator.evaluate(w1: o.w1, w2: o.w2) : nil
            return Outcome(optimum: o, gradient: (g1, g2), ring: ring, reference: reference)
        }
        for ((norm, objective), outcome) in zip(cases, outcomes) {
            let label = "\(objective) \(norm)"
            let o = outcome.optimum
            #expect(o.converged && !o.onBoundary, "\(label): \(o.notes)")
            #expect(abs(outcome.gradient.0) <= 1e-8 && abs(outcome.gradient.1) <= 1e-8, "\(label): gradient \(outcome.gradient) at W(\(o.w1), \(o.w2))")
            for n in outcome.ring {
                #expect(n.value >= o.objectiveValue - 1e-12, "\(label): neighbour W(\(n.w1), \(n.w2)) has \(n.value) below the optimum's \(o.objectiveValue)")
            }
            if let reference = outcome.reference {
                #expect(abs(reference.value - o.objectiveValue) <= 1e-9, "\(label): reference \(reference.value) (+- \(reference.errorBound)) optimum \(o.objectiveValue)")
            }
        }
    }

    /// The full-W Newton from that start, on the lines evaluator (trades under l_inf): it
    /// converged in 9 s, and stalled (50 iterations, 303 s) when the lines took half-order rules
    /// in the tails (`ClassPairLSGeneral.tailStart`).
    @Test("full W on the skewed model (trades:6 under l_inf, eps 0.3): Newton from the family optimum converges below it, stationary, a certified minimum")
    func fullFromFamilyStart() throws {
        let model = try Self.skewed()
        let full = try FullOptimizer.solve(model: model, threat: try ThreatModel(norm: .linf, eps: 0.3), objective: .trades(beta: 6), parallel: true)
        #expect(full.method == .fast && full.converged, "notes: \(full.notes)")
        #expect(full.value <= full.symmetricValue - 1e-5, "full \(full.value) symmetric \(full.symmetricValue)")
        #expect((full.gradientNorm ?? 1) <= 1e-6, "gradient norm \(String(describing: full.gradientNorm))")
        #expect(full.iterations <= 10, "iterations \(full.iterations)")
        // The later Newton steps run on BFGS Hessians; the minimum is certified by the point's
        // own (coarse-rule) Hessian, which must be positive definite, with a decrement near
        // rounding from the reported gradient (the verification rule's for trades: 6.5e-15).
        #expect((full.optimalityGap ?? 1) <= 1e-13, "optimality gap \(String(describing: full.optimalityGap))")
    }

    /// A random 3-class model (q1 of bench/ANALYSIS.md stop 54) where trades descends for many
    /// iterations before its gradient halves: the runs on lines stopped there (the stall window)
    /// 5e-5 above the optimum, NOT converged (F 0.3185130); the patient continuation from the
    /// stall reaches it (the bundle-Newton method, run by hand, found F 0.3184625 in 3.4 min).
    @Test("full W, trades:1 under l_inf on a random 3-class model (slow): the continuation after the stall converges to F <= 0.3184626, the adaptive path's value at that W within 1e-9, and F rises along 6 directions a step 1e-3 |W| away", .enabled(if: SlowTier.enabled))
    func fullPatientContinuation() throws {
        let membership = [[0, 1, 0, 1, 1], [0, 1, 1, 0, 1], [1, 0, 1, 1, 0]].map { $0.map { $0 == 1 } }
        let model = try DataModel(name: "q1", membership: membership, mu: [1.33, 1.09, 0.89, 0.88, 1.2], sigma: [0.48, 0.38, 0.44, 0.59, 0.4])
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true)
        #expect(full.method == .fast && full.converged, "notes: \(full.notes)")
        #expect(full.value <= 0.3184626, "F \(full.value)")
        var reference = RobustObjective(model: model, threat: threat, objective: .trades(beta: 1))
        reference.method = .reference
        let atPoint = try reference.evaluate(full.classifier)
        #expect(abs(atPoint.value - full.value) <= 1e-9, "reference \(atPoint.value) optimum \(full.value)")
        // Directions of the free rows (rows 0 and 1; row 2 is the gauge), from a fixed seed.
        let random = TestRandom(seed: 54)
        let w = full.classifier.weights
        let size = w.storage.reduce(0) { max($0, abs($1)) }
        for _ in 0..<3 {
            var direction = (0..<(2 * w.columns)).map { _ in random.gaussian() }
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            direction = direction.map { $0 / norm }
            for sign in [1.0, -1.0] {
                var moved = w
                for i in 0..<(2 * w.columns) { moved.storage[i] += sign * 1e-3 * size * direction[i] }
                let neighbour = try reference.evaluate(LinearClassifier(weights: moved))
                #expect(neighbour.value > full.value, "F \(neighbour.value) at a neighbour against \(full.value)")
            }
        }
    }

    /// Classes 1 and 2 carry features that class 0 carries too, and tau = 0: on the symmetric
    /// family class 1's margin against class 0 is identically 0 (one margin constant: one
    /// integral across the lines) and class 2's margins are both 0 (one point); class 2 has one
    /// feature, so its margins' covariance has rank one at every W. The lines declined both, and
    /// the family optimum took a simplex on values (38 s under l_inf trades:1).
    static func nested() throws -> DataModel {
        try DataModel(name: "nested", membership: [[true, true, true, true], [true, false, false, true], [false, false, false, true]], mu: [1.28, 0.63, 0.93, 1.19],
                      sigma: [0.69, 0.46, 0.66, 0.57])
    }

    @Test("nested classes (a class's features a subset of another's, tau = 0): on the family the fast values equal the reference path's to 1e-9 (trades:1 under l_inf, and ls:0.1 under l_2 in the slow tier); the gradient equals central differences of values off the family, where no margin is constant; the l_inf trades:1 family optimum is Newton's and stationary")
    func nestedClasses() throws {
        let model = try Self.nested()
        let w = LinearClassifier.symmetric(model: model, w1: 1, w2: 1.9).weights
        // A direction off the family (the last row stays 0).
        let direction = Matrix(rows: 3, columns: 4, storage: [0.3, -0.5, 0.2, 0.4, -0.1, 0.6, -0.3, 0.2, 0, 0, 0, 0])
        // l_2 ls:0.1 (its reference path takes seconds) in the slow tier.
        let cases: [(Norm, Objective)] = [(.linf, .trades(beta: 1))] + (SlowTier.enabled ? [(.l2, .ls(alpha: 0.1))] : [])
        struct Outcome: Sendable {
            var points: [Int]
            var value: Double, slope: Double, bound: Double
            var reference: Estimate
            var difference: Double, differenceBound: Double
        }
        let outcomes = try Parallel.map(cases.indices.map { $0 }) { c -> Outcome in
            let (norm, objective) = cases[c]
            let threat = try ThreatModel(norm: norm, eps: 0.3)
            let engine = try #require(LinearPairCE(model: model, threat: threat, objective: objective))
            let e = try #require(engine.estimate(w), "\(objective) \(norm): the fast path declined")
            let slope = zip(e.gradient.storage, direction.storage).reduce(0) { $0 + $1.0 * $1.1 }
            var reference = RobustObjective(model: model, threat: threat, objective: objective, tolerance: 1e-11)
            reference.method = .reference
            let r = try reference.evaluate(LinearClassifier(weights: w))
            // (R(W + hE) - R(W - hE)) / 2h on the fast path: off the family both classes are
            // 2-D again (the lines), an independent computation.
            let h = 1e-3
            let sides = try [h, -h].map { s -> (value: Double, bound: Double) in
                var moved = w
                for i in 0..<moved.storage.count { moved.storage[i] += s * direction.storage[i] }
                let m = try #require(engine.estimate(moved))
                return (m.value, m.errorBound)
            }
            return Outcome(points: engine.pointClasses(w), value: e.value, slope: slope, bound: e.errorBound, reference: r,
                           difference: (sides[0].value - sides[1].value) / (2 * h), differenceBound: (sides[0].bound + sides[1].bound) / (2 * h))
        }
        for ((norm, objective), o) in zip(cases, outcomes) {
            let label = "\(objective) \(norm)"
            #expect(o.points == [2], "\(label): point classes \(o.points)")
            #expect(o.bound <= 1e-9 && o.reference.converged, "\(label): bound \(o.bound), reference \(o.reference)")
            #expect(abs(o.value - o.reference.value) <= 1e-9, "\(label): fast \(o.value) reference \(o.reference.value)")
            // The differences' truncation, h^2 R^(3) / 6, is about 1e-8 here (7e-9 under l_2).
            #expect(abs(o.slope - o.difference) <= 1e-6 + o.differenceBound, "\(label): gradient along E \(o.slope), differences \(o.difference) +- \(o.differenceBound)")
        }
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        var optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .trades(beta: 1))
        optimizer.parallelEvaluation = true
        let o = try optimizer.solve()
        #expect(o.converged && !o.onBoundary && o.notes.isEmpty, "\(o)")
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        let r = try #require(engine.estimate(LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2).weights))
        let u1 = LinearClassifier.symmetric(model: model, w1: 1, w2: 0).weights, u2 = LinearClassifier.symmetric(model: model, w1: 0, w2: 1).weights
        let g = [u1, u2].map { u in zip(r.gradient.storage, u.storage).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(abs(g[0]) <= 1e-8 && abs(g[1]) <= 1e-8, "gradient through the family \(g) at W(\(o.w1), \(o.w2))")
        #expect(abs(r.value - o.objectiveValue) <= 1e-12, "estimate \(r.value) optimum \(o.objectiveValue)")
    }

    @Test("a point class's kink at the family optimum (nested model, trades:1 under l_2, eps 0.3): converged along the kink curve, on the ray w2 = sqrt(2) w1 where class 2's ellipse is symmetric (its two peaks tie), and below its neighbours along the ray and across it; the full W from there leaves the kink along feature 3's entries, where a one-sided difference of values falls, and the full-W optimum end to end (the full-W part with CCSIM_SLOW_TESTS=1)")
    func kinkOfPointClass() throws {
        let model = try Self.nested()
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        var optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .trades(beta: 1))
        optimizer.parallelEvaluation = true
        let o = try optimizer.solve()
        #expect(o.converged && !o.onBoundary, "\(o)")
        #expect(o.notes.contains { $0.contains("kink curve") }, "\(o.notes)")
        // Class 2 has feature 3 only, weighted w2 in every class: its margins are 0, and its
        // shifts' Gram matrix eps^2 [[w2^2 + 2 w1^2, w2^2], [w2^2, w2^2]] is invariant under the
        // exchange of classes 0 and 2 ((v1, v2) -> (-v1, v2 - v1)) iff w2^2 = 2 w1^2: the peaks
        // tie there by symmetry, independently of the solver.
        #expect(abs(o.w2 / o.w1 - 2.0.squareRoot()) <= 1e-9, "w2 / w1 = \(o.w2 / o.w1)")
        var tied = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        tied.valueOnly = true
        let engine = tied
        let peaks = try #require(engine.pointPeaks(LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2).weights, class: 2))
        #expect(peaks.count >= 2 && peaks[0].f - peaks[1].f <= 1e-12, "\(peaks)")
        @Sendable func value(_ rho: Double, _ theta: Double) throws -> (value: Double, bound: Double) {
            let w = LinearClassifier.symmetric(model: model, w1: exp(rho) * cos(theta), w2: exp(rho) * sin(theta)).weights
            let e = try #require(engine.estimate(w))
            return (e.value, e.errorBound)
        }
        let rho = 0.5 * log(o.w1 * o.w1 + o.w2 * o.w2), theta = atan2(o.w2, o.w1)
        let centre = try value(rho, theta)
        #expect(abs(centre.value - o.objectiveValue) <= 1e-12, "estimate \(centre.value) optimum \(o.objectiveValue)")
        let neighbours = try Parallel.map([(1e-3, 0.0), (-1e-3, 0.0), (0.0, 1e-3), (0.0, -1e-3)]) { step in try value(rho + step.0, theta + step.1) }
        for (step, n) in zip([(1e-3, 0.0), (-1e-3, 0.0), (0.0, 1e-3), (0.0, -1e-3)], neighbours) {
            #expect(n.value > centre.value + n.bound + centre.bound, "(rho, theta) + \(step): \(n.value) against \(centre.value)")
        }
        // The full W from there (7 s, in the slow tier with the end-to-end run: the suite's time
        // budget): the fixed rules decline the start (class 2 tied), and the kink is certified or
        // left. Here R falls off it as feature 3 unties: the outcome is the best point along the
        // descent found, which a one-sided difference of values confirms.
        guard ProcessInfo.processInfo.environment["CCSIM_SLOW_TESTS"] == "1" else { return }
        let start = LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2).weights
        let x0 = (0..<2).flatMap { r in (0..<4).map { start[r, $0] - start[2, $0] } }
        func matrix(_ x: [Double]) -> Matrix { Matrix(rows: 3, columns: 4, storage: x + [0, 0, 0, 0]) }
        let base = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        #expect(base.evaluate(matrix(x0)) == nil, "the start's tie should be declined without valueOnly")
        let outcome = try #require(try FullOptimizer.pointKinkSolve(base, start: x0, matrix: matrix, tolerance: 1e-10))
        guard case let .leave(point, value, symmetric, note) = outcome else {
            Issue.record("expected the kink to be left: \(outcome)")
            return
        }
        #expect(note.contains("R decreases at rate"), "\(note)")
        #expect(abs(symmetric - centre.value) <= 1e-12, "start \(symmetric) against \(centre.value)")
        let difference = zip(point, x0).map { $0 - $1 }
        let length = difference.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let direction = difference.map { $0 / length }
        // The descent is along feature 3's entries only (class 2's one feature), downwards.
        #expect(direction.enumerated().allSatisfy { $0.offset % 4 == 3 || abs($0.element) <= 1e-12 }, "\(direction)")
        let t = 1e-6
        let stepped = try #require(engine.estimate(matrix(zip(x0, direction).map { $0 + t * $1 })))
        let rate = (stepped.value - centre.value) / t
        #expect(rate < -0.1 && value < centre.value - 1e-3, "one-sided rate \(rate), value \(value) against \(centre.value)")
        let there = try #require(engine.estimate(matrix(point)))
        #expect(abs(there.value - value) <= 1e-9, "value \(value), estimate \(there.value)")
        // End to end (90 s): Newton over all entries from there converges below the family.
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true)
        #expect(full.converged && full.value < o.objectiveValue - 0.1, "\(full.value) \(full.notes)")
    }

    @Test("a point class's kink held to the end (with CCSIM_SLOW_TESTS=1; class 2 has no features, so its margins are 0 on every W; trades:1 under l_inf, eps 0.3): Newton along the kink returns there with the kink certified (R rises off it), below the family optimum, at a value the adaptive reference path confirms within both bounds")
    func kinkHeldToTheEnd() throws {
        // 8 s (the Newton along the kink and its certificates): in the slow tier, for the suite's
        // time budget.
        guard ProcessInfo.processInfo.environment["CCSIM_SLOW_TESTS"] == "1" else { return }
        let model = try DataModel(name: "featureless class", membership: [[true, false, true], [false, true, true], [false, false, false]],
                                  mu: [1.0, 1.1, 0.8], sigma: [0.5, 0.5, 0.6])
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let o = try SymmetricOptimizer(model: model, threat: threat, objective: .trades(beta: 1)).solve()
        let start = LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2).weights
        let x0 = (0..<2).flatMap { r in (0..<3).map { start[r, $0] - start[2, $0] } }
        func matrix(_ x: [Double]) -> Matrix { Matrix(rows: 3, columns: 3, storage: x + [0, 0, 0]) }
        let base = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        let outcome = try #require(try FullOptimizer.pointKinkSolve(base, start: x0, matrix: matrix, tolerance: 1e-10))
        guard case .solved(let full) = outcome else {
            Issue.record("expected Newton along the kink to end on it: \(outcome)")
            return
        }
        // Two vertices tie at the start; Newton along that kink continues along the three-way
        // kink where a third ties (`BundleNewtonTests.tradesAlongTheKink`), certified there.
        let verdict = try #require(full.notes.first)
        #expect(verdict.contains("no features") && verdict.contains("Newton along that kink"), "\(full.notes)")
        #expect(full.notes.contains { $0.contains("R rises at rate >=") }, "\(full.notes)")
        #expect(full.value < full.symmetricValue - 1e-3 && abs(full.symmetricValue - o.objectiveValue) <= 1e-9, "\(full.value), family \(full.symmetricValue) (\(o.objectiveValue))")
        var reference = RobustObjective(model: model, threat: threat, objective: .trades(beta: 1))
        reference.method = .reference
        let r = try reference.evaluate(full.classifier)
        let bound = try #require(full.errorBound)
        #expect(r.converged && abs(r.value - full.value) <= r.errorBound + bound, "reference \(r.value) +- \(r.errorBound), kink \(full.value) +- \(bound)")
        // converged only with a decrement within the tolerance (here Newton stops short of it,
        // and says so).
        if full.converged { #expect(try #require(full.optimalityGap) <= 1e-10) } else { #expect(full.notes.contains { $0.contains("decrement") }, "\(full.notes)") }
    }

    @Test("dF/dw2 at (w1, 0+) from the axis value and the interior value and gradient (Hermite) equals a Richardson extrapolation of values alone within both bounds")
    func derivativeAtZero() throws {
        let model = try Self.skewed()
        let cases: [(Norm, Objective, Double)] = [(.linf, .ce, 1.5), (.linf, .ls(alpha: 0.1), 1.2), (.l2, .ce, 1.5)]
        for (norm, objective, w1) in cases {
            let label = "\(objective) \(norm) w1 \(w1)"
            let optimizer = try SymmetricOptimizer(model: model, threat: try ThreatModel(norm: norm, eps: 0.3), objective: objective)
            let d = try optimizer.derivativeAtZeroEstimate(w1: w1)
            #expect(d.method == .hermiteDifference, "\(label): \(d.method)")
            #expect(d.converged && d.errorBound <= 1e-7, "\(label): bound \(d.errorBound)")
            // Values only: f(0), f(h), f(h/2), f(h/4); two Richardson extrapolations of the
            // one-sided differences, their difference a third of the finer one's truncation.
            let h = 1e-3 * w1
            let f = try [0, h, h / 2, h / 4].map { try optimizer.value(w1: w1, w2: $0) }
            let q = (1...3).map { (f[$0].value - f[0].value) / (h / pow(2, Double($0 - 1))) }
            let coarse = 2 * q[1] - q[0], fine = 2 * q[2] - q[1]
            let bound = (8 * f[3].errorBound + 2 * f[2].errorBound + 6 * f[0].errorBound) / h + abs(coarse - fine) / 3
            #expect(abs(d.value - fine) <= d.errorBound + bound, "\(label): Hermite \(d.value) +- \(d.errorBound), Richardson \(fine) +- \(bound)")
        }
    }

    @Test("dF/dw2 at (w1, 0+) under l_2 from the axis lines alone (ls, trades: the kink across the mirror as a folded normal): ls:0.1 equals the Hermite difference of 2-D evaluations within both bounds; for trades:1 the exact interior derivative f'(s) approaches it linearly (f'(s) - d0 shrinks 5x and more from s = 1e-4 to 1e-5), where the Hermite difference was 6e-6 off, twice its bound (trades in the slow tier)")
    func derivativeAtZeroOnAxisLines() throws {
        let model = try Self.skewed()
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        let u2 = LinearClassifier.symmetric(model: model, w1: 0, w2: 1).weights
        /// f'(s) = <dR/dW, U2> at W(w1, s), with its error bound.
        func interior(_ engine: LinearPairCE, _ w1: Double, _ s: Double) throws -> (value: Double, g2: Double, bound: Double, gradientBound: Double) {
            let r = try #require(engine.estimate(LinearClassifier.symmetric(model: model, w1: w1, w2: s).weights))
            return (r.value, zip(r.gradient.storage, u2.storage).reduce(0) { $0 + $1.0 * $1.1 }, r.errorBound,
                    r.gradientError * u2.storage.reduce(0) { $0 + abs($1) })
        }
        /// The derivative on the axis lines (checked to be that path's, within 1e-9), and the
        /// full-W evaluator for the interior.
        func axisDerivative(_ objective: Objective, _ w1: Double) throws -> (d: Estimate, optimizer: SymmetricOptimizer, engine: LinearPairCE) {
            let optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: objective)
            let d = try optimizer.derivativeAtZeroEstimate(w1: w1)
            #expect(d.method == .gaussLegendre2DGradient && d.converged && d.errorBound <= 1e-9, "\(objective): \(d.method), bound \(d.errorBound)")
            var engine = try #require(LinearPairCE(model: model, threat: threat, objective: objective))
            engine.parallel = true
            return (d, optimizer, engine)
        }
        do {
            let w1 = 1.4
            let (d, optimizer, engine) = try axisDerivative(.ls(alpha: 0.1), w1)
            // Hermite: d(s) = 2 (f(s) - f(0)) / s - f'(s), extrapolated from s = h and h/2.
            let axis = try optimizer.value(w1: w1, w2: 0)
            let h = 1e-3 * w1
            let steps = try [h, h / 2].map { s -> (d: Double, noise: Double) in
                let f = try interior(engine, w1, s)
                return (2 * (f.value - axis.value) / s - f.g2, 2 * (f.bound + axis.errorBound) / s + f.gradientBound)
            }
            let hermite = (4 * steps[1].d - steps[0].d) / 3
            let bound = (4 * steps[1].noise + steps[0].noise) / 3 + abs(steps[0].d - steps[1].d) / 3
            #expect(abs(d.value - hermite) <= d.errorBound + bound, "ls: axis lines \(d.value) +- \(d.errorBound), Hermite \(hermite) +- \(bound)")
        }
        // trades (the interior at two W: most of the test's 12 s) in the slow tier; the suite
        // keeps ls's check of the same axis lines above.
        if SlowTier.enabled {
            let w1 = 4.4
            let (d, _, engine) = try axisDerivative(.trades(beta: 1), w1)
            let far = try interior(engine, w1, 1e-4 * w1), near = try interior(engine, w1, 1e-5 * w1)
            #expect(near.gradientBound <= 1e-6 && far.gradientBound <= 1e-6, "bounds \(far.gradientBound) \(near.gradientBound)")
            #expect(abs(near.g2 - d.value) <= 0.2 * abs(far.g2 - d.value), "trades: d0 \(d.value), f'(1e-4 w1) \(far.g2), f'(1e-5 w1) \(near.g2)")
        }
    }
}

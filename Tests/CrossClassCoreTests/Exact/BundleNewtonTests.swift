import Foundation
import Testing
import CrossClassCore
import TestSupport

@Suite("The bundle-Newton method where kinks of R meet")
struct BundleNewtonTests {
    @Test("The simplex quadratic's minimiser meets the KKT conditions and no sampled point of the simplex is lower (rank-deficient Q included)")
    func simplexQuadratic() {
        let random = TestRandom(seed: 7)
        for (m, rank) in [(1, 1), (2, 1), (3, 3), (5, 2), (8, 3), (12, 12), (20, 4)] {
            let g = (0..<m).map { _ in (0..<rank).map { _ in 2 * random.uniform(0, 1) - 1 } }
            var q = [Double](repeating: 0, count: m * m)
            for i in 0..<m { for j in 0..<m { q[i * m + j] = zip(g[i], g[j]).reduce(0) { $0 + $1.0 * $1.1 } } }
            let e = (0..<m).map { _ in 0.3 * random.uniform(0, 1) }
            let lambda = BundleNewton.simplexQuadratic(q, e)
            func objective(_ l: [Double]) -> Double {
                var v = 0.0
                for i in 0..<m { v += e[i] * l[i]; for j in 0..<m { v += 0.5 * l[i] * q[i * m + j] * l[j] } }
                return v
            }
            #expect(lambda.allSatisfy { $0 >= 0 } && abs(lambda.reduce(0, +) - 1) <= 1e-14, "m \(m): \(lambda)")
            let slope = (0..<m).map { i in e[i] + (0..<m).reduce(0.0) { $0 + q[i * m + $1] * lambda[$1] } }
            let theta = zip(lambda, slope).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<m {
                #expect(slope[i] >= theta - 1e-12, "m \(m) rank \(rank): index \(i) could enter (\(slope[i]) < \(theta))")
                if lambda[i] > 1e-12 { #expect(abs(slope[i] - theta) <= 1e-12, "m \(m) rank \(rank): support index \(i) off the level (\(slope[i]) vs \(theta))") }
            }
            let best = objective(lambda)
            for _ in 0..<500 {
                let raw = (0..<m).map { _ in -log(1 - random.uniform(0, 1)) }
                let total = raw.reduce(0, +)
                #expect(best <= objective(raw.map { $0 / total }) + 1e-14)
            }
        }
    }

    /// F(z) = sum_i a_i (x_i - c_i)^2 / 2 + w_i |x_i| with x = R z (R a product of rotations):
    /// its minimiser is the soft threshold x_i = sign(c_i) max(|c_i| - w_i / a_i, 0), and here two
    /// of its kinks (x_1 = 0, x_2 = 0, oblique in z) meet there.
    struct SoftThreshold {
        let a = [1.0, 2.0, 0.5, 1.5], c = [1.5, 0.2, -0.1, -2.0], w = [0.5, 0.5, 0.3, 0.4]
        let angles = [0.4, 1.1, -0.7]
        func rotate(_ v: [Double], inverse: Bool) -> [Double] {
            var x = v
            let pairs = [(0, 1), (1, 2), (2, 3)]
            for k in (inverse ? Array((0..<3).reversed()) : Array(0..<3)) {
                let (i, j) = pairs[k], t = inverse ? -angles[k] : angles[k]
                let (u, v) = (x[i], x[j])
                x[i] = cos(t) * u - sin(t) * v
                x[j] = sin(t) * u + cos(t) * v
            }
            return x
        }
        var minimiser: [Double] { rotate((0..<4).map { i in (c[i] < 0 ? -1.0 : 1.0) * max(abs(c[i]) - w[i] / a[i], 0) }, inverse: true) }
        func callAsFunction(_ z: [Double]) -> (value: Double, gradient: [Double]) {
            let x = rotate(z, inverse: false)
            var value = 0.0
            var gx = [Double](repeating: 0, count: 4)
            for i in 0..<4 {
                value += 0.5 * a[i] * (x[i] - c[i]) * (x[i] - c[i]) + w[i] * abs(x[i])
                gx[i] = a[i] * (x[i] - c[i]) + w[i] * (x[i] < 0 ? -1 : 1)
            }
            // The gradient in z: R' gx.
            return (value, rotate(gx, inverse: true))
        }
    }

    @Test("On a rotated soft threshold whose minimiser sits where two kinks meet: converged, within the gap of the closed-form minimum, the kink's planes active; a budget of one step is NOT converged")
    func softThreshold() throws {
        let f = SoftThreshold()
        let start = f.rotate([0.3, 0.5, 0.4, -1.0], inverse: true)
        let f0 = f(start)
        let r = try BundleNewton.minimize(start: start, value: f0.value, gradient: f0.gradient, tolerance: 1e-12, step: 1e-6) { f($0) }
        let best = f(f.minimiser).value
        #expect(r.converged && r.decrement <= 1e-12 && r.gap <= 1e-12, "\(r)")
        #expect(r.value - best >= -1e-15 && r.value - best <= r.gap + 1e-15, "F - F* = \(r.value - best), gap \(r.gap)")
        #expect(zip(r.argument, f.minimiser).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(r.argument) vs \(f.minimiser)")
        #expect(r.activePlanes >= 3, "\(r.activePlanes) planes")
        #expect(abs(r.modulus - 0.5) <= 1e-6, "modulus \(r.modulus)")
        let short = try BundleNewton.minimize(start: start, value: f0.value, gradient: f0.gradient, tolerance: 1e-12, maxEvaluations: 1, step: 1e-6) { f($0) }
        #expect(!short.converged && max(short.decrement, short.gap) > 1e-12, "\(short)")
    }

    @Test("The bundle's progress rule: F falling by a tenth of the tolerance or more over the window goes on, however slowly its gap closes; F falling by less stops; nothing stops before the window")
    func progressRule() {
        // F falling 1e-9 every 100 evaluations (a slow crawl): on.
        let crawling: [Double] = (0...600).map { (e: Int) -> Double in 0.5 - 1e-11 * Double(e) }
        #expect(!BundleNewton.stalled(centreValues: crawling, window: 200, floor: 1e-11))
        // F flat after 300 evaluations (only null steps since): stops once the window is past it.
        let flat: [Double] = (0...600).map { (e: Int) -> Double in 0.5 - 1e-11 * Double(min(e, 300)) }
        #expect(!BundleNewton.stalled(centreValues: Array(flat.prefix(400)), window: 200, floor: 1e-11))
        #expect(BundleNewton.stalled(centreValues: Array(flat.prefix(501)), window: 200, floor: 1e-11))
        // Falling by just less than the floor over the window stops; by the floor goes on.
        let slow: [Double] = (0...200).map { (e: Int) -> Double in 1 - 0.99e-11 * Double(e) / 200 }
        #expect(BundleNewton.stalled(centreValues: slow, window: 200, floor: 1e-11))
        #expect(!BundleNewton.stalled(centreValues: slow, window: 200, floor: 0.98e-11))
        #expect(!BundleNewton.stalled(centreValues: Array(slow.prefix(200)), window: 200, floor: 1e-11))
        // F not a number: no progress.
        #expect(BundleNewton.stalled(centreValues: [0.5] + [Double](repeating: .nan, count: 200), window: 200, floor: 1e-11))
    }

    /// About 10 s on 2 cores (1040 bundle steps of 5 ms, the reference path's check): in the slow tier.
    @Test("Full W, ce under l_inf on q1 of bench/ANALYSIS.md stop 74 (slow): Newton stalls beside a nearly singular kink of R (feature 0, 1 and 4's weights of classes 0 and 1 within 1e-3); the bundle-Newton method closes its gap only linearly, past its old budget of 200 steps (NOT converged there, 1.0e-7 higher), and converges; R rises from the point along every free entry and 16 directions, and the reference path confirms the value",
          .enabled(if: SlowTier.enabled))
    func bundleBeyondItsOldBudget() throws {
        let model = try FinerPanelsTests.q1()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .ce)
        #expect(full.converged, "\(full.notes)")
        #expect(try #require(full.optimalityGap) <= 1e-10)
        let note = try #require(full.notes.first { $0.contains("the bundle-Newton method") })
        let steps = try #require(note.components(separatedBy: "continued from there: ").last?.split(separator: " ").first.flatMap { Int($0) })
        #expect(steps > 200, "\(note)")
        // The point after 200 bundle steps (stop 73): 0.47457621390696914, NOT converged.
        #expect(full.value < 0.47457621390696914 - 5e-8, "\(full.value)")
        try expectMinimum(model, threat, .ce, full)
    }

    /// m0 of bench/exact.py: feature 0 in every class, one or two exclusive features each.
    static func m0() throws -> DataModel {
        let t = true, f = false
        return try DataModel(name: "m0", membership: [[t, f, f, t, f], [t, t, f, f, t], [t, f, t, f, f]],
                             mu: [1.48, 0.89, 0.83, 1.22, 1.13], sigma: [0.36, 0.59, 0.52, 0.44, 0.67])
    }

    static func featureless() throws -> DataModel {
        try DataModel(name: "s2", membership: [[true, false, true], [false, true, true], [false, false, false]], mu: [1.0, 1.1, 0.8], sigma: [0.5, 0.5, 0.6])
    }

    @Test("Full W where Newton stalls on compound kinks (class 2 without features: its adversary's vertices tie at the optimum; ce and ls:0.1, l_inf, eps 0.3; Newton stopped 3.1e-3 and 2.2e-3 above): the bundle-Newton method converges; R rises from the point along every free entry and 16 directions (values only) and the reference path confirms the value")
    func featurelessClass() throws {
        let model = try Self.featureless()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        for (objective, stalled) in [(Objective.ce, 0.8533692865519691), (.ls(alpha: 0.1), 0.9346136372339393)] {
            let full = try FullOptimizer.solve(model: model, threat: threat, objective: objective)
            #expect(full.converged, "\(objective): \(full.notes)")
            #expect(full.notes.contains { $0.contains("bundle-Newton") && $0.contains("(a kink)") }, "\(objective): \(full.notes)")
            #expect(try #require(full.optimalityGap) <= 1e-10)
            #expect(full.value < stalled - 2e-3, "\(objective): \(full.value)")
            try expectMinimum(model, threat, objective, full)
        }
    }

    @Test("Full W, trades:1, on the featureless-class model (slow): Newton along the point class's kink stalls on a further kink (R = 0.635157); the bundle-Newton method continues along it to a point 7e-3 lower where three vertices tie (its own certificate assumes convexity), and Newton along the three-way kink converges there, certified; values rise along 8 directions", .enabled(if: SlowTier.enabled))
    func tradesAlongTheKink() throws {
        let model = try Self.featureless()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1))
        #expect(full.converged, "\(full.notes)")
        #expect(try #require(full.optimalityGap) <= 1e-10)
        #expect(full.notes.contains { $0.contains("the bundle-Newton method continued along it") && $0.contains("does not certify") }, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("three of its") && $0.contains("R rises at rate >=") }, "\(full.notes)")
        #expect(full.value < 0.635156752357027 - 7e-3, "\(full.value)")
        let w = full.classifier.weights
        // Values only: at the point three vertices tie, where the gradient would be one side's.
        var engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        engine.valueOnly = true
        for (u, rise) in try randomDirectionRises(at: w, count: 8, seed: 3, step: 1e-3, { engine.evaluate($0)?.value }) {
            #expect(rise > 1e-9, "direction \(u): \(rise)")
        }
    }

    @Test("Full W, ce, on a model whose Newton stalls near a tie that is not optimal (m0 of bench/ANALYSIS.md stop 48; 1.2e-2 above): the bundle-Newton method converges where R is smooth; R rises along every free entry and 16 directions")
    func stallNearTie() throws {
        let model = try Self.m0()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .ce)
        #expect(full.converged, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("bundle-Newton") && $0.contains("R smooth there") }, "\(full.notes)")
        #expect(full.value < 0.6243849356960492 - 1e-2, "\(full.value)")
        try expectMinimum(model, threat, .ce, full, reference: false)
    }

    /// Independently of the optimiser's gradients: R (the fast estimate) rises from the point by
    /// more than -1e-10 along each free entry both ways and along 16 fixed directions (steps
    /// 1e-4 and 1e-3), and the adaptive reference path's value there agrees within both bounds.
    func expectMinimum(_ model: DataModel, _ threat: ThreatModel, _ objective: Objective, _ full: FullOptimum, reference: Bool = true) throws {
        let w = full.classifier.weights
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: objective))
        let at = try #require(engine.estimate(w))
        #expect(abs(at.value - full.value) <= 1e-12)
        for step in [1e-4, 1e-3] {
            let rises = try freeEntryRises(engine, at: w, step: step)
            for (entry, rise) in rises.rises { #expect(rise > -1e-10, "\(objective) entry \(entry) step \(step): \(rise)") }
        }
        for (u, rise) in try randomDirectionRises(at: w, count: 16, seed: 11, step: 1e-3, { engine.estimate($0)?.value }) {
            #expect(rise > -1e-10, "\(objective) direction \(u): \(rise)")
        }
        if reference {
            var evaluator = RobustObjective(model: model, threat: threat, objective: objective, tolerance: 1e-12)
            evaluator.method = .reference
            let r = try evaluator.evaluate(LinearClassifier(weights: w))
            let bound = try #require(full.errorBound)
            #expect(abs(r.value - full.value) <= r.errorBound + bound + 1e-12, "reference \(r.value) +- \(r.errorBound), optimum \(full.value) +- \(bound)")
        }
    }
}

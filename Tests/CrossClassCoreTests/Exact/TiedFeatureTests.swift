import Foundation
import Testing
import CrossClassCore
import TestSupport

/// R at W (the fast estimate) and its rise R(W +- step e) - R(W) along each free entry e (rows
/// 0 and 1), both ways, labelled "(row, column) sign": values only, independent of an optimiser's
/// gradients (a smooth minimum rises at second order, a certified tie at first).
func freeEntryRises(_ engine: LinearPairCE, at w: Matrix, step: Double) throws -> (value: Double, rises: [(String, Double)]) {
    let at = try #require(engine.estimate(w))
    var rises: [(String, Double)] = []
    for row in 0..<(w.rows - 1) {
        for column in 0..<w.columns {
            for sign in [-1.0, 1.0] {
                var v = w
                v[row, column] += sign * step
                let moved = try #require(engine.estimate(v))
                rises.append(("(\(row), \(column)) \(sign)", moved.value - at.value))
            }
        }
    }
    return (at.value, rises)
}

/// R(W + step u / |u|) - R(W) along `count` random directions u of the free entries (uniform in
/// [-1, 1]^n from `seed`; the last row stays 0), R by `value` (nil: declined, which fails).
func randomDirectionRises(at w: Matrix, count: Int, seed: UInt64, step: Double, _ value: (Matrix) -> Double?) throws -> [(direction: [Double], rise: Double)] {
    let at = try #require(value(w))
    let random = TestRandom(seed: seed)
    var rises: [(direction: [Double], rise: Double)] = []
    for _ in 0..<count {
        let u = (0..<((w.rows - 1) * w.columns)).map { _ in 2 * random.uniform(0, 1) - 1 }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var v = w
        for (i, x) in u.enumerated() { v[i / w.columns, i % w.columns] += step * x / norm }
        rises.append((u, try #require(value(v)) - at))
    }
    return rises
}

@Suite("Features tied in every class (the l_inf kink)")
struct TiedFeatureTests {
    /// A synthetic kink at x = 0 in one feature's two free entries: R = g.u + N(u) near 0, with
    /// N the support function of `exposed`'s set; the gradient at a point a step along u is
    /// g + s(u) (its exposed point).
    static func verdict(g: (Double, Double), exposed: @escaping ((Double, Double)) -> (Double, Double)) throws -> TiedFeatures.Verdict {
        let d = 2
        let x = [0.0, 1.5, 0.0, -0.5]  // feature 0 tied (rows 0 and 1), feature 1 not
        let gradient = [g.0, 0, g.1, 0]
        let verdicts = try #require(TiedFeatures.certify(at: x, gradient: gradient, tied: [0], columns: d, error: 1e-9) { y in
            let s = exposed((y[0] - x[0], y[d] - x[d]))
            return [g.0 + s.0, 0, g.1 + s.1, 0]
        })
        return try #require(verdicts[0])
    }

    /// The box [-a, a] x [-b, b]: s(u) = (a sign u0, b sign u1).
    static func box(_ u: (Double, Double)) -> (Double, Double) {
        func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }
        return (0.3 * sign(u.0), 0.1 * sign(u.1))
    }

    /// The disc of radius 0.2: s(u) = 0.2 u / |u| (a smooth boundary: the inscribed hexagon of
    /// the first three directions has inradius 0.173, so 0.19 needs the cutting rounds).
    static func disc(_ u: (Double, Double)) -> (Double, Double) {
        let n = (u.0 * u.0 + u.1 * u.1).squareRoot()
        return (0.2 * u.0 / n, 0.2 * u.1 / n)
    }

    @Test("A gradient inside the kink's subdifferential is certified; outside, a descent direction is found")
    func synthetic() throws {
        #expect({ if case .optimal = try! Self.verdict(g: (0.25, -0.05), exposed: Self.box) { return true }; return false }())
        #expect({ if case .optimal = try! Self.verdict(g: (0.19 * cos(1.0), 0.19 * sin(1.0)), exposed: Self.disc) { return true }; return false }())
        for (g, exposed) in [((0.25, 0.12), Self.box), ((0.21 * cos(1.0), 0.21 * sin(1.0)), Self.disc)] as [((Double, Double), ((Double, Double)) -> (Double, Double))] {
            guard case .descent(let u) = try Self.verdict(g: g, exposed: exposed) else {
                Issue.record("\(g): no descent direction"); continue
            }
            // R's one-sided derivative along u: g.u + N(u) = g.u + s(u).u < 0.
            let s = exposed((u[0], u[1]))
            #expect(g.0 * u[0] + g.1 * u[1] + s.0 * u[0] + s.1 * u[1] < 0, "\(g) \(u)")
        }
    }

    @Test("A feature in every class stays tied at the l_inf full-W ls:0.1 optimum, which converges (60 iterations and NOT converged before)")
    func uninformativeFeature() throws {
        let membership = [[1, 1, 1, 1, 0], [0, 0, 0, 1, 1], [0, 1, 0, 1, 0]].map { $0.map { $0 == 1 } }
        let model = try DataModel(name: "a", membership: membership, mu: [Double](repeating: 1, count: 5), sigma: [Double](repeating: 0.5, count: 5))
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let objective = Objective.ls(alpha: 0.1)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: objective)
        #expect(full.converged, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("feature 3 held tied") && $0.contains("certified optimal") }, "\(full.notes)")
        let w = full.classifier.weights
        #expect(w[0, 3] == w[2, 3] && w[1, 3] == w[2, 3])
        // Independently of the certificate: R rises along every change of the tied feature's
        // weights (one-sided, so the rise is first order: about 1e-3 x the slack ~0.003).
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: objective))
        let at = try #require(engine.estimate(w))
        #expect(abs(at.value - full.value) <= 1e-12)
        for angle in stride(from: 0.0, to: 2 * Double.pi, by: Double.pi / 4) {
            var v = w
            v[0, 3] += 1e-3 * cos(angle)
            v[1, 3] += 1e-3 * sin(angle)
            let moved = try #require(engine.estimate(v))
            #expect(moved.value - at.value > 5e-7, "angle \(angle): \(moved.value - at.value)")
        }
    }

    @Test("A tie that is not optimal: Newton over all entries starts off the tie's kink, along its descent direction, and converges to a point R rises from")
    func tieNotOptimal() throws {
        // Feature 3 is in every class, and the tie is not optimal at ce, eps 0.3. Newton from
        // the start crawled along the tie's kink (48 iterations, the same optimum).
        let membership = [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]].map { $0.map { $0 == 1 } }
        let model = try DataModel(name: "b", membership: membership, mu: [1, 2, 0.5, 1], sigma: [0.5, 0.8, 0.3, 0.5])
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .ce)
        #expect(full.converged, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("feature 3: R decreases along") }, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("from the best point along the tie's descent direction") }, "\(full.notes)")
        #expect(full.iterations <= 20, "\(full.iterations) iterations")
        let w = full.classifier.weights
        #expect(abs(w[0, 3] - w[2, 3]) > 0.1 && abs(w[1, 3] - w[2, 3]) > 0.1, "\(w)")
        // Independently of Newton's tests: R rises along each free entry both ways (values only;
        // a smooth minimum, so the rise is second order, ~1e-6 at step 1e-3).
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .ce))
        let rises = try freeEntryRises(engine, at: w, step: 1e-3)
        #expect(abs(rises.value - full.value) <= 1e-12)
        for (entry, rise) in rises.rises { #expect(rise > 1e-9, "entry \(entry): \(rise)") }
    }

    @Test("A feature that becomes tied on the way (nested classes, ce): Newton over all entries stalls on its kink; held tied from there, it converges, the tie is certified, and R rises along every free entry both ways and matches the reference path")
    func tiedOnTheWay() throws {
        // Classes 1 and 2 carry features of class 0 (tau = 0). Feature 1, in class 0 alone,
        // ends with equal weights in every class: the l_inf shift's kink. Newton straddling it
        // stopped after 60 iterations (gradient 0.06), 0.015 above the optimum.
        let model = try FamilyNewtonTests.nested()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .ce)
        #expect(full.converged, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("feature 1 nearly tied; held tied from there") }, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("feature 1 held tied") && $0.contains("certified optimal") }, "\(full.notes)")
        let w = full.classifier.weights
        #expect(w[0, 1] == 0 && w[1, 1] == 0, "\(w)")
        #expect(full.value < full.symmetricValue - 0.03, "\(full.value) vs \(full.symmetricValue)")
        // Independently of Newton's tests: the reference path's value there, and R rising along
        // each free entry both ways (second order off the kink, first order across it).
        var reference = RobustObjective(model: model, threat: threat, objective: .ce, tolerance: 1e-12)
        reference.method = .reference
        let r = try reference.evaluate(LinearClassifier(weights: w))
        #expect(abs(r.value - full.value) <= 1e-10, "reference \(r.value) optimum \(full.value)")
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .ce))
        let rises = try freeEntryRises(engine, at: w, step: 1e-3)
        for (entry, rise) in rises.rises { #expect(rise > 1e-9, "entry \(entry): \(rise)") }
    }

    /// 10 s on one core (the whole m2 run): in the slow tier.
    @Test("Where the fixed rules miss the tolerance at the full-W point found (their two rules 6.4e-10 apart), the value and bound are the adaptive path's: converged, within the fixed rules' bound of their value (slow)",
          .enabled(if: SlowTier.enabled))
    func adaptiveValueAtPoint() throws {
        let membership = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 1, 1, 1, 1]].map { $0.map { $0 == 1 } }
        let model = try DataModel(name: "m2", membership: membership, mu: [1.41, 0.86, 0.82, 1.02, 1.11], sigma: [0.49, 0.61, 0.8, 0.71, 0.57])
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true)
        #expect(full.converged && (full.errorBound ?? 1) <= 1e-10, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("its value and bound are the adaptive path's") }, "\(full.notes)")
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        let fixed = try #require(engine.estimate(full.classifier.weights))
        #expect(fixed.errorBound > 1e-10 && abs(fixed.value - full.value) <= fixed.errorBound + (full.errorBound ?? 1), "fixed rules \(fixed.value) +- \(fixed.errorBound), reported \(full.value)")
    }
}

import CrossClassCore
import Foundation
import TestSupport
import Testing

/// Full-W trades optima on the kink of a featureless class's inner maximum (tau = 0, so its loss
/// is the adversary's best vertex at x = 0): r8 of bench/ANALYSIS.md stop 55, where Newton over
/// all entries stops beside two tying vertices (features 1 and 4 belong to no class), and s2,
/// where three vertices tie. Checked independently of the optimiser: the adaptive reference
/// path's value at the point, and R's rise along random directions about it.
@Suite("a point class's kink where Newton over all entries stops")
struct PointKinkTests {
    static func r8() throws -> DataModel {
        try DataModel(name: "r8", membership: [[false, false, false, true, false], [false, false, false, false, false], [true, false, true, true, false]],
                      mu: [0.75, 1.36, 1.16, 0.69, 0.68], sigma: [0.61, 0.46, 0.64, 0.32, 0.49])
    }

    /// Where Newton over all entries stopped on r8 (trades:1, l_inf, eps 0.3): its Hessian there
    /// not positive definite, NOT converged, R = 0.7395526029171315.
    static let stalled: [Double] = [-0.38918649062162125, 0, -2.2005025143017916, 0.8798314878428793, 0,
                                    -0.26457841140847815, 0, -1.9225130691033057, -1.692522450997626, 0]
    static let stalledValue = 0.7395526029171315

    @Test("Newton along the kink from where Newton over all entries stopped (features 1 and 4 held tied): converged with the kink certified, 2e-7 lower; the reference path confirms the value within both bounds, and R rises along 8 random directions 1e-3 |W| away")
    func alongTheKinkFromTheStall() throws {
        let model = try Self.r8()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        func matrix(_ x: [Double]) -> Matrix { Matrix(rows: 3, columns: 5, storage: x + [0, 0, 0, 0, 0]) }
        let base = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        let start = try #require(base.estimate(matrix(Self.stalled)))
        #expect(abs(start.value - Self.stalledValue) <= 1e-10, "\(start.value)")
        // Not the kink of a nearby pair of candidates only: the two best tie within 1e-6 there.
        #expect(try FullOptimizer.pointKinkSolve(base, start: Self.stalled, matrix: matrix, tolerance: 1e-10, near: 1e-8, holding: [1, 4]) == nil)
        let outcome = try #require(try FullOptimizer.pointKinkSolve(base, start: Self.stalled, matrix: matrix, tolerance: 1e-10, near: 1e-4, holding: [1, 4]))
        guard case .solved(let full) = outcome else {
            Issue.record("expected Newton along the kink to end on it: \(outcome)")
            return
        }
        let verdict = try #require(full.notes.first)
        #expect(full.converged && verdict.contains("held tied too") && verdict.contains("R rises at rate >="), "\(full.notes)")
        #expect(try #require(full.optimalityGap) <= 1e-10)
        #expect(full.value <= Self.stalledValue - 1e-7, "\(full.value)")
        let w = full.classifier.weights
        #expect((0..<3).allSatisfy { w[$0, 1] == 0 && w[$0, 4] == 0 }, "the held columns moved: \(w.storage)")
        try expectMinimum(model, threat, base, full)
    }

    @Test("three vertices tie where the bundle-Newton method stopped on s2 (trades:1, l_inf, eps 0.3; NOT converged there, no certificate for a nonconvex F): Newton along the three-way kink (codimension 2) converges with the kink certified; the reference path confirms the value, and R rises along 8 random directions 1e-3 |W| away (slow)",
          .enabled(if: SlowTier.enabled))
    func threeWayKink() throws {
        let model = try BundleNewtonTests.featureless()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        func matrix(_ x: [Double]) -> Matrix { Matrix(rows: 3, columns: 3, storage: x + [0, 0, 0]) }
        let base = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        // The bundle-Newton method's point (stop 54's output, R = 0.6274440459671125).
        let bundlePoint = [2.6242869422684523, 0.48953153969032515, 0.6472813738786091, 0.43064619638558654, 2.694465052102507, 0.6230515172504196]
        let outcome = try #require(try FullOptimizer.pointKinkSolve(base, start: bundlePoint, matrix: matrix, tolerance: 1e-10, near: 1e-4, count: 3))
        guard case .solved(let full) = outcome else {
            Issue.record("expected Newton along the three-way kink to end on it: \(outcome)")
            return
        }
        let verdict = try #require(full.notes.first)
        #expect(full.converged && verdict.contains("three of its") && verdict.contains("(4 entries)") && verdict.contains("R rises at rate >="), "\(full.notes)")
        #expect(try #require(full.optimalityGap) <= 1e-10)
        #expect(full.value <= 0.6274440459671125, "\(full.value)")
        try expectMinimum(model, threat, base, full)
    }

    /// The reference path's value at the point within both bounds, and a rise of R (the fast
    /// estimate) along 8 random directions 1e-3 |W| away: a first-order kink across the
    /// manifold and curvature along it make it >= ~1e-7 there, far above the rules' 1e-11.
    func expectMinimum(_ model: DataModel, _ threat: ThreatModel, _ base: LinearPairCE, _ full: FullOptimum) throws {
        var reference = RobustObjective(model: model, threat: threat, objective: .trades(beta: 1))
        reference.method = .reference
        let r = try reference.evaluate(full.classifier)
        let bound = try #require(full.errorBound)
        #expect(r.converged && abs(r.value - full.value) <= r.errorBound + bound, "reference \(r.value) +- \(r.errorBound), kink \(full.value) +- \(bound)")
        try Self.expectRises(base, around: full, seed: 55)
    }

    /// R (`base`'s estimate) above the point's value by more than 1e-8 along 8 random directions
    /// 1e-3 |W| away in the free entries (the last row stays 0).
    static func expectRises(_ base: LinearPairCE, around full: FullOptimum, seed: UInt64) throws {
        let w = full.classifier.weights
        let free = (w.rows - 1) * w.columns
        let x = Array(w.storage.prefix(free))
        let size = x.reduce(0) { max($0, abs($1)) }
        let random = TestRandom(seed: seed)
        for _ in 0..<8 {
            let v = (0..<free).map { _ in random.gaussian() }
            let length = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let moved = zip(x, v).map { $0 + 1e-3 * size * $1 / length } + [Double](repeating: 0, count: w.columns)
            let there = try #require(base.estimate(Matrix(rows: w.rows, columns: w.columns, storage: moved)))
            #expect(there.value > full.value + 1e-8, "along \(v): \(there.value) against \(full.value)")
        }
    }

    static func r3() throws -> DataModel {
        try DataModel(name: "r3", membership: [[false, false, false, false], [true, true, true, true], [true, true, false, true]],
                      mu: [0.71, 0.65, 1.3, 0.66], sigma: [0.57, 0.53, 0.42, 0.64])
    }

    /// 20 s on 2 cores: in the slow tier.
    @Test("l_2, r3's full-W trades:1 optimum (class 0 has no features): Newton along class 0's two-way kink from the family optimum stalls with a third candidate 1.4e-4 below; R falls off the three-way kink there, and from the best point along that descent Newton along the two-way kink again (stop 75: no run over all entries between) converges on the wide panels, certified; the optimum of the fine panels' run along the kink before stop 68 within both bounds (6e-5 below the NOT converged point of stop 54), the fine panels' two rules agreeing with its value, and R rising along 8 random directions 1e-3 |W| away (slow)",
          .enabled(if: SlowTier.enabled))
    func wideKinkUnderL2() throws {
        // Before stop 68 (Newton along the kink on the fine panels): 0.5995929210088388, bound 2.9e-11.
        let full = try Self.checkedKinkOptimum(try Self.r3(), before: 0.5995929210088388, beforeBound: 2.9e-11)
        #expect(full.notes.contains { $0.contains("a third candidate nearly ties") && $0.contains("R decreases at rate") }, "\(full.notes)")
        // Back along the two-way kink from the point left to. Before stop 75 Newton over all
        // entries ran from there (6 iterations, 5.4 s, 1.5e-9 gained) and stopped within 1e-2 of
        // the same kink, where Newton along it converged in 4 (the path r8's test keeps).
        #expect(full.notes.contains { $0.contains("Newton along the two-way kink again from the best point along it") }, "\(full.notes)")
        #expect(!full.notes.contains { $0.contains("Newton over all entries") || $0.contains("fine panels") }, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("class 0 has no features") && $0.contains("two of its") && $0.contains("R rises at rate >=") }, "\(full.notes)")
    }

    /// 15 s on 2 cores: in the slow tier.
    @Test("l_2, r8's full-W trades:1 optimum: where the wide run stopped, class 1's third candidate is within 1e-4 too, and Newton along the three-way kink (first, stop 68) is certified there, with no stall along the two-way kink; the optimum before stop 68 within both bounds, the fine panels' two rules agreeing with its value, and R rising along 8 random directions 1e-3 |W| away (slow)",
          .enabled(if: SlowTier.enabled))
    func threeWayFirstUnderL2() throws {
        // Before stop 68 (two-way run on the fine panels, the bundle, then three-way): 0.6431060746427244, bound 2.4e-12.
        let full = try Self.checkedKinkOptimum(try Self.r8(), before: 0.6431060746427244, beforeBound: 2.4e-12)
        #expect(full.notes.contains { $0.contains("continued from there on the same panels") }, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("class 1 has no features") && $0.contains("three of its") && $0.contains("R rises at rate >=") }, "\(full.notes)")
        #expect(!full.notes.contains { $0.contains("stalled") || $0.contains("bundle") }, "\(full.notes)")
    }

    /// The full-W trades:1 optimum under l_2 (eps 0.3), converged by the fast path, within both
    /// bounds of `before`; independently of what it reports, the fine panels' two rules (values
    /// only: a point class's candidates tie there) agree with its value within both bounds, and
    /// R (the wide panels' estimate) rises by more than 1e-8 along 8 random directions 1e-3 |W|
    /// away (a first-order kink across the manifold and curvature along it make the rise
    /// >= ~1e-7 there, far above the rules' 1e-11).
    static func checkedKinkOptimum(_ model: DataModel, before: Double, beforeBound: Double) throws -> FullOptimum {
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true)
        #expect(full.converged && full.method == .fast, "\(full.notes)")
        let bound = try #require(full.errorBound)
        #expect(abs(full.value - before) <= beforeBound + bound, "\(full.value) +- \(bound)")
        var fine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        fine.parallel = true
        fine.vWidth = LinearPairCE.fineVWidth
        fine.refinedLineEnds = true
        fine.valueOnly = true
        let w = full.classifier.weights
        let e = try #require(fine.estimate(w))
        #expect(e.errorBound <= 1e-10 && abs(e.value - full.value) <= e.errorBound + bound, "fine \(e.value) +- \(e.errorBound), reported \(full.value) +- \(bound)")
        var wide = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        wide.parallel = true
        try expectRises(wide, around: full, seed: 68)
        return full
    }

    @Test("end to end (with CCSIM_SLOW_TESTS=1): the full-W optimum on r8 ends on the kink, converged, at the point Newton along it finds, from where the wide panels' run stopped beside it (no run over all entries on the fine panels first)")
    func endToEnd() throws {
        guard SlowTier.enabled else { return }
        let model = try Self.r8()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true)
        #expect(full.converged && full.value <= Self.stalledValue - 1e-7, "\(full.value) \(full.notes)")
        #expect(full.notes.contains { $0.contains("Newton along that kink continued") }, "\(full.notes)")
        #expect(full.notes.contains { $0.contains("stopped on the wide v panels") } && !full.notes.contains { $0.contains("continued on the fine panels") },
                "\(full.notes)")
    }
}

import CrossClassCore
import Foundation
import TestSupport
import Testing

/// The full-W Newton's third stage: where the fine v panels' rules still differ by more than
/// the tolerance at the point reached, Newton continues on the finer panels
/// (`LinearPairCE.finerVWidth`). r9 of bench/ANALYSIS.md stop 54: a random 3-class model whose
/// trades:1 run under l_inf converged on the fine panels' error (their gradient 0 where R's was
/// 2.3e-5) and was reported NOT converged.
@Suite("finer v panels where the fine panels' rules differ")
struct FinerPanelsTests {
    static func r9() throws -> DataModel {
        let membership = [[1, 0, 1, 1], [0, 1, 0, 0], [0, 0, 0, 1]].map { $0.map { $0 == 1 } }
        return try DataModel(name: "r9", membership: membership, mu: [0.86, 1.46, 1.08, 1.11], sigma: [0.59, 0.68, 0.45, 0.36], tau: 0)
    }

    /// Where Newton on the fine panels stopped (stop 55's output, trades:1, eps 0.3), and the
    /// value then reported (the adaptive path's at that point).
    static let fineStop = Matrix(rows: 3, columns: 4, storage: [
        0.48719299862763993, -0.1605638625384244, 2.9355248945692316, -0.9892833790903253,
        0.25930381481824044, 3.8605609641258254, 0.8186338179028224, -3.7350767816581825,
        0, 0, 0, 0,
    ])
    static let fineStopValue = 0.3735385022549629

    @Test("r9 where the fine panels stopped: one class's fine rules differ by more than 1e-10, its finer panels' rules agree to 1e-11 and with panels a third as wide, and the fine gradient is off by more than 1e-6")
    func finerResolves() throws {
        var engine = try #require(LinearPairCE(model: try Self.r9(), threat: try ThreatModel(norm: .linf, eps: 0.3), objective: .trades(beta: 1)))
        engine.parallel = true
        func widened(_ width: Double) -> LinearPairCE {
            var e = engine
            e.vWidth = width
            e.refinedLineEnds = true
            return e
        }
        let fine = widened(LinearPairCE.fineVWidth), finer = widened(LinearPairCE.finerVWidth), finest = widened(LinearPairCE.finerVWidth / 3)
        let fineRules = try (0..<3).map { try #require(fine.classRuleValues(Self.fineStop, class: $0)) }
        let worst = (0..<3).max { abs(fineRules[$0].working - fineRules[$0].verification) < abs(fineRules[$1].working - fineRules[$1].verification) }!
        let worstFine = abs(fineRules[worst].working - fineRules[worst].verification)
        #expect(worstFine > 1e-10, "the fine rules differ by \(worstFine) only")
        // That class on the finer panels, and on panels a third as wide.
        let g = try #require(finer.classRuleValues(Self.fineStop, class: worst))
        let h = try #require(finest.classRuleValues(Self.fineStop, class: worst))
        #expect(abs(g.working - g.verification) <= 1e-11, "class \(worst): finer rules \(g.working), \(g.verification)")
        #expect(abs(g.verification - h.verification) <= 1e-11, "class \(worst): finer \(g.verification), a third as wide \(h.verification)")
        let fineGradient = try #require(fine.evaluate(Self.fineStop)).gradient.storage
        let finerGradient = try #require(finer.evaluate(Self.fineStop)).gradient.storage
        let off = zip(fineGradient, finerGradient).map { abs($0 - $1) }.max() ?? 0
        #expect(off > 1e-6, "the fine gradient is off by \(off) only")
    }

    @Test("end to end (with CCSIM_SLOW_TESTS=1): r9's full-W trades:1 optimum continues on the finer panels, converged, below the fine panels' point, and the reference path agrees there")
    func endToEnd() throws {
        guard SlowTier.enabled else { return }
        let model = try Self.r9()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true)
        #expect(full.converged && full.value <= Self.fineStopValue - 1e-10, "\(full.value) \(full.notes)")
        #expect(full.notes.contains { $0.contains("finer panels") }, "\(full.notes)")
        var reference = RobustObjective(model: model, threat: threat, objective: .trades(beta: 1), tolerance: 1e-11)
        reference.method = .reference
        let r = try reference.evaluate(full.classifier)
        let bound = r.errorBound
        let fullBound = try #require(full.errorBound)
        #expect(r.converged && abs(r.value - full.value) <= bound + fullBound, "reference \(r.value) (+- \(bound)), optimum \(full.value) (+- \(fullBound))")
    }

    static func r2() throws -> DataModel {
        let membership = [[1, 1, 1, 1], [1, 0, 0, 1], [0, 0, 0, 1]].map { $0.map { $0 == 1 } }
        return try DataModel(name: "r2", membership: membership, mu: [1.28, 0.63, 0.93, 1.19], sigma: [0.69, 0.46, 0.66, 0.57], tau: 0)
    }

    /// 10 s on 2 cores: in the slow tier.
    @Test("l_2, r9's full-W trades:1 optimum: the wide run stalls at its rule's noise floor and is certified there (stop 68: no fine stage), at the point the fine stage confirmed before; the fine panels' two rules agree with its value within both bounds, and their working rule's Hessian is positive definite with a decrement below the tolerance (slow)",
          .enabled(if: SlowTier.enabled))
    func wideStallCertified() throws {
        // Before stop 68 (the fine stage, then stop 67's wide estimate): 0.20433739629469105,
        // bound 6.2e-12, the same weights.
        let full = try Self.checkedOptimum(try Self.r9(), note: "certified there: the estimate's bound", before: 0.20433739629469105)
        #expect(!full.notes.contains { $0.contains("continued on the fine panels") }, "\(full.notes)")
    }

    /// 25 s on 2 cores: in the slow tier.
    @Test("l_2, r2's full-W trades:1 optimum after the fine stage, without the coarse stage (its wide run then stalls at gradient 8.8e-7, not certified there): its estimate and Hessian on the wide panels (refined where their rules differ, stop 67) give stop 67's optimum; the fine panels' two rules agree with its value within both bounds, and their working rule's Hessian is positive definite with a decrement below the tolerance (slow)",
          .enabled(if: SlowTier.enabled))
    func wideCertificateAfterTheFineStage() throws {
        // Stop 67's output: 0.48983543165765187, bound 1.4e-11 (the fine panels' estimate before
        // stop 67 was 4e-13 lower, the same weights). With the coarse stage (stop 72) the wide run
        // is certified where it stops, 4.5e-11 higher with that decrement, and no fine stage runs.
        _ = try Self.checkedOptimum(try Self.r2(), note: "continued on the fine panels", before: 0.48983543165765187, coarseStage: false)
    }

    static func q0() throws -> DataModel {
        let membership = [[1, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]].map { $0.map { $0 == 1 } }
        return try DataModel(name: "q0", membership: membership, mu: [1.31, 1.43, 1.29, 0.77], sigma: [0.6, 0.48, 0.63, 0.49], tau: 0)
    }

    /// 7 s on 2 cores: in the slow tier.
    @Test("l_2, q0's full-W trades:1 optimum: the first run goes on the coarse rule from the start, and the working rule's run from its point is certified on the wide panels (stop 72: 16 iterations in all, 14 of them coarse, against 18 on the working rule) at stop 71's optimum within both bounds; the fine panels' two rules agree with its value, and their working rule's Hessian is positive definite with a decrement below the tolerance (slow)",
          .enabled(if: SlowTier.enabled))
    func coarseStageFirst() throws {
        // Stop 71's output (no coarse stage): 0.32190775564440566, bound 8.2e-11.
        let full = try Self.checkedOptimum(try Self.q0(), note: "went first on the coarse rule from the start", before: 0.32190775564440566)
        #expect(full.notes.contains { $0.contains("certified there: the estimate's bound") }, "\(full.notes)")
        #expect(full.iterations <= 20, "\(full.iterations) iterations")
    }

    static func q1() throws -> DataModel {
        let membership = [[0, 1, 0, 1, 1], [0, 1, 1, 0, 1], [1, 0, 1, 1, 0]].map { $0.map { $0 == 1 } }
        return try DataModel(name: "q1", membership: membership, mu: [1.33, 1.09, 0.89, 0.88, 1.2], sigma: [0.48, 0.38, 0.44, 0.59, 0.4], tau: 0)
    }

    /// 6 s on 2 cores: in the slow tier.
    @Test("l_inf, q1's full-W trades:1 optimum: the wide run stops where its secant model's decrement is a hundredth of the tolerance and is certified there (stop 71: no fine stage; before, 20 more evaluations at the wide rule's floor and the fine stage, 12 s); the fine stage's optimum before within both bounds, the fine panels' two rules agreeing with its value, and their working rule's Hessian positive definite with a decrement below the tolerance (slow)",
          .enabled(if: SlowTier.enabled))
    func wideStallCertifiedUnderLinf() throws {
        // Before stop 71 (the fine stage): 0.3184625104793417, bound 1.2e-11.
        let full = try Self.checkedOptimum(try Self.q1(), norm: .linf, note: "certified there: the estimate's bound", before: 0.3184625104793417)
        #expect(!full.notes.contains { $0.contains("continued on the fine panels") }, "\(full.notes)")
    }

    /// The full-W trades:1 optimum under `norm` (eps 0.3, `coarseStage` as `FullOptimizer.solve`),
    /// converged with `note`, within 1e-10 and its bound of `before`; independently of what it reports, the fine panels' two rules agree
    /// with its value within both bounds, and their working rule's Hessian is positive definite
    /// with a decrement (on their gradient) below the tolerance.
    static func checkedOptimum(_ model: DataModel, norm: Norm = .l2, note: String, before: Double, coarseStage: Bool = true) throws -> FullOptimum {
        let threat = try ThreatModel(norm: norm, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1), parallel: true, coarseStage: coarseStage)
        #expect(full.converged && full.method == .fast, "\(full.notes)")
        #expect(full.notes.contains { $0.contains(note) }, "\(full.notes)")
        let bound = try #require(full.errorBound)
        #expect(abs(full.value - before) <= 1e-10 + bound, "\(full.value) +- \(bound)")
        var fine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        fine.parallel = true
        fine.vWidth = LinearPairCE.fineVWidth
        fine.refinedLineEnds = true
        let w = full.classifier.weights
        let e = try #require(fine.estimate(w))
        #expect(e.errorBound <= 1e-10 && abs(e.value - full.value) <= e.errorBound + bound, "fine \(e.value) +- \(e.errorBound), reported \(full.value) +- \(bound)")
        // The fine working rule's Hessian in the free entries (rows 0 and 1; row 2 is 0).
        let x = Array(w.storage.prefix(2 * w.columns))
        #expect(w.storage.suffix(w.columns).allSatisfy { $0 == 0 })
        let h = try #require(fine.freeHessian(w, step: 1e-4 * max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-3)))
        let g = Array(e.gradient.storage.prefix(2 * w.columns))
        let decrement = try #require(DampedNewton.decrement(hessian: h, gradient: g), "the fine working rule's Hessian is not positive definite")
        #expect(decrement <= 1e-10, "decrement \(decrement)")
        return full
    }
}

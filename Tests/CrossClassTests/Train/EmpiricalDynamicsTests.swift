import CrossClass
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Judged dynamics: finite training sets, PGD-vs-exact CAS, two-layer verdict")
struct EmpiricalDynamicsTests {
    /// A tiny finite-sample run of a bias-free linear model from W = 0.
    static func finiteConfiguration(eps: Double, noise: Int = 2, epochs: Int = 3) throws -> TrainingConfiguration {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5).with(noiseDimensions: noise, noiseSigma: 0.5)
        var c = TrainingConfiguration(model: model, eps: eps)
        c.useBias = false
        c.trainPerClass = 30
        c.batchSize = 30
        c.epochs = epochs
        c.learningRate = 0.5
        c.schedule = .cosine
        c.weightDecay = 0
        c.zeroInitialisation = true
        c.testPerClass = 20
        c.trainEvaluationSize = 30
        c.attack = AttackConfiguration(norm: .linf, eps: eps, steps: 5)
        c.evaluationAttack = AttackConfiguration(norm: .linf, eps: eps, steps: 5)
        return c
    }

    @Test("robust overfitting is judged by a sign test over runs at the best mean epoch")
    func overfittingVerdict() {
        let yes = Comparison.robustOverfitting([[0.5, 0.7, 0.6], [0.4, 0.8, 0.7]])
        #expect(yes.bestEpoch == 2 && yes.holds)
        #expect(yes.gaps.count == 2 && abs(yes.gaps[0] - 0.1) < 1e-12 && abs(yes.gaps[1] - 0.1) < 1e-12)
        // One run better at the end than at the best mean epoch: not every run overfits.
        let mixed = Comparison.robustOverfitting([[0.5, 0.7, 0.75], [0.4, 0.8, 0.7]])
        #expect(mixed.bestEpoch == 2 && !mixed.holds)
        // Best at the last epoch: no overfitting.
        let monotone = Comparison.robustOverfitting([[0.5, 0.6, 0.7], [0.4, 0.5, 0.6]])
        #expect(monotone.bestEpoch == 3 && !monotone.holds)
    }

    @Test("finite-n trajectory: the certified empirical optimum is never beaten by the trained W at its norm; refusals")
    func empiricalTrajectory() throws {
        let c = try Self.finiteConfiguration(eps: 0.1)
        let t = try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 3)
        #expect(t.epochs.count == 3 && t.trainPerClass == 30 && t.seeds == 3)
        for e in t.epochs {
            #expect(e.scale > 0)
            // The bound is reported, converged or not; on this tiny problem it is small.
            #expect(e.optimumSuboptimality >= 0 && e.optimumSuboptimality < 1e-3, "epoch \(e.epoch): bound \(e.optimumSuboptimality)")
            // Same norm, same data: the trained W's exact empirical objective is at least the
            // optimum's minus its certified bound (the optimum is a certified minimiser).
            #expect(e.trainedObjective >= e.optimumObjective - e.optimumSuboptimality - 1e-12)
            #expect(e.bandLow <= e.bandHigh)
            #expect(e.testRobustAccuracyLow <= e.testRobustAccuracy && e.testRobustAccuracy <= e.testRobustAccuracyHigh)
            #expect(e.testRobustAccuracy > 0.3 && e.testRobustAccuracy < 1)
        }
        #expect((1...3).contains(t.bestEpoch) && t.overfittingGaps.count == 3)
        // Every optimum certified here, so the verdict is decided.
        #expect(t.undecidedEpochs == 0 && t.verdict != "" && !t.verdict.hasPrefix("undecided"))
        #expect(t.withinTolerance == (t.fractionInside >= t.requiredFraction))
        // Refusals: population runs, one seed, objectives without an exact empirical form.
        var population = c
        population.trainPerClass = nil
        #expect(throws: InputError.self) { try Comparison.empiricalTrajectory(population, objective: .ce, seeds: 2) }
        #expect(throws: InputError.self) { try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 1) }
        #expect(throws: InputError.self) { try Comparison.empiricalTrajectory(c, objective: .ls(alpha: 0.1), seeds: 2) }
    }

    @Test("finite-n trajectory that must fail: judged against the empirical optimum at the wrong eps, it is outside the band")
    func empiricalTrajectoryMustFail() throws {
        let c = try Self.finiteConfiguration(eps: 0.1, epochs: 2)
        // Trained at eps 0.1; the prediction is the certified empirical optimum at eps 0.45,
        // which drops most of the cross-class weight: every epoch is outside the band.
        let wrong = try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 2, exactThreat: ThreatModel(norm: .linf, eps: 0.45))
        #expect(wrong.fractionInside == 0 && !wrong.withinTolerance && wrong.verdict != "within tolerance", "\(wrong.verdict)")
        for e in wrong.epochs { #expect(e.bandLow > 0, "epoch \(e.epoch): band [\(e.bandLow), \(e.bandHigh)]") }
        // The same runs against the right eps: every epoch's prediction certified.
        let right = try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 2)
        #expect(right.undecidedEpochs == 0 && right.epochs.allSatisfy { $0.optimumSuboptimality <= 1e-5 }, "\(right.verdict)")
        #expect(right.epochs.map(\.ratio) == wrong.epochs.map(\.ratio))
        // An uncertified prediction (a budget too small to certify) is undecided, never within.
        let capped = try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 2, tolerance: 1e-12, maxIterations: 3)
        #expect(capped.undecidedEpochs == 2 && !capped.withinTolerance && capped.verdict.hasPrefix("undecided"))
    }

    @Test("finite-n trajectory: exact CAS of the trained W and of the empirical optimum per epoch")
    func empiricalTrajectoryCAS() throws {
        // One epoch, no noise dimensions: each exact CAS of a general W is a K = 3 quadrature.
        let c = try Self.finiteConfiguration(eps: 0.1, noise: 0, epochs: 1)
        let t = try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 2, exactCAS: true)
        for e in t.epochs {
            let trained = try #require(e.exactCAS), optimum = try #require(e.exactCASAtScale)
            #expect((0...6).contains(trained) && (0...6).contains(optimum))
        }
        // Off: no CAS, the same trajectory otherwise (the CAS does not touch the runs).
        let without = try Comparison.empiricalTrajectory(c, objective: .ce, seeds: 2, exactCAS: false)
        #expect(without.epochs.allSatisfy { $0.exactCAS == nil && $0.exactCASAtScale == nil })
        #expect(without.epochs.map(\.ratio) == t.epochs.map(\.ratio))
        #expect(without.epochs.map(\.empiricalRatioAtScale) == t.epochs.map(\.empiricalRatioAtScale))
        // l2 has no box-vertex worst case: refused.
        var l2 = c
        l2.attack = AttackConfiguration(norm: .l2, eps: 0.1, steps: 3)
        l2.evaluationAttack = l2.attack
        #expect(throws: InputError.self) { try Comparison.empiricalTrajectory(l2, objective: .hinge(kappa: 1), seeds: 2, exactCAS: true) }
    }

    @Test("PGD-measured CAS of a fixed W agrees with its exact CAS within the bootstrap tolerance; against the wrong eps it does not")
    func attributionCheck() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .linf, eps: 0.05)
        let w = LinearClassifier.symmetric(model: model, w1: 1, w2: 1.2).weights
        let models = [(seed: UInt64(1), epoch: 1, weights: w), (seed: UInt64(1), epoch: 2, weights: w.scaled(by: 3))]
        let check = try AttributionCheck.run(model: model, models: models, threat: threat, samplesPerClass: 1500, bootstrap: 100)
        #expect(check.points.count == 2)
        for p in check.points {
            #expect((p.exactCAS ?? 0) > 0.05, "exact CAS \(p.exactCAS)")
            #expect(p.standardError > 0 && p.standardError < 0.1)
            #expect(p.inside, "sampled \(p.sampledCAS), exact \(p.exactCAS), tolerance \(p.tolerance)")
        }
        #expect(check.withinTolerance && check.fractionInside == 1)
        // Exact side at eps = 0.25 (CAS exactly 0 for paper3 from eps/mu = 1/5 on): the PGD
        // samples at eps = 0.05 still register CAS > 0, and the check reports it.
        let wrong = try AttributionCheck.run(model: model, models: models, threat: threat, exactThreat: ThreatModel(norm: .linf, eps: 0.25),
                                             samplesPerClass: 1500, bootstrap: 100)
        #expect(wrong.points.allSatisfy { $0.exactCAS == 0 && !$0.inside })
        #expect(!wrong.withinTolerance)
        #expect(throws: InputError.self) { try AttributionCheck.run(model: model, models: models, threat: ThreatModel(norm: .l2, eps: 0.05), samplesPerClass: 100) }
    }

    /// A dynamics table with the given per-seed RA and CAS curves (natural-sample CAS: the
    /// adversarial curves reversed in time, so that their verdicts differ).
    static func table(ra: [[Double]], cas: [[Double]], centred: [[Double]]) -> CSVTable {
        var t = CSVTable(header: DynamicsGridSetup.header)
        for (s, curve) in ra.enumerated() {
            for e in curve.indices {
                let r = curve.count - 1 - e
                t.append([.double(0.2), .int(20), .int(100), .int(64), .string("ce"), .int(s + 1), .int(e + 1), .double(1), .double(1), .double(1),
                          .double(1), .double(1), .double(curve[e]), .double(cas[s][e]), .double(centred[s][e]), .double(0), .double(0),
                          .double(cas[s][r]), .double(centred[s][r]), .double(0), .double(0)])
            }
        }
        return t
    }

    @Test("the dynamics claim (learns, peaks near the best epoch, drops) is judged per gauge and can fail")
    func dynamicsVerdict() throws {
        let ra = [[0.5, 0.7, 0.6], [0.4, 0.8, 0.7]]
        let verdict = try DynamicsVerdict.table(from: Self.table(
            ra: ra, cas: [[0.1, 0.3, 0.2], [0.0, 0.4, 0.1]], centred: [[0.1, 0.2, 0.3], [0.0, 0.2, 0.3]]))
        let h = verdict.header
        #expect(verdict.rows.count == 4)
        let raw = verdict.rows[0], centred = verdict.rows[1]
        #expect(raw[h.firstIndex(of: "gauge")!] == "raw" && raw[h.firstIndex(of: "claim_holds")!] == "true")
        #expect(raw[h.firstIndex(of: "samples")!] == "adversarial" && raw[h.firstIndex(of: "noise_dims")!] == "20")
        #expect(raw[h.firstIndex(of: "n_train")!] == "100" && raw[h.firstIndex(of: "width")!] == "64")
        // Natural samples (the curves reversed in time): the raw curves still peak at the best
        // epoch (claim holds), the centred ones now fall into it (no claim).
        #expect(verdict.rows[2][h.firstIndex(of: "samples")!] == "natural" && verdict.rows[2][h.firstIndex(of: "claim_holds")!] == "true")
        #expect(verdict.rows[3][h.firstIndex(of: "gauge")!] == "centred" && verdict.rows[3][h.firstIndex(of: "claim_holds")!] == "false")
        #expect(verdict.rows[3][h.firstIndex(of: "learns_seeds")!] == "0")
        #expect(raw[h.firstIndex(of: "best_epoch")!] == "2" && raw[h.firstIndex(of: "robust_overfitting")!] == "true")
        // The centred CAS keeps rising after the best epoch: the claim fails there.
        #expect(centred[h.firstIndex(of: "claim_holds")!] == "false" && centred[h.firstIndex(of: "drops_seeds")!] == "0")
        #expect(centred[h.firstIndex(of: "learns_seeds")!] == "2")
        // No overfitting (best at the end): fails in both gauges.
        let flat = try DynamicsVerdict.table(from: Self.table(
            ra: [[0.5, 0.6, 0.7], [0.5, 0.6, 0.7]], cas: [[0.1, 0.3, 0.2], [0.1, 0.3, 0.2]], centred: [[0.1, 0.3, 0.2], [0.1, 0.3, 0.2]]))
        #expect(flat.rows.allSatisfy { $0[h.firstIndex(of: "claim_holds")!] == "false" })
        // A seed with a missing epoch is refused.
        var broken = Self.table(ra: ra, cas: ra, centred: ra)
        broken = CSVTable(header: broken.header)
        let full = Self.table(ra: ra, cas: ra, centred: ra)
        for row in full.rows.dropLast() { broken.append(rawRow: row) }
        #expect(throws: InputError.self) { try DynamicsVerdict.table(from: broken) }
    }
}

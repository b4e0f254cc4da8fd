import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

/// Any class whose clean margins are exchangeable (equal means, variances and non-negative
/// covariances, equal penalties) takes complement(K)'s one-dimensional methods: pairwise(K) under
/// the symmetric family, with or without tau.
@Suite("Exchangeable margins beyond complement(K)")
struct ExchangeableMarginsTests {
    @Test("pairwise(4) (tau 0) and pairwise(5) (tau 0.3): ce (l_inf), worst-margin and hinge (both norms) are exact at 1e-10, equal Monte Carlo from the definition (margin losses), and are within the general lattice path's bound (K = 4 all; K = 5 ce)")
    func pairwiseAgainstGeneralPath() throws {
        for (k, tau) in [(4, 0.0), (5, 0.3)] {
            let model = try DataModel.pairwise(classes: k, mu: 1, sigma: 0.6, tau: tau)
            for norm in [Norm.linf, .l2] {
                let threat = try ThreatModel(norm: norm, eps: 0.2)
                // ce under l_2 has no worst point shared by every margin (and K >= 4 is refused).
                let objectives: [Objective] = norm == .linf ? [.ce, .worstMargin, .hinge(kappa: 1)] : [.worstMargin, .hinge(kappa: 1)]
                for objective in objectives {
                    let exact = try RobustObjective(model: model, threat: threat, objective: objective).evaluate(w1: 1.3, w2: 0.8)
                    #expect(exact.converged && exact.errorBound <= 1e-10 && exact.method != .latticeQMC, "K \(k) \(norm) \(objective): \(exact)")
                    if objective.isMarginBased {
                        let mc = ComplementExactTests.monteCarlo(model: model, w1: 1.3, w2: 0.8, threat: threat, objective: objective, n: 50_000, seed: 11)
                        #expect(mc.zScore(exact.value) < 4.5, "K \(k) \(norm) \(objective): exact \(exact.value), Monte Carlo \(mc.mean) +- \(mc.standardError)")
                    }
                    // The general path: every class, the margins' full covariance, the zonotope's
                    // vertices (ce) or each margin's own dual norm, and the lattice rule (K = 5:
                    // ce alone, the margin losses take seconds there).
                    guard k == 4 || objective == .ce else { continue }
                    var general = RobustObjective(model: model, threat: threat, objective: objective, tolerance: k == 4 ? 1e-6 : 5e-6)
                    general.method = .reference
                    let lattice = try general.evaluate(w1: 1.3, w2: 0.8)
                    #expect(lattice.method == .latticeQMC && lattice.converged, "K \(k) \(norm) \(objective): \(lattice)")
                    #expect(abs(lattice.value - exact.value) <= lattice.errorBound + exact.errorBound,
                            "K \(k) \(norm) \(objective): lattice \(lattice.value) +- \(lattice.errorBound), exact \(exact.value) +- \(exact.errorBound)")
                }
            }
        }
        // ce against the inner maximum over all 2^10 box vertices per sample (no zonotope, no
        // exchangeability).
        let model = try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.6)
        let threat = try ThreatModel(norm: .linf, eps: 0.2)
        let exact = try RobustObjective(model: model, threat: threat, objective: .ce).evaluate(w1: 1.3, w2: 0.8)
        let w = LinearClassifier.symmetric(model: model, w1: 1.3, w2: 0.8).weights
        let mc = BruteForce.robustObjective(model: model, classifier: w, threat: threat, objective: .ce, n: 1000, seed: 5)
        #expect(mc.zScore(exact.value) < 4.5, "exact \(exact.value), brute force \(mc.mean) +- \(mc.standardError)")
    }

    @Test("pairwise(4) optima (ce with tau 0.2, worst-margin) converge at the default tolerance; a W off the exchangeable law still takes the lattice and is refused below its floor")
    func optimaAndRefusal() throws {
        for (tau, spec) in [(0.2, ObjectiveSpec(.ce)), (0.0, ObjectiveSpec(.worstMargin))] {
            let model = try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.5, tau: tau)
            let row = try Sweeps.optimum(model: model, norm: .linf, eps: 0.2, spec: spec)
            #expect(row.optimum.converged, "tau \(tau) \(spec): \(row.optimum.notes)")
        }
        let model = try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .linf, eps: 0.2)
        var w = LinearClassifier.symmetric(model: model, w1: 1.3, w2: 0.8)
        w.weights[1, 0] += 0.1
        for objective in [Objective.ce, .worstMargin] {
            do {
                _ = try RobustObjective(model: model, threat: threat, objective: objective).evaluate(w)
                Issue.record("\(objective): a non-exchangeable W at 1e-10 was not refused")
            } catch let error as InputError {
                #expect("\(error)".contains("QMC") && "\(error)".contains("1e-10"), "\(error)")
            }
        }
    }

    @Test("complement(K) ce at large margin scales (the free-scale search's bound e^5, tau 0.2) is converged at 1e-10 and equals the independent 30-digit mpmath reference to 1e-11")
    func crossEntropyLargeScales() throws {
        let cases = try Fixtures.cases("exchangeable_ce_reference.json", of: Fixtures.ComplementCECase.self)
        #expect(cases.count >= 5)
        for c in cases {
            let tau = try #require(c.tau)
            let model = try DataModel.complement(classes: c.classes, mu: c.mu, sigma: c.sigma, tau: tau)
            let threat = try ThreatModel(norm: .linf, eps: c.eps)
            let e = try RobustObjective(model: model, threat: threat, objective: .ce).evaluate(w1: c.w1, w2: c.w2)
            #expect(e.converged && e.errorBound <= 1e-10, "\(c): \(e)")
            expectClose(e.value, c.value, tolerance: 1e-11, "K \(c.classes) tau \(tau) w (\(c.w1), \(c.w2))")
            #expect(abs(e.value - c.value) <= e.errorBound + 1e-14, "K \(c.classes) tau \(tau) w (\(c.w1), \(c.w2)): \(e.value) +- \(e.errorBound) vs \(c.value)")
        }
        // The search that visited e^5 on the axis reported the whole optimum not converged.
        let model = try DataModel.complement(classes: 4, mu: 1, sigma: 0.5, tau: 0.2)
        let row = try Sweeps.optimum(model: model, norm: .linf, eps: 0.2, spec: ObjectiveSpec(.ce))
        #expect(row.optimum.converged, "\(row.optimum.notes)")
    }
}

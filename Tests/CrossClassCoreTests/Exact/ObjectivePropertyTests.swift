import CrossClassCore
import Foundation
import TestSupport
import Testing

/// Properties every exact robust objective must have, checked on random classifiers:
/// monotone in eps, invariant to a shift of all rows of W (softmax sees only differences) and
/// to relabelling the classes, and the full-W path equal to the symmetric path on symmetric W.
@Suite("Robust objective properties")
struct ObjectivePropertyTests {
    static let objectives: [Objective] = [.ce, .ls(alpha: 0.1), .trades(beta: 3), .hinge(kappa: 1), .worstMargin]

    static func randomW(_ model: DataModel, _ r: TestRandom) -> Matrix {
        var w = LinearClassifier.symmetric(model: model, w1: r.uniform(0.5, 2), w2: r.uniform(0, 1.5)).weights
        for i in 0..<w.storage.count { w.storage[i] += 0.3 * r.gaussian() }
        return w
    }

    @Test("non-decreasing in eps (a larger ball contains the smaller one)")
    func monotoneInEps() throws {
        let r = TestRandom(seed: 5)
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for objective in Self.objectives {
            let w = LinearClassifier(weights: Self.randomW(model, r))
            var previous = -Double.infinity
            for eps in stride(from: 0.0, through: 0.45, by: 0.15) {
                let v = try RobustObjective(model: model, threat: ThreatModel(norm: .linf, eps: eps), objective: objective).evaluate(w)
                #expect(v.value >= previous - 2 * v.errorBound - 1e-12, "\(objective) eps \(eps): \(v.value) < \(previous)")
                previous = v.value
            }
        }
    }

    @Test("invariant to adding one vector to every row of W, and to relabelling classes")
    func invariances() throws {
        let r = TestRandom(seed: 9)
        let model = try DataModel.paper3(mu: 1, sigma: 0.6)
        let threat = try ThreatModel(norm: .linf, eps: 0.2)
        // Relabel: class order (2, 0, 1), applied to the membership rows and to W's rows.
        let order = [2, 0, 1]
        let permuted = try DataModel(name: "permuted", membership: order.map { model.membership[$0] }, mu: model.mu, sigma: model.sigma)
        for objective in Self.objectives {
            let w = Self.randomW(model, r)
            let base = try RobustObjective(model: model, threat: threat, objective: objective).evaluate(LinearClassifier(weights: w))
            var shifted = w
            let c = (0..<w.columns).map { _ in r.gaussian() }
            for i in 0..<w.rows { for j in 0..<w.columns { shifted.storage[i * w.columns + j] += c[j] } }
            let s = try RobustObjective(model: model, threat: threat, objective: objective).evaluate(LinearClassifier(weights: shifted))
            #expect(abs(s.value - base.value) < 1e-8, "\(objective) row shift: \(s.value) vs \(base.value)")
            var relabelled = w
            for (i, src) in order.enumerated() { for j in 0..<w.columns { relabelled.storage[i * w.columns + j] = w.storage[src * w.columns + j] } }
            let p = try RobustObjective(model: permuted, threat: threat, objective: objective).evaluate(LinearClassifier(weights: relabelled))
            #expect(abs(p.value - base.value) < 1e-8, "\(objective) relabelled: \(p.value) vs \(base.value)")
        }
    }

    @Test("full-W path equals the symmetric path on symmetric W (paper3 and complement(4), l_inf)")
    func fullEqualsSymmetric() throws {
        for model in [try DataModel.paper3(mu: 1, sigma: 0.5), try DataModel.complement(classes: 4, mu: 1, sigma: 0.7)] {
            // (l_2 full-W values are checked against Monte Carlo in ObjectiveTests; here they
            // would cost minutes.)
            for norm in [Norm.linf] {
                let threat = try ThreatModel(norm: norm, eps: 0.25)
                for objective in Self.objectives where model.classCount == 3 || objective.isMarginBased {
                    // K = 4 full W goes through QMC, which refuses tolerances below 1e-5.
                    let o = RobustObjective(model: model, threat: threat, objective: objective, tolerance: model.classCount == 3 ? 1e-10 : 1e-5)
                    let sym = try o.evaluate(w1: 1.2, w2: 0.7)
                    let full = try o.evaluate(LinearClassifier.symmetric(model: model, w1: 1.2, w2: 0.7))
                    #expect(abs(sym.value - full.value) < 1e-8 + sym.errorBound + full.errorBound,
                            "\(model.name) \(norm) \(objective): symmetric \(sym.value) vs full \(full.value)")
                }
            }
        }
    }
}

extension Objective {
    /// Objectives whose exact value is cheap for K > 3 (no softmax expectation in K - 1 dims).
    var isMarginBased: Bool {
        switch self {
        case .worstMargin, .hinge, .zeroOne: return true
        default: return false
        }
    }
}

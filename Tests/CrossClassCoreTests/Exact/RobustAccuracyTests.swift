import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Exact robust accuracy")
struct RobustAccuracyTests {
    @Test("an average of per-class estimates keeps the least exact method, the largest error and every failure")
    func averageReportsTheLeastExactPart() throws {
        let parts = [
            Estimate(value: 0.9, errorBound: 1e-15, converged: true, method: .closedForm),
            Estimate(value: 0.6, errorBound: 3e-7, converged: false, method: .genzQMC),
            Estimate(value: 0.3, errorBound: 1e-12, converged: true, method: .bivariate),
        ]
        let mean = RobustAccuracy.average(parts)
        expectClose(mean.value, 0.6, tolerance: 1e-15, "mean of the parts")
        #expect(mean.method == .genzQMC && mean.errorBound == 3e-7 && !mean.converged, "\(mean)")
        // The order is by exactness, not by position: the QMC part decides wherever it sits.
        #expect(RobustAccuracy.average(parts.reversed()).method == .genzQMC)
        #expect(Estimate.Method.point < .closedForm && .gaussLegendre2D < .latticeQMC && .rootOfDerivative < .genzQMC)
        // A 4-class model whose classes need different methods reports the least exact one.
        let model = try DataModel.complement(classes: 4, mu: 1, sigma: 0.5)
        var w = LinearClassifier.symmetric(model: model, w1: 1, w2: 0.4).weights
        w[0, 1] += 0.37; w[2, 3] -= 0.21
        let perClass = try RobustAccuracy.perClass(model: model, classifier: LinearClassifier(weights: w), threat: try ThreatModel(norm: .linf, eps: 0.1))
        let all = RobustAccuracy.average(perClass)
        #expect(all.method == perClass.map(\.method).max()!, "\(perClass.map(\.method)) -> \(all.method)")
    }

    @Test("w2 = 0 closed form Phi((mu - 2 eps) / sigma)")
    func closedFormAtZeroCrossWeight() throws {
        for sigma in [0.25, 0.5, 1.0] {
            let model = try DataModel.paper3(mu: 1, sigma: sigma)
            for eps in stride(from: 0.0, through: 0.49, by: 0.07) {
                let threat = try ThreatModel(norm: .linf, eps: eps)
                let expected = Normal.cdf((1 - 2 * eps) / sigma)
                let sym = try RobustAccuracy.symmetric(model: model, w1: 2.5, w2: 0, threat: threat)
                let gen = try RobustAccuracy.general(
                    model: model, classifier: .symmetric(model: model, w1: 2.5, w2: 0), threat: threat)
                #expect(abs(sym.value - expected) < 1e-14)
                #expect(abs(gen.value - expected) < 1e-14)
            }
        }
    }

    @Test("general-W path equals the symmetric closed form on symmetric W")
    func generalMatchesSymmetric() throws {
        let models = [try DataModel.paper3(mu: 1, sigma: 0.5), try DataModel.paper3(mu: 1, sigma: 1, tau: 0.3),
                      try DataModel.complement(classes: 4, mu: 1, sigma: 0.7), try DataModel.complement(classes: 5, sigma: 0.4)]
        for model in models {
            for norm in Norm.allCases {
                for (w1, w2) in [(1.0, 0.0), (1.0, 0.3), (1.0, 1.0), (0.4, 1.7), (3.0, 0.2)] {
                    for eps in [0.0, 0.1, 0.25, 0.4] {
                        let threat = try ThreatModel(norm: norm, eps: eps)
                        let sym = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat)
                        let gen = try RobustAccuracy.general(
                            model: model, classifier: .symmetric(model: model, w1: w1, w2: w2), threat: threat)
                        #expect(abs(sym.value - gen.value) < 1e-10, "\(model.name) \(norm) w=(\(w1),\(w2)) eps=\(eps): \(sym.value) vs \(gen.value)")
                        #expect(sym.errorBound < 1e-11 && gen.errorBound < 1e-10)
                    }
                }
            }
        }
    }

    @Test("exact vs Monte Carlo on 24 random configurations, within 4 standard errors")
    func monteCarlo() throws {
        let r = TestRandom(seed: 7)
        var worst = 0.0
        for trial in 0..<24 {
            let model: DataModel
            switch trial % 3 {
            case 0: model = try .paper3(mu: 1, sigma: r.uniform(0.3, 1.0))
            case 1: model = try .pairwise(classes: 4, mu: 1, sigma: r.uniform(0.3, 1.0), tau: trial % 2 == 0 ? 0 : 0.2)
            default: model = try .complement(classes: 4, mu: 1, sigma: r.uniform(0.3, 0.9)).with(noiseDimensions: 2)
            }
            let norm: Norm = trial % 2 == 0 ? .linf : .l2
            // A random full W (not symmetric) plus a random bias.
            var w = Matrix(rows: model.classCount, columns: model.dimension)
            for i in 0..<w.storage.count { w.storage[i] = r.gaussian() * 0.3 }
            let sym = LinearClassifier.symmetric(model: model, w1: 1, w2: r.uniform(0, 1.2)).weights
            for i in 0..<w.storage.count { w.storage[i] += sym.storage[i] }
            let bias = (0..<model.classCount).map { _ in r.gaussian() * 0.1 }
            let classifier = LinearClassifier(weights: w, bias: bias)
            let threat = try ThreatModel(norm: norm, eps: r.uniform(0, 0.35))
            let exact = try RobustAccuracy.general(model: model, classifier: classifier, threat: threat)
            let mc = MonteCarlo.robustAccuracy(
                model: model, classifier: classifier, threat: threat, n: 200_000, seed: UInt64(100 + trial))
            let z = mc.zScore(exact.value)
            worst = max(worst, z)
            #expect(z < 4, "trial \(trial) \(model.name) \(norm): exact \(exact.value) MC \(mc.mean) +- \(mc.standardError)")
            #expect(exact.errorBound < 1e-6)
        }
    }

    @Test("agrees with the independent scipy reference to 1e-9")
    func scipyReference() throws {
        let cases = try Fixtures.cases("robust_accuracy_reference.json", of: Fixtures.RobustAccuracyCase.self)
        #expect(cases.count >= 30)
        var checked = 0
        defer { #expect(checked >= 30) }
        for c in cases {
            let membership = c.membership.map { $0.map { $0 == 1 } }
            // ccsim requires sigma > 0 (the reference also covers sigma = 0 limits).
            if c.sigma.contains(0) { continue }
            let model = try DataModel(
                name: c.id, membership: membership, mu: c.mu, sigma: c.sigma,
                tau: c.tau, noiseDimensions: c.noiseDims,
                noiseSigma: c.noiseDims == 0 ? 1 : c.noiseSigma)
            // (That a case's `preset` name builds this model is checked in ModelTests.)
            let classifier = LinearClassifier(weights: Matrix(c.W), bias: c.bias)
            let threat = try ThreatModel(norm: try Norm.parse(c.norm), eps: c.eps)
            let tolerance = max(1e-9, (c.absErrorEstimate ?? 0) * 2)
            let general = try RobustAccuracy.general(model: model, classifier: classifier, threat: threat)
            checked += 1
            expectClose(general.value, c.robustAccuracy, tolerance: tolerance + general.errorBound, "\(c.id) [\(general.method)]")
            let natural = try RobustAccuracy.general(model: model, classifier: classifier, threat: .none)
            expectClose(natural.value, c.naturalAccuracy, tolerance: tolerance + natural.errorBound, "\(c.id) natural")
            if let w1 = c.w1, let w2 = c.w2 {
                let sym = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat)
                expectClose(sym.value, c.robustAccuracy, tolerance: tolerance + sym.errorBound, "\(c.id) symmetric")
            }
        }
    }

    @Test("strict inequality: the zero classifier is never robustly correct")
    func zeroClassifier() throws {
        let model = try DataModel.paper3()
        let r = try RobustAccuracy.symmetric(model: model, w1: 0, w2: 0, threat: .none)
        #expect(r.value == 0)
    }
}

@Suite("Orthant probabilities")
struct OrthantTests {
    @Test("bivariate CDF: known values and limits")
    func bivariateKnown() throws {
        // Phi2(0, 0; rho) = 1/4 + asin(rho) / (2 pi).
        for rho in [-0.99, -0.5, 0.0, 0.3, 0.9, 1.0, -1.0] {
            let v = try OrthantProbability.bivariateCDF(h: 0, k: 0, rho: rho).value
            #expect(abs(v - (0.25 + asin(rho) / (2 * .pi))) < 1e-14, "rho \(rho)")
        }
        // rho = 1: Phi(min(h, k)); rho = -1: max(0, Phi(h) + Phi(k) - 1).
        for (h, k) in [(0.3, -0.7), (1.2, 1.2), (-2.0, 0.5)] {
            let up = try OrthantProbability.bivariateCDF(h: h, k: k, rho: 1).value
            #expect(abs(up - Normal.cdf(min(h, k))) < 1e-12)
            let down = try OrthantProbability.bivariateCDF(h: h, k: k, rho: -1).value
            #expect(abs(down - max(0, Normal.cdf(h) + Normal.cdf(k) - 1)) < 1e-12)
        }
    }

    @Test("Genz QMC agrees with the one-factor quadrature within its error bound")
    func genzAgainstOneFactor() throws {
        // Equicorrelated 4-D vector: one-factor, so both methods apply.
        let n = 4
        let mean = [0.3, 0.1, 0.5, -0.2]
        var cov = [Double](repeating: 0.4, count: n * n)
        for i in 0..<n { cov[i * n + i] = 1.0 + Double(i) * 0.1 }
        let x = GaussianVector(mean: mean, covariance: cov)
        let exact = try OrthantProbability().positive(x)
        #expect(exact.method == .oneFactor)
        let qmc = try OrthantProbability.genz(x)
        #expect(qmc.method == .genzQMC)
        #expect(abs(qmc.value - exact.value) <= max(qmc.errorBound, 1e-9))
        #expect(qmc.errorBound < 1e-6)
    }

    @Test("3-D without one-factor structure: conditioning, matches Genz and Monte Carlo")
    func negativeCorrelation() throws {
        // All three correlations negative: no real one-factor representation exists.
        let mean = [0.5, 0.2, 0.4]
        let cov = [1.0, -0.3, -0.2, -0.3, 1.0, -0.25, -0.2, -0.25, 1.0]
        let x = GaussianVector(mean: mean, covariance: cov)
        let result = try OrthantProbability().positive(x)
        #expect(result.method == .bivariate)
        #expect(result.errorBound < 1e-11)
        let qmc = try OrthantProbability.genz(x)
        #expect(abs(qmc.value - result.value) <= qmc.errorBound + 1e-9)
        // Brute force: Cholesky by hand and sampling.
        let l11 = 1.0, l21 = -0.3, l22 = (1 - 0.09).squareRoot()
        let l31 = -0.2, l32 = (-0.25 - l31 * l21) / l22, l33 = (1 - l31 * l31 - l32 * l32).squareRoot()
        let rng = RandomSource(seed: 3)
        let n = 400_000
        var hits = 0
        for _ in 0..<n {
            let z1 = rng.gaussian(), z2 = rng.gaussian(), z3 = rng.gaussian()
            if mean[0] + l11 * z1 > 0, mean[1] + l21 * z1 + l22 * z2 > 0, mean[2] + l31 * z1 + l32 * z2 + l33 * z3 > 0 {
                hits += 1
            }
        }
        let p = Double(hits) / Double(n)
        let se = (p * (1 - p) / Double(n)).squareRoot()
        #expect(abs(p - result.value) < 4 * se)
    }
}

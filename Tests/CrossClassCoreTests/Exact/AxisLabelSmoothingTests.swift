import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

/// ls on the axis w2 = 0 of complement(K) and pairwise(K): the value and the one-sided
/// derivative in w2 by one 1-D quadrature each (`AxisLabelSmoothing`), against the pair path's
/// fixed rules (K = 3), the general lattice path, and a Monte Carlo of the loss maximised over
/// every vertex of the l_inf box.
@Suite("ls on the axis w2 = 0")
struct AxisLabelSmoothingTests {
    @Test("K = 3: value and derivative at w2 = 0+ equal the pair path's fixed rules to 1e-10")
    func pairPath() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for alpha in [0.1, 0.4] {
            for eps in [0.05, 0.2, 0.35, 0.48] {
                let threat = try ThreatModel(norm: .linf, eps: eps)
                let axis = try #require(AxisLabelSmoothing(model: model, threat: threat, objective: .ls(alpha: alpha)))
                let optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .ls(alpha: alpha))
                for w1 in [0.3, 2.0, 6.0] {
                    let value = try axis.value(w1: w1, tolerance: 1e-12)
                    let pair = try RobustObjective(model: model, threat: threat, objective: .ls(alpha: alpha)).evaluate(w1: w1, w2: 0)
                    #expect(value.converged && value.method == .axisOrderStatistics)
                    #expect(abs(value.value - pair.value) <= 1e-10, "alpha \(alpha) eps \(eps) w1 \(w1): axis \(value.value), pair \(pair.value)")
                    let d = try axis.derivativeAtZero(w1: w1, tolerance: 1e-12)
                    let fixed = try optimizer.derivativeAtZeroEstimate(w1: w1)
                    #expect(d.converged && fixed.method == .gaussLegendre2DGradient)
                    #expect(abs(d.value - fixed.value) <= 1e-10 + fixed.errorBound, "alpha \(alpha) eps \(eps) w1 \(w1): axis \(d.value), pair \(fixed.value) +- \(fixed.errorBound)")
                }
            }
        }
    }

    @Test("K = 4, 5 and pairwise(4): the value on the axis is exact at 1e-10 and within the general lattice path's bound")
    func latticePath() throws {
        for model in [try DataModel.complement(classes: 4, mu: 1, sigma: 0.5), try DataModel.complement(classes: 5, mu: 1.2, sigma: 0.7),
                      try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.5)] {
            // (0.4, 8, alpha 0.45): r = 3.2, where the adversary lowers some margins and raises others.
            for (eps, w1, alpha) in [(0.1, 3.0, 0.2), (0.3, 2.0, 0.2), (0.45, 0.7, 0.2), (0.4, 8.0, 0.45)] {
                let threat = try ThreatModel(norm: .linf, eps: eps)
                let fast = try RobustObjective(model: model, threat: threat, objective: .ls(alpha: alpha)).evaluate(w1: w1, w2: 0)
                #expect(fast.converged && fast.errorBound <= 1e-10 && fast.method == .axisOrderStatistics, "\(model.name) eps \(eps): \(fast)")
                // The lattice's floor: about 1e-7 at K = 4, 5e-6 at K = 5.
                var general = RobustObjective(model: model, threat: threat, objective: .ls(alpha: alpha), tolerance: model.classCount == 4 ? 1e-7 : 5e-6)
                general.method = .reference
                let lattice = try general.evaluate(w1: w1, w2: 0)
                #expect(abs(fast.value - lattice.value) <= fast.errorBound + lattice.errorBound,
                        "\(model.name) eps \(eps) w1 \(w1): axis \(fast.value), lattice \(lattice.value) +- \(lattice.errorBound)")
            }
        }
    }

    /// Mean and standard error of (L(w1, h) - L(w1, 0)) / h over samples of class 0, L the ls
    /// loss maximised over every vertex of the l_inf box (2^F of them), the same samples on both
    /// sides.
    static func monteCarloDerivative(model: DataModel, eps: Double, alpha: Double, w1: Double, samples: Int, seed: UInt64) -> (mean: Double, standardError: Double) {
        let k = model.classCount, f = model.featureCount, n = Double(k - 1)
        let h = 1e-7
        let w0 = LinearClassifier.symmetric(model: model, w1: w1, w2: 0).weights
        let wh = LinearClassifier.symmetric(model: model, w1: w1, w2: h).weights
        func worst(_ w: Matrix, _ x: [Double]) -> Double {
            var best = -Double.infinity
            var z = [Double](repeating: 0, count: k)
            for mask in 0..<(1 << f) {
                for r in 0..<k {
                    var s = 0.0
                    for c in 0..<f { s += w[r, c] * (x[c] + (mask >> c & 1 == 1 ? eps : -eps)) }
                    z[r] = s
                }
                // log(1 + sum_k e^{-M_k}) + (alpha / n) sum_k M_k, M_k = z_0 - z_k.
                let top = z.max()!
                let logSum = top + log(z.reduce(0) { $0 + exp($1 - top) })
                var margins = 0.0
                for r in 1..<k { margins += z[0] - z[r] }
                best = max(best, logSum - z[0] + alpha / n * margins)
            }
            return best
        }
        let random = RandomSource(seed: seed)
        var sum = 0.0, sumSquares = 0.0
        for _ in 0..<samples {
            let x = (0..<f).map { c in model.membership[0][c] ? model.mu[c] + model.sigma[c] * random.gaussian() : 0 }
            let d = (worst(wh, x) - worst(w0, x)) / h
            sum += d; sumSquares += d * d
        }
        let mean = sum / Double(samples)
        return (mean, ((sumSquares / Double(samples) - mean * mean) / Double(samples - 1)).squareRoot())
    }

    @Test("complement(4), complement(5), pairwise(4): the derivative at w2 = 0+ equals a Monte Carlo of the vertex-enumerated loss's difference quotient (4 settings, 7 in the slow tier)")
    func monteCarlo() throws {
        // The suite: one setting of each model and one where the adversary lowers some margins and
        // raises others; the slow tier adds a second of each kind.
        let suite: Set<Int> = [0, 2, 3, 5]
        for (index, (model, eps, w1, alpha)) in [(try DataModel.complement(classes: 4, mu: 1, sigma: 0.5), 0.3, 2.0, 0.1),
                                        (try DataModel.complement(classes: 4, mu: 1, sigma: 0.5), 0.15, 4.0, 0.3),
                                        (try DataModel.complement(classes: 5, mu: 1, sigma: 0.5), 0.35, 1.5, 0.2),
                                        (try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.5), 0.3, 2.0, 0.1),
                                        (try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.5), 0.1, 3.0, 0.4),
                                        // r = eps w1 = 3.2, alpha 0.45: the adversary lowers some
                                        // margins and raises others (0 < j < n) over a wide band of a.
                                        (try DataModel.complement(classes: 4, mu: 1, sigma: 0.5), 0.4, 8.0, 0.45),
                                        (try DataModel.pairwise(classes: 4, mu: 1, sigma: 0.5), 0.4, 8.0, 0.45)].enumerated()
            where SlowTier.enabled || suite.contains(index) {
            let threat = try ThreatModel(norm: .linf, eps: eps)
            let axis = try #require(AxisLabelSmoothing(model: model, threat: threat, objective: .ls(alpha: alpha)))
            let d = try axis.derivativeAtZero(w1: w1, tolerance: 1e-10)
            #expect(d.converged && d.errorBound <= 1e-10)
            // Where 0 < j < n the reversed assignment of the b's (the largest lowered) is 0.073 away
            // on complement(4): the larger samples there put 4.5 standard errors well inside that.
            let wide = eps * w1 > 3
            let samples = model.featureCount == 8 ? (wide ? 30000 : 6000) : (wide ? 8000 : 2000)
            let mc = Self.monteCarloDerivative(model: model, eps: eps, alpha: alpha, w1: w1, samples: samples, seed: 7)
            #expect(abs(d.value - mc.mean) <= 4.5 * mc.standardError, "\(model.name) eps \(eps) w1 \(w1): exact \(d.value), Monte Carlo \(mc.mean) +- \(mc.standardError)")
            if wide { #expect(4.5 * mc.standardError < 0.035, "\(model.name): standard error \(mc.standardError) too large to tell the assignments apart") }
            // The optimiser's derivative is this one (fast path, K >= 4).
            let optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .ls(alpha: alpha))
            let used = try optimizer.derivativeAtZeroEstimate(w1: w1)
            #expect(used.value == d.value && used.method == .axisOrderStatistics)
        }
    }

    @Test("E[Z_(i:n)] equals an independent mpmath tail-sum form to 1e-13 (n = 1..19); sum 0, the maximum equals expectedMaximum, n = 2, 3 in closed form")
    func orderStatistics() throws {
        let cases = try Fixtures.cases("expected_max_reference.json", of: Fixtures.ExpectedMaximumCase.self)
        #expect(cases.count >= 19)
        for c in cases {
            let s = try OrderStatistics.expectedOrderStatistics(of: c.n)
            #expect(s.count == c.orderStatistics.count)
            for (q, reference) in zip(s, c.orderStatistics) {
                #expect(abs(q.value - reference) <= max(1e-13, q.absoluteError), "n \(c.n): \(q.value) vs \(reference)")
            }
        }
        for n in [1, 2, 3, 4, 7, 20, 99] {
            let s = try OrderStatistics.expectedOrderStatistics(of: n)
            #expect(s.count == n && s.allSatisfy { $0.converged })
            #expect(abs(s.reduce(0) { $0 + $1.value }) < 1e-14)
            #expect(zip(s, s.dropFirst()).allSatisfy { $0.value < $1.value })
            if n >= 2 { #expect(abs(s[n - 1].value - (try OrderStatistics.expectedMaximum(of: n)).value) < 1e-13, "n \(n)") }
        }
        let two = try OrderStatistics.expectedOrderStatistics(of: 2), three = try OrderStatistics.expectedOrderStatistics(of: 3)
        #expect(abs(two[1].value - 1 / Double.pi.squareRoot()) < 1e-14)
        #expect(abs(three[2].value - 1.5 / Double.pi.squareRoot()) < 1e-14 && three[1].value == 0)
    }

    @Test("complement(4) ls: thresholds at the default tolerance, exactly (free scale: none; scale 3: a root whose derivative changes sign across it)")
    func threshold() throws {
        let model = try DataModel.complement(classes: 4, mu: 1, sigma: 0.5)
        var free = try ThresholdFinder(model: model, norm: .linf, objective: .ls(alpha: 0.1))
        free.gridPoints = 8
        let r = try free.find()
        #expect(r.converged && r.scan.allSatisfy { $0.derivativeError <= 1e-9 })
        #expect(r.kind == .none, "free-scale ls keeps w2* > 0 up to mu/2 on complement(4) too: \(r)")
        var fixed = try ThresholdFinder(model: model, norm: .linf, objective: .ls(alpha: 0.1), scale: .fixed(3))
        fixed.gridPoints = 8
        let t = try fixed.find()
        let eps0 = try #require(t.eps0)
        #expect(t.kind == .threshold && t.converged && (t.errorBound ?? 1) <= 1e-8, "\(t)")
        for (eps, sign) in [(eps0 - 1e-4, -1.0), (eps0 + 1e-4, 1.0)] {
            let p = try fixed.scanPoint(at: eps)
            #expect(p.signIsResolved && p.derivative * sign > 0, "eps \(eps): \(p)")
        }
    }
}

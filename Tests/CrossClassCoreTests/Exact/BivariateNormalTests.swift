import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Bivariate normal (Genz's fixed rules)")
struct BivariateNormalTests {
    struct Case: Decodable {
        var h: Double
        var k: Double
        var rho: Double
        var upper: Double
    }

    @Test("P(X > h, Y > k; rho) equals 40-digit mpmath values within the stated bound (1150 cases, both tails, |rho| -> 1)")
    func equalsMpmath() throws {
        let cases = try Fixtures.cases("bivariate_normal_reference.json", of: Case.self)
        #expect(cases.count >= 1000)
        var worst = 0.0
        for c in cases {
            let p = BivariateNormal.upper(h: c.h, k: c.k, rho: c.rho)
            worst = max(worst, abs(p - c.upper))
            expectClose(p, c.upper, tolerance: BivariateNormal.errorBound, "h \(c.h) k \(c.k) rho \(c.rho)")
        }
        #expect(worst > 0, "an exact match everywhere would mean the fixture was made by this code")
    }

    @Test("near rho = 1 the accurate 1 - rho keeps the O(sI) part: three-class RA at tiny w2 equals the one-factor integral and lies below RA at w2 = 0 above the threshold")
    func tinyIndependentPart() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .linf, eps: 0.4)
        let structure = try #require(ComplementStructure(model: model))
        let atZero = try RobustAccuracy.symmetric(model: model, w1: 1, w2: 0, threat: threat).value
        for w2 in [1e-12, 1e-8, 1e-5, 1e-3] {
            let genz = try RobustAccuracy.symmetric(model: model, w1: 1, w2: w2, threat: threat)
            #expect(genz.method == .bivariateGenz)
            #expect(genz.value < atZero, "w2 \(w2): RA \(genz.value) is not below RA(w2 = 0) = \(atZero)")
            // The one-factor integral's step has width sI / sA: below w2 ~ 1e-10 QAG cannot
            // resolve it (at 1e-12 it is 3e-12 off, above RA(0)), so it is compared from 1e-8 on.
            guard w2 >= 1e-8 else { continue }
            let quadrature = try structure.correctProbability(w1: 1, w2: w2, threat: threat, tolerance: 1e-16)
            #expect(quadrature.method == .oneFactor)
            expectClose(genz.value, quadrature.value, tolerance: genz.errorBound + quadrature.errorBound + 1e-16, "w2 \(w2)")
        }
    }

    @Test("the fixed rules agree with the adaptive Plackett quadrature and with the three-class RA integral")
    func agreesWithAdaptive() throws {
        for h in stride(from: -4.0, through: 4.0, by: 0.7) {
            for k in [-2.2, 0.3, 1.9] {
                for rho in [-0.97, -0.6, -0.1, 0.2, 0.6, 0.93, 0.995] {
                    let adaptive = try OrthantProbability.bivariateCDF(h: h, k: k, rho: rho, tolerance: 1e-15)
                    expectClose(BivariateNormal.cdf(h: h, k: k, rho: rho), adaptive.value,
                                tolerance: BivariateNormal.errorBound + adaptive.absoluteError + 1e-16, "h \(h) k \(k) rho \(rho)")
                }
            }
        }
    }
}

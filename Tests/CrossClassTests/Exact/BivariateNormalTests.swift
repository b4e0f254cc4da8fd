import CrossClass
import Foundation
import GSL
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

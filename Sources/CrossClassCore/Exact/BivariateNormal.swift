import Foundation
import GSL

/// Bivariate normal probabilities by Genz's fixed-rule method (A. Genz, "Numerical computation
/// of rectangular bivariate and trivariate normal and t probabilities", Statistics and
/// Computing 14, 2004; the BVND routine of Drezner-Wesolowsky / Ge-Genz).
///
/// For |rho| < 0.925 the Plackett/Sheppard integral over asin(rho) is taken with a 6-, 12- or
/// 20-point Gauss-Legendre rule (chosen by |rho|); above, the singular part near |rho| = 1 is
/// subtracted analytically and the remainder integrated with the 20-point rule. No adaptivity,
/// so one value costs about 20 exponentials: the reason it is used for the robust accuracy of
/// three-class models, where the adaptive Plackett quadrature was the bottleneck.
///
/// Accuracy: `errorBound` (1e-15 absolute) is verified in the tests against 30-digit mpmath
/// values over a grid of (h, k, rho) including |rho| -> 1 and both tails.
public enum BivariateNormal {
    /// The absolute error bound claimed (and tested) for `upper`.
    public static let errorBound = 1e-15

    /// P(X > h, Y > k) for standard normals X, Y with correlation rho in [-1, 1].
    public static func upper(h: Double, k: Double, rho: Double) -> Double {
        let r = max(-1, min(1, rho))
        return upper(h: h, k: k, rho: r, oneMinusAbsRho: 1 - abs(r))
    }

    /// The same, with 1 - |rho| given separately: near |rho| = 1 the caller often knows it far
    /// more accurately than `1 - abs(rho)` can recover it (rho = sA^2 / (sA^2 + sI^2) with a tiny
    /// sI rounds to 1 and would drop the O(sI) part of the probability).
    public static func upper(h: Double, k: Double, rho r: Double, oneMinusAbsRho: Double) -> Double {
        let (nodes, weights): ([Double], [Double])
        if abs(r) < 0.3 {
            (nodes, weights) = (x6, w6)
        } else if abs(r) < 0.75 {
            (nodes, weights) = (x12, w12)
        } else {
            (nodes, weights) = (x20, w20)
        }
        var hk = h * k
        var value = 0.0
        if abs(r) < 0.925 {
            let hs = (h * h + k * k) / 2
            let asr = asin(r)
            for i in 0..<nodes.count {
                var sn = sin(asr * (nodes[i] + 1) / 2)
                value += weights[i] * exp((sn * hk - hs) / (1 - sn * sn))
                sn = sin(asr * (-nodes[i] + 1) / 2)
                value += weights[i] * exp((sn * hk - hs) / (1 - sn * sn))
            }
            return clamp(value * asr / (4 * .pi) + upperTail(h) * upperTail(k))
        }
        var kk = k
        if r < 0 {
            kk = -k
            hk = -hk
        }
        if oneMinusAbsRho > 0 {
            let aSquared = oneMinusAbsRho * (2 - oneMinusAbsRho)
            var a = aSquared.squareRoot()
            let bSquared = (h - kk) * (h - kk)
            let c = (4 - hk) / 8, d = (12 - hk) / 16
            value = a * exp(-(bSquared / aSquared + hk) / 2)
                * (1 - c * (bSquared - aSquared) * (1 - d * bSquared / 5) / 3 + c * d * aSquared * aSquared / 5)
            if hk > -160 {
                let b = bSquared.squareRoot()
                value -= exp(-hk / 2) * (2 * Double.pi).squareRoot() * upperTail(b / a) * b
                    * (1 - c * bSquared * (1 - d * bSquared / 5) / 3)
            }
            a /= 2
            for i in 0..<nodes.count {
                var xs = (a * (nodes[i] + 1)) * (a * (nodes[i] + 1))
                var rs = (1 - xs).squareRoot()
                value += a * weights[i] * (exp(-bSquared / (2 * xs) - hk / (1 + rs)) / rs
                    - exp(-(bSquared / xs + hk) / 2) * (1 + c * xs * (1 + d * xs)))
                xs = aSquared * (-nodes[i] + 1) * (-nodes[i] + 1) / 4
                rs = (1 - xs).squareRoot()
                value += a * weights[i] * exp(-(bSquared / xs + hk) / 2)
                    * (exp(-hk * (1 - rs) / (2 * (1 + rs))) / rs - (1 + c * xs * (1 + d * xs)))
            }
            value = -value / (2 * .pi)
        }
        if r > 0 { return clamp(value + upperTail(max(h, kk))) }
        return clamp(-value + max(0, upperTail(h) - upperTail(kk)))
    }

    /// P(X <= h, Y <= k) = P(-X > -h, -Y > -k).
    public static func cdf(h: Double, k: Double, rho: Double) -> Double { upper(h: -h, k: -k, rho: rho) }

    private static func upperTail(_ x: Double) -> Double { Normal.upperTail(x) }
    private static func clamp(_ p: Double) -> Double { min(1, max(0, p)) }

    // Gauss-Legendre nodes (negative half) and weights for n = 6, 12, 20; the rule uses each
    // node and its mirror.
    private static let x6 = [-0.9324695142031522, -0.6612093864662647, -0.2386191860831970]
    private static let w6 = [0.1713244923791705, 0.3607615730481384, 0.4679139345726904]
    private static let x12 = [-0.9815606342467191, -0.9041172563704750, -0.7699026741943050,
                              -0.5873179542866171, -0.3678314989981802, -0.1252334085114692]
    private static let w12 = [0.04717533638651177, 0.1069393259953183, 0.1600783285433464,
                              0.2031674267230659, 0.2334925365383547, 0.2491470458134029]
    private static let x20 = [-0.9931285991850949, -0.9639719272779138, -0.9122344282513259,
                              -0.8391169718222188, -0.7463319064601508, -0.6360536807265150,
                              -0.5108670019508271, -0.3737060887154196, -0.2277858511416451,
                              -0.07652652113349733]
    private static let w20 = [0.01761400713915212, 0.04060142980038694, 0.06267204833410906,
                              0.08327674157670475, 0.1019301198172404, 0.1181945319615184,
                              0.1316886384491766, 0.1420961093183821, 0.1491729864726037,
                              0.1527533871307259]
}

import CGSL
import Foundation

/// Standard normal distribution functions (GSL's `gsl_cdf_ugaussian_*`), accurate in both
/// tails: `upperTail(x)` is computed directly rather than as `1 - cdf(x)`.
public enum Normal {
    public static let inverseSqrt2Pi = 0.398_942_280_401_432_677_939_946_059_934_381_868

    /// Density phi(x). Inlinable: the trades quadrature takes it at every node.
    @inlinable
    public static func pdf(_ x: Double) -> Double {
        inverseSqrt2Pi * Foundation.exp(-0.5 * x * x)
    }

    /// Phi(x) = P(Z <= x).
    @inline(__always)
    public static func cdf(_ x: Double) -> Double {
        if x == .infinity { return 1 }
        if x == -.infinity { return 0 }
        return gsl_cdf_ugaussian_P(x)
    }

    /// 1 - Phi(x) = P(Z > x), without cancellation for large x.
    @inline(__always)
    public static func upperTail(_ x: Double) -> Double {
        if x == .infinity { return 0 }
        if x == -.infinity { return 1 }
        return gsl_cdf_ugaussian_Q(x)
    }

    /// Phi^{-1}(p) for p in (0, 1).
    public static func quantile(_ p: Double) -> Double {
        GSL.prepare()
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        return gsl_cdf_ugaussian_Pinv(p)
    }

    /// log Phi(x), accurate for very negative x (GSL's `gsl_sf_log_erfc`).
    public static func logCDF(_ x: Double) -> Double {
        GSL.prepare()
        return gsl_sf_log_erfc(-x / 2.0.squareRoot()) - 0.693_147_180_559_945_309_417_232_121_458
    }
}


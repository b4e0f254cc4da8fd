import Foundation
import GSL

/// Order statistics of i.i.d. standard normals, by deterministic quadrature.
///
/// On complement(K) models with the symmetric family the K - 1 margins of a class are
/// A + I_k with one shared part A and i.i.d. parts I_k, so the worst margin is A + min_k I_k:
/// its law is that of the minimum of K - 1 i.i.d. normals (density n phi(z) Phi(-z)^(n-1) of the
/// standardised minimum), and margin objectives reduce to one-dimensional integrals.
public enum OrderStatistics {
    /// Integrals run over [-cut, cut]; the neglected mass is n * P(|Z| > 12) < 4e-32 n.
    static let cut = 12.0

    /// E[max of n i.i.d. N(0, 1)] = n integral z phi(z) Phi(z)^(n-1) dz (0 for n = 1), with
    /// GSL's error estimate plus the truncated tails.
    public static func expectedMaximum(of n: Int) throws -> Quadrature {
        precondition(n >= 1, "expectedMaximum needs n >= 1")
        if n == 1 { return Quadrature(value: 0, absoluteError: 0, evaluations: 0, converged: true) }
        let count = Double(n)
        let q = try Integrator().integrate(
            over: -cut, cut, breakPoints: [-2, 0, 2], tolerance: Tolerance(absolute: 1e-14, relative: 1e-13)
        ) { z in
            count * z * Normal.pdf(z) * ComplementStructure.power(Normal.cdf(z), n - 1)
        }
        // |z| phi(z) n beyond the cut: n * 2 phi(cut).
        let tail = 2 * count * Normal.pdf(cut)
        return Quadrature(value: q.value, absoluteError: q.absoluteError + tail + 1e-16, evaluations: q.evaluations, converged: q.converged)
    }

    /// E[Z_(i:n)] for i = 1...n (ascending: the first is the minimum), each
    /// n C(n-1, i-1) integral z phi(z) Phi(z)^(i-1) Phi(-z)^(n-i) dz with GSL's error plus the
    /// truncated tails. The upper half is the lower half negated (the law is symmetric), so the
    /// values sum to 0 exactly.
    public static func expectedOrderStatistics(of n: Int) throws -> [Quadrature] {
        precondition(n >= 1, "expectedOrderStatistics needs n >= 1")
        var out = [Quadrature](repeating: Quadrature(value: 0, absoluteError: 0, evaluations: 0, converged: true), count: n)
        // log(n C(n-1, i-1)), by n C(n-1, i) = n C(n-1, i-1) (n - i) / i.
        var coefficient = log(Double(n))
        for i in stride(from: 1, through: n / 2, by: 1) {
            if i > 1 { coefficient += log(Double(n - i + 1)) - log(Double(i - 1)) }
            let q = try Integrator().integrate(
                over: -cut, cut, breakPoints: [-2, 0, 2], tolerance: Tolerance(absolute: 1e-14, relative: 1e-13)
            ) { z in
                let log = coefficient + Double(i - 1) * Normal.logCDF(z) + Double(n - i) * Normal.logCDF(-z)
                return z * Normal.pdf(z) * exp(log)
            }
            let tail = 2 * Double(n) * Normal.pdf(cut)
            let estimate = Quadrature(value: q.value, absoluteError: q.absoluteError + tail + 1e-16, evaluations: q.evaluations, converged: q.converged)
            out[i - 1] = estimate
            out[n - i] = Quadrature(value: -q.value, absoluteError: estimate.absoluteError, evaluations: q.evaluations, converged: q.converged)
        }
        return out
    }

    /// Density of the minimum of n i.i.d. N(0, 1): n phi(z) Phi(-z)^(n-1).
    @inline(__always)
    static func minimumDensity(_ z: Double, _ n: Int) -> Double {
        Double(n) * Normal.pdf(z) * ComplementStructure.power(Normal.upperTail(z), n - 1)
    }

    /// E[g(min of n i.i.d. N(0, 1))] for a g that is smooth except at the listed points.
    static func expectationOfMinimum(
        _ n: Int, breakPoints: [Double] = [], tolerance: Double, _ g: (Double) -> Double
    ) throws -> Quadrature {
        // Where the density has most of its mass: around the expected minimum.
        let q = try Integrator().integrate(
            over: -cut, cut, breakPoints: breakPoints + [-3, -1, 0, 1], tolerance: Tolerance(absolute: tolerance, relative: 1e-13)
        ) { z in
            minimumDensity(z, n) * g(z)
        }
        return q
    }
}

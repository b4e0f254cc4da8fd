import Foundation
import GSL

/// Orthant probabilities of small Gaussian vectors.
///
/// Method by structure: 1 dimension or a degenerate vector: closed form. 2 dimensions: exact
/// bivariate normal CDF. More: if the covariance is diagonal plus rank one with non-negative
/// diagonal part (a "one-factor" structure, which the symmetric families produce), condition on
/// the factor and integrate in 1-D; otherwise Genz's QMC with a reported error.
public struct OrthantProbability {
    /// Absolute tolerance asked of every deterministic quadrature.
    public var tolerance: Double = 1e-13
    /// Target error of the QMC method (3.5 standard errors).
    public var qmcTolerance: Double = 1e-7
    /// Largest number of QMC points per randomisation.
    public var qmcMaxPoints: Int = 1 << 17
    /// Seed of the QMC shifts (fixed: the method is deterministic given its seed).
    public var qmcSeed: UInt64 = 20_250_605

    public init() {}

    /// Truncation of the real line for conditioning integrals: 2 * Phi(-12) < 4e-33.
    static let cut = 12.0
    static let tailMass = 2 * Normal.upperTail(cut)

    public func positive(_ x: GaussianVector) throws -> Estimate {
        let n = x.dimension
        if n == 0 { return Estimate(value: 1, errorBound: 0, converged: true, method: .closedForm) }
        let scale = (0..<n).map { x.cov($0, $0) }.max() ?? 0
        let tiny = 1e-14 * max(scale, 1e-300)
        // Deterministic coordinates (zero variance) are indicators; drop the true ones.
        var keep: [Int] = []
        for i in 0..<n {
            if x.cov(i, i) <= tiny {
                if x.mean[i] <= 0 { return Estimate(value: 0, errorBound: 0, converged: true, method: .closedForm) }
            } else {
                keep.append(i)
            }
        }
        let y = keep.count == n ? x : x.restricted(to: keep)
        switch y.dimension {
        case 0:
            return Estimate(value: 1, errorBound: 0, converged: true, method: .closedForm)
        case 1:
            let p = Normal.cdf(y.mean[0] / y.cov(0, 0).squareRoot())
            return Estimate(value: p, errorBound: 1e-16, converged: true, method: .closedForm)
        case 2:
            return try bivariate(y)
        default:
            if isDiagonal(y) {
                var p = 1.0
                for i in 0..<y.dimension { p *= Normal.cdf(y.mean[i] / y.cov(i, i).squareRoot()) }
                return Estimate(value: p, errorBound: 1e-15, converged: true, method: .closedForm)
            }
            if let factor = oneFactor(y) {
                return try oneFactorProbability(mean: y.mean, loading: factor.loading, residual: factor.residual)
            }
            if y.dimension == 3 { return try trivariate(y) }
            return try GenzQMC(tolerance: qmcTolerance, maxPoints: qmcMaxPoints, seed: qmcSeed).positive(y)
        }
    }

    /// Genz's QMC directly, whatever the structure (for cross-checks).
    public static func genz(_ x: GaussianVector, tolerance: Double = 1e-7) throws -> Estimate {
        let o = OrthantProbability()
        return try GenzQMC(tolerance: tolerance, maxPoints: o.qmcMaxPoints, seed: o.qmcSeed).positive(x)
    }

    func isDiagonal(_ x: GaussianVector) -> Bool {
        let n = x.dimension
        for i in 0..<n { for j in 0..<n where i != j && x.cov(i, j) != 0 { return false } }
        return true
    }

    // MARK: Bivariate

    /// P(X1 > 0, X2 > 0) = Phi2(h, k; rho) with h = m1/s1, k = m2/s2.
    ///
    /// Plackett's identity with rho = sin(theta):
    /// Phi2(h, k; rho) = Phi(h) Phi(k) + (1 / 2pi) * integral_0^asin(rho)
    ///     exp(-(h^2 + k^2 - 2 h k sin t) / (2 cos^2 t)) dt,
    /// a smooth bounded integrand, integrated with GSL QAG. The exponent is rewritten so that
    /// it stays finite as |rho| -> 1.
    func bivariate(_ x: GaussianVector) throws -> Estimate {
        let s1 = x.cov(0, 0).squareRoot(), s2 = x.cov(1, 1).squareRoot()
        let h = x.mean[0] / s1, k = x.mean[1] / s2
        let rho = max(-1, min(1, x.cov(0, 1) / (s1 * s2)))
        if tolerance >= BivariateNormal.errorBound {
            return Estimate(value: BivariateNormal.cdf(h: h, k: k, rho: rho), errorBound: BivariateNormal.errorBound,
                            converged: true, method: .bivariateGenz)
        }
        let value = try Self.bivariateCDF(h: h, k: k, rho: rho, tolerance: tolerance)
        return Estimate(value: value.value, errorBound: value.absoluteError + 1e-16,
            converged: value.converged, method: .bivariate)
    }

    /// Phi2(h, k; rho) = P(Z1 <= h, Z2 <= k) for standard normals with correlation rho.
    public static func bivariateCDF(
        h: Double, k: Double, rho: Double, tolerance: Double = 1e-13
    ) throws -> Quadrature {
        let base = Normal.cdf(h) * Normal.cdf(k)
        if rho == 0 { return Quadrature(value: base, absoluteError: 0, evaluations: 0, converged: true) }
        let upper = asin(max(-1, min(1, rho)))
        let hk = h * k
        let dPlus = (h - k) * (h - k), dMinus = (h + k) * (h + k)
        let integrand: (Double) -> Double = { t in
            let s = sin(t)
            let c2 = max(0, (1 - s) * (1 + s))
            // (h^2 + k^2 - 2hk s) / (2 c^2) written without 0/0 at s = +/-1:
            // for s >= 0: (h-k)^2 / (2c^2) + hk / (1 + s); for s < 0: (h+k)^2 / (2c^2) - hk / (1 - s).
            let exponent: Double
            if s >= 0 {
                exponent = (dPlus == 0 ? 0 : dPlus / (2 * c2)) + hk / (1 + s)
            } else {
                exponent = (dMinus == 0 ? 0 : dMinus / (2 * c2)) - hk / (1 - s)
            }
            return exponent.isFinite ? exp(-exponent) : 0
        }
        let q = try Integrator(limit: 200).integrate(
            over: 0, upper, tolerance: Tolerance(absolute: tolerance * 2 * .pi, relative: 0), integrand)
        let value = min(1, max(0, base + q.value / (2 * .pi)))
        return Quadrature(
            value: value, absoluteError: q.absoluteError / (2 * .pi) + 1e-16,
            evaluations: q.evaluations, converged: q.converged)
    }

    // MARK: Trivariate

    /// Three margins: condition on the one with the largest variance and integrate the exact
    /// bivariate orthant probability of the other two (GSL QAG over the first margin's
    /// standardised value).
    func trivariate(_ x: GaussianVector) throws -> Estimate {
        let first = (0..<3).max { x.cov($0, $0) < x.cov($1, $1) }!
        let rest = (0..<3).filter { $0 != first }
        let s1 = x.cov(first, first).squareRoot()
        let lower = -x.mean[first] / s1
        if lower >= Self.cut { return Estimate(value: 0, errorBound: Self.tailMass, converged: true, method: .bivariate) }
        // Conditional law of the other two given X_first = m1 + s1 z.
        let beta = rest.map { x.cov($0, first) / (s1 * s1) }
        var condCov = [Double](repeating: 0, count: 4)
        for (a, i) in rest.enumerated() {
            for (b, j) in rest.enumerated() {
                condCov[a * 2 + b] = x.cov(i, j) - x.cov(i, first) * x.cov(j, first) / (s1 * s1)
            }
        }
        var inner = self
        inner.tolerance = tolerance * 0.1
        var worstInner = 0.0
        var innerConverged = true
        var thrown: (any Error)? = nil
        let breaks = rest.enumerated().compactMap { a, i -> Double? in
            // Where a conditional mean crosses zero the integrand changes fastest.
            let slope = beta[a] * s1
            return slope != 0 ? -x.mean[i] / slope : nil
        }
        let q = try Integrator().integrate(
            over: max(lower, -Self.cut), Self.cut, breakPoints: breaks,
            tolerance: Tolerance(absolute: tolerance)
        ) { z in
            let shift = s1 * z
            let mean = [x.mean[rest[0]] + beta[0] * shift, x.mean[rest[1]] + beta[1] * shift]
            do {
                let r = try inner.positive(GaussianVector(mean: mean, covariance: condCov))
                worstInner = max(worstInner, r.errorBound)
                innerConverged = innerConverged && r.converged
                return Normal.pdf(z) * r.value
            } catch {
                thrown = error
                return .nan
            }
        }
        if let thrown { throw thrown }
        return Estimate(value: min(1, max(0, q.value)),
            errorBound: q.absoluteError + worstInner + Self.tailMass,
            converged: q.converged && innerConverged, method: .bivariate)
    }

    // MARK: One-factor

    /// Break points for a factor Phi((t - center) / width) that switches from 0 to 1 within a
    /// few `width`s of `center`: when the switch is sharp, GSL's first Gauss-Kronrod panels
    /// can step right over it (and report a tiny error), so its scale is marked explicitly.
    static func transitionPoints(center: Double, width: Double) -> [Double] {
        guard center.isFinite else { return [] }
        guard width.isFinite, width > 0, width < 0.5 else { return [center] }
        return [-8.0, -3, -1, 0, 1, 3, 8].map { center + $0 * width }
    }

    /// Covariance = diag(residual) + loading loading^T with residual >= 0, if it has that form
    /// (checked to 1e-12 relative). Works for any n >= 3.
    func oneFactor(_ x: GaussianVector) -> (loading: [Double], residual: [Double])? {
        let n = x.dimension
        var scale = 0.0
        for i in 0..<n { scale = max(scale, abs(x.cov(i, i))) }
        let tol = 1e-12 * scale
        var loading = [Double](repeating: 0, count: n)
        for i in 0..<n {
            // v_i^2 = C_ij C_ik / C_jk for the pair (j, k) with the largest |C_jk|.
            var best = 0.0, vi2 = 0.0
            for j in 0..<n where j != i {
                for k in (j + 1)..<n where k != i {
                    let cjk = x.cov(j, k)
                    if abs(cjk) > best {
                        best = abs(cjk)
                        vi2 = x.cov(i, j) * x.cov(i, k) / cjk
                    }
                }
            }
            if best <= tol {
                // All other pairs uncorrelated: i's loading must explain its own
                // correlations alone, which only works if they are all zero.
                vi2 = 0
            }
            guard vi2 >= -tol else { return nil }
            loading[i] = max(0, vi2).squareRoot()
        }
        // Signs: relative to the first coordinate with a non-zero loading.
        guard let anchor = loading.firstIndex(where: { $0 > 0 }) else { return nil }
        for i in 0..<n where i != anchor && loading[i] > 0 {
            if x.cov(anchor, i) < 0 { loading[i] = -loading[i] }
        }
        var residual = [Double](repeating: 0, count: n)
        for i in 0..<n {
            residual[i] = x.cov(i, i) - loading[i] * loading[i]
            guard residual[i] >= -tol else { return nil }
            residual[i] = max(0, residual[i])
            for j in 0..<n where j != i {
                if abs(x.cov(i, j) - loading[i] * loading[j]) > tol { return nil }
            }
        }
        return (loading, residual)
    }

    /// P(m_i + v_i T + sqrt(r_i) Z_i > 0 for all i), T, Z_i iid N(0, 1):
    /// integral phi(t) prod_i Phi((m_i + v_i t) / sqrt(r_i)) dt, with r_i = 0 factors turned
    /// into limits of integration.
    func oneFactorProbability(mean: [Double], loading: [Double], residual: [Double]) throws -> Estimate {
        var lo = -Self.cut, hi = Self.cut
        var smooth: [Int] = []
        var breaks: [Double] = []
        let scale = residual.max() ?? 0
        for i in mean.indices {
            if residual[i] <= 1e-14 * scale {
                // Indicator m_i + v_i t > 0.
                if loading[i] > 0 { lo = max(lo, -mean[i] / loading[i]) }
                else if loading[i] < 0 { hi = min(hi, -mean[i] / loading[i]) }
                else if mean[i] <= 0 { return Estimate(value: 0, errorBound: 0, converged: true, method: .closedForm) }
            } else {
                smooth.append(i)
                if loading[i] != 0 {
                    breaks += Self.transitionPoints(
                        center: -mean[i] / loading[i], width: residual[i].squareRoot() / abs(loading[i]))
                }
            }
        }
        if lo >= hi { return Estimate(value: 0, errorBound: Self.tailMass, converged: true, method: .oneFactor) }
        let sd = residual.map { $0.squareRoot() }
        let q = try Integrator().integrate(
            over: lo, hi, breakPoints: breaks, tolerance: Tolerance(absolute: tolerance)
        ) { t in
            var p = Normal.pdf(t)
            for i in smooth {
                p *= Normal.cdf((mean[i] + loading[i] * t) / sd[i])
                if p == 0 { break }
            }
            return p
        }
        return Estimate(value: min(1, max(0, q.value)), errorBound: q.absoluteError + Self.tailMass,
            converged: q.converged, method: .oneFactor)
    }
}

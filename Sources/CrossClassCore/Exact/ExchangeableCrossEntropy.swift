import Foundation
import GSL

/// Robust cross-entropy of the symmetric family on complement(K), any K, l_inf, by a
/// one-dimensional integral of one-dimensional integrals.
///
/// With the margins m_k = A + I_k - p of `ExchangeableMargins` (one box vertex lowers every
/// margin by its own dual norm p at once, and ce is decreasing in every margin, so that vertex is
/// the adversary's best), R = E[log(1 + e^{-(A - p)} S)] with S = sum_k e^{-I_k}. Frullani's
/// log(1 + x) = int_0^inf e^{-t} (1 - e^{-t x}) dt / t, with t = e^s and v = s - A + p, and the
/// independence of A and the i.i.d. I_k give
///   R = int dv (1 - L(v)^n) H(v),
///   L(v) = E[exp(-e^{v - I})],  H(v) = E[exp(-e^{v + A - p})],
/// both expectations over one normal variable. Every piece is smooth and bounded by 1.
struct ExchangeableCrossEntropy {
    let margins: ExchangeableMargins
    /// Inner integrals run over [-cut, cut] of a standard normal: neglected mass 2 Phi(-9).
    static let cut = 9.0

    /// 1 - E[exp(-e^{a + b Z})] = E[-expm1(-e^{a + b Z})], Z ~ N(0, 1), without cancellation
    /// when it is small.
    static func complementOfLaplace(_ a: Double, _ b: Double, integrator: Integrator, tolerance: Double) throws -> Quadrature {
        if b == 0 {
            return Quadrature(value: -expm1(-exp(a)), absoluteError: 1e-17, evaluations: 0, converged: true)
        }
        // The integrand switches from 0 to 1 around z = -a / b over a width 1 / |b|.
        let center = -a / b, width = 1 / abs(b)
        return try integrator.integrate(
            over: -cut, cut, breakPoints: OrthantProbability.transitionPoints(center: center, width: width),
            // Relative 1e-13: the outer integral multiplies inner errors by its width (~50-100),
            // and at 1e-12 that alone exceeded the default tolerance 1e-10.
            tolerance: Tolerance(absolute: tolerance, relative: 1e-13)
        ) { z in
            Normal.pdf(z) * -expm1(-exp(a + b * z))
        }
    }

    func value(tolerance: Double) throws -> Estimate {
        let m = margins
        let n = Double(m.n)
        let nested = NestedIntegral(outer: Integrator(limit: 400), inner: Integrator(limit: 400))
        let innerTolerance = 1e-14
        // 1 - L(v)^n is below 1e-18 once n E[e^{v - I}] = n e^{v - mI + sI^2/2} is; H(v) is below
        // 1e-19 once v + A - p > 4 for A down to mA - 9 sA.
        let lower = m.mI - 0.5 * m.sI * m.sI - log(n) - 42
        let upper = m.penalty - m.mA + Self.cut * m.sA + 4
        if !(lower < upper) { return Estimate(value: 0, errorBound: 1e-17, converged: true, method: .quadrature1DLaplace) }
        var breaks = OrthantProbability.transitionPoints(center: m.mI, width: max(m.sI, 1e-300))
        breaks += OrthantProbability.transitionPoints(center: m.penalty - m.mA, width: max(m.sA, 1e-300))
        breaks += [m.mI, m.penalty - m.mA]
        let q = try nested.integrate(over: lower, upper, breakPoints: breaks, tolerance: Tolerance(absolute: tolerance, relative: 1e-13)) { v, inner in
            // 1 - L(v) = E[-expm1(-e^{v - mI - sI Z})] (Z and -Z have the same law).
            let cl = try Self.complementOfLaplace(v - m.mI, m.sI, integrator: inner, tolerance: innerTolerance)
            let ch = try Self.complementOfLaplace(v + m.mA - m.penalty, m.sA, integrator: inner, tolerance: innerTolerance)
            // 1 - L^n = -expm1(n log1p(-(1 - L))).
            let oneMinusLn = -expm1(n * log1p(-min(cl.value, 1)))
            return .init(value: oneMinusLn * (1 - ch.value), error: cl.absoluteError * n + ch.absoluteError,
                         converged: cl.converged && ch.converged, evaluations: cl.evaluations + ch.evaluations)
        }
        let innerError = q.innerError
        // Inner errors integrate over the outer range (each piece of the integrand is <= 1);
        // the truncated tails of the inner and outer integrals add their masses.
        let width = upper - lower
        let tails = width * (n + 1) * 2 * Normal.upperTail(Self.cut) + 1e-17
        return Estimate(
            value: q.value, errorBound: q.outerError + width * innerError + tails,
            converged: q.converged, method: .quadrature1DLaplace)
    }
}

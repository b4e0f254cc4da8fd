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

    /// E[exp(-e^{a + b Z})] (`laplace`) and 1 minus it (`complement`), Z ~ N(0, 1): the smaller
    /// of the two is integrated (exp(-e^x) when a > 0, -expm1(-e^x) otherwise), the other taken
    /// by subtraction, so both carry a small relative error (`relativeError`, beyond the
    /// absolute `floor`) where a subtraction from 1 would leave only an absolute one.
    static func laplacePair(_ a: Double, _ b: Double, floor: Double, integrator: Integrator)
        throws -> (laplace: Double, complement: Double, relativeError: Double, converged: Bool, evaluations: Int) {
        if b == 0 {
            let t = exp(a)
            return (exp(-t), -expm1(-t), 1e-15, true, 0)
        }
        // The integrand switches from 0 to 1 around z = -a / b over a width 1 / |b|.
        let center = -a / b, width = 1 / abs(b)
        let direct = a > 0
        let q = try integrator.integrate(
            over: -cut, cut, breakPoints: OrthantProbability.transitionPoints(center: center, width: width),
            // Relative 1e-13: the inner errors enter the outer integral weighted by the
            // integrand (`value`), so their relative size is what counts.
            tolerance: Tolerance(absolute: floor, relative: 1e-13)
        ) { z in
            let x = a + b * z
            return Normal.pdf(z) * (direct ? exp(-exp(x)) : -expm1(-exp(x)))
        }
        let small = min(max(q.value, 0), 1)
        let other = 1 - small
        // The error relative to the smaller of the two (it bounds the other's relative error too).
        let excess = max(0, q.absoluteError - floor)
        let relative = excess == 0 ? 0 : excess / max(min(small, other), .leastNormalMagnitude)
        return direct ? (small, other, relative, q.converged, q.evaluations) : (other, small, relative, q.converged, q.evaluations)
    }

    func value(tolerance: Double) throws -> Estimate {
        let m = margins
        let n = Double(m.n)
        let nested = NestedIntegral(outer: Integrator(limit: 400), inner: Integrator(limit: 400))
        // 1 - L(v)^n is below 1e-18 once n E[e^{v - I}] = n e^{v - mI + sI^2/2} is; H(v) is below
        // 1e-19 once v + A - p > 4 for A down to mA - 9 sA.
        let lower = m.mI - 0.5 * m.sI * m.sI - log(n) - 42
        let upper = m.penalty - m.mA + Self.cut * m.sA + 4
        if !(lower < upper) { return Estimate(value: 0, errorBound: 1e-17, converged: true, method: .quadrature1DLaplace) }
        var breaks = OrthantProbability.transitionPoints(center: m.mI, width: max(m.sI, 1e-300))
        breaks += OrthantProbability.transitionPoints(center: m.penalty - m.mA, width: max(m.sA, 1e-300))
        breaks += [m.mI, m.penalty - m.mA]
        // The inner integrals' absolute floor: n + 1 of them per point over the range add at
        // most a tenth of the tolerance (1e-14 at most, as before: a lower floor costs
        // subdivisions where the small quantity is tiny; 1e-18 made ce 1.5x slower).
        let width = upper - lower
        let floor = min(1e-14, 0.1 * tolerance / (width * (n + 1)))
        // The largest relative error of an inner integral (beyond the absolute floor).
        var relative = 0.0
        let q = try nested.integrate(over: lower, upper, breakPoints: breaks, tolerance: Tolerance(absolute: tolerance, relative: 1e-13)) { v, inner in
            // 1 - L(v) = E[-expm1(-e^{v - mI - sI Z})] (Z and -Z have the same law).
            let l = try Self.laplacePair(v - m.mI, m.sI, floor: floor, integrator: inner)
            let h = try Self.laplacePair(v + m.mA - m.penalty, m.sA, floor: floor, integrator: inner)
            relative = max(relative, l.relativeError, h.relativeError)
            // 1 - L^n = -expm1(n log1p(-(1 - L))).
            let oneMinusLn = -expm1(n * log1p(-min(l.complement, 1)))
            return .init(value: oneMinusLn * h.laplace, error: 0,
                         converged: l.converged && h.converged, evaluations: l.evaluations + h.evaluations)
        }
        // Inner errors, weighted as they enter: a relative error r in 1 - L moves 1 - L^n by
        // n L^(n-1) (1 - L) r <= (1 - L^n) r, one in H moves the integrand by (1 - L^n) H r: at
        // most 2 r times the integrand, so 2 r R over the range (the outer error added to R).
        // The absolute floors (n + 1 of them per point) integrate over the range's width, and
        // the truncated tails of the inner and outer integrals add their masses.
        let innerError = 2 * relative * (abs(q.value) + q.outerError) + width * (n + 1) * floor
        let tails = width * (n + 1) * 2 * Normal.upperTail(Self.cut) + 1e-17
        return Estimate(
            value: q.value, errorBound: q.outerError + innerError + tails,
            converged: q.converged, method: .quadrature1DLaplace)
    }
}

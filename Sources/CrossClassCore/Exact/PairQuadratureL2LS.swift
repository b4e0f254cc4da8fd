import Foundation
import GSL

/// One class's share of the robust label-smoothed ce (`ls:alpha`, K = 3) -- or of trades -- of the
/// symmetric family under l_2, with its gradient in the two rows D_k = w_y - w_k, by fixed composite
/// Gauss-Legendre rules and a certified inner maximum (issue 12's fast path for ls under l_2).
///
/// Loss in the margins m = d + Delta (d = D x clean, Delta = D delta, ||delta||_2 <= eps):
///   F(m) = log(1 + e^{-m1} + e^{-m2}) + a (m1 + m2),  a = alpha / 2,
/// convex, so its maximum over the ellipse {Delta' G^-1 Delta <= 1}, G = eps^2 D D', is on the
/// boundary. Unlike ce the adversary does not always lower the margins: where they are large
/// the linear term wins and it raises them, so the maximiser jumps between two local maxima.
///
/// Symmetry (the symmetric family on complement(3): m1, m2 and G exchangeable, checked): in
/// u = (d1 + d2)/2 ~ N(mu, su^2), v = (d1 - d2)/2 ~ N(0, sv^2) (independent) and the ellipse's
/// axes, S = (m1 + m2)/2 = u + A cos t, T = (m1 - m2)/2 = v + B sin t and
///   f(t) = log(1 + 2 e^{-S} cosh T) + 2 a S.
/// f(t) >= f(-t) when v >= 0 and sin t >= 0 (cosh(v + x) >= cosh(v - x)), so for v >= 0 the
/// maximum is on t in [0, pi], and the integrand is even in v: R = 2 E[max f; v > 0].
///
/// Inner maximum (certified): f, f', f'' on a grid of [0, pi]; the sign changes + -> - of f'
/// refined by safeguarded Newton; then every grid interval is bounded above by the cubic Taylor
/// bound from its nearer end, f(a + s) <= f(a) + f'(a) s + f''(a) s^2/2 + L3 s^3/6, with L3 a
/// global bound on |f'''| (from |third cumulant| <= range^3/4 of the softmax law, |Hessian| <= 1,
/// |gradient| <= sqrt 2); intervals whose bound exceeds the best value found by more than
/// `innerTolerance` are bisected (a higher midpoint becomes the new best and is refined), so the
/// returned value is within `innerTolerance` of the true maximum. No scan that can miss a peak.
///
/// Outer integral: v >= 0 on panels graded from 0; for each v node, u on panels graded towards
/// the zeros of the shifted margins, with the kinks -- where the global maximiser jumps between
/// local maxima -- located on a scan of u (a jump of the argmax) and bisection to 1e-13, and put
/// in as panel ends; trades' kinks of symmetry u = +-v (`kinkSignature`) are put in in closed form.
/// The line integral I(v) = E[L | v] is smooth in v except where the kink structure of the lines
/// changes (kink curves meeting, ending, or joining u = +-v): those v are located by bisection
/// between v nodes whose lines differ and made v-panel ends (at trades:6, W(3.12, 2.60), eps 0.3
/// three of them in the first v panel left the rules 7.5e-9 apart; with them, 3e-12).
/// A kink the scan misses (two jumps within one scan cell) is not excluded by proof: it would
/// show as a larger working-vs-verification difference, which is the reported bound.
///
/// Gradient (Danskin at the maximiser; x's law does not depend on W):
///   dR/dD_k = E[g_k (x + delta*)],  g_k = a - pi_k(m*),  delta* = D'(D D')^-1 Delta*
/// (the minimum-norm preimage of the maximising shift, of norm exactly eps), with
/// E[g_k x] = mean_x E[g_k] + A E[g_k (u - mu)] + B E[g_k v], the regression of x on the
/// independent (u, v) (A = Cov(x, u) / Var u, B = Cov(x, v) / Var v, from the rows' sum and
/// difference: Var v ~ w2^2 near the axis, where C^-1 loses digits to cancellation).
///
/// trades (`trades: beta`) is the same computation with the linear coefficients a replaced by
/// the clean probabilities p = pi(d): KL(p || pi(m)) = ce(m) + p . m - ce(d) - p . d, so the
/// adversary maximises f(t) = ce(m) + p1 m1 + p2 m2 (convex in m: on the ellipse's boundary),
/// and the loss is ce(d) + beta KL. f(t) >= f(-t) no longer holds for v >= 0 (the term
/// (p1 - p2) T favours sin t < 0), so the inner maximum is over the whole circle; the mirror
/// (u, -v) still has its maximiser at -t (m1 <-> m2 with p1 <-> p2), so R = 2 E[L; v > 0]
/// stands. The gradient has a second coefficient for x through p (`accumulate`).
struct ClassPairLS: EllipseMaximand {
    /// ls: alpha / 2 (0 for trades).
    let a: Double
    /// trades: beta (nil for ls).
    let beta: Double?
    let mu: Double, su: Double, sv: Double
    /// Semi-axes of the shift ellipse in (S, T).
    let axisS: Double, axisT: Double
    /// Bound on |f'''(t)|.
    let thirdBound: Double
    let meanX: [Double]
    /// Sigma D' C^-1 (n x 2) and D'(D D')^-1 (n x 2), row-major per coordinate.
    let regression: [(Double, Double)]
    let preimage: [(Double, Double)]

    static let cut = PairObjective.cut
    /// Compute the inner maxima of the v lines on all cores (`evaluate`; same bits).
    var parallel = false
    var tailStart = GaussLegendre.tailStart
    /// Grid points of [0, pi] for the inner maximum (before bisection).
    static let innerGrid = 12
    /// Most (f, f', f'') evaluations one inner maximum may spend before it declines.
    static let innerBudget = 4000

    /// `smoothing`: ls's a = alpha / 2; `trades`: trades' beta instead (smoothing is then 0).
    init?(mean: [Double], variance: [Double], differences rows: [[Double]], eps: Double, smoothing: Double, trades: Double? = nil) {
        precondition(rows.count == 2)
        let n = mean.count
        let cov = rows.map { row in (0..<n).map { row[$0] * variance[$0] } }
        let m1 = rows[0].dot(mean), m2 = rows[1].dot(mean)
        let c11 = rows[0].dot(cov[0]), c22 = rows[1].dot(cov[1])
        let p11 = rows[0].dot(rows[0]), p12 = rows[0].dot(rows[1]), p22 = rows[1].dot(rows[1])
        // Exchangeable margins and a symmetric ellipse (else the reduction does not hold).
        let scale = max(abs(c11), abs(c22), 1e-300)
        guard abs(m1 - m2) <= 1e-12 * (1 + abs(m1)), abs(c11 - c22) <= 1e-12 * scale,
              abs(p11 - p22) <= 1e-12 * max(p11, p22, 1e-300) else { return nil }
        // Var u and Var v from the rows' sum and difference (u = (d1 + d2)/2, v = (d1 - d2)/2):
        // 0.5 (c11 - c12) cancels near the axis w2 = 0, where v's variance is ~w2^2 (a relative
        // error of 1e-2 at w2 = 1e-7, which put dR/dw1 off by 0.02 there).
        var vu = 0.0, vv = 0.0
        for f in 0..<n {
            let sum = rows[0][f] + rows[1][f], difference = rows[0][f] - rows[1][f]
            vu += 0.25 * sum * sum * variance[f]
            vv += 0.25 * difference * difference * variance[f]
        }
        guard vu > 1e-28 * scale, p11 * p22 - p12 * p12 > 1e-24 * p11 * p22 else { return nil }
        // v = 0 almost surely when d1 - d2 has no variance (w2 = 0 on paper3: the cross
        // features absent from both other classes carry no weight): one node on v = 0.
        let degenerate = !(vv > 1e-24 * scale)
        a = trades == nil ? smoothing : 0
        beta = trades
        mu = m1
        su = vu.squareRoot(); sv = degenerate ? 0 : vv.squareRoot()
        // G's eigenvalues eps^2 (p11 +- p12) along (1, +-1)/sqrt 2: S moves by sqrt(lambda+/2).
        axisS = (0.5 * eps * eps * (p11 + p12)).squareRoot()
        axisT = (0.5 * eps * eps * max(p11 - p12, 0)).squareRoot()
        thirdBound = Self.thirdBound(axisS, axisT)
        meanX = mean
        // The regression of x on the independent (u, v), E[x_f | u, v] = mean_f + A_f (u - mu)
        // + B_f v (`accumulate` sums E[g (u - mu)] and E[g v]), with Cov(x_f, u) and Cov(x_f, v)
        // from the rows' sum and difference (no C^-1: det C ~ w2^2 cancels near the axis); with
        // v degenerate, on u alone. (D D')^-1 is 2 x 2.
        let detP = p11 * p22 - p12 * p12
        guard detP > 0 else { return nil }
        regression = (0..<n).map { f in
            let a = 0.5 * (rows[0][f] + rows[1][f]) * variance[f] / vu
            return (a, degenerate ? 0 : 0.5 * (rows[0][f] - rows[1][f]) * variance[f] / vv)
        }
        let pi = (p22 / detP, -p12 / detP, p11 / detP)
        preimage = (0..<n).map { f in
            let x0 = rows[0][f], x1 = rows[1][f]
            return (x0 * pi.0 + x1 * pi.1, x0 * pi.1 + x1 * pi.2)
        }
        guard mu.isFinite, su.isFinite, sv.isFinite, axisS.isFinite, axisT.isFinite else { return nil }
    }

    /// The inner maximum alone (angles and clean (u, v) given directly): for tests.
    init(axisS: Double, axisT: Double, smoothing: Double, trades: Double? = nil) {
        a = trades == nil ? smoothing : 0
        beta = trades
        mu = 0; su = 1; sv = 1
        self.axisS = axisS; self.axisT = axisT
        thirdBound = Self.thirdBound(axisS, axisT)
        meanX = []; regression = []; preimage = []
    }

    /// Global bound on |f'''|: |m^(k)(t)| <= M = sqrt 2 max(A, B) for every k; see the type's
    /// comment.
    static func thirdBound(_ axisS: Double, _ axisT: Double) -> Double {
        thirdBound(shift: 2.0.squareRoot() * max(axisS, axisT))
    }

    /// The global bound on |f'''| given M >= |m^(j)(t)| (j >= 1).
    static func thirdBound(shift m: Double) -> Double {
        1.01 * (0.71 * m * m * m + 3 * m * m + 2.0.squareRoot() * m) + 1e-300
    }

    /// Rounding level of f'(t) = (k - pi) . m'(t): 4e-16 M, M = sqrt 2 max(A, B) >= |m'|.
    var derivativeNoise: Double { 4e-16 * 2.0.squareRoot() * max(axisS, axisT) }

    /// Absolute tolerance of the certified inner maximum at a value f.
    @inline(__always)
    static func innerTolerance(_ f: Double) -> Double { 1e-13 * (1 + abs(f)) }

    /// The linear coefficients (k1, k2) of f = ce(m) + k1 m1 + k2 m2 at clean (u, v): (a, a) for
    /// ls; trades' clean probabilities p_k = pi_k(d), d = (u + v, u - v).
    @inline(__always)
    func coefficients(_ u: Double, _ v: Double) -> (Double, Double) {
        guard beta != nil else { return (a, a) }
        let c = Self.softmax(u + v, u - v)
        return (c.p1, c.p2)
    }

    /// ce(m) = log(1 + e^{-m1} + e^{-m2}) and pi_k = e^{-m_k - ce}, k = 1, 2 (without overflow).
    /// `unscaled`: (e^{-m1}, e^{-m2}) where the caller has them (`scaledExponentials`).
    @inline(__always)
    static func softmax(_ m1: Double, _ m2: Double, unscaled: (Double, Double)? = nil) -> (ce: Double, p1: Double, p2: Double) {
        // Two or three exponentials and one logarithm (the inner maximum's cost is mostly here).
        let e = scaledExponentials(m1, m2, unscaled: unscaled)
        return (e.top + log(e.sum), e.e1 / e.sum, e.e2 / e.sum)
    }

    /// `softmax`'s probabilities alone (the same bits, without its logarithm).
    @inline(__always)
    static func probabilities(_ m1: Double, _ m2: Double, unscaled: (Double, Double)? = nil) -> (p1: Double, p2: Double) {
        let e = scaledExponentials(m1, m2, unscaled: unscaled)
        return (e.e1 / e.sum, e.e2 / e.sum)
    }

    /// top = max(0, -m1, -m2), e_k = e^{-m_k - top} and sum = e^{-top} + e_1 + e_2. Where top is
    /// 0 the caller's `unscaled` (e^{-m1}, e^{-m2}) serve as e_k: -m_k - 0 = -m_k, the same bits.
    @inline(__always)
    static func scaledExponentials(_ m1: Double, _ m2: Double, unscaled: (Double, Double)?) -> (top: Double, e1: Double, e2: Double, sum: Double) {
        let top = max(0, -m1, -m2)
        if top == 0, let unscaled { return (top, unscaled.0, unscaled.1, 1 + unscaled.0 + unscaled.1) }
        let e0 = top == 0 ? 1 : exp(-top), e1 = exp(-m1 - top), e2 = exp(-m2 - top)
        return (top, e1, e2, e0 + e1 + e2)
    }

    /// The angles' range at v: [0, pi] for ls (the mirror t -> -t is never better for v >= 0);
    /// the whole circle for trades, whose term (p1 - p2) T can favour sin t < 0 at v > 0, except
    /// on v = 0, where p1 = p2 and f is even in t (searching the circle there would return t or
    /// -t by rounding, and the kink scan would take every flip for a jump).
    @inline(__always)
    func onCircle(_ v: Double) -> Bool { beta != nil && v != 0 }

    /// The distance of two angles on the circle (for ls, in [0, pi], |s - t|).
    @inline(__always)
    static func gap(_ s: Double, _ t: Double) -> Double {
        let d = abs(s - t)
        return min(d, 2 * Double.pi - d)
    }

    /// f, f', f'' at angle t (cos c, sin s) for clean (u, v), f = ce(m) + k1 m1 + k2 m2
    /// (`coefficients`).
    @inline(__always)
    func inner(_ u: Double, _ v: Double, _ c: Double, _ s: Double, _ k: (Double, Double)) -> (f: Double, d1: Double, d2: Double) {
        let S = u + axisS * c, T = v + axisT * s
        let m1 = S + T, m2 = S - T
        let (ce, p1, p2) = Self.softmax(m1, m2)
        let sp = -axisS * s, tp = axisT * c
        let spp = -axisS * c, tpp = -axisT * s
        let m1p = sp + tp, m2p = sp - tp
        let m1pp = spp + tpp, m2pp = spp - tpp
        let d = Self.angleDerivatives(p1, p2, k, m1p, m2p, m1pp, m2pp)
        // k1 m1 + k2 m2 = (k1 + k2) S + (k1 - k2) T (ls: 2 a S + 0).
        return (ce + (k.0 + k.1) * S + (k.0 - k.1) * T, d.d1, d.d2)
    }

    /// f' and f'' in t of f = ce(m(t)) + k1 m1 + k2 m2 from the softmax probabilities p at m(t)
    /// and m', m'': f' = (k - p).m', f'' = m'' (diag(p) - p p') m' ... written out:
    /// f'' = sum p m'^2 - (sum p m')^2 + (k - p).m'' (the Hessian of ce in m is diag(p) - p p').
    @inline(__always)
    static func angleDerivatives(_ p1: Double, _ p2: Double, _ k: (Double, Double),
                                 _ m1p: Double, _ m2p: Double, _ m1pp: Double, _ m2pp: Double) -> (d1: Double, d2: Double) {
        let g1 = k.0 - p1, g2 = k.1 - p2
        let mean = p1 * m1p + p2 * m2p
        let quadratic = p1 * m1p * m1p + p2 * m2p * m2p - mean * mean
        return (g1 * m1p + g2 * m2p, quadratic + g1 * m1pp + g2 * m2pp)
    }

    /// Angle grid on [0, pi] (cos, sin), built once.
    static let grid: [(t: Double, c: Double, s: Double)] = (0...innerGrid).map { i in
        let t = Double.pi * Double(i) / Double(innerGrid)
        return (t, i == innerGrid ? -1 : cos(t), i == 0 || i == innerGrid ? 0 : sin(t))
    }

    /// Angle grid on [-pi, pi] (the circle; both ends are the same point), with the spacing of
    /// `grid`.
    static let circleGrid: [(t: Double, c: Double, s: Double)] = (0...(2 * innerGrid)).map { i in
        if i == 0 { return (-Double.pi, -1, 0) }
        if i == 2 * innerGrid { return (Double.pi, -1, 0) }
        if i == innerGrid { return (0, 1, 0) }
        let t = Double.pi * Double(i - innerGrid) / Double(innerGrid)
        return (t, cos(t), sin(t))
    }

    /// max over cubic upper bound p(s) = c0 + c1 s + c2 s^2/2 + c3 s^3/6 on [0, h].
    @inline(__always)
    static func cubicMaximum(_ c0: Double, _ c1: Double, _ c2: Double, _ c3: Double, _ h: Double) -> Double {
        func p(_ s: Double) -> Double { c0 + s * (c1 + s * (0.5 * c2 + s * c3 / 6)) }
        var best = max(p(0), p(h))
        // p'(s) = c1 + c2 s + c3 s^2 / 2.
        let disc = c2 * c2 - 2 * c3 * c1
        if disc >= 0 && c3 > 0 {
            // The smaller root is the local maximum (the larger, a local minimum, is never
            // above the ends and the smaller root).
            let s = (-c2 - disc.squareRoot()) / c3
            if s > 0 && s < h { best = max(best, p(s)) }
        } else if c3 == 0 && c2 != 0 {
            let s = -c1 / c2
            if s > 0 && s < h { best = max(best, p(s)) }
        }
        return best
    }

    struct Point { var t: Double; var c: Double; var s: Double; var f: Double; var d1: Double; var d2: Double }

    /// Upper bound on f over [l.t, r.t] (`half` its half-width): the larger of the cubic Taylor
    /// bounds from both ends, with `bound` on |f'''|.
    @inline(__always)
    static func intervalMaximum(_ l: Point, _ r: Point, _ bound: Double, _ half: Double) -> Double {
        max(cubicMaximum(l.f, l.d1, l.d2, bound, half), cubicMaximum(r.f, -r.d1, r.d2, bound, half))
    }

    /// Whether `intervalMaximum` is at most `level`, trying first the cruder bound of each
    /// end's cubic term by term, c0 + max(c1, 0) h + max(c2, 0) h^2 / 2 + c3 h^3 / 6 (most
    /// intervals lie well below the maximum and are settled by it).
    @inline(__always)
    static func intervalBelow(_ l: Point, _ r: Point, _ bound: Double, _ half: Double, _ level: Double) -> Bool {
        crudelyBelow(l, r, bound, half, level) || intervalMaximum(l, r, bound, half) <= level
    }

    /// The term-by-term test of `intervalBelow` alone.
    @inline(__always)
    static func crudelyBelow(_ l: Point, _ r: Point, _ bound: Double, _ half: Double, _ level: Double) -> Bool {
        let cubic = bound * half * half * half / 6, square = 0.5 * half * half
        return l.f + max(l.d1, 0) * half + max(l.d2, 0) * square + cubic <= level
            && r.f + max(-r.d1, 0) * half + max(r.d2, 0) * square + cubic <= level
    }


    /// The amplitudes of S and T along the ellipse (`splitBound`).
    var amplitudes: (s: Double, t: Double) { (axisS, axisT) }

    /// M >= |m^(j)(t)| for j >= 1: sqrt 2 max(A, B).
    var shift: Double { 2.0.squareRoot() * max(axisS, axisT) }

    /// m(t) - (u, u) and its first two t-derivatives: m1 = S + T, m2 = S - T.
    @inline(__always)
    func baseMargins(_ v: Double, _ c: Double, _ s: Double) -> BaseMargins {
        let x = axisS * c, y = v + axisT * s
        let sp = -axisS * s, tp = axisT * c
        return BaseMargins(b1: x + y, b2: x - y, b1p: sp + tp, b2p: sp - tp, b1pp: -x - axisT * s, b2pp: -x + axisT * s)
    }

    /// Lower bounds of m(t) - (u, u) over [l.t, r.t] (inside [-pi, pi]): cos has its minimum
    /// over the interval at an end (pi is a grid end); sin may reach -1 at -pi/2 or 1 at pi/2
    /// inside.
    @inline(__always)
    func baseLows(_ v: Double, _ l: Point, _ r: Point) -> (b1: Double, b2: Double) {
        let cMin = min(l.c, r.c)
        let sMin = l.t <= -0.5 * Double.pi && r.t >= -0.5 * Double.pi ? -1 : min(l.s, r.s)
        let sMax = l.t <= 0.5 * Double.pi && r.t >= 0.5 * Double.pi ? 1 : max(l.s, r.s)
        let x = axisS * cMin
        return (x + v + axisT * sMin, x - v - axisT * sMax)
    }

    /// trades' concentrated bound's ranges over [l.t, r.t] (inside [-pi, pi]): S = u + A cos t,
    /// T = v + B sin t, m1 = S + T, m2 = S - T; cos has its maximum 1 inside at 0, sin its
    /// extremes at +-pi/2.
    @inline(__always)
    func concentratedRanges(_ v: Double, _ l: Point, _ r: Point) -> ConcentratedRanges {
        let cMin = min(l.c, r.c), cMax = l.t <= 0 && r.t >= 0 ? 1 : max(l.c, r.c)
        let sMin = l.t <= -0.5 * Double.pi && r.t >= -0.5 * Double.pi ? -1 : min(l.s, r.s)
        let sMax = l.t <= 0.5 * Double.pi && r.t >= 0.5 * Double.pi ? 1 : max(l.s, r.s)
        let tLow = v + axisT * sMin, tHigh = v + axisT * sMax
        return ConcentratedRanges(low1: axisS * cMin + tLow, high1: axisS * cMax + tHigh, low2: axisS * cMin - tHigh,
                                  high2: axisS * cMax - tLow, tLow: tLow, tHigh: tHigh)
    }

    /// `localBound(p1:p2:)` from lower bounds on the shifted margins over the interval.
    @inline(__always)
    static func localBound(m1Low m1: Double, m2Low m2: Double, _ k: (Double, Double), shift m: Double, trades: Bool) -> Double {
        localBound(p1: m1 >= 0 ? exp(-m1) : 1, p2: m2 >= 0 ? exp(-m2) : 1, k, shift: m, trades: trades)
    }

    /// Bound on |f'''| over an interval of angles from bounds p_k = min(1, e^{-min m_k}) on the
    /// softmax probabilities there and `shift` (M) >= |m^(j)(t)| for j >= 1. With q a bound on
    /// pi_1 + pi_2: |third cumulant| <= min(1/4, 2q) R^3 (R <= sqrt 2 M the range of the law,
    /// |mean| <= q R), |Hessian| <= max_k pi_k, |k_k - pi_k| <= max(k_k, pi_k - k_k).
    /// trades: k = pi(d), the clean law, and the margins' derivatives of pi_k are at most 1/4
    /// in size, so also |k_k - pi_k(d + Delta)| <= (|Delta_1| + |Delta_2|) / 4 <= M / 2 (at small
    /// margin scales the term that decides: M^2 / 2 instead of M / 3).
    @inline(__always)
    static func localBound(p1: Double, p2: Double, _ k: (Double, Double), shift m: Double, trades: Bool) -> Double {
        let q = min(1, p1 + p2)
        let h = min(1, max(p1, p2))
        let gap = trades ? 0.5 * m : .infinity
        let g1 = min(max(k.0, p1 - k.0), gap), g2 = min(max(k.1, p2 - k.1), gap)
        let g = (g1 * g1 + g2 * g2).squareRoot()
        return 1.01 * (min(0.25, 2 * q) * 2.8285 * m * m * m + 3 * h * m * m + g * m)
    }

    /// trades: |f'''| over an interval when the softmax law P = pi(m) is concentrated on one
    /// class (where the clean and shifted margins are large, of either sign, and f ~ 1e-7 is
    /// flat): with eps >= 1 - P(j) on the interval for some class j, Var(X) <= eps R^2 and
    /// |third cumulant| <= eps R^3 for X = -m' or -m'' over the classes (R <= sqrt 2 M), so
    /// |f'''| <= eps R^3 + 3 |Cov(m', m'')| + |k - pi| M with |Cov| <= 2 eps M^2, and pi_k
    /// bounded on both sides (pi_1 / pi_2 = e^{-2T}): 1 - pi_y <= e^{-m1} + e^{-m2},
    /// 1 - pi_1 <= e^{m1} + e^{2T}, 1 - pi_2 <= e^{m2} + e^{-2T}. From the exponentials of the
    /// ranges (`ConcentratedRanges`: m_k's bounds and T's), each clamped at e (a bound above 1
    /// is no bound), and `shift` (M) >= |m^(j)(t)| for j >= 1.
    @inline(__always)
    static func concentratedBound(_ x: ConcentratedExponentials, _ k: (Double, Double), shift m: Double) -> Double {
        let e = M_E
        let lowY1 = min(x.low1, e), lowY2 = min(x.low2, e), tHigh = min(x.tHigh, e), tLow = min(x.tLow, e)
        let notY = min(1, lowY1 + lowY2)
        let not1 = min(1, min(x.high1, e) + tHigh), not2 = min(1, min(x.high2, e) + tLow)
        let eps = min(notY, not1, not2)
        let high1 = min(1, lowY1, tLow), high2 = min(1, lowY2, tHigh)
        let low1 = max(0, 1 - not1), low2 = max(0, 1 - not2)
        // |k - pi| <= M / 2 as well (`localBound`).
        let g1 = min(max(high1 - k.0, k.0 - low1, 0), 0.5 * m), g2 = min(max(high2 - k.1, k.1 - low2, 0), 0.5 * m)
        let g = (g1 * g1 + g2 * g2).squareRoot()
        let h = min(max(high1, high2), 2 * eps)
        return 1.01 * (min(0.25, 2 * eps) * 2.8285 * m * m * m + 3 * h * m * m + g * m)
    }

    /// |f'''| over an interval from the margins' ranges there (`SplitExponentials`, at u), with
    /// the common part S = (m1 + m2) / 2 and the difference T = (m1 - m2) / 2 of the shifted
    /// margins moving with their own amplitudes A and B (|S^(j)| <= A, |T^(j)| <= B). The
    /// logits are z = -S a - T b with a = (0, 1, 1), b = (0, 1, -1) over the classes (y, 1, 2),
    /// so f''' = kappa3(z') + 3 Cov(z', z'') + E z''' + k.m''' under the shifted softmax law,
    /// and each cumulant splits into a's and b's: Var a = p0 (1 - p0), Var b <= min(p1 + p2,
    /// p0 + 4 p1, p0 + 4 p2), |Cov(a, b)| = p0 |p1 - p2| <= Var a, the third joint moments
    /// bounded by the centred ranges (|a~| <= 1, |b~| <= 2), E z''' + k.m''' =
    /// S''' (k1 + k2 - (1 - p0)) + T''' (k1 - k2 - (p1 - p2)). Where the law sits on classes
    /// 1 and 2 (Var a ~ 0) and the ellipse is long in S (A >> B), f is nearly flat and this
    /// bound ~ B^2 is far below `localBound`'s ~ max(A, B)^3 (trades on random 3-class models
    /// under l_2: |f'''| ~ 0.005 where `localBound` said 4).
    @inline(__always)
    static func splitBound(_ x: SplitExponentials, _ k: (Double, Double), amplitudes: (s: Double, t: Double)) -> Double {
        let (A, B) = amplitudes
        // An infinite or zero exponential gives probabilities 0 or 1, never NaN.
        let n1Low = x.n1Low, n1High = x.n1High, n2Low = x.n2Low, n2High = x.n2High, eT2Low = x.t2Low, eT2High = x.t2High
        let p0Low = 1 / (1 + n1Low + n2Low), p0High = 1 / (1 + n1High + n2High)
        // p1 = 1 / (1 + e^{m1} + e^{2T}), p2 = 1 / (1 + e^{m2} + e^{-2T}).
        let p1High = 1 / (1 + 1 / n1Low + eT2Low), p1Low = 1 / (1 + 1 / n1High + eT2High)
        let p2High = 1 / (1 + 1 / n2Low + 1 / eT2High), p2Low = 1 / (1 + 1 / n2High + 1 / eT2Low)
        let varA = p0Low <= 0.5 && p0High >= 0.5 ? 0.25 : max(p0Low * (1 - p0Low), p0High * (1 - p0High))
        let varB = min(p1High + p2High, p0High + 4 * min(p1High, p2High), 1)
        let sdAB = (varA * varB).squareRoot()
        let covAB = min(varA, sdAB)
        let third = A * A * A * varA + 6 * A * A * B * varA + 3 * A * B * B * min(varB, 2 * sdAB) + 2 * B * B * B * varB
        let covariance = 0.5 * A * A * varA + A * B * covAB + 0.5 * B * B * varB
        let ka = k.0 + k.1, kb = k.0 - k.1
        let linearA = max(ka - (1 - p0High), (1 - p0Low) - ka, 0)
        let linearB = max(kb - (p1Low - p2High), (p1High - p2Low) - kb, 0)
        return 1.01 * (third + 3 * covariance + A * linearA + B * linearB)
    }

    struct Sums {
        var value = 0.0
        var g = (0.0, 0.0)
        /// E[g_k c_j] for the centred coordinates c of `regression` (d - E d; `ClassPairLS`:
        /// (u - mu, v)) and E[h_k Delta_j], [k][j].
        var gd = [[0.0, 0.0], [0.0, 0.0]]
        var gDelta = [[0.0, 0.0], [0.0, 0.0]]
        /// E[|dL/dv|] on the line v = 0 (degenerate v only; see `vSlope`).
        var vKink = 0.0

        /// The sums added since `earlier` (a snapshot of the same accumulation).
        func since(_ earlier: Sums) -> Sums {
            var d = Sums()
            d.value = value - earlier.value
            d.g = (g.0 - earlier.g.0, g.1 - earlier.g.1)
            for k in 0..<2 {
                for j in 0..<2 {
                    d.gd[k][j] = gd[k][j] - earlier.gd[k][j]
                    d.gDelta[k][j] = gDelta[k][j] - earlier.gDelta[k][j]
                }
            }
            d.vKink = vKink - earlier.vKink
            return d
        }
    }

    /// |dL/dv| at (u, v = 0) along the branch of the maximiser t (Danskin): where the maximisers
    /// are t and -t (sin t != 0), L(u, v) = L(u, 0) + |v| |dL/dv| + O(v^2), a kink at v = 0 that
    /// the node-and-mirror average does not see; where the maximiser is 0 or pi it is 0 (m1 =
    /// m2). ls: q2 - q1; trades: beta (q2 - q1 - 2 p B sin t) (p = p1 = p2 at v = 0).
    func vSlope(_ u: Double, _ t: Double) -> Double {
        let s = sin(t)
        let S = u + axisS * cos(t), T = axisT * s
        let shifted = Self.softmax(S + T, S - T)
        guard let beta else { return abs(shifted.p2 - shifted.p1) }
        let p = Self.softmax(u, u).p1
        return abs(beta * (shifted.p2 - shifted.p1 - 2 * p * axisT * s))
    }

    /// The node (u, v) with weight w and its mirror (u, -v) (maximiser at -t).
    ///
    /// The loss L and, by Danskin at the maximiser, its derivative in the row D_k: g_k x + h_k
    /// delta* (x's coefficient g through d = D x and m, delta*'s coefficient h through m):
    /// - ls: L = ce(m) + a (m1 + m2), g_k = h_k = a - q_k (q = pi(m));
    /// - trades: L = ce(d) + beta KL, KL = ce(m) - ce(d) + p . Delta (p = pi(d), Delta = m - d),
    ///   h_k = beta (p_k - q_k), g_k = -p_k + beta p_k (p . Delta - Delta_k) + h_k (from
    ///   dp_j/dd_k = p_j p_k - p_k [j = k]).
    @inline(__always)
    func accumulate(_ u: Double, _ v: Double, _ t: Double, _ w: Double, _ sums: inout Sums) {
        let c = cos(t), s = sin(t)
        let S = u + axisS * c, T = v + axisT * s
        let m1 = S + T, m2 = S - T
        let (ce, q1, q2) = Self.softmax(m1, m2)
        let du = u - mu
        let delta1 = m1 - (u + v), delta2 = m2 - (u - v)
        let value: Double, g1: Double, g2: Double, h1: Double, h2: Double
        if let beta {
            (value, g1, g2, h1, h2) = Self.tradesLoss(beta, clean: Self.softmax(u + v, u - v), shifted: (ce, q1, q2), delta1, delta2)
        } else {
            g1 = a - q1; g2 = a - q2
            h1 = g1; h2 = g2
            value = ce + 2 * a * S
        }
        sums.value += 2 * w * value
        // Node and mirror: (g1, g2, d - Ed, Delta) and (g2, g1, swapped d - Ed, swapped Delta).
        sums.g.0 += w * (g1 + g2); sums.g.1 += w * (g2 + g1)
        let gk = [(g1, g2, h1, h2), (g2, g1, h2, h1)]
        for (k, pair) in gk.enumerated() {
            let (gn, gm, hn, hm) = pair  // g_k, h_k at the node and at the mirror
            sums.gd[k][0] += w * (gn + gm) * du
            sums.gd[k][1] += w * (gn - gm) * v
            sums.gDelta[k][0] += w * (hn * delta1 + hm * delta2)
            sums.gDelta[k][1] += w * (hn * delta2 + hm * delta1)
        }
    }

    /// trades' loss at clean margins d (softmax `clean`) and shifted margins m = d + Delta
    /// (softmax `shifted`), and its coefficients g, h (see `accumulate`).
    @inline(__always)
    static func tradesLoss(_ beta: Double, clean: (ce: Double, p1: Double, p2: Double), shifted: (ce: Double, p1: Double, p2: Double),
                           _ delta1: Double, _ delta2: Double) -> (Double, Double, Double, Double, Double) {
        let p1 = clean.p1, p2 = clean.p2
        let shift = p1 * delta1 + p2 * delta2
        let value = clean.ce + beta * (shifted.ce - clean.ce + shift)
        let h1 = beta * (p1 - shifted.p1), h2 = beta * (p2 - shifted.p2)
        let g1 = -p1 + beta * p1 * (shift - delta1) + h1
        let g2 = -p2 + beta * p2 * (shift - delta2) + h2
        return (value, g1, g2, h1, h2)
    }

    /// u-panel ends (in z1) for the v node: graded towards the zeros of the shifted margins,
    /// with the maximiser's jumps (located by scan and bisection) as extra ends; and those jumps
    /// (the kinks, in z1, ascending). nil when an inner maximum declines.
    func uBoundaries(_ v: Double) -> (ends: [Double], kinks: [Double])? {
        // trades also has the clean loss's structure where d1 = u + v or d2 = u - v is 0.
        let centres = (beta == nil ? [axisS - v, axisS + v] : [axisS - v, axisS + v, -v, v]).map { ($0 - mu) / su }
        let base = Panels.boundaries(-Self.cut, Self.cut, scale: su, centres: centres, maxMarginWidth: 3)
        // trades' kinks of symmetry, u = -v and u = v (`kinkSignature`), known in closed form:
        // panel ends without a search, scanned just beside them (at the line itself the two
        // maximisers tie, and which one rounding returns would hide a kink curve that leaves
        // the line on the other side).
        // Sorted (`crossesKnown` takes the first of them in a range).
        let known = beta == nil ? [] : Panels.sortedUnique([-v, v].map { ($0 - mu) / su }.filter { abs($0) < Self.cut })
        let besides = Panels.besides(known)
        let scanBase = base.filter { !known.contains($0) } + besides
        func crossesKnown(_ lo: Double, _ hi: Double) -> Double? { known.first { lo < $0 && $0 < hi } }
        guard let found = scanKinks(v, scanBase: scanBase, crossesKnown: crossesKnown) else { return nil }
        // The points beside the known kinks are scan points, not panel ends; the known kinks are
        // ends whether or not the maximiser jumps there. trades: the slivers that the gradings
        // of the four centres leave between them merge (as `PairObjective.mergesPanels`).
        let ends = Panels.lineEnds(scan: found.scan, besides: besides, kinks: found.kinks, fixed: known, scale: su, mergesSlivers: beta != nil)
        return (ends, found.kinks)
    }

    /// The kink structure of the u line at v, which the line integral's smoothness in v rests
    /// on: per kink in order, +1 on u = v (clean d2 = 0), -1 on u = -v (d1 = 0) -- trades'
    /// kinks of symmetry (exchanging class y with the other class where their clean margin is 0
    /// maps the ellipse onto itself, so two maximisers tie there exactly) -- and 0 elsewhere.
    func kinkSignature(_ kinks: [Double], _ v: Double) -> [Int8] {
        let plus = (v - mu) / su, minus = (-v - mu) / su
        return signature(kinks, plusOne: plus, minusOne: minus, v)
    }

    func vAt(_ z: Double) -> Double { sv * z }
    func zOf(_ v: Double) -> Double { v / sv }

    /// Whether the fixed panels resolve this class.
    var isTractable: Bool {
        2 * Self.cut * max(su, sv) / 3 <= Double(Panels.maxPiecesPerGap)
    }

    /// E[robust ls | y] and its gradient in the two rows of D; nil when an inner maximum declines.
    /// `vKink`: E[|dL/dv|] on v = 0 when v is degenerate (else 0): the one-sided derivative in a
    /// direction that gives v the standard deviation h s has the extra term h s sqrt(2/pi) vKink.
    func evaluate(_ rule: GaussLegendre) -> (value: Double, gradient: [[Double]], vKink: Double)? {
        var sums = Sums()
        // v nodes (z2 >= 0) and weights, and the u-panel ends computed on the way; one node
        // v = 0 with weight 1/2 (the mirror doubles it) when v is degenerate.
        var vNodes: [(v: Double, w: Double)] = [(0, 0.5)]
        var computed: [(ends: [Double], kinks: [Double])?] = [nil]
        if sv != 0 {
            let panels = Panels.boundaries(0, Self.cut, scale: sv, centres: [0], maxMarginWidth: 3)
            // Not on the coarse rule, which serves the optimisers' early steps (to ~1e-8).
            var cubed = false
            if rule.nodes.count > GaussLegendre.coarse.nodes.count && panels.count > 1 {
                guard let born = kinkBornAtZero(above: 1e-3 * panels[1]) else { return nil }
                cubed = born
            }
            guard let planned = self.vNodes(rule, panels: panels, cubedStart: cubed) else { return nil }
            vNodes = planned.nodes; computed = planned.computed
        }
        guard let allLines = lines(rule, vNodes, computed: computed) else { return nil }
        for (k, l) in allLines.enumerated() {
            for node in l { accumulate(node.u, vNodes[k].v, node.t, node.w, &sums) }
            if sv == 0 { for node in l { sums.vKink += 2 * node.w * vSlope(node.u, node.t) } }
        }
        return (sums.value, gradient(sums), sums.vKink)
    }

    /// Whether a kink of the u lines is born at v = 0+: the kink signature at v = 0 differs from
    /// the one at `above` (in z2, a little above 0). There I(v) has a v^2 log v term, on which
    /// the Gauss-Legendre rules of the first v panel converged only as n^-6: the working and
    /// verification rules differed by 1.2e-10 at trades:1, eps 0.45 on complement(3) with
    /// means and sigma 0.3 (W(1.49, 1.27)); `vNodes` then takes that panel through a cube
    /// (`cubedStart`). nil when an inner maximum declines.
    func kinkBornAtZero(above: Double) -> Bool? {
        let v = vAt(above)
        guard let atZero = uBoundaries(0), let beside = uBoundaries(v) else { return nil }
        return kinkSignature(atZero.kinks, 0) != kinkSignature(beside.kinks, v)
    }

    /// Bound on the integrand's contribution beyond |z| = cut in either coordinate (the loss is
    /// at most log 3 + c (|u| + |v| + A + B), c = 1 + 2a for ls, 1 + 3 beta for trades), plus
    /// the inner maxima's tolerance.
    var tailBound: Double {
        let slope = beta.map { 1 + 3 * $0 } ?? 1 + 2 * a
        let growth = 2 + slope * (abs(mu) + (su + sv) * (Self.cut + 1) + axisS + axisT)
        return 8 * Normal.upperTail(Self.cut) * growth + Self.innerTolerance(abs(mu) + su + axisS + 2)
    }
}

/// The certified inner maximum of the l_2 label-smoothing and trades paths (`ClassPairLS`),
/// exposed for tests: f(t) = log(1 + 2 e^{-S} cosh T) + k1 m1 + k2 m2, S = u + A cos t,
/// T = v + B sin t, m = (S + T, S - T), k = (a, a) for ls and the clean probabilities
/// pi(u + v, u - v) for trades, maximised over the whole circle (for v < 0 by the mirror
/// t -> -t).
public struct L2SmoothedInnerMaximum: Sendable {
    let pair: ClassPairLS

    public init(axisS: Double, axisT: Double, smoothing: Double) {
        pair = ClassPairLS(axisS: axisS, axisT: axisT, smoothing: smoothing)
    }

    /// trades' inner maximum (of the cross-entropy to the clean probabilities; beta only scales
    /// the loss outside it).
    public init(axisS: Double, axisT: Double, tradesBeta beta: Double) {
        pair = ClassPairLS(axisS: axisS, axisT: axisT, smoothing: 0, trades: beta)
    }

    /// f(t).
    public func loss(u: Double, v: Double, angle t: Double) -> Double { pair.inner(u, v, cos(t), sin(t), pair.coefficients(u, v)).f }

    /// The maximum over t and a maximiser; nil when the evaluation budget runs out. `tabled`:
    /// with the line's table of grid angles (as the quadrature lines do), else from the
    /// softmax at every grid angle.
    public func maximum(u: Double, v: Double, tabled: Bool = true) -> (value: Double, angle: Double)? {
        guard let m = pair.maximum(u, abs(v), along: tabled ? pair.angleTable(abs(v)) : nil) else { return nil }
        return (m.value, v >= 0 ? m.t : -m.t)
    }

    /// The tolerance the maximum is certified to.
    public func tolerance(at value: Double) -> Double { ClassPairLS.innerTolerance(value) }

    /// f(t), f'(t) and f''(t).
    public func derivatives(u: Double, v: Double, angle t: Double) -> (value: Double, first: Double, second: Double) {
        pair.derivatives(u, v, angle: t)
    }

    /// The certified maximum's bounds on |f'''| over the angles [from, to] (inside [-pi, pi]):
    /// from the probabilities' upper bounds (`localBound`) and from S's and T's separate
    /// amplitudes (`splitBound`).
    public func thirdDerivativeBounds(u: Double, v: Double, from a: Double, to b: Double) -> (local: Double, split: Double) {
        pair.thirdDerivativeBounds(u, v, from: a, to: b)
    }
}

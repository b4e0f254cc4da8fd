import Foundation
import GSL

/// Label-smoothed ce on the axis w2 = 0 of a model with exchangeable classes (complement(K),
/// pairwise(K); tau = 0, l_inf, the symmetric family, w1 > 0): its value and its one-sided
/// derivative in w2, each one 1-D quadrature with the adversary's vertex exact. (Off the axis the
/// adversary lowers a subset of margins that depends on all their order statistics, which is why
/// ls at K >= 4 is a lattice QMC there; the threshold and an optimum on the axis need only these
/// two numbers.)
///
/// The loss of class y is L(M) = log(1 + sum_k e^{-M_k}) + (alpha/n) sum_k M_k (n = K - 1 robust
/// margins M_k), convex in M, so its maximum over the l_inf ball is at a vertex. At w2 = 0 every
/// clean margin is u = w1 a (a: y's exclusive feature) and only the exclusive coordinates move
/// them: E_y every margin (sign s), E_k margin k alone. The vertex is (s, j): j margins lowered to
/// v - 2r, n - j raised to v, where r = eps w1 and v = u (s = -1) or u + 2r (s = +1). Its loss
///     F(j, v) = log(1 + e^{-v} (n + j q)) + alpha v - 2 r alpha j / n,   q = e^{2r} - 1,
/// is concave in j, so j* counts the j with v < v_j, the points where lowering the j-th margin
/// stops paying: e^{v_j} = q (rho - (rho - 1) j) / (rho - 1) - n, rho = e^{2 r alpha / n}. And
/// phi(v) = max_j F(j, v) is convex in v, so phi(u + 2r) - phi(u) is non-decreasing in u: s
/// switches from -1 to +1 once, at its root. Those points are the integrand's only kinks.
///
/// Derivative (Danskin): at w2 = 0+ the derivative of the maximum is the largest first-order
/// term over the vertices that tie at w2 = 0, which differ in which margins are lowered and in
/// the signs of the cross coordinates. With g_lo, g_hi the loss's slopes in a lowered and a
/// raised margin and G = j g_lo + (n - j) g_hi, a cross coordinate that moves the margins in a
/// set S (by w2 each) adds eps |sum_{k in S} g_k|, and the j lowered margins are those with the
/// smallest w2-part of the clean margin (g_lo <= g_hi):
///   complement(K): clean margins w1 a + w2 b_k; C_y moves every margin, C_k margin k alone:
///     E_a[ g_lo B_j + g_hi (B_n - B_j) + eps (|G| + j |g_lo| + (n - j) |g_hi|) ];
///   pairwise(K): clean margins w1 a + w2 (T - b_k), T the sum of y's pair features; P_yl moves
///     every margin but l, P_kl (two rivals) margins k and l:
///     E_a[ G B_n - g_lo (B_n - B_{n-j}) - g_hi B_{n-j} + eps (j |G - g_lo| + (n - j) |G - g_hi|
///          + j (j - 1) |g_lo| + (n - j) (n - j - 1) |g_hi| + j (n - j) |g_lo + g_hi|) ];
/// with B_i the sum of the i smallest expected order statistics E[b_(l)] = muC + sigmaC E[Z_(l:n)]
/// (the b's are independent of a).
public struct AxisLabelSmoothing: Sendable {
    let structure: ExchangeableClassStructure
    let alpha: Double
    let eps: Double

    /// Gaussian coordinate z of a = muE + sigmaE z is integrated over [-cut, cut].
    static let cut = 12.0

    /// The settings it covers: ls under l_inf on an exchangeable-class model with tau = 0 and
    /// sigmaE > 0. (The objective uses it from K = 4 on; K = 3 has the fixed rules of the pair
    /// path, which the tests compare it with.)
    public init?(model: DataModel, threat: ThreatModel, objective: Objective) {
        guard case .ls(let alpha) = objective, threat.norm == .linf,
              let s = ExchangeableClassStructure(model: model), s.tau == 0, s.sigmaE > 0
        else { return nil }
        structure = s
        self.alpha = alpha
        eps = threat.eps
    }

    var n: Int { structure.classes - 1 }

    /// The adversary's vertex at one w1: the switch points of j (in v) and of s (in u).
    struct Vertices {
        let n: Int
        let alpha: Double
        let r: Double
        /// v_j for j = 1...n (index j - 1), decreasing; -inf where the j-th is never lowered.
        let lowerUntil: [Double]
        /// u where s switches from -1 to +1 (+inf when it never does).
        var sharedSwitch = Double.infinity

        init(n: Int, alpha: Double, r: Double) {
            self.n = n; self.alpha = alpha; self.r = r
            let rhoMinusOne = expm1(2 * r * alpha / Double(n))
            if r == 0 || alpha == 0 || rhoMinusOne == 0 {
                // alpha = 0 (ce): lowering always pays; r = 0: every vertex is the same point.
                lowerUntil = [Double](repeating: .infinity, count: n)
            } else {
                // e^{v_j} = q (rho - (rho - 1) j) / (rho - 1) - n, with q = e^{2r} (1 - e^{-2r})
                // written so that large r does not overflow.
                let rho = rhoMinusOne + 1, decay = exp(-2 * r), oneMinus = -expm1(-2 * r)
                lowerUntil = (1...n).map { j in
                    let inner = oneMinus * (rho - rhoMinusOne * Double(j)) / rhoMinusOne - Double(n) * decay
                    return inner > 0 ? 2 * r + log(inner) : -.infinity
                }
            }
        }

        /// Margins lowered at v.
        @inline(__always)
        func lowered(at v: Double) -> Int {
            var j = 0
            while j < n && v < lowerUntil[j] { j += 1 }
            return j
        }

        /// log(1 + j e^{-(v - 2r)} + (n - j) e^{-v}) without overflow.
        @inline(__always)
        func logPartition(_ j: Int, _ v: Double) -> Double {
            let low = v - 2 * r
            let c = max(0, -low)
            return c + log(exp(-c) + Double(j) * exp(-low - c) + Double(n - j) * exp(-v - c))
        }

        /// F(j, v).
        @inline(__always)
        func loss(_ j: Int, _ v: Double) -> Double { logPartition(j, v) + alpha * v - 2 * r * alpha * Double(j) / Double(n) }

        /// F(j*(v), v) and j*.
        @inline(__always)
        func best(_ v: Double) -> (value: Double, lowered: Int) {
            let j = lowered(at: v)
            return (loss(j, v), j)
        }

        /// (s, v, j) at u.
        @inline(__always)
        func vertex(_ u: Double) -> (shared: Double, v: Double, lowered: Int) {
            let s: Double = u < sharedSwitch ? -1 : 1
            let v = s < 0 ? u : u + 2 * r
            return (s, v, lowered(at: v))
        }

        /// The kinks in u: v_j (s = -1), v_j - 2r (s = +1), and the switch of s.
        var kinks: [Double] {
            var out = lowerUntil.filter { $0.isFinite && $0 < sharedSwitch }
            out += lowerUntil.map { $0 - 2 * r }.filter { $0.isFinite && $0 >= sharedSwitch }
            if sharedSwitch.isFinite { out.append(sharedSwitch) }
            return out.sorted()
        }
    }

    func vertices(w1: Double) throws -> Vertices {
        var v = Vertices(n: n, alpha: alpha, r: eps * w1)
        guard v.r > 0, alpha > 0 else { return v }
        // psi(u) = phi(u + 2r) - phi(u): non-decreasing, from 2r(alpha - 1) < 0 to 2 r alpha > 0.
        let r = v.r, base = v
        let psi: (Double) -> Double = { u in base.best(u + 2 * r).value - base.best(u).value }
        var lo = -1.0 - 2 * r, hi = 1.0 + 2 * r
        var atLo = psi(lo), atHi = psi(hi), steps = 0
        while atLo >= 0 && steps < 60 { lo *= 2; atLo = psi(lo); steps += 1 }
        while atHi < 0 && steps < 120 { hi *= 2; atHi = psi(hi); steps += 1 }
        guard atLo < 0, atHi >= 0 else {
            // alpha = 1 exactly, or an overflow: s = -1 throughout unless psi >= 0 at lo.
            v.sharedSwitch = atLo >= 0 ? -.infinity : .infinity
            return v
        }
        let root = try RootFinder.brent(in: lo, hi, absoluteTolerance: 1e-15 * max(1, r), relativeTolerance: 1e-15) { psi($0) }
        v.sharedSwitch = root.location
        return v
    }

    /// Bound on |loss| beyond the cut, times the Gaussian mass there.
    func tail(w1: Double) -> Double {
        let reach = w1 * (abs(structure.muE) + (Self.cut + 1) * structure.sigmaE) + 2 * eps * w1
        return 2 * Normal.pdf(Self.cut) * (reach * (1 + alpha) + log(Double(structure.classes)) + 1)
    }

    /// E_a[f(vertex at u = w1 a)], a = muE + sigmaE z, with the vertex's kinks as break points.
    func expectation(_ vertices: Vertices, w1: Double, tolerance: Double,
                     _ f: (_ vertex: (shared: Double, v: Double, lowered: Int)) -> Double) throws -> Quadrature {
        let muE = structure.muE, sE = structure.sigmaE
        return try Integrator().integrate(
            over: -Self.cut, Self.cut, breakPoints: vertices.kinks.map { ($0 / w1 - muE) / sE },
            tolerance: Tolerance(absolute: tolerance / 4, relative: 1e-15)
        ) { z in Normal.pdf(z) * f(vertices.vertex(w1 * (muE + sE * z))) }
    }

    /// R(w1, 0): every class contributes the same.
    public func value(w1: Double, tolerance: Double) throws -> Estimate {
        let vertices = try self.vertices(w1: w1)
        let q = try expectation(vertices, w1: w1, tolerance: tolerance) { x in vertices.loss(x.lowered, x.v) }
        let bound = q.absoluteError + tail(w1: w1) + 1e-15 * abs(q.value)
        return Estimate(value: q.value, errorBound: bound, converged: q.converged && bound <= tolerance, method: .axisOrderStatistics)
    }

    /// dR/dw2 at (w1, 0+).
    public func derivativeAtZero(w1: Double, tolerance: Double) throws -> Estimate {
        let vertices = try self.vertices(w1: w1)
        let statistics = try OrderStatistics.expectedOrderStatistics(of: n)
        // B_i = sum_{l <= i} E[b_(l)], ascending.
        var prefix = [0.0], statisticsError = 0.0
        for s in statistics {
            prefix.append(prefix.last! + structure.muC + structure.sigmaC * s.value)
            statisticsError += structure.sigmaC * s.absoluteError
        }
        let r = vertices.r, eps = self.eps, nd = Double(n)
        let total = prefix[n], pairwise = structure.kind == .pairwise
        let q = try expectation(vertices, w1: w1, tolerance: tolerance) { x in
            let j = x.lowered, jd = Double(j), rest = nd - jd
            // Slopes of L in a lowered (v - 2r) and a raised (v) margin: -e^{-M}/Z + alpha/n.
            let logZ = vertices.logPartition(j, x.v)
            let gLow = -exp(-(x.v - 2 * r) - logZ) + alpha / nd
            let gHigh = -exp(-x.v - logZ) + alpha / nd
            let g = jd * gLow + rest * gHigh
            let d: Double
            if pairwise {
                // Clean margins w1 a + w2 (T - b_k): the j largest b lowered. Pair feature P_yl
                // moves every margin but l, P_kl (k, l rivals) margins k and l.
                d = g * total - gLow * (total - prefix[n - j]) - gHigh * prefix[n - j]
                    + eps * (jd * abs(g - gLow) + rest * abs(g - gHigh) + jd * (jd - 1) * abs(gLow)
                             + rest * (rest - 1) * abs(gHigh) + jd * rest * abs(gLow + gHigh))
            } else {
                // Clean margins w1 a + w2 b_k: the j smallest b lowered. C_y moves every margin,
                // C_k margin k alone.
                d = gLow * prefix[j] + gHigh * (total - prefix[j]) + eps * (abs(g) + jd * abs(gLow) + rest * abs(gHigh))
            }
            return d
        }
        // |g| <= 1 per margin: the order statistics' errors enter at most twice each.
        let reach = 2 * (abs(structure.muC) * nd + structure.sigmaC * nd * 3) + nd * nd * eps
        statisticsError *= 2
        let bound = q.absoluteError + statisticsError + 2 * Normal.pdf(Self.cut) * reach + 1e-15 * abs(q.value)
        return Estimate(value: q.value, errorBound: bound, converged: q.converged && bound <= max(tolerance, 1e-13),
                        method: .axisOrderStatistics)
    }
}

import Foundation
import GSL

/// One class's share of the robust ce of a 3-class linear classifier (any W, l_inf or l_2), with
/// its gradient in the two rows D_k = w_y - w_k, by fixed composite Gauss-Legendre rules (the
/// fast exact path of issue 12 beyond the symmetric family and beyond l_inf).
///
/// Reduction. With clean margins d = D x and shifts Delta = D delta,
///   ce(d + Delta) = log(1 + e^{-d2} (e^{-r - Delta1} + e^{-Delta2})),  r = d1 - d2,
/// so the adversary's best shift depends on x only through r, and the robust loss is
///   L = softplus(psi(r) - d2),  psi(r) = max_Delta log(e^{-r - Delta1} + e^{-Delta2}).
/// - l_inf: the shifts form a zonotope; a maximiser of the convex inner function is a vertex
///   whose normal cone holds the loss gradient -(q1, q2) (q > 0), so the candidates are the
///   vertices of the lower-left chain; psi is the upper envelope of finitely many analytic
///   pieces log(e^{-r - V1} + e^{-V2}) whose switch points (kinks) are known in closed form.
/// - l_2: the shifts form an ellipse {Delta : Delta' G^-1 Delta <= 1}, G = eps^2 D D'. A
///   maximiser is the support point of the direction -(p, 1 - p), p = logistic(s), and the
///   fixed-point condition reads r = g(s) - s with g(s) = Delta2(s) - Delta1(s) explicit. Where
///   h(s) = g(s) - s decreases its roots are local maxima: when g' < 1 everywhere (checked on
///   a fine scan) there is one root for every r (safeguarded Newton) and psi is analytic; with
///   two decreasing branches (e.g. the symmetric family when eps ||w|| > sqrt(6)) the global
///   maximum switches between them at one r, located by bisection on the difference of the
///   branch values and put in as a kink. More branches: the evaluator declines (nil) and
///   callers use the reference path.
/// Coordinates: r ~ N(mr, sr^2) and q = d2 + gamma r ~ N(mq, sq^2), independent
/// (gamma = Cov(d2, -r)/Var(r)), so L = softplus(psi(r) + gamma r - q): an outer integral over r
/// with the kinks as panel ends, and an inner one over q of a softplus centred at
/// psi(r) + gamma r (panels graded there, `Panels`).
/// Gradient (Danskin at the maximiser, x's law does not depend on W):
///   dR/dD_k = -E[q_k (x + delta*)],  q_k = sigma(t) pi_k(r),  t = psi(r) - d2,
/// with E[q_k x] = mu E[q_k] + Cov(x, r) E[q_k (r - mr)]/sr^2 + Cov(x, q) E[q_k (q - mq)]/sq^2
/// (the regression of x on the independent Gaussians r, q, exact) and delta* the maximiser in
/// x-space (a sign pattern per l_inf strip; -eps^2 D'n / sqrt(n'Gn) for l_2).
/// The coordinates both 3-class pair evaluators integrate in (`ClassPairCE`, `ClassPairLSBox`):
/// the clean margins d_k = D_k x with x ~ N(mean, diag(variance)) given the class, r = d1 - d2 ~
/// N(mr, sr^2) and q = d2 + gamma r ~ N(mq, sq^2), independent of r (gamma = Cov(d2, -r) /
/// Var(r)); a (numerically) constant r gets sr = 0, gamma = 0 and q = d2.
struct PairCoordinates {
    /// Sigma D_k' (k = 0, 1).
    let covariances: [[Double]]
    let m1: Double, m2: Double
    let c11: Double, c12: Double, c22: Double
    let mr: Double, sr: Double, gamma: Double, mq: Double, sq: Double

    init(mean: [Double], variance: [Double], rows: [[Double]]) {
        let d = mean.count
        covariances = rows.map { row in (0..<d).map { row[$0] * variance[$0] } }
        m1 = rows[0].dot(mean); m2 = rows[1].dot(mean)
        c11 = rows[0].dot(covariances[0]); c12 = rows[0].dot(covariances[1]); c22 = rows[1].dot(covariances[1])
        mr = m1 - m2
        var vr = c11 + c22 - 2 * c12
        var c2r = c22 - c12
        let scale = c11 + c22
        if vr < 1e-8 * scale {
            // d1 - d2 nearly constant (a W a small step off one where it is constant, as in
            // `KinkCertificate`'s probes): its variance and covariance with d2 from the rows'
            // difference, without the cancellation in c11 + c22 - 2 c12 (a relative error of
            // 1e-2 at a step of 1e-7).
            var sums = (0.0, 0.0)
            for f in 0..<d {
                let difference = rows[0][f] - rows[1][f]
                sums.0 += difference * difference * variance[f]
                sums.1 -= difference * rows[1][f] * variance[f]
            }
            (vr, c2r) = sums
        }
        if vr > 1e-28 * scale {
            sr = vr.squareRoot()
            gamma = c2r / vr
            var vq = c22 - c2r * c2r / vr
            if vq < 1e-8 * c22 {
                // q's variance is det C / Var r, and c11 c22 - c12^2 cancels: by Cauchy-Binet
                // det C = sum over f < g of s_f^2 s_g^2 (D1f D2g - D1g D2f)^2, exactly 0 where at
                // most one feature with variance enters both rows (a class with one feature
                // present: its margins' covariance has rank one at every W, and rounding left
                // a q of standard deviation 1e-10, integrated on lines 1e-10 long).
                var det = 0.0
                for f in 0..<d where variance[f] > 0 {
                    for g in (f + 1)..<max(f + 1, d) where variance[g] > 0 {
                        let minor = rows[0][f] * rows[1][g] - rows[0][g] * rows[1][f]
                        det += variance[f] * variance[g] * minor * minor
                    }
                }
                vq = det / vr
            }
            sq = vq > 1e-28 * scale ? vq.squareRoot() : 0
        } else {
            // d1 - d2 is constant: r = mr, q = d2.
            sr = 0; gamma = 0
            sq = c22 > 1e-28 * scale ? c22.squareRoot() : 0
        }
        mq = m2 + gamma * mr
    }
}

/// The growth of r and of gamma r out to the cut (r = mr + sr z, |z| <= cut + 1 in the tail
/// integrals' weighting): the part of a pair loss's bound beyond the cut that its (r, q)
/// coordinates add, as `ClassPairLSGeneral.tailBound`'s spread takes it. (It was
/// (|mr| + 1)(1 + |gamma|): on a class with one feature whose other weight is 7e-12, gamma was
/// -1.2e12 with sr 4.6e-12, and that bound 4.5e-6 where the rules agreed to 1e-15 and with the
/// reference path to 1e-14: r9 of bench/ANALYSIS.md stop 74.)
func tailGrowth(mr: Double, sr: Double, gamma: Double) -> Double {
    (1 + abs(gamma)) * (abs(mr) + sr * (PairObjective.cut + 1)) + 1
}

struct ClassPairCE {
    let mean: [Double]
    let differences: [[Double]]
    /// Sigma D_k' (k = 0, 1), Sigma the per-coordinate variance of x | y.
    let covariances: [[Double]]
    let eps: Double
    let m1: Double, m2: Double
    let c11: Double, c12: Double, c22: Double
    let mr: Double, sr: Double, gamma: Double, mq: Double, sq: Double
    let shifts: Shifts

    enum Shifts {
        case polygon([Strip])
        case ellipse(Ellipse)
    }

    /// A range of r where one vertex V of the zonotope (x-space shift `delta`) is the maximiser.
    struct Strip {
        var lo: Double, hi: Double
        var v1: Double, v2: Double
        var delta: [Double]
    }

    static let cut = PairObjective.cut

    /// nil when the l_2 inner maximiser may switch branches (see the type's comment).
    init?(mean: [Double], variance: [Double], differences: [[Double]], threat: ThreatModel) {
        precondition(differences.count == 2)
        self.mean = mean
        self.differences = differences
        eps = threat.eps
        let rows = differences
        let p = PairCoordinates(mean: mean, variance: variance, rows: rows)
        covariances = p.covariances
        m1 = p.m1; m2 = p.m2; c11 = p.c11; c12 = p.c12; c22 = p.c22
        mr = p.mr; sr = p.sr; gamma = p.gamma; mq = p.mq; sq = p.sq
        switch threat.norm {
        case .linf:
            shifts = .polygon(Self.strips(rows, eps: eps))
        case .l2:
            let e2 = eps * eps
            guard let ellipse = Ellipse(g11: e2 * rows[0].dot(rows[0]), g12: e2 * rows[0].dot(rows[1]), g22: e2 * rows[1].dot(rows[1])) else { return nil }
            shifts = .ellipse(ellipse)
        }
    }

    /// The vertices of the lower-left chain of the zonotope sum_f [-eps, eps] D_f (columns D_f)
    /// and the ranges of r where each maximises log(e^{-r - V1} + e^{-V2}).
    static func strips(_ unsnapped: [[Double]], eps: Double) -> [Strip] {
        let d = unsnapped[0].count
        // Entries at rounding level (1e-13 of the largest) are taken as 0 for the vertex
        // geometry: an optimiser's step leaves such dust on the zero entries of a symmetric W,
        // and the near-duplicate vertices it creates put ties between them at arbitrary r (seen:
        // a value 0.453 instead of 0.510 at W(3.74, 2.75) plus 1e-15 dust). The vertex moves
        // by at most eps * d * 1e-13 * max|D| in margin units, far below the rules' error.
        let largest = unsnapped.flatMap { $0 }.maxMagnitude
        let rows = unsnapped.map { $0.map { abs($0) <= 1e-13 * largest ? 0 : $0 } }
        // Normals n = (cos phi, sin phi), phi in (0, pi/2): the vertex -eps sum_f sign(n.D_f) D_f
        // changes where n is orthogonal to a column.
        var angles: [Double] = [0, .pi / 2]
        for f in 0..<d {
            let a = rows[0][f], b = rows[1][f]
            if a != 0 && b != 0 && (a > 0) != (b > 0) { angles.append(atan(-a / b)) }
        }
        angles.sort()
        var candidates: [Strip] = []
        for i in 0..<(angles.count - 1) where angles[i + 1] > angles[i] {
            let phi = 0.5 * (angles[i] + angles[i + 1])
            let n = (cos(phi), sin(phi))
            var delta = [Double](repeating: 0, count: d)
            var v1 = 0.0, v2 = 0.0
            for f in 0..<d {
                let p = n.0 * rows[0][f] + n.1 * rows[1][f]
                let s: Double = p > 0 ? -eps : (p < 0 ? eps : 0)
                delta[f] = s
                v1 += rows[0][f] * s; v2 += rows[1][f] * s
            }
            if !candidates.contains(where: { $0.v1 == v1 && $0.v2 == v2 }) {
                candidates.append(Strip(lo: -.infinity, hi: .infinity, v1: v1, v2: v2, delta: delta))
            }
        }
        func psi(_ v: Strip, _ r: Double) -> Double { logAddExp(-r - v.v1, -v.v2) }
        // Tie points of every pair: e^{-r}(A_i - A_j) = B_j - B_i with A = e^{-V1}, B = e^{-V2}.
        var ties: [Double] = []
        for i in 0..<candidates.count {
            for j in (i + 1)..<max(i + 1, candidates.count) {
                let a = candidates[i], b = candidates[j]
                guard (a.v1 < b.v1) == (b.v2 < a.v2), a.v1 != b.v1, a.v2 != b.v2 else { continue }
                ties.append(logAbsDifference(a.v1, b.v1) - logAbsDifference(a.v2, b.v2))
            }
        }
        ties.sort()
        var probes: [Double] = []
        if ties.isEmpty { probes = [0] } else {
            probes.append(ties[0] - 1)
            for i in 0..<(ties.count - 1) { probes.append(0.5 * (ties[i] + ties[i + 1])) }
            probes.append(ties[ties.count - 1] + 1)
        }
        var out: [Strip] = []
        for (i, r) in probes.enumerated() {
            var best = 0
            for v in candidates.indices where psi(candidates[v], r) > psi(candidates[best], r) { best = v }
            var strip = candidates[best]
            strip.lo = i == 0 ? -.infinity : ties[i - 1]
            strip.hi = i == probes.count - 1 ? .infinity : ties[i]
            if let last = out.last, last.v1 == strip.v1, last.v2 == strip.v2 {
                out[out.count - 1].hi = strip.hi
            } else {
                out.append(strip)
            }
        }
        return out
    }

    /// log |e^{-x} - e^{-y}|.
    static func logAbsDifference(_ x: Double, _ y: Double) -> Double {
        -min(x, y) + log(-expm1(-abs(x - y)))
    }

    /// The ellipse of margin shifts {G^(1/2) t : |t| <= 1} and its support points in the
    /// directions -(e^{s/2}, e^{-s/2}).
    struct Ellipse {
        let g11: Double, g12: Double, g22: Double
        /// Bound on |g(s)|.
        var bound: Double { g11.squareRoot() + g22.squareRoot() }

        /// Support point Delta(s), g = Delta2 - Delta1, g'(s), and n'Gn for the unnormalised n.
        @inline(__always)
        func support(_ s: Double) -> (d1: Double, d2: Double, g: Double, slope: Double, n1: Double, n2: Double, q: Double) {
            let n1 = s >= 0 ? 1.0 : exp(s), n2 = s >= 0 ? exp(-s) : 1.0
            let gn1 = g11 * n1 + g12 * n2, gn2 = g12 * n1 + g22 * n2
            let q = n1 * gn1 + n2 * gn2
            guard q > 0 else { return (0, 0, 0, 0, n1, n2, 0) }
            let root = q.squareRoot()
            // dn/ds = (n1/2, -n2/2) up to a multiple of n, which Delta ignores.
            let p1 = 0.5 * n1, p2 = -0.5 * n2
            let gp1 = g11 * p1 + g12 * p2, gp2 = g12 * p1 + g22 * p2
            let qp = p1 * gn1 + p2 * gn2
            let g = (gn1 - gn2) / root
            let slope = (gp1 - gp2) / root - (gn1 - gn2) * qp / (q * root)
            return (-gn1 / root, -gn2 / root, g, slope, n1, n2, q)
        }

        /// Intervals of s where h(s) = g(s) - s decreases (each a branch of local maxima of the
        /// inner function; where h increases the roots are local minima), and the values of r
        /// where the global maximum switches between two adjacent branches (kinks of psi).
        var branches: [(lo: Double, hi: Double)] = [(-.infinity, .infinity)]
        var switches: [Double] = []
        /// r where psi is close to losing analyticity: the switches, and (one branch) where g'
        /// peaks above 1/4 (near the bifurcation into two branches the nearest singularity of
        /// psi approaches the real line there). The outer panels are graded finely towards them.
        var fineCentres: [Double] = []

        init?(g11: Double, g12: Double, g22: Double) {
            self.g11 = g11; self.g12 = g12; self.g22 = g22
            // Turning points of h: sign changes of g' - 1 on a scan of s in [-40, 40] (step
            // 1/16; beyond |s| = 40 the direction is within e^-20 of an axis and g' < 1e-8),
            // refined by bisection.
            var turns: [Double] = []
            var previous = support(-40).slope - 1
            var steepest = (s: -40.0, slope: previous + 1)
            defer {
                fineCentres = switches
                if switches.isEmpty && steepest.slope > 0.25 { fineCentres.append(support(steepest.s).g - steepest.s) }
            }
            for i in -639...640 {
                let s = Double(i) / 16
                let value = support(s).slope - 1
                if value + 1 > steepest.slope { steepest = (s, value + 1) }
                if (value >= 0) != (previous >= 0) {
                    var lo = s - 1.0 / 16, hi = s
                    for _ in 0..<80 {
                        let mid = 0.5 * (lo + hi)
                        if (support(mid).slope - 1 >= 0) == (previous >= 0) { lo = mid } else { hi = mid }
                    }
                    turns.append(0.5 * (lo + hi))
                }
                previous = value
            }
            guard !turns.isEmpty else { return }
            // h' < 0 at both infinite ends, so the turns alternate: decreasing pieces are
            // (-inf, t0), (t1, t2), ..., (t_last, inf).
            guard turns.count % 2 == 0 else { return nil }
            var pieces: [(lo: Double, hi: Double)] = [(-.infinity, turns[0])]
            var i = 1
            while i < turns.count {
                pieces.append((turns[i], i + 1 < turns.count ? turns[i + 1] : .infinity))
                i += 2
            }
            // Only adjacent branches are compared: more than two branches is not handled.
            guard pieces.count == 2 else { return nil }
            branches = pieces
            // r where both branches have a root: between the fold values h(t0) (local minimum
            // of h) and h(t1) (local maximum).
            let low = support(turns[0]).g - turns[0], high = support(turns[1]).g - turns[1]
            guard high > low else { return nil }
            func difference(_ r: Double) -> Double? {
                guard let a = root(r, branch: 0), let b = root(r, branch: 1) else { return nil }
                return value(r, a) - value(r, b)
            }
            var lo = low, hi = high
            guard let dLo = difference(lo + 1e-12 * (1 + abs(lo))), let dHi = difference(hi - 1e-12 * (1 + abs(hi))) else { return nil }
            if (dLo > 0) == (dHi > 0) {
                // One branch dominates on the whole overlap: no switch.
                return
            }
            for _ in 0..<200 {
                let mid = 0.5 * (lo + hi)
                guard let d = difference(mid) else { return nil }
                if (d > 0) == (dLo > 0) { lo = mid } else { hi = mid }
                if hi - lo <= 1e-15 * (1 + abs(lo)) { break }
            }
            switches = [0.5 * (lo + hi)]
        }

        /// log(e^{-r - Delta1} + e^{-Delta2}) at the support point of s.
        @inline(__always)
        func value(_ r: Double, _ s: Double) -> Double {
            let v = support(s)
            return logAddExp(-r - v.d1, -v.d2)
        }

        /// The root s of g(s) - s = r on a branch (h decreasing there), by Newton safeguarded
        /// with bisection; nil when r is outside the branch's range.
        func root(_ r: Double, branch: Int) -> Double? {
            let piece = branches[branch]
            var lo = piece.lo.isFinite ? piece.lo : min(-r - bound - 1, piece.hi - 1)
            var hi = piece.hi.isFinite ? piece.hi : max(-r + bound + 1, piece.lo + 1)
            let fLo = support(lo).g - lo - r, fHi = support(hi).g - hi - r
            if fLo < 0 || fHi > 0 { return nil }
            var s = -r + support(-r).g
            if !(s > lo && s < hi) { s = 0.5 * (lo + hi) }
            for _ in 0..<200 {
                let v = support(s)
                let f = v.g - s - r
                if f == 0 { return s }
                if f > 0 { lo = s } else { hi = s }
                var next = s - f / (v.slope - 1)
                if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
                if abs(next - s) <= 1e-15 * (1 + abs(s)) || hi - lo <= 1e-15 * (1 + abs(s)) { return next }
                s = next
            }
            return s
        }

        /// The maximiser's s at r: the root on the branch with the larger value.
        func root(_ r: Double) -> Double {
            if branches.count == 1 { return root(r, branch: 0) ?? 0 }
            var best = 0.0, bestValue = -Double.infinity
            for b in branches.indices {
                if let s = root(r, branch: b) {
                    let v = value(r, s)
                    if v > bestValue { bestValue = v; best = s }
                }
            }
            return best
        }
    }

    struct Sums {
        var value = 0.0
        var ek = (0.0, 0.0), ekr = (0.0, 0.0), ekq = (0.0, 0.0)
        /// l_inf: E[q_k; strip] per strip. l_2: E[q_k n_j / sqrt(n'Gn)] (k, j).
        var strip: [(Double, Double)] = []
        var ellipse = (0.0, 0.0, 0.0, 0.0)
    }

    /// Inner integrals over q of phi (softplus(c0 - q), sigma(c0 - q), sigma(c0 - q)(q - mq)).
    @inline(__always)
    func inner(_ c0: Double, _ rule: GaussLegendre) -> (Double, Double, Double) {
        if sq == 0 {
            let t = c0 - mq
            return (Self.softplus(t), Self.logistic(t), 0)
        }
        let boundaries = Panels.boundaries(-Self.cut, Self.cut, scale: sq, centres: [(c0 - mq) / sq])
        var i0 = 0.0, i1 = 0.0, i2 = 0.0
        let nodes = rule.nodes, weights = rule.weights
        for p in 0..<(boundaries.count - 1) {
            let a = boundaries[p], b = boundaries[p + 1]
            let half = 0.5 * (b - a), mid = 0.5 * (a + b)
            for j in 0..<nodes.count {
                let z = mid + half * nodes[j]
                let w = half * weights[j] * Normal.pdf(z)
                let t = c0 - mq - sq * z
                let e = exp(-abs(t))
                let sp = max(t, 0) + log1p(e)
                let sig = t >= 0 ? 1 / (1 + e) : e / (1 + e)
                i0 += w * sp
                i1 += w * sig
                i2 += w * sig * sq * z
            }
        }
        return (i0, i1, i2)
    }

    @inline(__always) static func softplus(_ t: Double) -> Double { max(t, 0) + log1p(exp(-abs(t))) }
    @inline(__always) static func logistic(_ t: Double) -> Double {
        let e = exp(-abs(t))
        return t >= 0 ? 1 / (1 + e) : e / (1 + e)
    }

    /// E[|dL/dv|] (v = r / 2) where r = mr almost surely and mr is the switch of the ellipse's two
    /// branches (the symmetric family at w2 = 0 when eps ||w|| > sqrt 6: the two maximisers are
    /// mirror images), else 0. L = softplus(psi(2v) - u + v) and psi'(r) = -pi1 on a branch
    /// (envelope), so dL/dv = sigma (1 - 2 pi1) there and the branches' slopes differ by
    /// 2 sigma |pi1+ - pi1-|: the kink term of a one-sided derivative that gives v a spread
    /// (`ClassPairLS.vSlope`, the same for ls and trades). Measured: without it dR/dw2(0+) at
    /// W(6, 0), eps 0.45 was -0.2830 against -0.2487 from differences.
    func vKink(_ rule: GaussLegendre) -> Double {
        guard sr == 0, case .ellipse(let e) = shifts, e.branches.count == 2,
              let a = e.root(mr, branch: 0), let b = e.root(mr, branch: 1) else { return 0 }
        let va = e.value(mr, a), vb = e.value(mr, b)
        guard abs(va - vb) <= 1e-12 * (1 + abs(va)) else { return 0 }
        func pi1(_ s: Double) -> Double {
            let v = e.support(s)
            return Self.logistic(-mr - v.d1 + v.d2)
        }
        let sigma = inner(max(va, vb) + gamma * mr, rule).1
        return sigma * abs(pi1(a) - pi1(b))
    }

    /// One outer node at r with weight w.
    @inline(__always)
    func node(_ r: Double, _ w: Double, strip: Int, _ rule: GaussLegendre, _ sums: inout Sums) {
        var psi: Double, x: Double
        var ellipseTerm = (0.0, 0.0)
        switch shifts {
        case .polygon(let strips):
            let v = strips[strip]
            psi = logAddExp(-r - v.v1, -v.v2)
            x = -r - v.v1 + v.v2
        case .ellipse(let e):
            let s = e.root(r)
            let v = e.support(s)
            psi = logAddExp(-r - v.d1, -v.d2)
            x = -r - v.d1 + v.d2
            let root = v.q.squareRoot()
            if root > 0 { ellipseTerm = (v.n1 / root, v.n2 / root) }
        }
        let pi1 = Self.logistic(x), pi2 = Self.logistic(-x)
        let (i0, i1, i2) = inner(psi + gamma * r, rule)
        let dr = r - mr
        sums.value += w * i0
        let a = w * i1
        sums.ek.0 += a * pi1; sums.ek.1 += a * pi2
        sums.ekr.0 += a * pi1 * dr; sums.ekr.1 += a * pi2 * dr
        sums.ekq.0 += w * pi1 * i2; sums.ekq.1 += w * pi2 * i2
        switch shifts {
        case .polygon:
            sums.strip[strip].0 += a * pi1; sums.strip[strip].1 += a * pi2
        case .ellipse:
            sums.ellipse.0 += a * pi1 * ellipseTerm.0; sums.ellipse.1 += a * pi1 * ellipseTerm.1
            sums.ellipse.2 += a * pi2 * ellipseTerm.0; sums.ellipse.3 += a * pi2 * ellipseTerm.1
        }
    }

    /// The outer panels in z = (r - mr)/sr: kinks (strip ends) as panel ends, graded around
    /// where the two wrong classes trade places (pi = 1/2), at most 3 margin units wide.
    func outerPanels() -> [(lo: Double, hi: Double, strip: Int)] {
        let scale = sr * (1 + abs(gamma))
        var pieces: [(Double, Double, Int, [Double])] = []
        var fine: [Double] = []
        switch shifts {
        case .polygon(let strips):
            for (i, s) in strips.enumerated() {
                let lo = max(-Self.cut, (s.lo - mr) / sr), hi = min(Self.cut, (s.hi - mr) / sr)
                if hi > lo { pieces.append((lo, hi, i, [(s.v2 - s.v1 - mr) / sr])) }
            }
        case .ellipse(let e):
            // Kinks where the maximiser switches branch; graded towards them (the losing
            // branch's fold, where the winning one stops being analytic, can be close).
            let kinks = e.switches.map { ($0 - mr) / sr }.filter { $0 > -Self.cut && $0 < Self.cut }
            let ends = [-Self.cut] + kinks + [Self.cut]
            for i in 0..<(ends.count - 1) {
                pieces.append((ends[i], ends[i + 1], 0, [(e.support(0).g - mr) / sr] + kinks))
            }
            fine = e.fineCentres.map { ($0 - mr) / sr }
        }
        var out: [(lo: Double, hi: Double, strip: Int)] = []
        for (lo, hi, strip, centres) in pieces {
            var b = Panels.boundaries(lo, hi, scale: scale, centres: centres, maxMarginWidth: 3)
            if !fine.isEmpty {
                // Graded from 1e-4 margin units (same widest panel).
                b = Panels.sortedUnique(b + Panels.boundaries(lo, hi, scale: scale * 1e4, centres: fine, maxMarginWidth: 3e4))
            }
            for i in 0..<(b.count - 1) where b[i + 1] > b[i] { out.append((b[i], b[i + 1], strip)) }
        }
        return out
    }

    /// Whether the fixed panels resolve this class (as `PairObjective.isTractable`).
    var isTractable: Bool {
        let outer = 2 * Self.cut * sr * (1 + abs(gamma)) / 3
        return sr.isFinite && sq.isFinite && mr.isFinite && mq.isFinite && outer <= Double(Panels.maxPiecesPerGap)
            && sq <= Double(Panels.maxPiecesPerGap)
    }

    /// E[robust ce | y] and its gradient in the two rows of D.
    func evaluate(_ rule: GaussLegendre) -> (value: Double, gradient: [[Double]]) {
        var sums = Sums()
        if case .polygon(let strips) = shifts { sums.strip = Array(repeating: (0, 0), count: strips.count) }
        if sr == 0 {
            var strip = 0
            if case .polygon(let strips) = shifts {
                strip = strips.firstIndex { mr >= $0.lo && mr < $0.hi } ?? 0
            }
            node(mr, 1, strip: strip, rule, &sums)
        } else {
            let nodes = rule.nodes, weights = rule.weights
            for panel in outerPanels() {
                let half = 0.5 * (panel.hi - panel.lo), mid = 0.5 * (panel.lo + panel.hi)
                for i in 0..<nodes.count {
                    let z = mid + half * nodes[i]
                    node(mr + sr * z, half * weights[i] * Normal.pdf(z), strip: panel.strip, rule, &sums)
                }
            }
        }
        // Regression of x on (r, q): Cov(x, r) = Sigma (D0 - D1)', Cov(x, q) = Sigma (D1 + gamma (D0 - D1))'.
        let d = mean.count
        let vr = sr * sr, vq = sq * sq
        var gradient = [[Double]](repeating: [Double](repeating: 0, count: d), count: 2)
        let ek = [sums.ek.0, sums.ek.1], ekr = [sums.ekr.0, sums.ekr.1], ekq = [sums.ekq.0, sums.ekq.1]
        for k in 0..<2 {
            for f in 0..<d {
                let covR = covariances[0][f] - covariances[1][f]
                let covQ = covariances[1][f] + gamma * covR
                var ex = mean[f] * ek[k]
                if vr > 0 { ex += covR * ekr[k] / vr }
                if vq > 0 { ex += covQ * ekq[k] / vq }
                var shift = 0.0
                switch shifts {
                case .polygon(let strips):
                    for (i, s) in strips.enumerated() { shift += s.delta[f] * (k == 0 ? sums.strip[i].0 : sums.strip[i].1) }
                case .ellipse:
                    let (a0, a1) = k == 0 ? (sums.ellipse.0, sums.ellipse.1) : (sums.ellipse.2, sums.ellipse.3)
                    shift = -eps * eps * (differences[0][f] * a0 + differences[1][f] * a1)
                }
                gradient[k][f] = -(ex + shift)
            }
        }
        return (sums.value, gradient)
    }

    /// Bound on the integrand's contribution beyond |z| = cut in either coordinate: the loss is
    /// at most 2 log 2 + |r| + |d2| + |Delta1| + |Delta2|, with r = mr + sr z_r and d2 = q - gamma r
    /// (`tailGrowth`).
    var tailBound: Double {
        let growth = 1 + abs(m1) + abs(m2) + 4 * (c11 + c22).squareRoot() * Self.cut + 4 * tailGrowth(mr: mr, sr: sr, gamma: gamma)
            + 4 * shiftBound
        return 8 * Normal.upperTail(Self.cut) * growth
    }

    var shiftBound: Double {
        switch shifts {
        case .polygon(let strips): return strips.map { abs($0.v1) + abs($0.v2) }.max() ?? 0
        case .ellipse(let e): return e.bound
        }
    }
}

/// The pair evaluators' loss parameters: ls's smoothing a = alpha / 2 (nil for ce, 0 for
/// trades) and trades' beta (nil otherwise); nil for an objective they do not take.
func pairLoss(_ objective: Objective) -> (smoothing: Double?, tradesBeta: Double?)? {
    switch objective {
    case .ce: return (nil, nil)
    case .ls(let alpha) where alpha >= 0 && alpha <= 1: return (alpha / 2, nil)
    case .trades(let beta) where beta >= 0 && beta.isFinite: return (0, beta)
    default: return nil
    }
}

/// log(e^a + e^b) without overflow.
@inline(__always)
func logAddExp(_ a: Double, _ b: Double) -> Double {
    let top = max(a, b)
    if top == -.infinity { return top }
    return top + log1p(exp(-abs(a - b)))
}

/// Robust ce (l_inf or l_2), ls (l_inf or l_2) or trades (l_inf or l_2) of a 3-class linear classifier
/// (no bias), value and gradient in W, averaged over the uniform class prior (`ClassPairCE`,
/// `ClassPairLSBox`, `ClassPairLSGeneral` per class).
public struct LinearPairCE: Sendable {
    let model: DataModel
    let threat: ThreatModel
    /// nil for ce, alpha / 2 for ls (0 for trades).
    let smoothing: Double?
    /// trades' beta (nil otherwise).
    let tradesBeta: Double?
    /// Compute each class's lines on all cores (`onLines`; same bits).
    public var parallel = false
    /// Whether the classes are integrated on lines with a searched inner maximum -- ls or trades
    /// under l_2, trades under l_inf (`ClassPairLSGeneral`, seconds an evaluation).
    var onLines: Bool { smoothing != nil && (threat.norm == .l2 || tradesBeta != nil) }
    /// ls and trades on lines (l_2; trades under l_inf): the widest v panel, in margin units
    /// (`ClassPairLSGeneral.vWidth`).
    public var vWidth = 3.0
    /// The finer v panels `estimate` falls back to when the two rules differ by more than
    /// `refineAbove` (at a trades W near the symmetric family, 3 -> 0.3 took the difference
    /// from 5.1e-9 to 1.2e-11 under l_2 and from 1.2e-6 to 5.2e-12 under l_inf, the values to
    /// within 2.5e-12 and 4.0e-12 of the reference path, at 2.3x and 5x the cost; at the
    /// symmetric optima the wide panels agree to 1e-11 and are kept). The optimiser's steps
    /// use the wide panels: off the family their gradients can be off by 1e-8 (l_2) to 4e-6
    /// (l_inf), which moves a Newton step, not the reported estimate.
    public static let fineVWidth = 0.3
    /// Whether Newton along a point class's kink runs on the wide v panels first (`FullOptimizer.
    /// fastSolve`, `pointKinkSolve`'s return to the two-way kink): under l_2 their rules certify
    /// a kink; under l_inf they can be 1e-6 off, and kinks go to the fine panels.
    var kinksOnWidePanels: Bool { threat.norm == .l2 }
    /// The v panels the full-W Newton continues on where the fine panels' rules still differ
    /// by more than the tolerance at the point it reached (`FullOptimizer`): on a random 3-class
    /// model's trades:1 optimum (r9 of bench/ANALYSIS.md stop 54) one class's fine rules were
    /// 1e-9 apart and their gradient 2.3e-5 off, where Newton stopped; at 0.1 the rules agreed
    /// to 2e-15 and with 0.03's to 1e-12.
    public static let finerVWidth = 0.1
    static let refineAbove = 1e-10
    /// l_2 lines: the kink scan's refinements are u-panel ends too
    /// (`ClassPairLSGeneral.refinedEnds`); `estimate` falls back to them with the finer v panels.
    public var refinedLineEnds = false

    /// This evaluator on v panels of `width` with the refined line ends: the finer panels that
    /// `estimate` and the full-W Newton's later stages fall back to.
    func onPanels(width: Double) -> LinearPairCE {
        var finer = self
        finer.vWidth = width
        finer.refinedLineEnds = true
        return finer
    }
    /// Values only: a class whose d1 - d2 is constant is integrated on its one line too
    /// (`ClassPairLSGeneral`'s `valueOnly`; else it declines), and the gradient is then NaN.
    public var valueOnly = false
    /// A class whose d1 - d2 is constant is integrated on its one line with its gradient by the
    /// regression on q alone (`ClassPairLSGeneral`'s `qRegression`): R's gradient along the
    /// directions that keep a tie of the adversary's vertices there, one side's across it
    /// (`FullOptimizer.subspaceSolve`, which projects it).
    public var constantRGradients = false
    /// Integrate a class once and rearrange it for the classes whose pair problems are its
    /// permutations (`ClassCorrespondence`; off only to test that it changes nothing).
    public var usesClassSymmetry = true

    public init?(model: DataModel, threat: ThreatModel, objective: Objective) {
        guard model.classCount == 3 else { return nil }
        guard let loss = pairLoss(objective) else { return nil }
        (smoothing, tradesBeta) = loss
        self.model = model
        self.threat = threat
    }

    /// One class's evaluator.
    enum ClassPair {
        case ce(ClassPairCE)
        case ls(ClassPairLSBox)
        /// ls or trades on lines (`onLines`).
        case lines(ClassPairLSGeneral)

        func evaluate(_ rule: GaussLegendre) -> (value: Double, gradient: [[Double]])? {
            switch self {
            case .ce(let c): return c.evaluate(rule)
            case .ls(let c): return c.evaluate(rule)
            case .lines(let c): return c.evaluate(rule)
            }
        }

        var tailBound: Double {
            switch self {
            case .ce(let c): return c.tailBound
            case .ls(let c): return c.tailBound
            case .lines(let c): return c.tailBound
            }
        }
    }

    /// Every class's pair problem at W.
    func problems(_ w: Matrix) -> [PairProblem] {
        (0..<3).map { y in
            let others = (0..<3).filter { $0 != y }
            let rows = others.map { o in (0..<w.columns).map { w[y, $0] - w[o, $0] } }
            return PairProblem(mean: model.mean(ofClass: y), variance: model.variance(ofClass: y), rows: rows)
        }
    }

    /// The classes whose margins' coordinates at W pass `test`.
    func classes(_ w: Matrix, where test: (PairCoordinates) -> Bool) -> [Int] {
        problems(w).enumerated().filter { test(PairCoordinates(mean: $0.element.mean, variance: $0.element.variance, rows: $0.element.rows)) }.map { $0.offset }
    }

    /// The classes whose two margins are both constant at W (no feature with variance enters
    /// their rows): their loss is the inner maximum at one point (`ClassPairLSGeneral.constantQ`).
    public func pointClasses(_ w: Matrix) -> [Int] { classes(w) { $0.sr == 0 && $0.sq == 0 } }

    /// Point class y's candidates for the inner maximum at W, best first
    /// (`ClassPairLSGeneral.pointPeaks`); nil when y is not a point class there or the lines
    /// decline it.
    public func pointPeaks(_ w: Matrix, class y: Int) -> [(f: Double, t: Double)]? {
        guard onLines, let s = smoothing else { return nil }
        let p = problems(w)[y]
        guard let c = ClassPairLSGeneral(mean: p.mean, variance: p.variance, differences: p.rows, eps: threat.eps, smoothing: s,
                                         trades: tradesBeta, norm: threat.norm, valueOnly: true),
              c.constantQ, c.constantR else { return nil }
        return c.pointPeaks()
    }

    /// On lines: the classes whose d1 - d2 is constant at W, when no such class's inner maximum
    /// ties along its line (`ClassPairLSGeneral.tiesAlongLine`), so that the regression on q
    /// alone gives R's gradient there exactly (`constantRGradients`); else none.
    public func untiedConstantClasses(_ w: Matrix) -> [Int] {
        guard onLines, let s = smoothing else { return [] }
        let problems = problems(w)
        let constant = classes(w) { $0.sr == 0 }
        for y in constant {
            let p = problems[y]
            guard let c = ClassPairLSGeneral(mean: p.mean, variance: p.variance, differences: p.rows, eps: threat.eps, smoothing: s,
                                             trades: tradesBeta, norm: threat.norm, valueOnly: true, qRegression: true),
                  !c.constantQ, !c.tiesAlongLine() else { return [] }
        }
        return constant
    }

    /// Whether W has a class whose d1 - d2 is constant and none ties along its line
    /// (`untiedConstantClasses`).
    public func constantLinesUntied(_ w: Matrix) -> Bool { !untiedConstantClasses(w).isEmpty }

    /// One class's evaluator; nil when the fixed rules do not handle it.
    func classPair(_ p: PairProblem) -> ClassPair? {
        if let s = smoothing, onLines {
            guard var c = ClassPairLSGeneral(mean: p.mean, variance: p.variance, differences: p.rows,
                                             eps: threat.eps, smoothing: s, trades: tradesBeta, norm: threat.norm,
                                             valueOnly: valueOnly || constantRGradients, qRegression: constantRGradients),
                  c.isTractable else { return nil }
            c.parallel = parallel
            c.vWidth = vWidth
            c.refinedEnds = refinedLineEnds
            return .lines(c)
        }
        if let s = smoothing {
            guard let c = ClassPairLSBox(mean: p.mean, variance: p.variance, differences: p.rows,
                                         eps: threat.eps, smoothing: s), c.isTractable else { return nil }
            return .ls(c)
        }
        guard let c = ClassPairCE(mean: p.mean, variance: p.variance, differences: p.rows, threat: threat),
              c.isTractable else { return nil }
        return .ce(c)
    }

    /// R(W) and dR/dW with the given rule; nil when a class's inner maximum or scale is outside
    /// what the fixed rules handle (callers then use the reference path).
    public func evaluate(_ w: Matrix) -> (value: Double, gradient: Matrix, tail: Double)? { evaluate(w, rule: .working) }

    /// Class y's share of R on the working and on the verification rule, on this evaluator's
    /// panels (no refinement): how far the two rules agree class by class (`estimate` takes
    /// their difference as the bound). nil when the class is outside the fixed rules.
    public func classRuleValues(_ w: Matrix, class y: Int) -> (working: Double, verification: Double)? {
        guard let pair = classPair(problems(w)[y]), let a = pair.evaluate(.working), let b = pair.evaluate(.verification) else { return nil }
        return (a.value, b.value)
    }

    /// Class y's panel layout on lines (`ClassPairLSGeneral`, in z): its base v-panel ends, the
    /// u-panel ends of its lines at the working rule's v nodes, and the |z| beyond which a panel
    /// takes half the rule's order. nil where the class is not integrated on lines, or on one
    /// line only. For tests of the layout.
    package func classLinePanels(_ w: Matrix, class y: Int) -> (tailStart: Double, v: [Double], u: [[Double]])? {
        guard case .lines(let c)? = classPair(problems(w)[y]), !c.constantQ, !c.constantR else { return nil }
        let v = c.baseVEnds(-ClassPairLSGeneral.cut, ClassPairLSGeneral.cut)
        guard let planned = c.vNodes(.working, panels: v) else { return nil }
        var u: [[Double]] = []
        for (k, node) in planned.nodes.enumerated() {
            guard let line = planned.computed[k] ?? c.uBoundaries(node.v) else { return nil }
            u.append(line.ends)
        }
        return (c.tailStart, v, u)
    }

    /// R and dR/dW at one W from the two rules (`estimate`): the reported rule's value and
    /// gradient, the bound of the value and the gradient's error.
    public typealias RuleEstimate = (value: Double, gradient: Matrix, errorBound: Double, gradientError: Double)

    /// One class's share of R: its value, its gradient in its rows D_y (2 x d), its tail bound.
    typealias ClassShare = (value: Double, gradient: [[Double]], tail: Double)
    /// Every class's share with its base v-panel parts (`sharesWithParts`).
    typealias SharesWithParts = (shares: [ClassShare], parts: [[ClassPairLSGeneral.PanelPart]])

    func evaluate(_ w: Matrix, rule: GaussLegendre) -> (value: Double, gradient: Matrix, tail: Double)? {
        shares(w, rule: rule).map { combine($0, columns: w.columns) }
    }

    /// Every class's share on `rule` (a class that corresponds to an earlier one takes its share
    /// rearranged); nil when a class is outside the fixed rules.
    func shares(_ w: Matrix, rule: GaussLegendre) -> [ClassShare]? { sharesWithParts(w, rule: rule)?.shares }

    /// One class's share on `rule`; nil when the class is outside the fixed rules.
    func share(_ problem: PairProblem, rule: GaussLegendre) -> ClassShare? {
        guard let pair = classPair(problem), let r = pair.evaluate(rule) else { return nil }
        return (r.value, r.gradient, pair.tailBound)
    }

    /// `shares` with each integrated class's base v-panel parts (`ClassPairLSGeneral.PanelPart`;
    /// none for a class that follows another, or off lines; the totals have the same bits
    /// without them).
    func sharesWithParts(_ w: Matrix, rule: GaussLegendre) -> (shares: [ClassShare], parts: [[ClassPairLSGeneral.PanelPart]])? {
        let problems = problems(w)
        var shares: [ClassShare] = [], parts: [[ClassPairLSGeneral.PanelPart]] = []
        for (y, c) in correspondences(problems).enumerated() {
            if let c {
                let s = shares[c.source]
                shares.append((s.value, c.gradient(s.gradient), s.tail))
                parts.append([])
                continue
            }
            guard let pair = classPair(problems[y]) else { return nil }
            if case .lines(let lines) = pair {
                guard let r = lines.evaluateParts(rule, parts: true) else { return nil }
                shares.append((r.value, r.gradient, pair.tailBound))
                parts.append(r.parts)
            } else {
                guard let r = pair.evaluate(rule) else { return nil }
                shares.append((r.value, r.gradient, pair.tailBound))
                parts.append([])
            }
        }
        return (shares, parts)
    }

    /// Class `problem`'s two rules again with the finer v panels and refined line ends
    /// (`fine`), only on the base v panels where they differ: the panels with the largest
    /// differences |working - verification| are taken until the others' add up to below a tenth
    /// of `refineAbove`, and each run of adjacent ones is integrated on `fine` and put in place
    /// of its parts. (At the skewed model's trades:6 full-W optimum under l_2, four central
    /// panels of sixteen held the class's difference of 4.7e-10.) The whole line on `fine` when
    /// the parts are missing or do not match.
    func refinedShare(_ problem: PairProblem, working: (share: ClassShare, parts: [ClassPairLSGeneral.PanelPart]),
                      verification: (share: ClassShare, parts: [ClassPairLSGeneral.PanelPart]), fine: LinearPairCE)
        -> (working: ClassShare, verification: ClassShare)? {
        let a = working.parts, b = verification.parts
        guard !a.isEmpty, a.count == b.count, zip(a, b).allSatisfy({ $0.lower == $1.lower && $0.upper == $1.upper }),
              case .lines(let pair)? = fine.classPair(problem) else {
            guard let fa = fine.share(problem, rule: .working), let fb = fine.share(problem, rule: .verification) else { return nil }
            return (fa, fb)
        }
        let differences = zip(a, b).map { abs($0.value - $1.value) }
        var rest = differences.reduce(0, +)
        var selected = [Bool](repeating: false, count: a.count)
        for i in differences.indices.sorted(by: { differences[$0] > differences[$1] }) where rest > Self.refineAbove / 10 {
            selected[i] = true
            rest -= differences[i]
        }
        var shares = (working: working.share, verification: verification.share)
        func add(_ share: inout ClassShare, _ value: Double, _ gradient: [[Double]], sign: Double) {
            share.value += sign * value
            for k in share.gradient.indices { for f in share.gradient[k].indices { share.gradient[k][f] += sign * gradient[k][f] } }
        }
        var i = 0
        while i < a.count {
            guard selected[i] else { i += 1; continue }
            var j = i
            while j + 1 < a.count && selected[j + 1] { j += 1 }
            let range = (lower: a[i].lower, upper: a[j].upper)
            guard let fa = pair.evaluateParts(.working, over: range), let fb = pair.evaluateParts(.verification, over: range) else { return nil }
            for p in i...j {
                add(&shares.working, a[p].value, a[p].gradient, sign: -1)
                add(&shares.verification, b[p].value, b[p].gradient, sign: -1)
            }
            add(&shares.working, fa.value, fa.gradient, sign: 1)
            add(&shares.verification, fb.value, fb.gradient, sign: 1)
            i = j + 1
        }
        return shares
    }

    func correspondences(_ problems: [PairProblem]) -> [ClassCorrespondence?] {
        usesClassSymmetry ? ClassCorrespondence.map(problems) : [nil, nil, nil]
    }

    /// R(W) from class 0's share computed elsewhere (`L2PairObjective` on the symmetric family,
    /// whose class-0 problem is this one's), when classes 1 and 2 are class 0's rearranged
    /// (`ClassCorrespondence`) and class 0's problem is `problem` (the same law; rows equal to
    /// 1e-14 relative: the two build them by different subtractions); nil otherwise.
    func assemble(_ w: Matrix, classZero share: ClassShare, problem: PairProblem) -> (value: Double, gradient: Matrix, tail: Double)? {
        guard usesClassSymmetry else { return nil }
        let problems = problems(w)
        let zero = problems[0]
        guard zero.mean == problem.mean, zero.variance == problem.variance, problem.rows.count == 2 else { return nil }
        let scale = zero.rows.flatMap { $0 }.maxMagnitude
        for k in 0..<2 {
            guard problem.rows[k].count == w.columns else { return nil }
            for f in 0..<w.columns where abs(zero.rows[k][f] - problem.rows[k][f]) > 1e-14 * scale { return nil }
        }
        let correspondences = ClassCorrespondence.map(problems)
        guard correspondences[0] == nil, let c1 = correspondences[1], let c2 = correspondences[2], c1.source == 0, c2.source == 0 else { return nil }
        let shares: [ClassShare] = [share, (share.value, c1.gradient(share.gradient), share.tail), (share.value, c2.gradient(share.gradient), share.tail)]
        return combine(shares, columns: w.columns)
    }

    /// R and dR/dW from the three classes' shares (each 1/3 of R).
    func combine(_ shares: [ClassShare], columns: Int) -> (value: Double, gradient: Matrix, tail: Double) {
        var value = 0.0, tail = 0.0
        var gradient = Matrix(rows: 3, columns: columns)
        for y in 0..<3 {
            let r = shares[y]
            value += r.value / 3
            tail += r.tail / 3
            let others = (0..<3).filter { $0 != y }
            for (k, o) in others.enumerated() {
                for f in 0..<columns {
                    gradient[y, f] += r.gradient[k][f] / 3
                    gradient[o, f] -= r.gradient[k][f] / 3
                }
            }
        }
        return (value, gradient, tail)
    }

    /// Whether `estimate` takes the finer v panels for a bound this large.
    func refines(_ errorBound: Double) -> Bool {
        onLines && errorBound > Self.refineAbove && (vWidth > Self.fineVWidth || (threat.norm == .l2 && !refinedLineEnds))
    }

    /// `estimate` from the two rules' results at one W (no refinement).
    func estimate(working a: (value: Double, gradient: Matrix, tail: Double), verification b: (value: Double, gradient: Matrix, tail: Double))
        -> RuleEstimate {
        var gradientError = 0.0
        for i in 0..<a.gradient.storage.count { gradientError = max(gradientError, abs(a.gradient.storage[i] - b.gradient.storage[i])) }
        let reported = smoothing == nil ? a : b
        return (reported.value, reported.gradient, abs(a.value - b.value) + a.tail + 1e-15 * abs(a.value), gradientError + 10 * a.tail)
    }

    /// The Hessian of R in the free entries (rows 0 and 1 of W, row 2 held) by forward
    /// differences (step h) of each class's exact gradient in its own rows D_y on the given
    /// rule, assembled through D_y = (w_y - w_o1, w_y - w_o2). A class that corresponds to an
    /// earlier one takes its Hessian rearranged, and a class that maps onto itself with its rows
    /// exchanged differences one direction of each orbit: at paper3's symmetric W, 7 one-class
    /// gradients instead of 13 three-class ones. nil when a class is outside the fixed rules.
    public func freeHessian(_ w: Matrix, step h: Double) -> [Double]? { freeHessian(w, rule: .working, step: h) }

    /// `freeHessian(_:step:)` from the working rule's shares at w integrated first, as a Newton
    /// run's last evaluation gives them (for tests: the same bits).
    public func freeHessianFromEvaluatedShares(_ w: Matrix, step h: Double) -> [Double]? {
        sharesWithParts(w, rule: .working).flatMap { freeHessian(w, rule: .working, step: h, base: $0.shares) }
    }

    /// `base`: the classes' shares at w on `rule` where they are known (the last evaluation of a
    /// run there: one evaluation of the 2 (K - 1) d + 1 fewer, the same bits).
    func freeHessian(_ w: Matrix, rule: GaussLegendre, step h: Double, base: [ClassShare]? = nil) -> [Double]? {
        let d = w.columns, n = 2 * d
        let problems = problems(w)
        let correspondences = usesClassSymmetry ? ClassCorrespondence.map(problems) : [nil, nil, nil]
        var hessians: [[Double]] = []
        for y in 0..<3 {
            if let c = correspondences[y] { hessians.append(c.hessian(hessians[c.source])); continue }
            let p = problems[y]
            func gradient(_ rows: [[Double]]) -> [Double]? {
                guard let pair = classPair(PairProblem(mean: p.mean, variance: p.variance, rows: rows)),
                      let r = pair.evaluate(rule) else { return nil }
                return r.gradient[0] + r.gradient[1]
            }
            guard let g0 = base.map({ $0[y].gradient[0] + $0[y].gradient[1] }) ?? gradient(p.rows) else { return nil }
            let swap = usesClassSymmetry ? ClassCorrespondence.selfSwap(p) : nil
            var hessian = [Double](repeating: 0, count: n * n)
            var done = [Bool](repeating: false, count: n)
            for j in 0..<n where !done[j] {
                var rows = p.rows
                rows[j / d][j % d] += h
                guard let g = gradient(rows) else { return nil }
                var column = (0..<n).map { (g[$0] - g0[$0]) / h }
                var index = j
                // Walk the orbit of direction j under the self-map: each image's column is this
                // column rearranged.
                while !done[index] {
                    done[index] = true
                    for i in 0..<n { hessian[i * n + index] = column[i] }
                    guard let s = swap else { break }
                    var next = [Double](repeating: 0, count: n)
                    for i in 0..<n { next[s.target(i / d, i % d)] = column[i] }
                    column = next
                    index = s.target(index / d, index % d)
                }
            }
            DampedNewton.symmetrize(&hessian, n)
            hessians.append(hessian)
        }
        // d D_y[k] / d W[r] = [r == y] - [r == o_k] (identity in the feature).
        var out = [Double](repeating: 0, count: n * n)
        for y in 0..<3 {
            let others = (0..<3).filter { $0 != y }
            func c(_ r: Int, _ k: Int) -> Double { (r == y ? 1 : 0) - (r == others[k] ? 1 : 0) }
            let hy = hessians[y]
            for r in 0..<2 { for rp in 0..<2 { for k in 0..<2 { for kp in 0..<2 {
                let coefficient = c(r, k) * c(rp, kp) / 3
                if coefficient == 0 { continue }
                for f in 0..<d { for fp in 0..<d {
                    out[(r * d + f) * n + rp * d + fp] += coefficient * hy[(k * d + f) * n + kp * d + fp]
                } }
            } } } }
        }
        return out
    }

    /// The one-sided derivative of R at W in the direction V, dR(W + s V)/ds at s = 0+, where
    /// every class's d1 - d2 is constant at W (the axis w2 = 0 of a model whose absent
    /// features are exactly zero; V the cross-class direction), ls or trades under l_2: each
    /// class on its one line (`ClassPairLSGeneral.oneSidedSlope`), the verification rule's
    /// value bounded by its difference from the working rule's plus ten tail bounds (as
    /// `estimate`'s gradient error). nil where a class is not of that kind or declines.
    public func oneSidedSlope(_ w: Matrix, direction v: Matrix) -> (value: Double, errorBound: Double)? {
        guard onLines, threat.norm == .l2, v.rows == w.rows, v.columns == w.columns else { return nil }
        var working = 0.0, verification = 0.0, tail = 0.0
        for (y, p) in problems(w).enumerated() {
            let others = (0..<3).filter { $0 != y }
            let e = others.map { o in (0..<w.columns).map { v[y, $0] - v[o, $0] } }
            guard let s = smoothing,
                  let c = ClassPairLSGeneral(mean: p.mean, variance: p.variance, differences: p.rows, eps: threat.eps,
                                             smoothing: s, trades: tradesBeta, norm: .l2, valueOnly: true),
                  c.constantR, c.isTractable,
                  let shares = c.oneSidedSlope(direction: e, variance: p.variance, rules: [.working, .verification]),
                  shares.allSatisfy({ $0.isFinite }) else { return nil }
            working += shares[0] / 3
            verification += shares[1] / 3
            tail += c.tailBound / 3
        }
        return (verification, abs(working - verification) + 10 * tail)
    }

    /// Value and gradient on the working rule (ls: the verification rule), with the error bounds
    /// from the difference of the two rules (twice the order on the same panels) plus the
    /// truncated tails. ls reports the more accurate rule, as `L2PairObjective` does: at small
    /// margin scales (W of norm ~1) its working rule was 1.5e-11 from the reference with the
    /// verification rule within 2e-13 of it.
    public func estimate(_ w: Matrix) -> RuleEstimate? {
        estimate(w, working: nil)
    }

    /// `working`: the working rule's result at w when the caller has it already.
    ///
    /// When the two rules differ by more than `refineAbove`, the classes are integrated again on
    /// the finer v panels with the refined line ends one at a time, the one whose rules differ
    /// most first (each kept where its rules then agree better), until the bound is below it;
    /// the others keep theirs. Only a class's panels where the rules differ are integrated
    /// again (`refinedShare`). (At the skewed model's trades:6 full-W optimum under l_2: one
    /// class of three, four of its sixteen v panels; 31 -> 13 s whole classes, -> 4.3 s panels.)
    ///
    /// `workingShares`: the working rule's shares at w with their parts (`sharesWithParts`), when
    /// the caller kept them: the refinement needs them, which `working` alone does not give.
    func estimate(_ w: Matrix, working: (value: Double, gradient: Matrix, tail: Double)?,
                  workingShares known: (shares: [ClassShare], parts: [[ClassPairLSGeneral.PanelPart]])? = nil)
        -> RuleEstimate? {
        let workingShares = known ?? (working == nil ? sharesWithParts(w, rule: .working) : nil)
        guard let a = workingShares.map({ combine($0.shares, columns: w.columns) }) ?? working,
              let verificationShares = sharesWithParts(w, rule: .verification) else { return nil }
        var verification = verificationShares.shares
        let first = estimate(working: a, verification: combine(verification, columns: w.columns))
        guard refines(first.errorBound), let workingWithParts = workingShares ?? sharesWithParts(w, rule: .working) else { return first }
        var working = workingWithParts.shares
        let fine = onPanels(width: Self.fineVWidth)
        let problems = problems(w)
        let correspondences = correspondences(problems)
        func difference(_ y: Int) -> Double { abs(working[y].value - verification[y].value) }
        var current = first
        for y in (0..<3).filter({ correspondences[$0] == nil }).sorted(by: { difference($0) > difference($1) }) {
            guard current.errorBound > Self.refineAbove else { break }
            guard let refined = refinedShare(problems[y], working: (working[y], workingWithParts.parts[y]),
                                             verification: (verification[y], verificationShares.parts[y]), fine: fine),
                  case let (fa, fb) = refined, abs(fa.value - fb.value) < difference(y) else { continue }
            working[y] = fa
            verification[y] = fb
            // The classes that are this one's rearranged follow it.
            for (x, c) in correspondences.enumerated() where c?.source == y {
                working[x] = (fa.value, c!.gradient(fa.gradient), fa.tail)
                verification[x] = (fb.value, c!.gradient(fb.gradient), fb.tail)
            }
            current = estimate(working: combine(working, columns: w.columns), verification: combine(verification, columns: w.columns))
        }
        return current.errorBound < first.errorBound ? current : first
    }
}

/// The robust ce, ls or trades of the symmetric family W(w1, w2) on a complement(3) model
/// under l_2 (class 1's share equals every class's), with its gradient in (w1, w2) by the chain
/// rule through D(w1, w2) = w1 D(1, 0) + w2 D(0, 1). ce: `ClassPairCE` (1-D reduction in
/// d1 - d2); ls and trades: `ClassPairLS` (2-D rule, certified inner maximum over the ellipse).
public struct L2PairObjective: Sendable {
    let model: DataModel
    let threat: ThreatModel
    /// nil for ce, alpha / 2 for ls (0 for trades).
    let smoothing: Double?
    /// trades' beta (nil otherwise).
    let tradesBeta: Double?
    /// Class 1's rows D at (1, 0) and (0, 1).
    let unit1: [[Double]], unit2: [[Double]]
    /// ls: compute each evaluation's inner maxima on all cores (same bits as one thread).
    public var parallel = false
    /// Panels beyond |z| = tailStart take half the rule's order (`GaussLegendre.onPanel`;
    /// `.infinity` keeps the full order everywhere, for tests).
    public var tailStart = GaussLegendre.tailStart
    /// The standard deviation of v = (d1 - d2) / 2 per unit of w2 (at w2 = 0 the w1 part of
    /// d1 - d2 vanishes): the scale of the kink term of dR/dw2 at w2 = 0+ (`ClassPairLS.vSlope`).
    let vPerW2: Double

    public init?(model: DataModel, threat: ThreatModel, objective: Objective) {
        guard threat.norm == .l2, let c = ComplementStructure(model: model), c.classes == 3 else { return nil }
        guard let loss = pairLoss(objective) else { return nil }
        (smoothing, tradesBeta) = loss
        self.model = model
        self.threat = threat
        func rows(_ w1: Double, _ w2: Double) -> [[Double]] {
            let w = LinearClassifier.symmetric(model: model, w1: w1, w2: w2).weights
            return [1, 2].map { o in (0..<w.columns).map { w[0, $0] - w[o, $0] } }
        }
        unit1 = rows(1, 0)
        unit2 = rows(0, 1)
        let variance = model.variance(ofClass: 0), u2 = unit2
        vPerW2 = (0..<variance.count).reduce(0.0) { sum, f in
            let half = 0.5 * (u2[0][f] - u2[1][f])
            return sum + half * half * variance[f]
        }.squareRoot()
    }

    /// One class's evaluator: ce, or ls and trades.
    enum Pair {
        case ce(ClassPairCE)
        case ls(ClassPairLS)

        /// `vKink`: see `ClassPairLS.evaluate` and `ClassPairCE.vKink`.
        func evaluate(_ rule: GaussLegendre) -> (value: Double, gradient: [[Double]], vKink: Double)? {
            switch self {
            case .ce(let c): let r = c.evaluate(rule); return (r.value, r.gradient, c.vKink(rule))
            case .ls(let c): return c.evaluate(rule)
            }
        }

        var tailBound: Double {
            switch self {
            case .ce(let c): return c.tailBound
            case .ls(let c): return c.tailBound
            }
        }
    }

    /// Class 0's rows D at W(w1, w2).
    func rows(_ w1: Double, _ w2: Double) -> [[Double]] {
        (0..<2).map { k in zip(unit1[k], unit2[k]).map { w1 * $0.0 + w2 * $0.1 } }
    }

    /// Class 0's pair problem at W(w1, w2) (`LinearPairCE.assemble`).
    func problem(_ w1: Double, _ w2: Double) -> PairProblem {
        PairProblem(mean: model.mean(ofClass: 0), variance: model.variance(ofClass: 0), rows: rows(w1, w2))
    }

    func pair(_ w1: Double, _ w2: Double) -> Pair? {
        let rows = rows(w1, w2)
        if let a = smoothing {
            guard var c = ClassPairLS(mean: model.mean(ofClass: 0), variance: model.variance(ofClass: 0), differences: rows,
                                      eps: threat.eps, smoothing: a, trades: tradesBeta), c.isTractable else { return nil }
            c.parallel = parallel
            c.tailStart = tailStart
            return .ls(c)
        }
        guard let c = ClassPairCE(mean: model.mean(ofClass: 0), variance: model.variance(ofClass: 0), differences: rows, threat: threat),
              c.isTractable else { return nil }
        return .ce(c)
    }

    /// R and (dR/dw1, dR/dw2) (at w2 = 0 the one-sided derivative at 0+), or nil when declined.
    public func evaluate(w1: Double, w2: Double) -> (value: Double, g1: Double, g2: Double)? { evaluate(w1: w1, w2: w2, rule: .working) }

    func evaluate(w1: Double, w2: Double, rule: GaussLegendre) -> (value: Double, g1: Double, g2: Double)? {
        evaluation(w1: w1, w2: w2, rule: rule).map { ($0.value, $0.g1, $0.g2) }
    }

    /// One evaluation: R and its (w1, w2) gradient, and class 0's share behind them (its value,
    /// its gradient in its rows D, its tail bound), which is what `LinearPairCE` integrates per
    /// class (`LinearPairCE.assemble`).
    struct Evaluation {
        var value: Double, g1: Double, g2: Double
        var share: LinearPairCE.ClassShare
    }

    func evaluation(w1: Double, w2: Double, rule: GaussLegendre) -> Evaluation? {
        guard let c = pair(w1, w2), let r = c.evaluate(rule) else { return nil }
        var g1 = 0.0, g2 = 0.0
        for k in 0..<2 {
            for f in 0..<unit1[k].count {
                g1 += r.gradient[k][f] * unit1[k][f]
                g2 += r.gradient[k][f] * unit2[k][f]
            }
        }
        // At w2 = 0 (v degenerate) the one-sided derivative has the kink term E|v| E[|dL/dv|].
        if w2 == 0 && r.vKink != 0 { g2 += r.vKink * vPerW2 * (2 / Double.pi).squareRoot() }
        return Evaluation(value: r.value, g1: g1, g2: g2, share: (r.value, r.gradient, c.tailBound))
    }

    /// Value and gradient with error bounds (working rule against the verification rule).
    public func estimate(w1: Double, w2: Double) -> (value: Double, g1: Double, g2: Double, errorBound: Double, gradientError: Double)? {
        detailedEstimate(w1: w1, w2: w2, working: nil).map { ($0.value, $0.g1, $0.g2, $0.errorBound, $0.gradientError) }
    }

    /// `estimate` with the two rules' evaluations behind it; `working`: the working rule's
    /// evaluation at (w1, w2) when the caller has it already.
    func detailedEstimate(w1: Double, w2: Double, working: Evaluation?)
        -> (value: Double, g1: Double, g2: Double, errorBound: Double, gradientError: Double, working: Evaluation, verification: Evaluation)? {
        guard let a = working ?? evaluation(w1: w1, w2: w2, rule: .working),
              let b = evaluation(w1: w1, w2: w2, rule: .verification) else { return nil }
        let tail = b.share.tail
        // ls and trades: the verification rule's value is reported (bounded by its difference
        // from the working rule's). At W(6, 4), eps 0.3 the ls working value was 2.9e-9 from the
        // reference path with |working - verification| = 2.8e-9: the difference bounds the more
        // accurate rule's error, not the working rule's.
        let reported = smoothing == nil ? a : b
        return (reported.value, reported.g1, reported.g2, abs(a.value - b.value) + tail + 1e-15 * abs(a.value),
                max(abs(a.g1 - b.g1), abs(a.g2 - b.g2)) + 10 * tail, a, b)
    }

    /// The objective as an `Estimate` (the one place this path builds one).
    func valueEstimate(w1: Double, w2: Double, tolerance: Double) -> Estimate? {
        guard let e = estimate(w1: w1, w2: w2) else { return nil }
        return Estimate(value: e.value, errorBound: e.errorBound, converged: e.errorBound <= tolerance, method: .gaussLegendre2DL2)
    }
}

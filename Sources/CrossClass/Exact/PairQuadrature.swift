import Foundation
import GSL

/// Gauss-Legendre rule on [-1, 1] (nodes by Newton's method on P_n, to machine precision).
struct GaussLegendre: Sendable {
    let nodes: [Double]
    let weights: [Double]

    init(order n: Int) {
        precondition(n >= 2)
        var x = [Double](repeating: 0, count: n), w = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var t = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 1.0
            for _ in 0..<100 {
                var p0 = 1.0, p1 = t
                for k in 2...n {
                    let p2 = ((2 * Double(k) - 1) * t * p1 - (Double(k) - 1) * p0) / Double(k)
                    p0 = p1; p1 = p2
                }
                derivative = Double(n) * (t * p1 - p0) / (t * t - 1)
                let step = p1 / derivative
                t -= step
                if abs(step) < 1e-16 { break }
            }
            x[i] = t
            w[i] = 2 / ((1 - t * t) * derivative * derivative)
        }
        nodes = x
        weights = w
    }

    /// The working rule, and the rule of twice its order that verifies it.
    static let working = GaussLegendre(order: 12)
    static let verification = GaussLegendre(order: 24)
}

/// Panel boundaries for a composite rule on [lo, hi] in standard-normal coordinates z, for an
/// integrand that is analytic except near known "centres" (where a logit difference crosses 0:
/// the loss there is analytic only in a strip of half-width ~pi/2 in margin units, so that
/// a margin scale s per unit z shrinks the strip to pi/(2 s) in z).
///
/// Around each centre the boundaries are graded geometrically (ratio 3 in margin units, from
/// one margin unit), so that every panel is at least as far from the centre's singularities as
/// it is wide; no panel is wider than `maxWidth` in z (the Gaussian weight's own resolution).
enum Panels {
    static let maxWidth = 1.5
    static let ratio = 3.0
    /// Most panels between two graded points (see `PairObjective.isTractable`).
    static let maxPiecesPerGap = 4096

    /// `maxMarginWidth`: also no panel wider than this many margin units (the outer integrand
    /// of the pair objective is analytic only in a strip of half-width pi around a whole half
    /// line of c, so geometric grading does not apply there).
    static func boundaries(_ lo: Double, _ hi: Double, scale s: Double, centres: [Double], maxMarginWidth: Double = .infinity) -> [Double] {
        let maxWidth = s > 0 ? min(Self.maxWidth, maxMarginWidth / s) : Self.maxWidth
        var points = [lo, hi]
        if s > 0 {
            for c in centres {
                var offset = 1 / s
                // Graded points on both sides while they fall inside the interval.
                while offset < (hi - lo) + abs(c - lo) + abs(c - hi) {
                    for p in [c - offset, c + offset] where p > lo && p < hi { points.append(p) }
                    offset *= ratio
                }
                if c > lo && c < hi { points.append(c) }
            }
        }
        points.sort()
        var out: [Double] = [points[0]]
        let gap = 1e-12 * max(1, hi - lo)
        for p in points.dropFirst() where p - out[out.count - 1] > gap {
            let start = out[out.count - 1]
            // Capped (in Double, before the conversion) so that an extreme margin scale cannot
            // overflow Int; callers decline such scales first (`PairObjective.isTractable`).
            let pieces = Int(min(((p - start) / maxWidth).rounded(.up), Double(maxPiecesPerGap)))
            if pieces > 1 {
                for j in 1..<pieces { out.append(start + (p - start) * Double(j) / Double(pieces)) }
            }
            out.append(p)
        }
        return out
    }
}

/// The population robust objective (ce, ls or trades) of the symmetric family W(w1, w2),
/// w1, w2 >= 0, on a complement(3)-structured model (paper3) under l_inf, with its gradient, by
/// fixed composite Gauss-Legendre rules in whitened coordinates (the fast path of issue 12).
///
/// For class y the clean margins are d_k = A + I_k (k = the two other classes) with A ~ N(mA,
/// sA^2) shared and I_k i.i.d. N(mI, sI^2) (`ExchangeableMargins`). In the independent
/// coordinates c = A + (I_2 + I_3)/2 = mc + sc z1 and u = (I_2 - I_3)/2 = su z2 the margins are
/// d = (c + u, c - u), and the l_inf perturbation set of the margins is the hexagon with vertices
/// e (V1, V2), e = eps (w1 + w2), V in {(-2,-2), (0,-2), (2,0), (2,2), (0,2), (-2,0)} (the box's
/// merged generators e (1,1), e (1,0), e (0,1)). The loss is convex in the logits, so its inner
/// maximum is at a vertex:
///   ce: the lowest vertex (-2,-2) (ce decreases in every margin), no kinks;
///   ls, trades: the best of the six, with kinks where the best vertex changes.
/// The integrand is even in u (the hexagon is symmetric under swapping the margins), so
///   R = 2 int_{z1} int_{z2 >= 0} phi(z1) phi(z2) L(c, u).
/// Each piece is analytic, with logit-scale structure only where a shifted margin crosses 0;
/// the panels are graded there (`Panels`). Kinks along an inner line are located by a label
/// scan and a root of the difference of the two vertices' losses; where the pattern of pieces
/// along the inner line changes with c (a kink curve turns or meets the axis u = 0) the outer
/// integrand has an algebraic singularity: located by bisection and integrated on panels
/// graded geometrically towards it.
/// The gradient in (w1, w2) is the integral of the integrand's derivative through
/// (mc, sc, su, e) on the same nodes (Danskin at the best vertex), so value and gradient cost
/// one pass.
struct PairObjective: Sendable {
    let structure: ComplementStructure
    let eps: Double
    let kind: Kind

    enum Kind: Sendable {
        case ce
        case ls(smoothing: Double)
        case trades(beta: Double)
    }

    /// `kinked`: also accept ls and trades. Their fixed-rule evaluation is implemented (kinks
    /// located on every inner line, pattern changes bisected in the outer direction) but not
    /// yet bounded in cost -- near tangencies of kink curves the pattern bisection can split a
    /// panel many times (measured: minutes for one ls optimum) -- so the default path keeps the
    /// adaptive reference for them until that is fixed (issue 12 follow-up).
    init?(model: DataModel, threat: ThreatModel, objective: Objective, kinked: Bool = false) {
        guard threat.norm == .linf, let c = ComplementStructure(model: model), c.classes == 3 else { return nil }
        switch objective {
        case .ce: kind = .ce
        case .ls(let alpha) where kinked: kind = .ls(smoothing: alpha / 2)
        case .trades(let beta) where kinked: kind = .trades(beta: beta)
        default: return nil
        }
        structure = c
        eps = threat.eps
    }

    var isSmooth: Bool { if case .ce = kind { return true } else { return false } }

    struct Result {
        var value: Double
        var gradient: (w1: Double, w2: Double)
    }

    /// Truncation of the standard-normal coordinates (neglected mass 2 Phi(-9) = 2.3e-19).
    static let cut = 9.0
    static let vertices: [(Double, Double)] = [(-2, -2), (0, -2), (2, 0), (2, 2), (0, 2), (-2, 0)]

    /// Loss at margins (d1, d2) and vertex unit e: value, dL/dd1, dL/dd2, dL/de, best vertex.
    @inline(__always)
    func loss(_ d1: Double, _ d2: Double, _ e: Double) -> (Double, Double, Double, Double, Int) {
        switch kind {
        case .ce:
            let (l, q1, q2) = Self.softplus(d1 - 2 * e, d2 - 2 * e)
            return (l, -q1, -q2, 2 * (q1 + q2), 0)
        case .ls(let s):
            var best = -Double.infinity, b1 = 0.0, b2 = 0.0, bg = 0.0, label = 0
            let noise = 1e-13 * (1 + abs(d1) + abs(d2) + e)
            for (v, vertex) in Self.vertices.enumerated() {
                let a1 = d1 + e * vertex.0, a2 = d2 + e * vertex.1
                let (sp, q1, q2) = Self.softplus(a1, a2)
                let value = sp + s * (a1 + a2)
                let l1 = s - q1, l2 = s - q2
                if value > best + noise || (value >= best - noise && l1 - l2 > b1 - b2) {
                    best = value; b1 = l1; b2 = l2; bg = vertex.0 * l1 + vertex.1 * l2; label = v
                }
            }
            return (best, b1, b2, bg, label)
        case .trades(let beta):
            let (clean, p1, p2) = Self.softplus(d1, d2)
            var best = -Double.infinity, b1 = 0.0, b2 = 0.0, bg = 0.0, label = 0
            let noise = 1e-13 * (1 + abs(d1) + abs(d2) + e + clean)
            let pv = { (v: (Double, Double)) in p1 * v.0 + p2 * v.1 }
            for (v, vertex) in Self.vertices.enumerated() {
                let (sp, q1, q2) = Self.softplus(d1 + e * vertex.0, d2 + e * vertex.1)
                let mean = pv(vertex)
                let kl = sp - clean + e * mean
                var l1 = 0.0, l2 = 0.0, lg = 0.0
                let value = max(0, kl)
                if kl > 0 {
                    // d/dd_j of p_k = -p_k delta_kj + p_k p_j.
                    l1 = -q1 + p1 + e * p1 * (mean - vertex.0)
                    l2 = -q2 + p2 + e * p2 * (mean - vertex.1)
                    lg = -(vertex.0 * q1 + vertex.1 * q2) + mean
                }
                if value > best + noise || (value >= best - noise && l1 - l2 > b1 - b2) {
                    best = value; b1 = l1; b2 = l2; bg = lg; label = v
                }
            }
            return (clean + beta * best, -p1 + beta * b1, -p2 + beta * b2, beta * bg, label)
        }
    }

    /// One vertex's loss, up to terms common to all vertices (for locating kinks).
    @inline(__always)
    func vertexLoss(_ v: Int, _ d1: Double, _ d2: Double, _ e: Double) -> Double {
        let vertex = Self.vertices[v]
        switch kind {
        case .ce: return 0
        case .ls(let s):
            let a1 = d1 + e * vertex.0, a2 = d2 + e * vertex.1
            return Self.softplus(a1, a2).0 + s * (a1 + a2)
        case .trades:
            let (clean, p1, p2) = Self.softplus(d1, d2)
            return max(0, Self.softplus(d1 + e * vertex.0, d2 + e * vertex.1).0 - clean + e * (p1 * vertex.0 + p2 * vertex.1))
        }
    }

    /// log(1 + e^{-a1} + e^{-a2}) and the probabilities q_k = e^{-a_k} / (1 + e^{-a1} + e^{-a2}).
    @inline(__always)
    static func softplus(_ a1: Double, _ a2: Double) -> (Double, Double, Double) {
        let top = max(0, -a1, -a2)
        let e0 = exp(-top), e1 = exp(-a1 - top), e2 = exp(-a2 - top)
        let s = e0 + e1 + e2
        return (top + log(s), e1 / s, e2 / s)
    }

    /// Geometry of the whitened coordinates at (w1, w2) and their derivatives in (w1, w2).
    struct Geometry {
        var e = 0.0, eW = 0.0
        var mc = 0.0, mcW = (0.0, 0.0)
        var sc = 0.0, scW = (0.0, 0.0)
        var su = 0.0, suW = (0.0, 0.0)
    }

    func geometry(_ w1: Double, _ w2: Double) -> Geometry {
        let c = structure
        let sE2 = c.sigmaE * c.sigmaE, sC2 = c.sigmaC * c.sigmaC, t2 = c.tau * c.tau
        var g = Geometry()
        g.e = eps * (w1 + w2)
        g.eW = eps
        g.mc = w1 * c.muE + w2 * c.muC
        g.mcW = (c.muE, c.muC)
        g.sc = (w1 * w1 * sE2 + w2 * w2 * t2 + 0.5 * (w2 * w2 * sC2 + w1 * w1 * t2)).squareRoot()
        g.scW = g.sc > 0 ? ((w1 * sE2 + 0.5 * w1 * t2) / g.sc, (w2 * t2 + 0.5 * w2 * sC2) / g.sc) : (0, 0)
        g.su = (0.5 * (w2 * w2 * sC2 + w1 * w1 * t2)).squareRoot()
        // One-sided derivative at su = 0 (w2 = 0+, tau = 0): su = w2 sC / sqrt(2).
        g.suW = g.su > 0 ? (0.5 * w1 * t2 / g.su, 0.5 * w2 * sC2 / g.su) : (0, c.sigmaC / 2.0.squareRoot())
        return g
    }

    /// Margin offsets e V_k of the candidate vertices (where a shifted margin crosses 0, the
    /// loss has logit-scale structure).
    func offsets(_ e: Double) -> [Double] {
        if case .ce = kind { return [-2 * e] }
        return [-2 * e, 0, 2 * e]
    }

    /// Centres of the inner line (in z2): where a shifted margin d_k + e V_k crosses 0, and where
    /// two shifted margins are equal (a1 - a2 = 2u + e (V1 - V2) = 0: the two wrong classes
    /// trade places, e.g. at u = 0 for ce, where log(2 cosh u) has its singularities at
    /// u = +-i pi/2).
    func innerCentres(_ c: Double, _ geo: Geometry) -> [Double] {
        var centres = offsets(geo.e).map { abs(c + $0) / geo.su }
        centres.append(0)
        if !isSmooth { centres += [geo.e / geo.su, 2 * geo.e / geo.su] }
        return centres
    }

    /// Accumulated inner integral over z2 >= 0 of phi(z2) (L, L_c, L_u z2).
    struct Inner {
        var value = 0.0, c = 0.0, uz = 0.0
    }

    /// The pattern of best vertices along the inner line at c (labels in order of u, scanned
    /// at `points`), with the kinks between them.
    func scan(_ c: Double, _ geo: Geometry, _ points: [Double]) -> (pattern: [Int], kinks: [Double]) {
        var pattern: [Int] = []
        var kinks: [Double] = []
        var previousZ = 0.0, previousLabel = -1
        for z in points {
            let u = geo.su * z
            let label = loss(c + u, c - u, geo.e).4
            if previousLabel >= 0 && label != previousLabel {
                // Chain of kinks in (previousZ, z): root of the difference of the two losses,
                // then continue from there with the label found just beyond it.
                var start = previousZ, left = previousLabel
                var rounds = 0
                while left != label && rounds < 6 {
                    rounds += 1
                    let right = label
                    let root = kink(c, geo, left, right, start, z)
                    kinks.append(root)
                    pattern.append(left)
                    let beyond = min(z, root + 1e-9 * max(1, root))
                    let u2 = geo.su * beyond
                    let next = loss(c + u2, c - u2, geo.e).4
                    start = root
                    left = next == left ? right : next
                }
                previousLabel = label
            }
            if previousLabel < 0 { previousLabel = label }
            previousZ = z
        }
        pattern.append(previousLabel)
        return (pattern, kinks)
    }

    /// z in [a, b] where vertices `left` and `right` have equal loss (Illinois on the
    /// difference; falls back to the interval's middle if the difference does not change sign).
    func kink(_ c: Double, _ geo: Geometry, _ left: Int, _ right: Int, _ a: Double, _ b: Double) -> Double {
        func f(_ z: Double) -> Double {
            let u = geo.su * z
            return vertexLoss(left, c + u, c - u, geo.e) - vertexLoss(right, c + u, c - u, geo.e)
        }
        var lo = a, hi = b
        var flo = f(lo), fhi = f(hi)
        if !(flo >= 0 && fhi <= 0) && !(flo <= 0 && fhi >= 0) {
            // A sliver or a tie: bisect on labels instead.
            for _ in 0..<60 {
                let mid = 0.5 * (lo + hi)
                let u = geo.su * mid
                if loss(c + u, c - u, geo.e).4 == left { lo = mid } else { hi = mid }
                if hi - lo < 1e-13 * max(1, abs(lo)) { break }
            }
            return 0.5 * (lo + hi)
        }
        var side = 0
        for _ in 0..<100 {
            let x = (lo * fhi - hi * flo) / (fhi - flo)
            let fx = f(x)
            if fx == 0 || hi - lo < 1e-14 * max(1, abs(x)) { return x }
            if (fx > 0) == (flo > 0) {
                lo = x; flo = fx
                if side == -1 { fhi *= 0.5 }
                side = -1
            } else {
                hi = x; fhi = fx
                if side == 1 { flo *= 0.5 }
                side = 1
            }
            if hi - lo < 1e-13 * max(1, abs(lo)) { return 0.5 * (lo + hi) }
        }
        return 0.5 * (lo + hi)
    }

    /// Scan points along the inner line: 36 equal cells of [0, cut] and the graded panel ends.
    func scanPoints(_ boundaries: [Double]) -> [Double] {
        var points = (0...36).map { Self.cut * Double($0) / 36 }
        points += boundaries
        points.sort()
        return points
    }

    /// Value and gradient of R at (w1, w2) (w1, w2 >= 0; at w2 = 0 the w2-derivative is the
    /// one-sided derivative at 0+) with the given rule.
    func evaluate(w1: Double, w2: Double, rule: GaussLegendre = .working) -> Result {
        let geo = geometry(w1, w2)
        let outerCentres = offsets(geo.e).map { -$0 }
        let outer = geo.sc > 0
            ? Panels.boundaries(-Self.cut, Self.cut, scale: geo.sc, centres: outerCentres.map { ($0 - geo.mc) / geo.sc }, maxMarginWidth: 3)
            : [-Self.cut, Self.cut]
        var total = (value: 0.0, g1: 0.0, g2: 0.0)
        for p in 0..<(outer.count - 1) {
            outerPanel(outer[p], outer[p + 1], geo, rule, depth: 0, into: &total)
        }
        return Result(value: 2 * total.value, gradient: (2 * total.g1, 2 * total.g2))
    }

    /// Pattern of pieces along the inner line at z1 (ce: always [0]).
    func pattern(_ z1: Double, _ geo: Geometry) -> [Int] {
        if isSmooth { return [0] }
        let c = geo.mc + geo.sc * z1
        if geo.su == 0 { return [loss(c, c, geo.e).4] }
        let centres = innerCentres(c, geo)
        return scan(c, geo, scanPoints(Panels.boundaries(0, Self.cut, scale: geo.su, centres: centres))).pattern
    }

    /// One outer panel: integrated on the rule's nodes when the pattern of pieces is the same at
    /// both ends and at every node; otherwise the change is located by bisection and both sides
    /// are integrated on panels graded geometrically (ratio 1/4, 9 layers) towards it.
    func outerPanel(_ a: Double, _ b: Double, _ geo: Geometry, _ rule: GaussLegendre, depth: Int, into total: inout (value: Double, g1: Double, g2: Double)) {
        let nodes = rule.nodes, weights = rule.weights
        let half = 0.5 * (b - a), mid = 0.5 * (a + b)
        var sum = (value: 0.0, g1: 0.0, g2: 0.0)
        var patterns: [(Double, [Int])] = []
        // Patterns at the panel's ends, taken just inside (at an end that is itself a located
        // break the pattern is ambiguous).
        let inset = 1e-7 * (b - a)
        if !isSmooth { patterns.append((a + inset, pattern(a + inset, geo))) }
        for i in 0..<nodes.count {
            let z1 = mid + half * nodes[i]
            let weight = half * weights[i] * Normal.pdf(z1)
            let c = geo.mc + geo.sc * z1
            let ((r, pat), le): ((Inner, [Int]), Double) = innerWithE(c, geo, rule)
            if !isSmooth { patterns.append((z1, pat)) }
            sum.value += weight * r.value
            // dL/dw = L_c (dmc + z1 dsc) + L_u z2 dsu + L_e de.
            let d1: Double = r.c * (geo.mcW.0 + z1 * geo.scW.0) + r.uz * geo.suW.0 + le * geo.eW
            let d2: Double = r.c * (geo.mcW.1 + z1 * geo.scW.1) + r.uz * geo.suW.1 + le * geo.eW
            sum.g1 += weight * d1
            sum.g2 += weight * d2
        }
        if !isSmooth && depth < 4 {
            patterns.append((b - inset, pattern(b - inset, geo)))
            if let i = (0..<(patterns.count - 1)).first(where: { patterns[$0].1 != patterns[$0 + 1].1 }) {
                var lo = patterns[i].0, hi = patterns[i + 1].0
                let left = patterns[i].1
                while hi - lo > 1e-12 * max(1, abs(lo)) {
                    let m = 0.5 * (lo + hi)
                    if pattern(m, geo) == left { lo = m } else { hi = m }
                }
                let x = 0.5 * (lo + hi)
                // Graded towards x from both sides.
                var points = [a, x, b]
                var width = 1.0
                for _ in 0..<9 {
                    width *= 0.25
                    points.append(x - width * (x - a))
                    points.append(x + width * (b - x))
                }
                points.sort()
                for k in 0..<(points.count - 1) where points[k + 1] > points[k] {
                    outerPanel(points[k], points[k + 1], geo, rule, depth: depth + 1, into: &total)
                }
                return
            }
        }
        total.value += sum.value; total.g1 += sum.g1; total.g2 += sum.g2
    }

    /// The inner integral over z2 >= 0 of phi(z2) (L, L_c, L_u z2), the pattern of best vertices
    /// along the line, and the integral of phi(z2) L_e.
    func innerWithE(_ c: Double, _ geo: Geometry, _ rule: GaussLegendre) -> ((Inner, [Int]), Double) {
        var r = Inner()
        var le = 0.0
        if geo.su == 0 {
            let (l, l1, l2, lE, label) = loss(c, c, geo.e)
            let mass = 0.5 - Normal.upperTail(Self.cut)
            r.value = l * mass
            r.c = (l1 + l2) * mass
            r.uz = (l1 - l2) * (Normal.pdf(0) - Normal.pdf(Self.cut))
            return ((r, [label]), lE * mass)
        }
        let centres = innerCentres(c, geo)
        var boundaries = Panels.boundaries(0, Self.cut, scale: geo.su, centres: centres)
        var pattern = [0]
        if !isSmooth {
            let s = scan(c, geo, scanPoints(boundaries))
            pattern = s.pattern
            if !s.kinks.isEmpty { boundaries = (boundaries + s.kinks).sorted() }
        }
        let nodes = rule.nodes, weights = rule.weights
        for q in 0..<(boundaries.count - 1) {
            let a = boundaries[q], b = boundaries[q + 1]
            if b - a <= 0 { continue }
            let half = 0.5 * (b - a), mid = 0.5 * (a + b)
            for j in 0..<nodes.count {
                let z2 = mid + half * nodes[j]
                let weight = half * weights[j] * Normal.pdf(z2)
                let u = geo.su * z2
                let (l, l1, l2, lE, _) = loss(c + u, c - u, geo.e)
                r.value += weight * l
                r.c += weight * (l1 + l2)
                r.uz += weight * (l1 - l2) * z2
                le += weight * lE
            }
        }
        return ((r, pattern), le)
    }

    /// Whether the fixed panels resolve this point: the outer panels are at most 3 margin units
    /// wide, so their number grows with the margin scale (sigma times the weights); beyond
    /// `Panels.maxPiecesPerGap` panels the adaptive reference path is used instead.
    func isTractable(w1: Double, w2: Double) -> Bool {
        let sc = geometry(w1, w2).sc
        return sc.isFinite && 2 * Self.cut * sc / 3 <= Double(Panels.maxPiecesPerGap)
    }

    /// Value with an error estimate: the working rule against the verification rule (twice the
    /// order on the same panels; on these analytic pieces the error falls geometrically with
    /// the order, so the difference bounds the working rule's error), plus the truncated tails.
    func estimate(w1: Double, w2: Double) -> (result: Result, errorBound: Double, gradientError: Double) {
        let r = evaluate(w1: w1, w2: w2)
        let v = evaluate(w1: w1, w2: w2, rule: .verification)
        let growth = 1 + abs(w1 * structure.muE + w2 * structure.muC) + 2 * eps * (w1 + w2)
            + Self.cut * (w1 + w2) * (structure.sigmaE + structure.sigmaC + structure.tau)
        var scaleFactor = 1.0
        if case .trades(let beta) = kind { scaleFactor += beta }
        let tail = 4 * Normal.upperTail(Self.cut) * growth * scaleFactor
        let gradientError = max(abs(r.gradient.w1 - v.gradient.w1), abs(r.gradient.w2 - v.gradient.w2)) + tail * 10
        return (r, abs(r.value - v.value) + tail + 1e-15 * abs(r.value), gradientError)
    }
}

import Foundation
import GSL

/// One class's share of the robust label-smoothed ce (`ls:alpha`, K = 3) of any linear W under
/// l_inf, with its gradient in the two rows D_k = w_y - w_k, by fixed composite Gauss-Legendre
/// rules (the fast exact path of issue 12 for `optimum --full --objective ls`).
///
/// Loss. With target 1 - alpha on y and alpha / 2 on each wrong class (`InnerMaximum`: smoothing
/// alpha / (K - 1)), at margins m = d + V (d = D x clean, V = D delta a shift)
///   F(m) = log(1 + e^{-m1} + e^{-m2}) + s (m1 + m2),  s = alpha / 2.
/// F is convex, so its maximum over the zonotope {D delta : |delta|_inf <= eps} is at a vertex:
/// the robust loss is the upper envelope max_c F(d + V_c) over all vertices (the adversary does
/// not always lower the margins: where they are large the linear term wins).
///
/// Coordinates (as `ClassPairCE`): r = d1 - d2 ~ N(mr, sr^2) and q = d2 + gamma r ~ N(mq, sq^2),
/// independent, so d1 = q + (1 - gamma) r, d2 = q - gamma r. On the inner line (r fixed, q free)
///   F_c = softplus(sigma_c(r) - q) + s (2 q + (1 - 2 gamma) r) + s S_c,
///   sigma_c(r) = log(e^{-(1 - gamma) r - V_c1} + e^{gamma r - V_c2}),  S_c = V_c1 + V_c2,
/// so two vertices i, j tie at e^{-q} = expm1(kappa) / (e^{sigma_i} - e^{kappa + sigma_j}),
/// kappa = s (S_j - S_i): at most once per line (a Moebius function of e^{-q} is monotone), and
/// to the right of the tie the vertex with the larger S wins. The envelope along the line is
/// therefore walked exactly: from the best vertex at the line's lower end, the next kink is the
/// nearest tie with a vertex of larger S (every vertex appears at most once). Closed forms, no
/// scan that can miss a piece.
///
/// Outer integrand (over r): analytic except where the pattern of pieces along the inner line
/// changes, all in closed form and put in as panel ends:
/// - triple points (three vertices tie: two lines 1 + X A_i + Y B_i = K (1 + X A_j + Y B_j) in
///   X = e^{-d1}, Y = e^{-d2} meet), kept where the three are best;
/// - rays S_i = S_j (kappa = 0): the tie does not depend on q, a kink at one r;
/// - asymptotes: as r tends to r* with sigma_i(r*) - sigma_j(r*) = kappa the tie runs to
///   q = -infinity like log |r - r*|, sweeping the inner window within an exponentially small
///   range of r: the outer panels are graded geometrically towards r* over the range of r where
///   the tie is inside the window (where the two vertices are best there).
/// The inner integrand is analytic in a strip of half-width pi (in q) around every piece (the
/// nearest singularity of softplus(sigma - q)), the outer one in a strip of pi / (1 + |gamma|)
/// margin units: panels at most 3 margin units wide, graded towards where the softplus turns.
///
/// Gradient (Danskin at the maximising vertex; x's law does not depend on W):
///   dR/dD_k = E[g_k (x + delta*)],  g_k = s - pi_k(m*),
/// with E[g_k x] = mu E[g_k] + Cov(x, r) E[g_k (r - mr)] / sr^2 + Cov(x, q) E[g_k (q - mq)] / sq^2
/// (the regression of x on the independent Gaussians r, q, exact) and delta* the sign pattern of
/// the maximising vertex.
struct ClassPairLSBox {
    let s: Double
    let mean: [Double]
    let differences: [[Double]]
    /// Sigma D_k' (k = 0, 1), Sigma the per-coordinate variance of x | y.
    let covariances: [[Double]]
    let m1: Double, m2: Double
    let c11: Double, c12: Double, c22: Double
    let mr: Double, sr: Double, gamma: Double, mq: Double, sq: Double
    let vertices: [Vertex]

    /// A vertex V of the margin-shift zonotope, S = V1 + V2, and its x-space shift delta.
    struct Vertex {
        var v1: Double, v2: Double
        var sum: Double
        var delta: [Double]
    }

    static let cut = PairObjective.cut
    /// Largest |V1| + |V2| and largest window margin the closed forms take (e^{+-V}, e^{kappa}
    /// and e^{-d} stay inside Double's range); beyond them the caller uses the reference path.
    static let largestShift = 200.0
    static let largestMargin = 600.0

    init?(mean: [Double], variance: [Double], differences rows: [[Double]], eps: Double, smoothing: Double) {
        precondition(rows.count == 2)
        s = smoothing
        self.mean = mean
        differences = rows
        let p = PairCoordinates(mean: mean, variance: variance, rows: rows)
        covariances = p.covariances
        m1 = p.m1; m2 = p.m2; c11 = p.c11; c12 = p.c12; c22 = p.c22
        mr = p.mr; sr = p.sr; gamma = p.gamma; mq = p.mq; sq = p.sq
        vertices = Self.vertices(rows, eps: eps)
        guard [m1, m2, c11, c22, mr, sr, mq, sq, gamma].allSatisfy({ $0.isFinite }) else { return nil }
        guard vertices.allSatisfy({ abs($0.v1) + abs($0.v2) <= Self.largestShift }),
              abs(m1) + Self.cut * c11.squareRoot() <= Self.largestMargin,
              abs(m2) + Self.cut * c22.squareRoot() <= Self.largestMargin else { return nil }
    }

    /// The rows the vertices are built from: rounding dust on zero entries taken as 0 (see
    /// `ClassPairCE.strips`).
    static func snapped(_ rows: [[Double]]) -> [[Double]] {
        let largest = rows.flatMap { $0 }.maxMagnitude
        return rows.map { $0.map { abs($0) <= 1e-13 * largest ? 0 : $0 } }
    }

    /// Every vertex of the zonotope sum_f [-eps, eps] D_f (columns D_f): the vertex maximising
    /// n . V for the normals n between two consecutive directions orthogonal to a column.
    static func vertices(_ unsnapped: [[Double]], eps: Double) -> [Vertex] {
        let d = unsnapped[0].count
        let largest = unsnapped.flatMap { $0 }.maxMagnitude
        let rows = snapped(unsnapped)
        var angles: [Double] = []
        for f in 0..<d where rows[0][f] != 0 || rows[1][f] != 0 {
            let phi = atan2(rows[1][f], rows[0][f]) + 0.5 * Double.pi
            for a in [phi, phi + Double.pi] {
                var x = a.truncatingRemainder(dividingBy: 2 * Double.pi)
                if x < 0 { x += 2 * Double.pi }
                angles.append(x)
            }
        }
        angles.sort()
        var normals: [Double] = []
        if angles.isEmpty { normals = [0] } else {
            for i in 0..<angles.count {
                let next = i + 1 < angles.count ? angles[i + 1] : angles[0] + 2 * Double.pi
                if next > angles[i] { normals.append(0.5 * (angles[i] + next)) }
            }
        }
        var out: [Vertex] = []
        let tolerance = 1e-12 * max(eps * largest, 1e-300)
        for phi in normals {
            let n = (cos(phi), sin(phi))
            var delta = [Double](repeating: 0, count: d)
            var v1 = 0.0, v2 = 0.0
            for f in 0..<d {
                let p = n.0 * rows[0][f] + n.1 * rows[1][f]
                let sign: Double = p > 0 ? eps : (p < 0 ? -eps : 0)
                delta[f] = sign
                v1 += rows[0][f] * sign; v2 += rows[1][f] * sign
            }
            if !out.contains(where: { abs($0.v1 - v1) <= tolerance && abs($0.v2 - v2) <= tolerance }) {
                out.append(Vertex(v1: v1, v2: v2, sum: v1 + v2, delta: delta))
            }
        }
        return out
    }

    // MARK: the inner line

    /// sigma_c(r) = log(e^{-(1 - gamma) r - V1} + e^{gamma r - V2}).
    @inline(__always)
    func sigma(_ c: Int, _ r: Double) -> Double {
        logAddExp(-(1 - gamma) * r - vertices[c].v1, gamma * r - vertices[c].v2)
    }

    /// The q where vertices i and j tie on the inner line with sigmas si, sj, or nil (no tie).
    @inline(__always)
    func tie(_ i: Int, _ si: Double, _ j: Int, _ sj: Double) -> Double? {
        let kappa = s * (vertices[j].sum - vertices[i].sum)
        if kappa == 0 { return nil }
        let b = kappa + sj
        guard si != b, (kappa > 0) == (si > b) else { return nil }
        // q = -log X, X = expm1(kappa) / (e^si - e^b).
        return max(si, b) + log(-expm1(-abs(si - b))) - log(abs(expm1(kappa)))
    }

    /// F_c - s (2 q + (1 - 2 gamma) r): the vertex-dependent part of the loss on the line.
    @inline(__always)
    func lineLoss(_ c: Int, _ sc: Double, _ q: Double) -> Double {
        ClassPairCE.softplus(sc - q) + s * vertices[c].sum
    }

    /// The best vertex at q (ties within rounding go to the vertex that wins just above q: the
    /// larger S).
    func best(_ sigmas: [Double], at q: Double) -> Int {
        var best = 0, bestValue = -Double.infinity
        for c in vertices.indices {
            let v = lineLoss(c, sigmas[c], q)
            let noise = 1e-14 * (1 + abs(v))
            if v > bestValue + noise || (v >= bestValue - noise && vertices[c].sum > vertices[best].sum) { best = c; bestValue = max(v, bestValue) }
        }
        return best
    }

    /// The upper envelope along the inner line between lo and hi (in q): the pieces' vertices
    /// and the kinks between them.
    func envelope(_ sigmas: [Double], _ lo: Double, _ hi: Double) -> (pieces: [Int], kinks: [Double]) {
        var c = best(sigmas, at: lo)
        var pieces = [c], kinks: [Double] = []
        var position = lo
        for _ in 0..<vertices.count {
            var next = hi, successor = -1
            let slack = 1e-12 * (1 + abs(position))
            for j in vertices.indices where vertices[j].sum > vertices[c].sum {
                guard let k = tie(c, sigmas[c], j, sigmas[j]), k >= position - slack else { continue }
                // At equal ties (a triple point on this line) the larger S wins above it.
                if k < next || (k == next && successor >= 0 && vertices[j].sum > vertices[successor].sum) { next = k; successor = j }
            }
            if successor < 0 { break }
            next = max(next, position)
            kinks.append(next); pieces.append(successor)
            c = successor; position = next
        }
        return (pieces, kinks)
    }

    // MARK: the outer breaks

    /// F_c at clean margins (d1, d2) up to the common s (d1 + d2), with dF/dd.
    @inline(__always)
    func vertexLoss(_ c: Int, _ d1: Double, _ d2: Double) -> (Double, Double, Double) {
        let v = vertices[c]
        let (sp, q1, q2) = PairObjective.softplus(d1 + v.v1, d2 + v.v2)
        return (sp + s * v.sum, s - q1, s - q2)
    }

    /// Whether the vertices `members` are all best at (d1, d2) (to 1e-9 relative: a candidate
    /// break is kept when in doubt; an extra break only costs a panel).
    func allBest(_ members: [Int], _ d1: Double, _ d2: Double) -> Bool {
        var top = -Double.infinity
        var values = [Double](repeating: 0, count: vertices.count)
        for c in vertices.indices { values[c] = vertexLoss(c, d1, d2).0; top = max(top, values[c]) }
        let tolerance = 1e-9 * (1 + abs(top))
        return members.allSatisfy { values[$0] >= top - tolerance }
    }

    /// (d1, d2) of the triple point of i, j, k: the two lines in (e^{-d1}, e^{-d2}) solved
    /// directly, then Newton on F_i - F_j = F_i - F_k = 0 in d (the lines can be nearly
    /// parallel). nil when they do not meet at positive (e^{-d1}, e^{-d2}).
    func triplePoint(_ i: Int, _ j: Int, _ k: Int) -> (Double, Double)? {
        func line(_ a: Int, _ b: Int) -> (Double, Double, Double) {
            let va = vertices[a], vb = vertices[b]
            let kappa = s * (vb.sum - va.sum)
            return (-expm1(kappa), exp(-va.v1) - exp(kappa - vb.v1), exp(-va.v2) - exp(kappa - vb.v2))
        }
        let (a0, a1, a2) = line(i, j), (b0, b1, b2) = line(i, k)
        let det = a1 * b2 - a2 * b1
        guard det != 0 else { return nil }
        let x = (-a0 * b2 + a2 * b0) / det, y = (-a1 * b0 + b1 * a0) / det
        guard x > 0, y > 0, x.isFinite, y.isFinite else { return nil }
        var d1 = -log(x), d2 = -log(y)
        for _ in 0..<6 {
            let fi = vertexLoss(i, d1, d2), fj = vertexLoss(j, d1, d2), fk = vertexLoss(k, d1, d2)
            let e1 = fi.0 - fj.0, e2 = fi.0 - fk.0
            let j11 = fi.1 - fj.1, j12 = fi.2 - fj.2, j21 = fi.1 - fk.1, j22 = fi.2 - fk.2
            let dj = j11 * j22 - j12 * j21
            guard dj != 0, dj.isFinite else { break }
            let s1 = (e1 * j22 - j12 * e2) / dj, s2 = (j11 * e2 - j21 * e1) / dj
            guard s1.isFinite, s2.isFinite, abs(s1) + abs(s2) < 1 else { break }
            d1 -= s1; d2 -= s2
            if abs(s1) + abs(s2) <= 1e-15 * (1 + abs(d1) + abs(d2)) { break }
        }
        return (d1, d2)
    }

    /// The outer panel ends in z1 = (r - mr) / sr found in closed form (sorted).
    func outerBoundaries() -> [Double] {
        let qlo = mq - Self.cut * sq, qhi = mq + Self.cut * sq
        func inWindow(_ r: Double, _ q: Double) -> Bool {
            abs(r - mr) < Self.cut * sr && q > qlo - 1 && q < qhi + 1
        }
        let count = vertices.count
        var breaks: [Double] = []
        // Triple points.
        for i in 0..<count {
            for j in (i + 1)..<max(i + 1, count) {
                for k in (j + 1)..<max(j + 1, count) {
                    guard let (d1, d2) = triplePoint(i, j, k) else { continue }
                    let r = d1 - d2
                    guard inWindow(r, d2 + gamma * r), allBest([i, j, k], d1, d2) else { continue }
                    breaks.append(r)
                }
            }
        }
        // Rays (equal S) and asymptotes.
        var graded: [Double] = []
        let unit = 1 / (1 + abs(gamma))  // one margin unit, in r
        for i in 0..<count {
            for j in (i + 1)..<max(i + 1, count) {
                let vi = vertices[i], vj = vertices[j]
                let kappa = s * (vj.sum - vi.sum)
                // r* where sigma_i - sigma_j = kappa: e^{-r} (e^{-Vi1} - e^{kappa - Vj1}) = e^{kappa - Vj2} - e^{-Vi2}.
                let x1 = -vi.v1, y1 = kappa - vj.v1, x2 = kappa - vj.v2, y2 = -vi.v2
                guard x1 != y1, x2 != y2, (x1 > y1) == (x2 > y2) else { continue }
                let rStar = ClassPairCE.logAbsDifference(-x1, -y1) - ClassPairCE.logAbsDifference(-x2, -y2)
                guard rStar.isFinite, abs(rStar - mr) < Self.cut * sr + unit else { continue }
                if kappa == 0 {
                    breaks.append(rStar)
                    continue
                }
                // Near r*: q = sigma_i(r*) + log(|sigma_i' - sigma_j'| |r - r*|) - log|expm1 kappa|.
                func slope(_ v: Vertex) -> Double { ClassPairCE.logistic(-rStar - v.v1 + v.v2) }
                let ds = abs(slope(vj) - slope(vi))
                guard ds > 0 else { continue }
                let base = abs(expm1(kappa)) * exp(-sigma(i, rStar)) / ds
                let low = base * exp(qlo) / 3, high = min(base * exp(qhi) * 3, 3 * unit)
                guard low > 0, low.isFinite, high.isFinite, low < high else { continue }
                for side in [-1.0, 1.0] {
                    var points: [Double] = []
                    var relevant = false
                    var delta = low
                    while delta < high && points.count < 2000 {
                        let r = rStar + side * delta
                        points.append(r)
                        if !relevant, let q = tie(i, sigma(i, r), j, sigma(j, r)), inWindow(r, q) {
                            relevant = allBest([i, j], q + (1 - gamma) * r, q - gamma * r)
                        }
                        delta *= 3
                    }
                    if relevant { graded += points; graded.append(rStar) }
                }
            }
        }
        // Centres: where the two wrong classes trade places at a vertex on the envelope there.
        var centres: [Double] = []
        for c in 0..<count {
            let r = vertices[c].v2 - vertices[c].v1
            guard abs(r - mr) < Self.cut * sr else { continue }
            let sigmas = (0..<count).map { sigma($0, r) }
            if envelope(sigmas, qlo, qhi).pieces.contains(c) { centres.append((r - mr) / sr) }
        }
        let base = Panels.boundaries(-Self.cut, Self.cut, scale: sr * (1 + abs(gamma)), centres: centres, maxMarginWidth: 3)
        let extra = (breaks + graded).map { ($0 - mr) / sr }.filter { $0 > -Self.cut && $0 < Self.cut }
        let all = (base + extra).sorted()
        var out: [Double] = [all[0]]
        for z in all.dropFirst() where z - out[out.count - 1] > 1e-14 * (1 + abs(z)) { out.append(z) }
        if out[out.count - 1] < Self.cut { out[out.count - 1] = Self.cut }
        return out
    }

    /// The outer panel ends, sorted: the closed forms and the safety net's `missedBreaks`.
    func outerPanelEnds() -> [Double] {
        let ends = outerBoundaries()
        return (ends + missedBreaks(ends)).sorted()
    }

    /// The pattern of pieces along the inner line at z1.
    func pattern(_ z1: Double) -> [Int] {
        let r = mr + sr * z1
        return envelope(vertices.indices.map { sigma($0, r) }, mq - Self.cut * sq, mq + Self.cut * sq).pieces
    }

    /// A safety net behind the closed forms: the pattern of pieces compared at 5 points of every
    /// panel; where it changes, the change is located by bisection on pattern equality (to 1e-12)
    /// and returned as an extra panel end (unsorted; the caller sorts). Every break the closed
    /// forms find changes the pattern only at a panel end, so this finds only what they missed
    /// (e.g. a triple point whose Newton refinement failed) and where a tie enters the window.
    func missedBreaks(_ ends: [Double]) -> [Double] {
        var out: [Double] = []
        for p in 0..<(ends.count - 1) {
            let a = ends[p], b = ends[p + 1]
            let inset = 1e-10 * (b - a)
            let points = (0...4).map { j -> Double in
                j == 0 ? a + inset : (j == 4 ? b - inset : a + (b - a) * Double(j) / 4)
            }
            var previous = pattern(points[0])
            for j in 1..<points.count {
                let current = pattern(points[j])
                if current != previous {
                    var lo = points[j - 1], hi = points[j]
                    while hi - lo > 1e-12 * (1 + abs(lo)) {
                        let mid = 0.5 * (lo + hi)
                        if pattern(mid) == previous { lo = mid } else { hi = mid }
                    }
                    out.append(0.5 * (lo + hi))
                }
                previous = current
            }
        }
        return out
    }

    // MARK: integration

    struct Sums {
        var value = 0.0
        var eg = (0.0, 0.0), egr = (0.0, 0.0), egq = (0.0, 0.0)
        /// E[g_k; vertex c best] per vertex.
        var vertex: [(Double, Double)] = []
    }

    /// The inner line at r with outer weight w. The line's sums are accumulated locally and
    /// added once (the totals take ~1e6 node terms: added one by one into a single sum, their
    /// rounding drifted by ~1e-12 at 64-point rules).
    @inline(__always)
    func line(_ r: Double, _ w: Double, _ rule: GaussLegendre, _ sums: inout Sums) {
        let sigmas = vertices.indices.map { sigma($0, r) }
        let common = s * (1 - 2 * gamma) * r
        let dr = r - mr
        // Per piece: sum of weights times (F, g1, g2, g1 dq, g2 dq).
        var value = 0.0, e1 = 0.0, e2 = 0.0, q1 = 0.0, q2 = 0.0
        func piece(_ c: Int, _ nodes: [(q: Double, weight: Double)]) {
            let v = vertices[c]
            let x = -r - v.v1 + v.v2
            let f1 = ClassPairCE.logistic(x), f2 = ClassPairCE.logistic(-x)
            let offset = common + s * v.sum
            var pv = 0.0, p1 = 0.0, p2 = 0.0, pq1 = 0.0, pq2 = 0.0
            for (q, weight) in nodes {
                let t = sigmas[c] - q
                let lg = ClassPairCE.logistic(t)
                let g1 = s - lg * f1, g2 = s - lg * f2
                pv += weight * (ClassPairCE.softplus(t) + 2 * s * q + offset)
                p1 += weight * g1; p2 += weight * g2
                let dq = q - mq
                pq1 += weight * g1 * dq; pq2 += weight * g2 * dq
            }
            value += pv; e1 += p1; e2 += p2; q1 += pq1; q2 += pq2
            sums.vertex[c].0 += w * p1; sums.vertex[c].1 += w * p2
        }
        if sq == 0 {
            piece(best(sigmas, at: mq), [(mq, 1)])
        } else {
            let lo = mq - Self.cut * sq, hi = mq + Self.cut * sq
            let (pieces, kinks) = envelope(sigmas, lo, hi)
            let kinkZ = kinks.map { ($0 - mq) / sq }
            let centres = pieces.map { (sigmas[$0] - mq) / sq }
            var ends = Panels.boundaries(-Self.cut, Self.cut, scale: sq, centres: centres, maxMarginWidth: 3)
            if !kinkZ.isEmpty { ends = (ends + kinkZ.filter { $0 > -Self.cut && $0 < Self.cut }).sorted() }
            let nodes = rule.nodes, weights = rule.weights
            var current = 0
            var batch: [(q: Double, weight: Double)] = []
            batch.reserveCapacity(4 * nodes.count)
            for p in 0..<(ends.count - 1) {
                let a = ends[p], b = ends[p + 1]
                guard b > a else { continue }
                let half = 0.5 * (b - a), mid = 0.5 * (a + b)
                var k = current
                while k < kinkZ.count && kinkZ[k] < mid { k += 1 }
                if k != current {
                    if !batch.isEmpty { piece(pieces[current], batch); batch.removeAll(keepingCapacity: true) }
                    current = k
                }
                for i in 0..<nodes.count {
                    let z = mid + half * nodes[i]
                    batch.append((mq + sq * z, half * weights[i] * Normal.pdf(z)))
                }
            }
            if !batch.isEmpty { piece(pieces[current], batch) }
        }
        sums.value += w * value
        sums.eg.0 += w * e1; sums.eg.1 += w * e2
        sums.egr.0 += w * e1 * dr; sums.egr.1 += w * e2 * dr
        sums.egq.0 += w * q1; sums.egq.1 += w * q2
    }

    /// Whether the fixed panels resolve this class (as `ClassPairCE.isTractable`).
    var isTractable: Bool {
        2 * Self.cut * sr * (1 + abs(gamma)) / 3 <= Double(Panels.maxPiecesPerGap) && sq <= Double(Panels.maxPiecesPerGap)
    }

    /// E[robust ls | y] and its gradient in the two rows of D.
    func evaluate(_ rule: GaussLegendre) -> (value: Double, gradient: [[Double]]) {
        var sums = Sums()
        sums.vertex = Array(repeating: (0, 0), count: vertices.count)
        if sr == 0 {
            line(mr, 1, rule, &sums)
        } else {
            let ends = outerPanelEnds()
            let nodes = rule.nodes, weights = rule.weights
            for p in 0..<(ends.count - 1) {
                let a = ends[p], b = ends[p + 1]
                guard b > a else { continue }
                let half = 0.5 * (b - a), mid = 0.5 * (a + b)
                for i in 0..<nodes.count {
                    let z = mid + half * nodes[i]
                    line(mr + sr * z, half * weights[i] * Normal.pdf(z), rule, &sums)
                }
            }
        }
        let d = mean.count
        let vr = sr * sr, vq = sq * sq
        var gradient = [[Double]](repeating: [Double](repeating: 0, count: d), count: 2)
        let eg = [sums.eg.0, sums.eg.1], egr = [sums.egr.0, sums.egr.1], egq = [sums.egq.0, sums.egq.1]
        for k in 0..<2 {
            for f in 0..<d {
                let covR = covariances[0][f] - covariances[1][f]
                let covQ = covariances[1][f] + gamma * covR
                var ex = mean[f] * eg[k]
                if vr > 0 { ex += covR * egr[k] / vr }
                if vq > 0 { ex += covQ * egq[k] / vq }
                var shift = 0.0
                for (c, v) in vertices.enumerated() { shift += v.delta[f] * (k == 0 ? sums.vertex[c].0 : sums.vertex[c].1) }
                gradient[k][f] = ex + shift
            }
        }
        return (sums.value, gradient)
    }

    /// Bound on the integrand's contribution beyond |z| = cut in either coordinate (the loss is
    /// at most log 3 + (1 + 2 s)(|d1| + |d2| + |V1| + |V2|)).
    var tailBound: Double {
        let shift = vertices.map { abs($0.v1) + abs($0.v2) }.max() ?? 0
        let growth = 2 + (1 + 2 * s) * (abs(m1) + abs(m2) + 4 * (c11 + c22).squareRoot() * Self.cut
            + 4 * tailGrowth(mr: mr, sr: sr, gamma: gamma) + 4 * shift)
        return 8 * Normal.upperTail(Self.cut) * growth
    }
}

import Foundation
import GSL

/// One class's share of the robust ls (`ls:alpha`) or trades of any linear W (K = 3) under l_2,
/// with its gradient in the two rows D_k = w_y - w_k, by fixed composite Gauss-Legendre rules and
/// the certified inner maximum of `ClassPairLS` (issue 12's fast path for `optimum --full
/// --norm l2` with ls and trades). It is `ClassPairLS` without the symmetric family's
/// exchangeability:
///
/// - Coordinates (`PairCoordinates`): r = d1 - d2 ~ N(mr, sr^2) across the lines and
///   q = d2 + gamma r ~ N(mq, sq^2) along them, independent; d1 = q + (1 - gamma) r,
///   d2 = q - gamma r. The lines cover the whole plane (no mirror).
/// - Shifts: the boundary of the ellipse {Delta' G^-1 Delta <= 1}, G = eps^2 D D', is
///   Delta(t) = L (cos t, sin t) with L L' = G (Cholesky), and every derivative of Delta(t) has
///   norm at most M = sqrt(largest eigenvalue of G): the certified inner maximum's bounds on
///   |f'''| hold with this M, over the whole circle (no mirror to halve it).
/// - Panels: along a line, graded towards where a clean margin meets its largest decrease
///   (d_k = sqrt(G_kk)) and, for trades, where a clean margin is 0; across the lines, towards
///   r = 0 (d1 = d2, where for a symmetric W the maximisers t and its mirror tie along the whole
///   line, a kink of the line integral). trades' scan points on d_k = 0 are moved 1e-9 aside: at
///   a symmetric W two maximisers tie there exactly, and the one rounding picks would hide a
///   kink curve leaving the line (`ClassPairLS.uBoundaries`); the jumps themselves are found by
///   the scan and bisection, as every other kink. The kink structure's changes across the lines
///   are v-panel ends (`EllipseMaximand.vNodes`).
/// The gradient is `ClassPairLS`'s (Danskin at the maximiser, x regressed on d), node by node.
///
/// trades under l_inf (`norm: .linf`, the fast path of `optimum --full --objective trades`) is
/// the same integration with the inner maximum over the polygon of margin shifts {D delta :
/// |delta|_inf <= eps}: trades' KL is convex in the shift, so the adversary's best is one of its
/// at most 2 d vertices (exact, no certification needed), and a vertex stands for an angle so
/// that the kink scan and the v events are the ellipse's. delta* is the vertex's sign pattern
/// (its gradient term is summed per vertex). The polygon's kink structure changes far more often
/// than the ellipse's: off the symmetric family its rules can differ by 1e-6 on the default v
/// panels, and `LinearPairCE.estimate` then redoes it on panels of 0.3 margin units.
struct ClassPairLSGeneral: EllipseMaximand {
    /// ls: alpha / 2 (0 for trades).
    let a: Double
    let beta: Double?
    /// E d1, E d2.
    let mean1: Double, mean2: Double
    /// q's law (the coordinate along the lines).
    let mu: Double, su: Double
    /// r's law and the mixing of the coordinates.
    let mr: Double, sr: Double, gamma: Double
    /// L (lower triangular): Delta(t) = (l11 cos t, l21 cos t + l22 sin t).
    let l11: Double, l21: Double, l22: Double
    /// M >= |Delta^(j)(t)| for every j.
    let shift: Double
    /// The amplitudes of S = (m1 + m2) / 2 and T = (m1 - m2) / 2 along the ellipse: Delta(t) =
    /// L (cos t, sin t) moves S by ((l11 + l21) cos t + l22 sin t) / 2 and T by ((l11 - l21) cos t
    /// - l22 sin t) / 2 (`ClassPairLS.splitBound`; 0 for the polygon, which does not use it).
    let amplitudes: (s: Double, t: Double)
    /// sqrt(G_kk): the largest decrease of margin k.
    let reach1: Double, reach2: Double
    let thirdBound: Double
    let meanX: [Double]
    let regression: [(Double, Double)]
    let preimage: [(Double, Double)]
    var parallel = false
    /// Panels beyond |z| = 5 (5.7e-7 of the Gaussian mass) take half the rule's order
    /// (`EllipseMaximand.tailStart`; 6 points there err by 2e-14 on the Gaussian weight alone
    /// over [5, 6.5], the verification rule keeps 12). z = +-5 is always a panel end, of the
    /// u lines, the v panels and the lines across (`tailEnds`): a panel never straddles it, so
    /// no panel's rule switches as W moves. A half-order tail that switched where a panel end
    /// crossed |z| = 4 was a small jump in the value, which the full-W Newton, running off the
    /// family on rougher gradients, did not survive (trades:6 under l_inf on paper3 with
    /// per-feature sigma stalled after 50 iterations in 303 s; 9 s, converged, at the full order).
    let tailStart = 5.0
    /// The ends +-`tailStart` inside (lower, upper), for a panel layout.
    func tailEnds(_ lower: Double, _ upper: Double) -> [Double] { [-tailStart, tailStart].filter { $0 > lower && $0 < upper } }
    /// Widest v panel, in margin units of r. The kink structure can change and change back
    /// between two v nodes (trades near a symmetric W: a kink curve that appears and ends within
    /// one node gap), which the signatures at the nodes do not see; narrower panels resolve such
    /// singular points without locating them (`LinearPairCE.estimate` asks for them when the
    /// rules disagree).
    var vWidth = 3.0
    /// l_2: whether the kink scan's refinements, where the maximiser turns by more than 0.1
    /// between scan points, are u-panel ends too (else the base points, the kinks and the ties
    /// are). The line integrand is smooth through a fast but continuous turn: on the skewed
    /// model's ls optimum (eps 0.3) they made 2.5x the nodes and moved the two rules'
    /// difference from 3.01e-12 to 3.07e-12. `LinearPairCE.estimate` takes them when the rules
    /// disagree (a turn so fast that it is nearly a jump).
    var refinedEnds = false
    /// r is constant (`valueOnly`): one line, NaN gradient.
    let constantR: Bool
    /// q is constant: the margins' covariance has rank one with d1 - d2 varying (a margin
    /// supported on the class's absent features, which are exactly 0 when tau = 0: on the
    /// symmetric family of a model where one class's features are a subset of another's, the
    /// smaller class's margin against the larger is identically 0), or rank zero with r constant
    /// too. The class is then one integral across the lines at u = E q (`acrossBoundaries`), or
    /// one point; its gradient is exact by the regression of x on r alone (and E x), where the
    /// 2-D lines declined it (the family's optimum then took a simplex on values: 38 s).
    let constantQ: Bool
    /// The caller takes values (or one side's gradient) where the maximiser ties (`init`).
    let valueOnly: Bool
    /// `regression` and `Sums.gd` are on the independent (q - E q, r - E r) instead of d - E d:
    /// where r is nearly constant, E[g (r - E r)] as the difference of the two margins' sums
    /// loses digits as sq / sr (7e-7 in the gradient at W(3, 1e-9) of paper3's family).
    let regressesOnQR: Bool
    /// The rows D_1, D_2 (`oneSidedSlope`).
    let rowsD: [[Double]]

    static let cut = PairObjective.cut

    /// l_inf (trades): the vertices of the margin-shift polygon {D delta : |delta|_inf <= eps}
    /// in angular order (`ClassPairLSBox.vertices`), vertex i standing for the angle
    /// -pi + 2 pi (i + 1/2) / n; nil under l_2.
    let polygon: [ClassPairLSBox.Vertex]?
    /// The rows the polygon's vertices are built from (`ClassPairLSBox.snapped`), for the
    /// vertices' differences (`vertexDifference`).
    let polygonRows: [[Double]]
    /// l_inf: each vertex's shift and its e^{-v1}, e^{-v2}, for `maximum`'s screen (`VertexScreen`);
    /// nil under l_2, or where a shift leaves [-340, 340] (its exponentials' products could overflow).
    let vertexScreen: VertexScreen?
    /// Whether `maximum` uses `vertexScreen` (tests compare it with evaluating every vertex).
    var screensVertices = true

    /// `smoothing`: ls's a = alpha / 2; `trades`: trades' beta instead. nil when a coordinate
    /// is degenerate or the ellipse is flat (the reference path answers there).
    /// `norm` .linf: trades over the polygon of margin shifts (its loss is convex in the shift,
    /// so the adversary's best is a vertex: the inner maximum is the best of at most 2 d).
    /// `valueOnly`: also a constant r (d1 - d2 without variance, as on the axis w2 = 0 of a model
    /// whose absent features are exactly zero), integrated on the one line r = E r; the gradient
    /// is then NaN (a kink of L in r there would add a one-sided term the regression on q alone
    /// does not see).
    /// `qRegression` (with `valueOnly`): a constant r's gradient by the regression of x on q
    /// alone, E[x | q] (exact: the loss depends on x only through q there). It is R's gradient
    /// where the inner maximum has no tie along the line r = E r, and one side's where it has
    /// (the vertex rounding picks), which is R's along the directions that keep the tie
    /// (`FullOptimizer.subspaceSolve`).
    init?(mean: [Double], variance: [Double], differences rows: [[Double]], eps: Double, smoothing: Double, trades: Double? = nil,
          norm: Norm = .l2, valueOnly: Bool = false, qRegression: Bool = false) {
        precondition(rows.count == 2)
        let n = mean.count
        let p = PairCoordinates(mean: mean, variance: variance, rows: rows)
        guard p.sr > 0 || valueOnly || !(p.sq > 0) else { return nil }
        constantR = !(p.sr > 0)
        constantQ = !(p.sq > 0)
        self.valueOnly = valueOnly
        rowsD = rows
        a = trades == nil ? smoothing : 0
        beta = trades
        mean1 = p.m1; mean2 = p.m2
        mu = p.mq; su = p.sq
        mr = p.mr; sr = p.sr; gamma = p.gamma
        let p11 = rows[0].dot(rows[0]), p12 = rows[0].dot(rows[1]), p22 = rows[1].dot(rows[1])
        let detP = p11 * p22 - p12 * p12
        guard detP > 1e-24 * p11 * p22 else { return nil }
        if norm == .linf {
            let vertices = ClassPairLSBox.vertices(rows, eps: eps)
            guard vertices.count >= 2, trades != nil else { return nil }
            polygon = vertices
            polygonRows = ClassPairLSBox.snapped(rows)
            vertexScreen = VertexScreen(vertices.map { ($0.v1, $0.v2) })
            l11 = 0; l21 = 0; l22 = 0
            shift = vertices.reduce(0) { max($0, ($1.v1 * $1.v1 + $1.v2 * $1.v2).squareRoot()) }
            reach1 = vertices.reduce(0) { max($0, -$1.v1) }; reach2 = vertices.reduce(0) { max($0, -$1.v2) }
        } else {
            polygon = nil
            polygonRows = []
            vertexScreen = nil
            let g11 = eps * eps * p11, g12 = eps * eps * p12, g22 = eps * eps * p22
            l11 = g11.squareRoot()
            l21 = g12 / l11
            l22 = max(g22 - l21 * l21, 0).squareRoot()
            shift = (0.5 * (g11 + g22) + (0.25 * (g11 - g22) * (g11 - g22) + g12 * g12).squareRoot()).squareRoot()
            reach1 = l11; reach2 = g22.squareRoot()
        }
        thirdBound = ClassPairLS.thirdBound(shift: shift)
        amplitudes = (0.5 * ((l11 + l21) * (l11 + l21) + l22 * l22).squareRoot(), 0.5 * ((l11 - l21) * (l11 - l21) + l22 * l22).squareRoot())
        meanX = mean
        let detC = p.c11 * p.c22 - p.c12 * p.c12
        regressesOnQR = !constantQ && !constantR && p.sr * p.sr < 1e-8 * (p.c11 + p.c22)
        if constantQ {
            // E[x_f | d] = mean + c_f (r - E r), c_f = Cov(x_f, r) / Var r, with d1 - E d1 =
            // (1 - gamma)(r - E r) and d2 - E d2 = -gamma (r - E r): any split (a, b) of c_f with
            // a (1 - gamma) - b gamma = c_f (none needed where r is constant too).
            let norm = (1 - p.gamma) * (1 - p.gamma) + p.gamma * p.gamma
            regression = (0..<n).map { f in
                guard p.sr > 0 else { return (0, 0) }
                let c = variance[f] * (rows[0][f] - rows[1][f]) / (p.sr * p.sr)
                return (c * (1 - p.gamma) / norm, -c * p.gamma / norm)
            }
        } else if constantR {
            // E[x_f | d] = mean + a_f (q - E q), with d1 - E d1 = d2 - E d2 = q - E q: any split
            // of a_f between the two margins.
            regression = (0..<n).map { f in
                guard qRegression, p.sq > 0 else { return (Double.nan, Double.nan) }
                let a = p.covariances[1][f] / (p.sq * p.sq)
                return (0.5 * a, 0.5 * a)
            }
        } else if regressesOnQR {
            // r nearly constant: detC = sr^2 sq^2 cancels in c11 c22 - c12^2, so the regression is
            // on the independent (q, r), E[x_f | q, r] = mean + a_f (q - E q) + b_f (r - E r)
            // (`regressesOnQR`: `accumulate` sums E[g (q - E q)] and E[g (r - E r)]).
            guard p.sq > 0 else { return nil }
            regression = (0..<n).map { f in
                let cr = variance[f] * (rows[0][f] - rows[1][f])
                return ((p.covariances[1][f] + p.gamma * cr) / (p.sq * p.sq), cr / (p.sr * p.sr))
            }
        } else {
            guard detC > 0 else { return nil }
            let ci = (p.c22 / detC, -p.c12 / detC, p.c11 / detC)
            let cov = p.covariances
            regression = (0..<n).map { f in
                let x0 = cov[0][f], x1 = cov[1][f]
                return (x0 * ci.0 + x1 * ci.1, x0 * ci.1 + x1 * ci.2)
            }
        }
        let pi = (p22 / detP, -p12 / detP, p11 / detP)
        // l_inf: delta* is the maximising vertex's sign pattern (`evaluate` adds its term).
        preimage = norm == .l2 ? (0..<n).map { f in
            let x0 = rows[0][f], x1 = rows[1][f]
            return (x0 * pi.0 + x1 * pi.1, x0 * pi.1 + x1 * pi.2)
        } : Array(repeating: (0, 0), count: n)
        guard [mean1, mean2, mu, su, mr, sr, gamma, l11, l21, l22, shift].allSatisfy({ $0.isFinite }), l11 > 0 || polygon != nil else { return nil }
    }

    /// The clean margins at (q, r).
    @inline(__always)
    func margins(_ q: Double, _ r: Double) -> (Double, Double) { (q + (1 - gamma) * r, q - gamma * r) }

    var derivativeNoise: Double { 4e-16 * shift }


    @inline(__always)
    func coefficients(_ q: Double, _ r: Double) -> (Double, Double) {
        guard beta != nil else { return (a, a) }
        let (d1, d2) = margins(q, r)
        return ClassPairLS.probabilities(d1, d2)
    }

    /// No mirror: always the whole circle.
    func onCircle(_ v: Double) -> Bool { true }

    @inline(__always)
    func inner(_ q: Double, _ r: Double, _ c: Double, _ s: Double, _ k: (Double, Double)) -> (f: Double, d1: Double, d2: Double) {
        let (d1, d2) = margins(q, r)
        let x1 = l11 * c, x2 = l21 * c + l22 * s
        let m1 = d1 + x1, m2 = d2 + x2
        let (ce, p1, p2) = ClassPairLS.softmax(m1, m2)
        // m'' = -Delta.
        let d = ClassPairLS.angleDerivatives(p1, p2, k, -l11 * s, l22 * c - l21 * s, -x1, -x2)
        return (ce + k.0 * m1 + k.1 * m2, d.d1, d.d2)
    }

    /// trades' concentrated bound's ranges over [l.t, h.t], by interval arithmetic on
    /// Delta(t) = L (cos t, sin t): m1 = q + (1 - gamma) r + Delta1, m2 = q - gamma r + Delta2,
    /// T = r / 2 + (Delta1 - Delta2) / 2.
    @inline(__always)
    func concentratedRanges(_ r: Double, _ l: ClassPairLS.Point, _ h: ClassPairLS.Point) -> ConcentratedRanges {
        let range = ArcRange(l, h)
        let x1 = range.of(l11, 0), x2 = range.of(l21, l22)
        let t = range.of(0.5 * (l11 - l21), -0.5 * l22)
        let b1 = (1 - gamma) * r, b2 = -gamma * r
        return ConcentratedRanges(low1: b1 + x1.low, high1: b1 + x1.high, low2: b2 + x2.low, high2: b2 + x2.high,
                                  tLow: 0.5 * r + t.low, tHigh: 0.5 * r + t.high)
    }

    /// The ranges of cos and sin over an arc [l.t, h.t] inside [-pi, pi], and of x cos t + y sin t.
    struct ArcRange {
        let cMin: Double, cMax: Double, sMin: Double, sMax: Double
        @inline(__always)
        init(_ l: ClassPairLS.Point, _ h: ClassPairLS.Point) {
            cMin = min(l.c, h.c); cMax = l.t <= 0 && h.t >= 0 ? 1 : max(l.c, h.c)
            sMin = l.t <= -0.5 * Double.pi && h.t >= -0.5 * Double.pi ? -1 : min(l.s, h.s)
            sMax = l.t <= 0.5 * Double.pi && h.t >= 0.5 * Double.pi ? 1 : max(l.s, h.s)
        }
        @inline(__always)
        func of(_ x: Double, _ y: Double) -> (low: Double, high: Double) {
            (min(x * cMin, x * cMax) + min(y * sMin, y * sMax), max(x * cMin, x * cMax) + max(y * sMin, y * sMax))
        }
    }

    /// m(t) - (q, q) and its first two t-derivatives: the clean margins' offsets from q plus
    /// Delta(t) = L (cos t, sin t), m'' = -Delta.
    @inline(__always)
    func baseMargins(_ r: Double, _ c: Double, _ s: Double) -> BaseMargins {
        let x1 = l11 * c, x2 = l21 * c + l22 * s
        return BaseMargins(b1: (1 - gamma) * r + x1, b2: -gamma * r + x2, b1p: -l11 * s, b2p: l22 * c - l21 * s, b1pp: -x1, b2pp: -x2)
    }

    /// Lower bounds of m(t) - (q, q) over [l.t, h.t].
    @inline(__always)
    func baseLows(_ r: Double, _ l: ClassPairLS.Point, _ h: ClassPairLS.Point) -> (b1: Double, b2: Double) {
        let range = ArcRange(l, h)
        return ((1 - gamma) * r + range.of(l11, 0).low, -gamma * r + range.of(l21, l22).low)
    }

    /// The polygon's vertex standing for angle t, and back.
    @inline(__always)
    func vertexIndex(_ t: Double, _ n: Int) -> Int { min(max(Int(((t + Double.pi) * Double(n) / (2 * Double.pi)).rounded(.down)), 0), n - 1) }
    @inline(__always)
    func vertexAngle(_ i: Int, _ n: Int) -> Double { -Double.pi + 2 * Double.pi * (Double(i) + 0.5) / Double(n) }

    /// The margin shift at angle t (the ellipse's boundary point, or the polygon's vertex).
    @inline(__always)
    func shiftAt(_ t: Double) -> (Double, Double) {
        if let polygon {
            let v = polygon[vertexIndex(t, polygon.count)]
            return (v.v1, v.v2)
        }
        let c = cos(t), s = sin(t)
        return (l11 * c, l21 * c + l22 * s)
    }

    /// A polygon's vertices are separate peaks (its maximum jumps between them).
    func onOnePlateau(_ u: Double, _ v: Double, _ a: Double, _ b: Double, top: Double) -> Bool {
        polygon == nil && arcIsPlateau(u, v, a, b, top: top)
    }

    /// l_inf: the best vertex (exact; `flat` when every vertex is within 1e-12 (1 + |f|) of
    /// it); l_2: the certified maximum over the ellipse.
    func maximum(_ q: Double, _ r: Double, along table: AngleTable?, scratch: MaximumScratch?) -> (value: Double, t: Double, flat: Bool)? {
        guard polygon != nil else { return certifiedMaximum(q, r, along: table, scratch: scratch) }
        return polygonMaximum(q, r, softmaxes: false).map { ($0.value, $0.t, $0.flat) }
    }

    /// trades' two softmaxes at a node, the clean margins' and the maximising vertex's shifted
    /// margins': `accumulate`'s loss from them takes no exponential.
    typealias NodeSoftmaxes = (clean: (ce: Double, p1: Double, p2: Double), shifted: (ce: Double, p1: Double, p2: Double))

    /// A line's node with the softmaxes its maximum found (nil: `accumulate` computes them).
    typealias Node = (u: Double, t: Double, w: Double, softmaxes: NodeSoftmaxes?)

    /// `maximum` on the polygon; with `softmaxes` (trades) also the node's two softmaxes, the
    /// bits `accumulate` would compute (the same calls on the same margins).
    func polygonMaximum(_ q: Double, _ r: Double, softmaxes: Bool) -> (value: Double, t: Double, flat: Bool, softmaxes: NodeSoftmaxes?)? {
        guard let polygon else { return nil }
        let (d1, d2) = margins(q, r)
        let screen = screensVertices ? vertexScreen : nil
        // e^{-d1}, e^{-d2}: the screen's, and the clean softmax's where both margins are >= 0.
        let a = screen == nil ? nil : (exp(-d1), exp(-d2))
        var clean: (ce: Double, p1: Double, p2: Double)? = nil
        let k: (Double, Double)
        if beta == nil {
            k = coefficients(q, r)
        } else if softmaxes {
            let c = ClassPairLS.softmax(d1, d2, unscaled: a)
            k = (c.p1, c.p2)
            clean = c
        } else {
            k = ClassPairLS.probabilities(d1, d2, unscaled: a)
        }
        let n = polygon.count
        // values, then each evaluated vertex's shifted softmax (ce, p1, p2).
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 4 * n) { scratch in
            let values = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            // The screen marks the vertices far below the best with -inf (none when it declines);
            // the rest are evaluated exactly, so the result is the same as evaluating them all.
            var screened = false
            if let screen, let a { screened = screen.mark(a, d1, d2, k, values) }
            var best = -Double.infinity, lowest = Double.infinity, index = 0
            for i in 0..<n {
                if screened && values[i] == -.infinity { lowest = -.infinity; continue }
                let (f, shifted) = vertexTerms(d1 + polygon[i].v1, d2 + polygon[i].v2, k)
                values[i] = f
                scratch[n + i] = shifted.ce; scratch[2 * n + i] = shifted.p1; scratch[3 * n + i] = shifted.p2
                if f > best { best = f; index = i }
                lowest = min(lowest, f)
            }
            // Vertices within rounding of the best are ranked by their exact differences, so
            // that the maximiser is a function of (q, r) and not of rounding: where the rows
            // have nearly parallel columns (a class whose d1 - d2 is nearly constant) adjacent
            // vertices tie to 1e-16 along whole lines, and rounding flipped the maximiser
            // thousands of times on a line, each flip a kink located to 1e-13 (minutes an
            // evaluation; bench/ANALYSIS.md stop 40).
            let near = Self.withinRounding(best)
            let first = index
            for i in 0..<n where i != first && best - values[i] <= near {
                if vertexDifference(i, index, d1, d2, k) > 0 { index = i }
            }
            let terms = clean.map { ($0, (scratch[n + index], scratch[2 * n + index], scratch[3 * n + index])) }
            return (best, vertexAngle(index, n), best - lowest <= near, terms)
        }
    }

    /// `maximum`'s screen of the polygon's vertices. With A_k = e^{-d_k}, vertex i's value is
    /// f_i = k . d + h_i, h_i = log(1 + x_i) + k . v_i, x_i = A_1 e^{-v1_i} + A_2 e^{-v2_i}: two
    /// exponentials a node (trades' clean probabilities share them) place every vertex, where
    /// evaluating f_i takes three and a logarithm (60% of an l_inf full-W optimum's cycles were
    /// these). A lower bound on log(1 + x) that falls short by at most 1.3e-4 (a series for
    /// small x, a chord of a table beyond) drops the vertices below the best without a
    /// logarithm; where more than one remain, they get h_i. Only those within `margin` of the
    /// best h are then evaluated exactly. The margin, 1e-10 (1 + |h| + |k . d| + |k . v|), is
    /// 100 times `withinRounding` and 1e4 times the rounding of h and f, so a vertex it drops
    /// is below the exact best by more than `withinRounding`: never the maximum, a near tie, or
    /// part of a flat polygon.
    struct VertexScreen {
        /// v1, v2, e^{-v1}, e^{-v2} per vertex.
        let vertices: [(v1: Double, v2: Double, e1: Double, e2: Double)]
        /// max |v1|, max |v2|.
        let reach: (Double, Double)

        /// nil where some |v_k| > 340: then A_k e^{-v_k} with A_k <= 1e150 could overflow. (Its
        /// underflow is harmless: the 1 in S dominates.)
        init?(_ shifts: [(Double, Double)]) {
            guard shifts.allSatisfy({ abs($0.0) <= 340 && abs($0.1) <= 340 }) else { return nil }
            vertices = shifts.map { ($0.0, $0.1, exp(-$0.0), exp(-$0.1)) }
            reach = (shifts.reduce(0) { max($0, abs($1.0)) }, shifts.reduce(0) { max($0, abs($1.1)) })
        }

        /// log(1 + x) from below for finite x >= 0, and the most it can fall short (rounding
        /// aside, which `mark`'s margin covers). x <= 1/8: x - x^2/2 + x^3/3 - x^4/4 (the
        /// alternating series cut after an even power), short by at most x^5/5 <= 6.2e-6.
        /// Beyond: with 1 + x = 2^e m, m in [1, 2), log m from below by the chord of log over
        /// m's 32nd of [1, 2] (log is concave), short by at most (1/32)^2 / 8 max |log''| =
        /// 1.22e-4 (`chordGap`).
        @inline(__always)
        func log1pBelow(_ x: Double) -> (value: Double, gap: Double) {
            if x <= 0.125 {
                let x2 = x * x
                return (x - x2 * (0.5 - x * (1.0 / 3 - 0.25 * x)), 0.2 * x2 * x2 * x)
            }
            let bits = (1 + x).bitPattern
            let e = Double(Int((bits >> 52) & 0x7ff) - 1023)
            let m = Double(bitPattern: (bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000)
            let j = Int((bits >> 47) & 31)
            let low = Self.logTable[j], high = Self.logTable[j + 1]
            return (0.6931471805599453 * e + low + (m - (1 + Double(j) / 32)) * 32 * (high - low), Self.chordGap)
        }

        /// log(1 + j/32), j = 0...32.
        static let logTable: [Double] = (0...32).map { log(1 + Double($0) / 32) }

        /// `log1pBelow`'s largest shortfall beyond x = 1/8, with room for rounding.
        static let chordGap = 1.3e-4

        /// Leaves h_i (or a lower bound on it) in `values` and replaces those below the best
        /// by more than the margin with -inf. false (nothing marked) where A_k > 1e150 (a
        /// margin below -345) or x or k . v is not finite: the caller then evaluates every
        /// vertex.
        @inline(__always)
        func mark(_ a: (Double, Double), _ d1: Double, _ d2: Double, _ k: (Double, Double), _ values: UnsafeMutableBufferPointer<Double>) -> Bool {
            let (a1, a2) = a
            guard a1 <= 1e150, a2 <= 1e150 else { return false }
            return withUnsafeTemporaryAllocation(of: Double.self, capacity: vertices.count) { gaps in
                var floor = -Double.infinity, widest = 0.0
                for i in vertices.indices {
                    let v = vertices[i]
                    let x = a1 * v.e1 + a2 * v.e2, y = k.0 * v.v1 + k.1 * v.v2
                    guard x.isFinite, y.isFinite else { return false }
                    let below = log1pBelow(x)
                    values[i] = below.value + y
                    gaps[i] = below.gap
                    floor = max(floor, values[i])
                    widest = max(widest, below.gap)
                }
                // The best h lies in [floor, floor + widest gap].
                let margin = 1e-10 * (1 + abs(floor) + widest + abs(k.0 * d1 + k.1 * d2) + abs(k.0) * reach.0 + abs(k.1) * reach.1)
                var survivors = 0
                for i in vertices.indices {
                    if values[i] + gaps[i] + margin >= floor { survivors += 1 } else { values[i] = -.infinity }
                }
                // One survivor is the best vertex, and the only one within the margin of it.
                guard survivors > 1 else { return true }
                var top = -Double.infinity
                for i in vertices.indices where values[i] != -.infinity {
                    let v = vertices[i]
                    values[i] = log1p(a1 * v.e1 + a2 * v.e2) + k.0 * v.v1 + k.1 * v.v2
                    top = max(top, values[i])
                }
                for i in vertices.indices where values[i] < top - margin { values[i] = -.infinity }
                return true
            }
        }
    }

    /// How far two vertices' values f may differ by rounding alone (`maximum`'s flat test and
    /// its near-ties, `peakBeats`).
    @inline(__always)
    static func withinRounding(_ f: Double) -> Double { 1e-12 * (1 + abs(f)) }

    /// f at vertex a minus f at vertex b at clean margins (d1, d2), from the vertices' shift
    /// difference x = D (delta_a - delta_b): ce(m_b + x) - ce(m_b) = log1p(sum_k e^{-m_bk}
    /// expm1(-x_k) / (1 + sum_k e^{-m_bk})), then + k . x. Exact to rounding of the difference
    /// itself, where the two values cancel to their rounding.
    func vertexDifference(_ a: Int, _ b: Int, _ d1: Double, _ d2: Double, _ k: (Double, Double)) -> Double {
        guard let polygon else { return 0 }
        let va = polygon[a], vb = polygon[b]
        var x1 = 0.0, x2 = 0.0
        for f in va.delta.indices where va.delta[f] != vb.delta[f] {
            let change = va.delta[f] - vb.delta[f]
            x1 += polygonRows[0][f] * change
            x2 += polygonRows[1][f] * change
        }
        let m1 = d1 + vb.v1, m2 = d2 + vb.v2
        let top = max(0, -m1, -m2)
        let e0 = top == 0 ? 1 : exp(-top), e1 = exp(-m1 - top), e2 = exp(-m2 - top)
        let difference = log1p((e1 * expm1(-x1) + e2 * expm1(-x2)) / (e0 + e1 + e2)) + k.0 * x1 + k.1 * x2
        return difference.isFinite ? difference : vertexValue(d1 + va.v1, d2 + va.v2, k) - vertexValue(m1, m2, k)
    }

    /// l_inf: the best vertex's value less the third-best's (0 where three vertices tie, the
    /// triple points that bound a window of the kink structure, `transientEvents`); the
    /// ellipse's local maxima under l_2. (The ellipse's grid scan saw no peaks on the polygon,
    /// whose angles are not a curve: the windows went undetected, and on a tau = 0.1 model
    /// one v panel's two rules differed by 8.4e-6.)
    func thirdPeakGap(_ q: Double, _ r: Double) -> Double {
        guard let polygon else { return ellipseThirdPeakGap(q, r) }
        guard polygon.count >= 3 else { return .infinity }
        let (d1, d2) = margins(q, r)
        let k = coefficients(q, r)
        var first = -Double.infinity, second = -Double.infinity, third = -Double.infinity
        for v in polygon {
            let f = vertexValue(d1 + v.v1, d2 + v.v2, k)
            if f > first { (first, second, third) = (f, first, second) } else if f > second { (second, third) = (f, second) } else if f > third { third = f }
        }
        return first - third
    }

    /// l_inf: ties within rounding by `vertexDifference` (as `maximum`).
    func peakBeats(_ q: Double, _ r: Double, _ a: (f: Double, t: Double), _ b: (f: Double, t: Double)) -> Bool {
        guard let polygon, abs(a.f - b.f) <= Self.withinRounding(a.f) else { return a.f >= b.f }
        let (d1, d2) = margins(q, r)
        return vertexDifference(vertexIndex(a.t, polygon.count), vertexIndex(b.t, polygon.count), d1, d2, coefficients(q, r)) >= 0
    }

    /// l_inf: no table (the vertices are not an angle grid).
    func angleTable(_ r: Double) -> AngleTable? { polygon == nil ? AngleTable(self, r) : nil }

    /// The mirror of a line on which the two other classes are exchangeable: d1 = d2 on the
    /// whole line (r is the constant 0, as on the axis w2 = 0 of a model whose absent features
    /// are exactly zero) and G11 = G22, so that swapping the shifted margins maps the ellipse's
    /// boundary onto itself, t -> 2 alpha - t with Delta1 = Delta2 at alpha (l_2 only).
    func mirrorAngle(_ r: Double) -> Double? {
        guard polygon == nil, constantR, mr == 0, r == 0 else { return nil }
        let g22 = l21 * l21 + l22 * l22
        guard abs(l11 * l11 - g22) <= 1e-14 * g22 else { return nil }
        return atan2(l11 - l21, l22)
    }

    /// l_inf: the vertex at t itself (the kink bisection compares the two vertices that tie).
    func localPeak(_ q: Double, _ r: Double, from start: Double) -> (f: Double, t: Double) {
        guard polygon != nil else { return ascent(q, r, from: start) }
        let (d1, d2) = margins(q, r)
        let k = coefficients(q, r)
        let (x1, x2) = shiftAt(start)
        return (vertexValue(d1 + x1, d2 + x2, k), start)
    }

    /// The inner function at shifted margins m (ce(m) + k1 m1 + k2 m2).
    @inline(__always)
    func vertexValue(_ m1: Double, _ m2: Double, _ k: (Double, Double)) -> Double { vertexTerms(m1, m2, k).value }

    /// `vertexValue` and the softmax it came from.
    @inline(__always)
    func vertexTerms(_ m1: Double, _ m2: Double, _ k: (Double, Double)) -> (value: Double, softmax: (ce: Double, p1: Double, p2: Double)) {
        let softmax = ClassPairLS.softmax(m1, m2)
        return (softmax.ce + k.0 * m1 + k.1 * m2, softmax)
    }

    func vAt(_ z: Double) -> Double { mr + sr * z }
    func zOf(_ v: Double) -> Double { (v - mr) / sr }

    /// trades' lines d1 = 0 and d2 = 0 at r (in z1).
    func zeroLines(_ r: Double) -> (d2: Double, d1: Double) { ((gamma * r - mu) / su, (-(1 - gamma) * r - mu) / su) }

    /// u-panel ends (in z1) of the line at r, graded towards where a margin meets its largest
    /// decrease (trades: also its zero), with the maximiser's jumps as extra ends; and the
    /// jumps. nil when an inner maximum declines.
    func uBoundaries(_ r: Double) -> (ends: [Double], kinks: [Double])? {
        var centres = [reach1 - (1 - gamma) * r, reach2 + gamma * r].map { ($0 - mu) / su }
        var ties: [Double] = []
        if beta != nil {
            let zero = zeroLines(r)
            centres += [zero.d2, zero.d1]
            ties = Panels.sortedUnique([zero.d2, zero.d1].filter { abs($0) < Self.cut })
        }
        let base = Panels.boundaries(-Self.cut, Self.cut, scale: su, centres: centres, maxMarginWidth: 3)
        let besides = Panels.besides(ties)
        guard let found = scanKinks(r, scanBase: base.filter { !ties.contains($0) } + besides, crossesKnown: { _, _ in nil }) else { return nil }
        // trades: the slivers between the four centres' gradings merge, as on the symmetric
        // family's lines; the kinks and ties stay ends.
        // Under l_2 the scan's refinements (where the maximiser turns fast) are ends only when
        // asked for (`refinedEnds`); the polygon's lead to its kinks and stay.
        let scan = refinedEnds || polygon != nil ? found.scan : base.filter { !ties.contains($0) }
        let ends = Panels.lineEnds(scan: scan, besides: besides, kinks: found.kinks, fixed: ties + tailEnds(-Self.cut, Self.cut), scale: su, mergesSlivers: beta != nil)
        return (ends, found.kinks)
    }

    /// As `ClassPairLS.kinkSignature`: +1 for a kink on d2 = 0, -1 on d1 = 0 (trades' ties at a
    /// symmetric W), 0 elsewhere.
    func kinkSignature(_ kinks: [Double], _ r: Double) -> [Int8] {
        let zero = zeroLines(r)
        return signature(kinks, plusOne: zero.d2, minusOne: zero.d1, r)
    }

    /// The loss at node (q, r) with maximiser t and its coefficients, added with weight w (as
    /// `ClassPairLS.accumulate`, without the mirror).
    @inline(__always)
    func accumulate(_ q: Double, _ r: Double, _ t: Double, _ w: Double, _ sums: inout ClassPairLS.Sums, _ vertexSums: inout [(Double, Double)],
                    softmaxes: NodeSoftmaxes? = nil) {
        let (d1, d2) = margins(q, r)
        let (delta1, delta2) = shiftAt(t)
        let (value, g1, g2, h1, h2) = softmaxes.flatMap { s in beta.map { ClassPairLS.tradesLoss($0, clean: s.clean, shifted: s.shifted, delta1, delta2) } }
            ?? loss(d1, d2, delta1, delta2)
        let (e1, e2) = regressesOnQR ? (q - mu, r - mr) : (d1 - mean1, d2 - mean2)
        sums.value += w * value
        sums.g.0 += w * g1; sums.g.1 += w * g2
        sums.gd[0][0] += w * g1 * e1; sums.gd[0][1] += w * g1 * e2
        sums.gd[1][0] += w * g2 * e1; sums.gd[1][1] += w * g2 * e2
        sums.gDelta[0][0] += w * h1 * delta1; sums.gDelta[0][1] += w * h1 * delta2
        sums.gDelta[1][0] += w * h2 * delta1; sums.gDelta[1][1] += w * h2 * delta2
        if let polygon {
            let i = vertexIndex(t, polygon.count)
            vertexSums[i].0 += w * h1; vertexSums[i].1 += w * h2
        }
    }

    /// The loss at clean margins d and shift Delta, and its coefficients g_k = dL/dd_k and
    /// h_k = dL/dDelta_k (ls: g = h).
    @inline(__always)
    func loss(_ d1: Double, _ d2: Double, _ delta1: Double, _ delta2: Double) -> (value: Double, g1: Double, g2: Double, h1: Double, h2: Double) {
        let shifted = ClassPairLS.softmax(d1 + delta1, d2 + delta2)
        if let beta { return ClassPairLS.tradesLoss(beta, clean: ClassPairLS.softmax(d1, d2), shifted: shifted, delta1, delta2) }
        let g1 = a - shifted.p1, g2 = a - shifted.p2
        return (shifted.ce + a * (d1 + delta1 + d2 + delta2), g1, g2, g1, g2)
    }

    /// The one-sided derivative of this class's share at its rows D in the direction D + s E,
    /// s -> 0+, on a class whose d1 - d2 is constant (`constantR`: the axis w2 = 0 of a model
    /// whose absent features are exactly zero, where the rows of the cross-class direction make
    /// it vary), under l_2; nil otherwise or when an inner maximum declines.
    ///
    /// By Danskin for the max over the fixed ball, L'(x; E) = max over the maximisers delta* of
    /// sum_k g_k E_k x + h_k E_k delta* (`accumulate`'s g, h). On the line every maximiser is a
    /// function of q alone: t and, on a mirrored line (`mirrorAngle`), 2 alpha - t, where the two
    /// tie. Given q, e = (E_1 x, E_2 x) is Gaussian, so with a_j the two maximisers' terms,
    /// E[max(a_1, a_2) | q] = (E[a_1 | q] + E[a_2 | q]) / 2 + E|a_1 - a_2 | q| / 2, a folded
    /// normal's mean: the kink of L in the direction that the finite differences of
    /// `familyDerivativeAtZero` resolve by steps, here in closed form on the one line.
    /// Where the maximiser leaves a fixed point of the mirror (a departure, a panel end) |a_1 -
    /// a_2| grows as sqrt(u - u0): every panel is integrated in tau with u = a + (b - a)(3 tau^2
    /// - 2 tau^3), whose derivative vanishes at both ends, so that sqrt(u - u0) is smooth in tau.
    /// One value per rule in `rules`, on the same panels (the scan and the roots are the line's,
    /// not a rule's).
    func oneSidedSlope(direction e: [[Double]], variance: [Double], rules: [GaussLegendre]) -> [Double]? {
        guard constantR, !constantQ, polygon == nil, e.count == 2 else { return nil }
        let n = meanX.count
        // q = d2 (constant r): Cov(e_k, q) = E_k Sigma D_2', Var q = su^2.
        func dot3(_ a: [Double], _ b: [Double]) -> Double { (0..<n).reduce(0) { $0 + a[$1] * b[$1] * variance[$1] } }
        let eMean = e.map { row in (0..<n).reduce(0) { $0 + row[$1] * meanX[$1] } }
        let slope = e.map { dot3($0, rowsD[1]) / (su * su) }
        var c = [[0.0, 0.0], [0.0, 0.0]]
        for k in 0..<2 { for l in 0..<2 { c[k][l] = dot3(e[k], e[l]) - slope[k] * slope[l] * su * su } }
        // E_k delta* = P_k1 Delta_1 + P_k2 Delta_2.
        let p = e.map { row in (0..<n).reduce((0.0, 0.0)) { ($0.0 + row[$1] * preimage[$1].0, $0.1 + row[$1] * preimage[$1].1) } }
        let mirror = mirrorAngle(mr)
        guard let line = uBoundaries(mr) else { return nil }
        let table = angleTable(mr)
        /// The maximiser's term at q: conditional mean, and its g.
        func term(_ q: Double, _ t: Double) -> (mean: Double, g: (Double, Double)) {
            let (d1, d2) = margins(q, mr)
            let (delta1, delta2) = shiftAt(t)
            let (_, g1, g2, h1, h2) = loss(d1, d2, delta1, delta2)
            let e1 = eMean[0] + slope[0] * (q - mu), e2 = eMean[1] + slope[1] * (q - mu)
            let mean = g1 * e1 + g2 * e2 + h1 * (p[0].0 * delta1 + p[0].1 * delta2) + h2 * (p[1].0 * delta1 + p[1].1 * delta2)
            return (mean, (g1, g2))
        }
        /// E[L'(x; E) | q] at z.
        func integrand(_ z: Double) -> Double? {
            let q = mu + su * z
            guard let m = maximum(q, mr, along: table) else { return nil }
            let first = term(q, m.t)
            guard let alpha = mirror else { return first.mean }
            let second = term(q, remainder(2 * alpha - m.t, 2 * Double.pi))
            let dg = (first.g.0 - second.g.0, first.g.1 - second.g.1)
            let spread = max(dg.0 * dg.0 * c[0][0] + 2 * dg.0 * dg.1 * c[0][1] + dg.1 * dg.1 * c[1][1], 0).squareRoot()
            let gap = first.mean - second.mean
            // E|N(gap, spread^2)|.
            let folded = spread > 0
                ? spread * 2 * Normal.pdf(gap / spread) + gap * (1 - 2 * Normal.cdf(-gap / spread))
                : abs(gap)
            return 0.5 * (first.mean + second.mean) + 0.5 * folded
        }
        var ends = line.ends
        if let alpha = mirror {
            // Where a mirror pair is the maximiser, g(2 alpha - t) is g(t) with its classes
            // swapped, so a_1 - a_2 and its spread both vanish with delta = g_1 - g_2 (at the
            // pair's representative in [alpha, alpha + pi]): |delta| is a kink of the integrand.
            // Its sign changes on a grid of eight points a panel are located by bisection to
            // 1e-13 and made panel ends (off the fixed points, where delta is 0 identically).
            func delta(_ z: Double) -> Double? {
                let q = mu + su * z
                guard let m = maximum(q, mr, along: table) else { return nil }
                let d = remainder(m.t - alpha, 2 * Double.pi)
                if abs(d) <= 1e-6 || Double.pi - abs(d) <= 1e-6 { return 0 }
                let g = term(q, remainder(alpha + abs(d), 2 * Double.pi)).g
                return g.0 - g.1
            }
            var roots: [Double] = []
            for i in 0..<(ends.count - 1) {
                let step = (ends[i + 1] - ends[i]) / 8
                guard var previous = delta(ends[i] + 1e-9 * step) else { return nil }
                for j in 1...8 {
                    let z = j == 8 ? ends[i + 1] - 1e-9 * step : ends[i] + Double(j) * step
                    guard let next = delta(z) else { return nil }
                    if previous != 0 && next != 0 && (previous < 0) != (next < 0) {
                        guard let root = signChange(z - step, z, lowNegative: previous < 0, delta) else { return nil }
                        roots.append(root)
                    }
                    previous = next
                }
            }
            ends = (ends + roots).sorted()
        }
        var sums: [Double] = []
        for rule in rules {
            var sum = 0.0
            for i in 0..<(ends.count - 1) {
                let lo = ends[i], width = ends[i + 1] - ends[i]
                for j in 0..<rule.nodes.count {
                    let tau = 0.5 * (1 + rule.nodes[j])
                    let z = lo + width * tau * tau * (3 - 2 * tau)
                    let weight = 0.5 * rule.weights[j] * width * 6 * tau * (1 - tau) * Normal.pdf(z)
                    guard let value = integrand(z) else { return nil }
                    sum += weight * value
                }
            }
            sums.append(sum)
        }
        return sums
    }

    /// The panel ends (in z2) across the lines at u = E q over [lower, upper], for a class whose
    /// q is constant (`constantQ`): graded towards where a margin meets its largest decrease,
    /// the line v = 0 and (trades) a margin's zero, as `uBoundaries` along a line, with the
    /// maximiser's jumps (`scanKinks(at:)`) and the zeros as ends. nil when an inner maximum
    /// declines.
    func acrossBoundaries(_ lower: Double, _ upper: Double) -> [Double]? {
        // At u = E q: d1 = mu + (1 - gamma) v, d2 = mu - gamma v.
        var centres = [zOf(0)]
        var ties: [Double] = []
        if 1 - gamma != 0 {
            centres.append(zOf((reach1 - mu) / (1 - gamma)))
            if beta != nil { ties.append(zOf(-mu / (1 - gamma))) }
        }
        if gamma != 0 {
            centres.append(zOf((mu - reach2) / gamma))
            if beta != nil { ties.append(zOf(mu / gamma)) }
        }
        centres = centres.filter { $0.isFinite && abs($0) < Self.cut }
        ties = Panels.sortedUnique(ties.filter { $0.isFinite && $0 > lower && $0 < upper })
        let base = Panels.boundaries(lower, upper, scale: sr, centres: centres, maxMarginWidth: vWidth)
        let besides = Panels.besides(ties)
        guard let found = scanKinks(at: { (self.mu, self.vAt($0)) }, table: { self.angleTable(self.vAt($0)) }, mirror: nil,
                                    scanBase: base.filter { !ties.contains($0) } + besides, crossesKnown: { _, _ in nil }) else { return nil }
        return Panels.lineEnds(scan: found.scan, besides: besides, kinks: found.kinks, fixed: ties + tailEnds(lower, upper), scale: sr, mergesSlivers: false)
    }

    /// Whether the inner maximum ties along the line of a class whose r is constant
    /// (`constantR`): at any of 33 points across |z1| <= cut, the best two vertices (peaks)
    /// within rounding. Where it does not, L is differentiable on the line but at isolated
    /// kinks, and R's gradient there is the regression on q alone (`qRegression`), exact in
    /// every direction; where it does (a symmetry exchanging the other two classes), that
    /// gradient is one side's.
    func tiesAlongLine() -> Bool {
        guard constantR else { return false }
        return (0...32).contains { i in !hasOneMaximiser(mu + su * Self.cut * (Double(i) / 16 - 1), mr) }
    }

    /// Whether the inner maximum at clean (q, r) has one maximiser: its best vertex beats every
    /// other by more than rounding (under l_2: no other local peak within rounding).
    func hasOneMaximiser(_ q: Double, _ r: Double) -> Bool {
        let c = candidates(q, r)
        return c.count < 2 || c[0].f - c[1].f > Self.withinRounding(c[0].f)
    }

    /// The candidates for the inner maximum at clean (q, r), best first: the ellipse's local
    /// peaks (l_2), or the polygon's vertices with t the angle of the vertex's shift (l_inf).
    func candidates(_ q: Double, _ r: Double) -> [(f: Double, t: Double)] {
        guard let polygon else { return ellipsePeaks(q, r) }
        let (d1, d2) = margins(q, r)
        let k = coefficients(q, r)
        return polygon.map { (vertexValue(d1 + $0.v1, d2 + $0.v2, k), atan2($0.v2, $0.v1)) }.sorted { $0.f > $1.f }
    }

    /// A point class's (`constantQ` and `constantR`) candidates at its one point, best first.
    /// Peaks and vertices move continuously with W, so the two that tie on a kink of the class's
    /// loss can be followed by their angles (`PointKink`).
    func pointPeaks() -> [(f: Double, t: Double)] { candidates(mu, mr) }

    /// Whether the fixed panels resolve this class.
    var isTractable: Bool {
        2 * Self.cut * max(su, sr) / 3 <= Double(Panels.maxPiecesPerGap)
    }

    /// E[robust loss | y] and its gradient in the two rows of D; nil when an inner maximum
    /// declines.
    func evaluate(_ rule: GaussLegendre) -> (value: Double, gradient: [[Double]])? {
        guard let r = evaluateParts(rule) else { return nil }
        return (r.value, r.gradient)
    }

    /// One base v panel's share of an evaluation (its nodes' terms, events inside included).
    struct PanelPart {
        var lower: Double, upper: Double
        var value: Double
        var gradient: [[Double]]
    }

    /// The v panels before events: `vWidth` wide in margin units, graded towards the line
    /// v = 0 (z2 = -mr / sr), over [lower, upper] in z2, with ends at +-`tailStart`.
    func baseVEnds(_ lower: Double, _ upper: Double) -> [Double] {
        let symmetric = -mr / sr
        let ends = Panels.boundaries(lower, upper, scale: sr, centres: abs(symmetric) < Self.cut ? [symmetric] : [], maxMarginWidth: vWidth)
        return Panels.sortedUnique(ends + tailEnds(lower, upper))
    }

    /// `evaluate` over the v range [lower, upper] (in z2; the whole line by default), with each
    /// base v panel's part when `parts` (the refinement in `LinearPairCE.estimate` integrates
    /// again only the panels where the two rules differ). The parts are differences of the
    /// running sums, so the total has the bits it has without them.
    func evaluateParts(_ rule: GaussLegendre, over range: (lower: Double, upper: Double)? = nil, parts: Bool = false)
        -> (value: Double, gradient: [[Double]], parts: [PanelPart])? {
        let planned: (nodes: [(v: Double, w: Double)], computed: [(ends: [Double], kinks: [Double])?])
        var ends: [Double] = []
        let all: [[Node]]
        if constantQ {
            // One point on each line, u = E q: a point (r constant too), or one integral across
            // the lines with the maximiser's jumps as panel ends.
            var nodes: [(v: Double, w: Double)] = [(mr, 1)]
            if !constantR {
                guard let across = acrossBoundaries(range?.lower ?? -Self.cut, range?.upper ?? Self.cut) else { return nil }
                ends = across
                nodes = []
                for i in 0..<(ends.count - 1) {
                    let panelRule = rule.onPanel(ends[i], ends[i + 1], tailStart: tailStart)
                    let half = 0.5 * (ends[i + 1] - ends[i]), middle = 0.5 * (ends[i + 1] + ends[i])
                    for j in 0..<panelRule.nodes.count {
                        let z = middle + half * panelRule.nodes[j]
                        nodes.append((vAt(z), half * panelRule.weights[j] * Normal.pdf(z)))
                    }
                }
            }
            planned = (nodes, [])
            var points: [[Node]] = []
            points.reserveCapacity(nodes.count)
            for node in nodes {
                guard let m = maximum(mu, node.v, along: angleTable(node.v)) else { return nil }
                // A point whose maximiser ties: the gradient would be one side's.
                if constantR && !valueOnly && !hasOneMaximiser(mu, node.v) { return nil }
                points.append([(mu, m.t, node.w, nil)])
            }
            all = points
        } else {
            if constantR {
                planned = ([(mr, 1)], [nil])
            } else {
                ends = baseVEnds(range?.lower ?? -Self.cut, range?.upper ?? Self.cut)
                guard let v = vNodes(rule, panels: ends) else { return nil }
                planned = v
            }
            // l_inf: the maximum's softmaxes travel with each node (`accumulate` computed them
            // again: six exponentials and two logarithms a node).
            guard let lines = lineNodes(rule, planned.nodes, computed: planned.computed, { u, v, w, table, scratch -> Node? in
                polygon == nil ? maximum(u, v, along: table, scratch: scratch).map { (u, $0.t, w, nil) }
                    : polygonMaximum(u, v, softmaxes: true).map { (u, $0.t, w, $0.softmaxes) }
            }) else { return nil }
            all = lines
        }
        var sums = ClassPairLS.Sums()
        // l_inf: E[h_k; vertex i] (delta* is vertex i's sign pattern there).
        var vertexSums = [(Double, Double)](repeating: (0, 0), count: polygon?.count ?? 0)
        func total(_ sums: ClassPairLS.Sums, _ vertexSums: [(Double, Double)]) -> [[Double]] {
            var g = gradient(sums)
            if let polygon {
                for (i, vertex) in polygon.enumerated() {
                    for f in 0..<meanX.count {
                        g[0][f] += vertexSums[i].0 * vertex.delta[f]
                        g[1][f] += vertexSums[i].1 * vertex.delta[f]
                    }
                }
            }
            return g
        }
        var out: [PanelPart] = []
        // The running sums where the current base panel began.
        var start = (sums, vertexSums)
        var panel = 0
        func closePanel() {
            let d = sums.since(start.0)
            let dv = zip(vertexSums, start.1).map { ($0.0 - $1.0, $0.1 - $1.1) }
            out.append(PanelPart(lower: ends[panel], upper: ends[panel + 1], value: d.value, gradient: total(d, dv)))
            start = (sums, vertexSums)
        }
        for (k, l) in all.enumerated() {
            if parts && ends.count >= 2 {
                // The nodes come panel by panel in ascending v (each strictly inside its panel).
                let z = zOf(planned.nodes[k].v)
                while panel + 2 < ends.count && z > ends[panel + 1] { closePanel(); panel += 1 }
            }
            for node in l { accumulate(node.u, planned.nodes[k].v, node.t, node.w, &sums, &vertexSums, softmaxes: node.softmaxes) }
        }
        if parts && ends.count >= 2 {
            closePanel()
            while panel + 2 < ends.count { panel += 1; closePanel() }
        }
        return (sums.value, total(sums, vertexSums), out)
    }

    /// Bound on the integrand's contribution beyond |z| = cut in either coordinate (the loss is
    /// at most log 3 + c (|d1| + |d2| + 2 M), c = 1 + 2a for ls, 1 + 3 beta for trades), plus
    /// the inner maxima's tolerance.
    var tailBound: Double {
        let slope = beta.map { 1 + 3 * $0 } ?? 1 + 2 * a
        let spread = abs(mu) + (1 + abs(gamma)) * abs(mr) + (su + (1 + abs(gamma)) * sr) * (Self.cut + 1)
        let growth = 2 + slope * (2 * spread + 2 * shift)
        return 8 * Normal.upperTail(Self.cut) * growth + ClassPairLS.innerTolerance(spread + shift + 2)
    }
}

extension ClassPairLSGeneral {
    /// trades on one class's rows over features with mean 0 and variance 1 (the test hooks').
    static func standardized(rows: [[Double]], eps: Double, tradesBeta beta: Double, norm: Norm) -> ClassPairLSGeneral? {
        let n = rows[0].count
        return ClassPairLSGeneral(mean: Array(repeating: 0, count: n), variance: Array(repeating: 1, count: n),
                                  differences: rows, eps: eps, smoothing: 0, trades: beta, norm: norm)
    }
}

/// The l_inf inner maximum of the full-W trades path (`ClassPairLSGeneral` on its polygon of
/// margin shifts) for one class's rows D_k = w_y - w_k, exposed for tests, at clean margins d =
/// (q + (1 - gamma) r, q - gamma r) in the class's line coordinates (features with mean 0 and
/// variance 1).
public struct LinfGeneralInnerMaximum: Sendable {
    let pair: ClassPairLSGeneral

    /// trades' inner maximum; nil where D D' is singular. `screened`: whether the maximum
    /// screens the vertices (`ClassPairLSGeneral.VertexScreen`) or evaluates every one.
    public init?(rows: [[Double]], eps: Double, tradesBeta beta: Double, screened: Bool) {
        guard var pair = ClassPairLSGeneral.standardized(rows: rows, eps: eps, tradesBeta: beta, norm: .linf) else { return nil }
        pair.screensVertices = screened
        self.pair = pair
    }

    /// The number of vertices.
    public var vertexCount: Int { pair.polygon?.count ?? 0 }

    /// The best vertex's value, its angle, and whether every vertex is within rounding of it.
    public func maximum(q: Double, r: Double) -> (value: Double, angle: Double, flat: Bool)? {
        pair.maximum(q, r, along: nil).map { ($0.value, $0.t, $0.flat) }
    }

    /// The clean margins d at (q, r).
    public func margins(q: Double, r: Double) -> (Double, Double) { pair.margins(q, r) }

    /// The margin shift of the vertex standing for `angle`.
    public func shift(angle t: Double) -> (Double, Double) { pair.shiftAt(t) }

    /// The softmaxes (ce, p1, p2) the maximum hands the integration at (q, r): the clean
    /// margins' and the best vertex's shifted margins'.
    public func softmaxes(q: Double, r: Double) -> (clean: (Double, Double, Double), shifted: (Double, Double, Double))? {
        pair.polygonMaximum(q, r, softmaxes: true)?.softmaxes.map { ($0.clean, $0.shifted) }
    }
}

/// The certified inner maximum of the l_2 full-W paths (`ClassPairLSGeneral`) for one class's
/// rows D_k = w_y - w_k, exposed for tests: f(t) = ce(m(t)) + k1 m1 + k2 m2 with the shifted
/// margins m(t) = d + L (cos t, sin t), L L' = eps^2 D D', at clean margins d = (q + (1 -
/// gamma) r, q - gamma r) in the class's line coordinates (features with mean 0 and variance 1).
public struct L2GeneralInnerMaximum: Sendable {
    let pair: ClassPairLSGeneral

    /// trades' inner maximum; nil where D D' is singular.
    public init?(rows: [[Double]], eps: Double, tradesBeta beta: Double) {
        guard let pair = ClassPairLSGeneral.standardized(rows: rows, eps: eps, tradesBeta: beta, norm: .l2) else { return nil }
        self.pair = pair
    }

    /// f(t), f'(t) and f''(t).
    public func derivatives(q: Double, r: Double, angle t: Double) -> (value: Double, first: Double, second: Double) {
        pair.derivatives(q, r, angle: t)
    }

    /// The certified maximum's bounds on |f'''| over the angles [from, to] (inside [-pi, pi])
    /// (`L2SmoothedInnerMaximum.thirdDerivativeBounds`).
    public func thirdDerivativeBounds(q: Double, r: Double, from a: Double, to b: Double) -> (local: Double, split: Double) {
        pair.thirdDerivativeBounds(q, r, from: a, to: b)
    }
}

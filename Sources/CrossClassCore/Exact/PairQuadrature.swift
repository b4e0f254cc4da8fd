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
    /// Half the working order, for the optimisers' early steps far from the optimum (a 2-D
    /// evaluation costs about a quarter); every point they return is located on `working`.
    static let coarse = GaussLegendre(order: 6)

    /// Where the Gaussian weight is below 3.4e-4 of its peak (|z| > 4, 6.3e-5 of the mass), a
    /// panel's share is small: there the working and verification rules of the symmetric
    /// family's l_2 line integrals (`ClassPairLS`; the full-W evaluator keeps the full order, see
    /// `ClassPairLSGeneral.tailStart`) and of trades under l_inf (`PairObjective.tailStart`)
    /// take half their order (12 -> 6, 24 -> 12). The verification rule still has
    /// twice the working rule's order on every panel, so their difference bounds the working
    /// rule's error there as in the body. Measured at the eps 0.3 optima of paper3 under l_2:
    /// the values move by 7e-15 (trades:1) to 6e-14 (ls:0.1), against bounds of 1e-12 to 3e-12,
    /// and the optima take 25-35% less time (|z| > 5: 10-20%).
    static let tailStart = 4.0

    /// The rule for the panel [a, b] (in standard-normal z): `self`, or half its order (working
    /// and verification rules only) when the panel lies beyond |z| = `tailStart` (`.infinity`:
    /// never).
    func onPanel(_ a: Double, _ b: Double, tailStart: Double) -> GaussLegendre {
        guard min(abs(a), abs(b)) >= tailStart && (a >= 0) == (b >= 0) else { return self }
        switch nodes.count {
        case Self.verification.nodes.count: return .working
        case Self.working.nodes.count: return .coarse
        default: return self
        }
    }
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
    /// The values sorted, without repeats. (Not a set's order: Swift seeds its hashing per
    /// process, so an order taken from a set differs from run to run.)
    static func sortedUnique(_ values: [Double]) -> [Double] { Array(Set(values)).sorted() }

    /// The scan points just beside known kinks (1e-9 (1 + |z|) either side), sorted: at a kink
    /// itself the maximisers tie, and which one rounding returns would hide a kink curve that
    /// leaves it on the other side.
    static func besides(_ kinks: [Double]) -> [Double] {
        sortedUnique(kinks.flatMap { z -> [Double] in
            let offset: Double = 1e-9 * (1 + abs(z))
            return [z - offset, z + offset]
        })
    }

    static let maxWidth = 1.5
    static let ratio = 3.0
    /// Most panels between two graded points (see `PairObjective.isTractable`).
    static let maxPiecesPerGap = 4096

    /// `maxMarginWidth`: also no panel wider than this many margin units (the outer integrand
    /// of the pair objective is analytic only in a strip of half-width pi around a whole half
    /// line of c, so geometric grading does not apply there).
    static func boundaries(_ lo: Double, _ hi: Double, scale s: Double, centres: [Double], maxMarginWidth: Double = .infinity) -> [Double] {
        let maxWidth = s > 0 ? min(Self.maxWidth, maxMarginWidth / s) : Self.maxWidth
        // Capacities reserved and no temporary arrays: this runs for every inner line of a
        // trades evaluation, and the arrays' growth was a tenth of its instructions.
        var points: [Double] = []
        points.reserveCapacity(2 + 24 * centres.count)
        points.append(lo); points.append(hi)
        if s > 0 {
            for c in centres {
                var offset = 1 / s
                // Graded points on both sides while they fall inside the interval.
                while offset < (hi - lo) + abs(c - lo) + abs(c - hi) {
                    let below = c - offset, above = c + offset
                    if below > lo && below < hi { points.append(below) }
                    if above > lo && above < hi { points.append(above) }
                    offset *= ratio
                }
                if c > lo && c < hi { points.append(c) }
            }
        }
        points.sort()
        var out: [Double] = []
        out.reserveCapacity(points.count + 8)
        out.append(points[0])
        let gap = 1e-12 * max(1, hi - lo)
        for p in points.dropFirst() where p - out[out.count - 1] > gap {
            let start = out[out.count - 1]
            // Capped (in Double, before the conversion) so that an extreme margin scale cannot
            // overflow Int; callers decline such scales first (`PairObjective.isTractable`).
            // A gap that is a whole number of widths to rounding takes that number: graded gaps
            // (2, 6, 18 / s) against a width of `maxMarginWidth` / s are exactly 2 and 6 widths
            // for 3 margin units (20 and 60 for 0.3), and ceil of the rounded quotient gave n or
            // n + 1 pieces by the last bit of W, a layout that flipped between points 2e-9 apart
            // (r1 of bench/ANALYSIS.md stop 70: the wide working rule 9.6e-9 apart there).
            let widths = (p - start) / maxWidth
            let pieces = Int(min((widths * (1 - 1e-9)).rounded(.up), Double(maxPiecesPerGap)))
            if pieces > 1 {
                for j in 1..<pieces { out.append(start + (p - start) * Double(j) / Double(pieces)) }
            }
            out.append(p)
        }
        return out
    }
}

extension Panels {
    /// The narrowest panel `merged` keeps, in margin units: trades under l_inf (outer and inner
    /// panels), and trades' u panels under l_2, where a quarter unit raised the one-sided
    /// dR/dw2(0+)'s gradient error at mirror-image maximisers beyond 1e-6 (FastL2FullTests).
    static let sliverGap = 0.25
    static let sliverGapL2 = 0.1

    /// `boundaries` (at margin scale `s` per unit z, panels at most `maxMarginWidth` margin units
    /// wide) without the slivers that the gradings of nearby centres leave between them (two
    /// graded points a tenth of a margin unit apart, say): a point closer than `gap` margin
    /// units to the last one kept is dropped, as long as the panel that then forms is no wider
    /// than `boundaries` allows (the ends stay). Every panel of `boundaries` is within a margin
    /// unit or so of its nearest centre's singularities (pi / 2 margin units off the real axis)
    /// only when it is at most that wide, so widening the narrowest ones by up to `gap` keeps
    /// the rules' geometric convergence.
    static func merged(_ points: [Double], scale s: Double, gap: Double, maxMarginWidth: Double = .infinity) -> [Double] {
        guard points.count > 2 else { return points }
        let minimumGap = gap / s, maxWidth = min(Self.maxWidth, maxMarginWidth / s)
        var out = [points[0]]
        out.reserveCapacity(points.count)
        for i in 1..<(points.count - 1) {
            let last = out[out.count - 1]
            if points[i] - last < minimumGap && points[i + 1] - last <= maxWidth { continue }
            out.append(points[i])
        }
        let end = points[points.count - 1]
        if out.count > 1, end - out[out.count - 1] < minimumGap, end - out[out.count - 2] <= maxWidth { out.removeLast() }
        out.append(end)
        return out
    }

    /// The panel ends of an l_2 u line (`ClassPairLS.uBoundaries`, `ClassPairLSGeneral.
    /// uBoundaries`): the kink scan's points without those placed just beside the fixed ends,
    /// merged across slivers for trades (`merged`, gap `sliverGapL2`, panels of at most 3
    /// margin units), then the kinks and the fixed ends (known kinks, ties), which always stay
    /// ends; sorted, without repeats.
    static func lineEnds(scan: [Double], besides: [Double], kinks: [Double], fixed: [Double], scale s: Double, mergesSlivers: Bool) -> [Double] {
        var ends = scan.filter { !besides.contains($0) }.sorted()
        if mergesSlivers { ends = merged(ends, scale: s, gap: sliverGapL2, maxMarginWidth: 3) }
        let out = (ends + kinks + fixed).sorted()
        return out.enumerated().filter { $0.offset == 0 || $0.element > out[$0.offset - 1] }.map { $0.element }
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
    /// Each outer piece of `plan` is integrated as this many equal sub-pieces (trades: see
    /// `estimate`).
    var outerSplits = 1
    /// trades: the outer pieces of `plan` are halved for `evaluate` (the optimisers' steps) and
    /// quartered for `estimate` (the reported value and bound). The outer integrand is
    /// analytic on each piece but, at margin scales of a few units, in a strip narrow against
    /// the piece: the rules converge geometrically but slowly. Measured (FastTradesAudit.value;
    /// 8 sub-pieces with 64-point rules agree with scipy to 2e-12) at sigma = mu, tau 0.2,
    /// eps 0.49, W(2.79, 1.11), trades:6, on halves: 12 points -7.5e-10, 24 points +1.2e-10,
    /// 48 points +3.5e-12; on quarters with 48 points -3.4e-13. The inner rule's share is below
    /// 1e-14 there (12 against 48 inner points).
    static let tradesOuterSplits = 2
    /// trades: pieces beyond |z| = tailStart (outer sub-pieces in z1, inner panels in z2) take
    /// half the rule's order (`GaussLegendre.onPanel`; the verification rule keeps twice the
    /// working order there). Measured at the trades:1, eps 0.3 optimum: 13% of its time, the
    /// value moved by 1.1e-14 against a bound of ~1e-12. ce and ls keep the full order
    /// (`.infinity`): their optima meet their targets, and halving would move every l_inf
    /// number in results/.
    var tailStart = Double.infinity
    /// trades: the integration's lines continue their kinks from their neighbour's, and the
    /// break bisection from its richer end (`tradesContinued`); false: every line is certified
    /// afresh (for audits).
    var continuesKinks = true
    /// trades: the graded panels (outer and inner) narrower than `Panels.sliverGap` margin
    /// units merge with their neighbours (`Panels.merged`); false: the graded panels as they
    /// are (for audits).
    var mergesPanels = true
    /// trades: the outer breaks are located as roots of the event that changes the inner
    /// pattern (`locateEvents`) where it is recognised; false: always by bisection (for audits).
    var locatesEvents = true
    /// Integrate the outer pieces (and, for trades, plan the outer breaks) on all cores
    /// (`Parallel.indexed`): the same bits as one thread, since each piece is summed alone and
    /// the pieces are added in order.
    var parallel = false

    enum Kind: Sendable {
        case ce
        case ls(smoothing: Double)
        case trades(beta: Double)
    }

    /// ce, ls (kinks in closed form, `closedFormLines`) and trades, whose kinks are not closed
    /// forms: along an inner line they are certified roots (`tradesRoots`: the critical points
    /// of each vertex difference are the roots of a degree-6 polynomial in e^u, isolated by
    /// Descartes' rule, so no sliver is missed; checked against a brute-force label scan in
    /// FastTradesTests), and the outer breaks are located by bisection of the inner pattern
    /// (`plan`). trades is integrated on finer outer pieces (`tradesOuterSplits`) and reports
    /// the verification rule's value (`estimate`); its bound covers the error against scipy
    /// (Tests/Fixtures/trades_reference.json) and against a converged evaluation on a grid
    /// (FastTradesTests). The adaptive reference path was off by up to 2.6e-8 for trades at
    /// margin scales ~8 until its label scans got cells of 0.01 margin units at 1e-10
    /// (`GaussianExpectation.tradesScanCellWidth(tolerance:)`); it now agrees with scipy within its bound
    /// (FastTradesTests.referenceAgainstScipy).
    /// `trades: false` declines trades (the reference path then answers).
    init?(model: DataModel, threat: ThreatModel, objective: Objective, trades: Bool = true) {
        guard threat.norm == .linf, let c = ComplementStructure(model: model), c.classes == 3 else { return nil }
        switch objective {
        case .ce: kind = .ce
        case .ls(let alpha): kind = .ls(smoothing: alpha / 2)
        case .trades(let beta) where trades:
            kind = .trades(beta: beta); outerSplits = Self.tradesOuterSplits; tailStart = GaussLegendre.tailStart
        default: return nil
        }
        structure = c
        eps = threat.eps
    }

    var isSmooth: Bool { if case .ce = kind { return true } else { return false } }

    struct Result {
        var value: Double
        var gradient: (w1: Double, w2: Double)
        /// The outer pieces it was integrated on (`evaluate`; `estimate` at the same point
        /// reuses them instead of planning again).
        var pieces: [OuterPiece] = []
        /// trades: the breaks among them, with the lines beside them (`replan`).
        var breaks: [Break] = []
        /// trades: every outer sub-piece's node lines had one pattern of best vertices (false:
        /// a change of pattern inside a piece, a break the plan does not have).
        var consistent = true
        /// trades: the breaks were located again from a nearby evaluation's (`replan`).
        var replanned = false
        /// trades: of which this many outer panels were planned afresh (`replan`).
        var freshPanels = 0
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

    /// ls at one vertex: value, dL/dd1, dL/dd2, dL/de (as `loss` returns for its best vertex).
    @inline(__always)
    func lsVertexLoss(_ v: Int, _ d1: Double, _ d2: Double, _ e: Double) -> (Double, Double, Double, Double) {
        guard case .ls(let s) = kind else { preconditionFailure("ls only") }
        let vertex = Self.vertices[v]
        let a1 = d1 + e * vertex.0, a2 = d2 + e * vertex.1
        let (sp, q1, q2) = Self.softplus(a1, a2)
        let l1 = s - q1, l2 = s - q2
        return (sp + s * (a1 + a2), l1, l2, vertex.0 * l1 + vertex.1 * l2)
    }

    /// trades at one vertex: value, dL/dd1, dL/dd2, dL/de (as `loss` returns for its best vertex).
    @inline(__always)
    func tradesVertexLoss(_ v: Int, _ d1: Double, _ d2: Double, _ e: Double, shifts: [(Double, Double)]) -> (Double, Double, Double, Double) {
        let (top, e0, e1, e2) = Self.scaledTerms(d1, d2)
        return tradesVertexLoss(Self.vertices[v], shifts[v], top: top, e0, e1, e2, e)
    }

    /// trades at the vertex V from the clean softmax's scaled terms (`scaledTerms`: top and
    /// e^(-top), e^(-d1 - top), e^(-d2 - top)). The vertex's terms are e^(-(d_k + e V_k)) =
    /// e^(-d_k) e^(-e V_k), the second factor per evaluation (`shift`, from
    /// `Geometry.tradesShifts`; within Double's range as 2 e < 100, `tradesCertifiable`), so the
    /// vertex costs no exp. Both sums hold a term equal to its largest scaled term (>= e^(-100)
    /// against underflow).
    @inline(__always)
    func tradesVertexLoss(_ vertex: (Double, Double), _ shift: (Double, Double), top: Double, _ e0: Double, _ e1: Double, _ e2: Double,
                          _ e: Double) -> (Double, Double, Double, Double) {
        guard case .trades(let beta) = kind else { preconditionFailure("trades only") }
        let sum = e0 + e1 + e2
        let clean = top + log(sum), p1 = e1 / sum, p2 = e2 / sum
        let f1 = e1 * shift.0, f2 = e2 * shift.1
        let shiftedSum = e0 + f1 + f2
        let sp = top + log(shiftedSum), q1 = f1 / shiftedSum, q2 = f2 / shiftedSum
        let mean = p1 * vertex.0 + p2 * vertex.1
        let kl = sp - clean + e * mean
        guard kl > 0 else { return (clean, -p1, -p2, 0) }
        let l1 = -q1 + p1 + e * p1 * (mean - vertex.0)
        let l2 = -q2 + p2 + e * p2 * (mean - vertex.1)
        let lg = -(vertex.0 * q1 + vertex.1 * q2) + mean
        return (clean + beta * kl, -p1 + beta * l1, -p2 + beta * l2, beta * lg)
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
        let (top, e0, e1, e2) = scaledTerms(a1, a2)
        let s = e0 + e1 + e2
        return (top + log(s), e1 / s, e2 / s)
    }

    /// top = max(0, -a1, -a2) and the terms (e^(-top), e^(-a1 - top), e^(-a2 - top)). The term
    /// at the top is e^0 = 1 exactly (x - x = 0): not evaluated, the same bits with one exp
    /// fewer (exp was a third of a trades optimum's time).
    @inline(__always)
    static func scaledTerms(_ a1: Double, _ a2: Double) -> (top: Double, Double, Double, Double) {
        let top = max(0, -a1, -a2)
        let e0 = top == 0 ? 1 : expOrZero(-top)
        let e1 = top == -a1 ? 1 : expOrZero(-a1 - top)
        let e2 = top == -a2 ? 1 : expOrZero(-a2 - top)
        return (top, e0, e1, e2)
    }

    /// e^x for x <= 0, with 0 below -746 where exp underflows to 0 anyway: the same value,
    /// without glibc's slow underflow path (errno), which dominated evaluations at margin
    /// scales ~1e3 (most nodes underflow there).
    @inline(__always)
    static func expOrZero(_ x: Double) -> Double { x < -746 ? 0 : exp(x) }

    /// Geometry of the whitened coordinates at (w1, w2) and their derivatives in (w1, w2).
    struct Geometry {
        var e = 0.0, eW = 0.0
        var mc = 0.0, mcW = (0.0, 0.0)
        var sc = 0.0, scW = (0.0, 0.0)
        var su = 0.0, suW = (0.0, 0.0)
        /// trades: (e^(-e V_k1), e^(-e V_k2)) for each vertex V_k (`tradesVertexLoss`).
        var tradesShifts: [(Double, Double)] = []
        /// The vertex terms may be taken as the clean ones times `tradesShifts` (within
        /// Double's range: 2 e < 100).
        var shiftsApply: Bool { 2 * e < 100 && tradesShifts.count == PairObjective.vertices.count }
    }

    func geometry(_ w1: Double, _ w2: Double) -> Geometry {
        let c = structure
        let sE2 = c.sigmaE * c.sigmaE, sC2 = c.sigmaC * c.sigmaC, t2 = c.tau * c.tau
        var g = Geometry()
        g.e = eps * (w1 + w2)
        g.eW = eps
        if case .trades = kind { g.tradesShifts = Self.vertices.map { (exp(-g.e * $0.0), exp(-g.e * $0.1)) } }
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

    /// One vertex's loss (up to terms common to all vertices) and its derivative in u.
    @inline(__always)
    func vertexLossAndSlope(_ v: Int, _ d1: Double, _ d2: Double, _ e: Double, clean: (Double, Double, Double)) -> (Double, Double) {
        let vertex = Self.vertices[v]
        let a1 = d1 + e * vertex.0, a2 = d2 + e * vertex.1
        let (sp, q1, q2) = Self.softplus(a1, a2)
        switch kind {
        case .ce: return (0, 0)
        case .ls(let s): return (sp + s * (a1 + a2), q2 - q1)
        case .trades:
            let (cl, p1, p2) = clean
            let mean = p1 * vertex.0 + p2 * vertex.1
            let kl = sp - cl + e * mean
            if kl <= 0 { return (0, 0) }
            let l1 = -q1 + p1 + e * p1 * (mean - vertex.0)
            let l2 = -q2 + p2 + e * p2 * (mean - vertex.1)
            return (kl, l1 - l2)
        }
    }

    /// Extra scan points where another vertex may take over strictly inside a cell of
    /// `points` whose two ends have the same best vertex a (a sliver, e.g. near a point where
    /// a kink curve turns in u): for each other vertex b, when D = L_b - L_a rises at the
    /// cell's left end and falls at its right end, the maximum of D (bisection on its slope,
    /// 40 steps) is added as a scan point if D > 0 there.
    func sliverPoints(_ c: Double, _ geo: Geometry, _ points: [Double]) -> [Double] {
        let count = Self.vertices.count
        var values = [Double](repeating: 0, count: points.count * count)
        var slopes = [Double](repeating: 0, count: points.count * count)
        var labels = [Int](repeating: 0, count: points.count)
        func fill(_ z: Double, _ out: (Int, Double, Double) -> Void) {
            let u = geo.su * z
            let d1 = c + u, d2 = c - u
            let clean = Self.softplus(d1, d2)
            for v in 0..<count {
                let (value, slope) = vertexLossAndSlope(v, d1, d2, geo.e, clean: clean)
                out(v, value, slope)
            }
        }
        for (i, z) in points.enumerated() {
            fill(z) { v, value, slope in values[i * count + v] = value; slopes[i * count + v] = slope }
            let u = geo.su * z
            labels[i] = loss(c + u, c - u, geo.e).4
        }
        var extra: [Double] = []
        for i in 0..<(points.count - 1) where labels[i] == labels[i + 1] && points[i + 1] > points[i] {
            let a = labels[i]
            for b in 0..<count where b != a {
                let s0 = slopes[i * count + b] - slopes[i * count + a]
                let s1 = slopes[(i + 1) * count + b] - slopes[(i + 1) * count + a]
                guard s0 > 0 && s1 < 0 else { continue }
                var lo = points[i], hi = points[i + 1]
                var peak = (0.5 * (lo + hi), -Double.infinity)
                for _ in 0..<40 {
                    let m = 0.5 * (lo + hi)
                    var va = 0.0, vb = 0.0, sa = 0.0, sb = 0.0
                    fill(m) { v, value, slope in
                        if v == a { va = value; sa = slope }
                        if v == b { vb = value; sb = slope }
                    }
                    peak = (m, vb - va)
                    if sb - sa > 0 { lo = m } else { hi = m }
                    if hi - lo < 1e-13 * max(1, hi) { break }
                }
                if peak.1 > 0 { extra.append(peak.0) }
            }
        }
        return extra
    }

    /// The pattern of best vertices along the inner line at c (labels in order of u, scanned
    /// at `points` and at the sliver points between them), with the kinks between them.
    func scan(_ c: Double, _ geo: Geometry, _ scanPoints: [Double]) -> (pattern: [Int], kinks: [Double]) {
        let slivers = sliverPoints(c, geo, scanPoints)
        let points = slivers.isEmpty ? scanPoints : (scanPoints + slivers).sorted()
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
        if !(flo > 0 && fhi < 0) && !(flo < 0 && fhi > 0) {
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

    /// One outer piece [a, b] in z1; at an end that is a located break (`leftBreak`,
    /// `rightBreak`) the inner pattern changes, and the outer integrand may behave like
    /// (z1 - b)^(3/2) there (a kink curve turning in u), so that end is smoothed by the
    /// substitution z1 = a + (b - a) phi(s) with phi'(end) = 0 (phi = s^2, 1 - (1 - s)^2 or
    /// 3 s^2 - 2 s^3): (z1 - b)^(1/2) becomes analytic in s.
    struct OuterPiece {
        var a: Double, b: Double
        var leftBreak: Bool, rightBreak: Bool
        /// trades: a certified line of this piece near its left end (the plan's sample there,
        /// or the line beside the break it starts at), from which the first node line's kinks
        /// are continued (`tradesContinued`) instead of certified afresh; nil: afresh.
        var seed: InnerKinks? = nil
    }

    /// The outer pieces at this geometry: the graded panels (`Panels`), each split where the
    /// pattern of best vertices along the inner line changes (ls: closed forms; trades). The
    /// trades changes are found by comparing the patterns at 9 equally spaced points of each
    /// panel and located to `breakTolerance` (`locateChanges`: as roots of the event between
    /// two patterns, or by bisection; a chain of changes between two samples is followed one
    /// by one).
    func plan(_ geo: Geometry, breakTolerance: Double = 1e-12) -> [OuterPiece] { planWithBreaks(geo, breakTolerance: breakTolerance).pieces }

    /// An outer break located between two certified lines (trades): where it is and the lines
    /// on its two sides (for locating it again at a nearby geometry, `replan`).
    struct Break {
        var z: Double
        var below: InnerKinks, above: InnerKinks
    }

    /// The graded outer panels (`Panels`) at this geometry.
    func outerPanels(_ geo: Geometry) -> [Double] {
        let outerCentres = offsets(geo.e).map { -$0 }
        guard geo.sc > 0 else { return [-Self.cut, Self.cut] }
        let graded = Panels.boundaries(-Self.cut, Self.cut, scale: geo.sc, centres: outerCentres.map { ($0 - geo.mc) / geo.sc }, maxMarginWidth: 3)
        if case .trades = kind, mergesPanels {
            return Panels.merged(graded, scale: geo.sc, gap: Panels.sliverGap, maxMarginWidth: 3)
        }
        return graded
    }

    /// The pieces of the panel [a, b] split at the breaks inside it (in increasing order).
    static func pieces(_ a: Double, _ b: Double, breaks: [Double]) -> [OuterPiece] {
        var ends = [a]
        for x in breaks where x > ends[ends.count - 1] && x < b { ends.append(x) }
        ends.append(b)
        return (0..<(ends.count - 1)).map { OuterPiece(a: ends[$0], b: ends[$0 + 1], leftBreak: $0 > 0, rightBreak: $0 < ends.count - 2) }
    }

    /// `plan`, with the trades breaks and the lines beside them.
    func planWithBreaks(_ geo: Geometry, breakTolerance: Double = 1e-12) -> (pieces: [OuterPiece], breaks: [Break]) {
        let outer = outerPanels(geo)
        if isSmooth || geo.sc == 0 {
            return ((0..<(outer.count - 1)).map { OuterPiece(a: outer[$0], b: outer[$0 + 1], leftBreak: false, rightBreak: false) }, [])
        }
        if let lines = closedFormLines(geo) {
            let allBreaks = outerBreaks(lines, geo)
            var pieces: [OuterPiece] = []
            for p in 0..<(outer.count - 1) {
                let a = outer[p], b = outer[p + 1]
                let breaks = allBreaks.filter { $0 > a && $0 < b }
                var ends = [a]
                for x in breaks where x > ends[ends.count - 1] + 1e-14 * max(1, abs(x)) { ends.append(x) }
                if b > ends[ends.count - 1] + 1e-14 * max(1, abs(b)) { ends.append(b) } else { ends[ends.count - 1] = b }
                for k in 0..<(ends.count - 1) {
                    pieces.append(OuterPiece(a: ends[k], b: ends[k + 1], leftBreak: k > 0, rightBreak: k < ends.count - 2))
                }
            }
            return (pieces, [])
        }
        // Panels apart (the pattern scans are most of the cost for trades).
        let panels = Parallel.indexed(outer.count - 1, parallel: parallel) { p in
            planPanel(outer[p], outer[p + 1], geo, breakTolerance: breakTolerance)
        }
        return (panels.flatMap { $0.0 }, panels.flatMap { $0.1 })
    }

    /// trades: the pieces and breaks of the outer panel [a, b] planned afresh: 9 sample lines
    /// (each continued from the one before where it certifies), and the breaks between samples
    /// of different patterns (`locateChanges`); each piece seeded with the line at its start.
    func planPanel(_ a: Double, _ b: Double, _ geo: Geometry, breakTolerance: Double) -> (pieces: [OuterPiece], breaks: [Break]) {
        let samples = 8
        let inset = 1e-9 * (b - a)
        let points = (0...samples).map { j -> Double in
            if j == 0 { return a + inset }
            if j == samples { return b - inset }
            return a + (b - a) * Double(j) / Double(samples)
        }
        // Each sample continued from the previous one where it can be (certified either way).
        var lines: [InnerKinks] = []
        for z in points { lines.append(lines.last.map { line(z, geo, near: $0) } ?? innerLine(z, geo)) }
        var breaks: [Break] = []
        for j in 0..<samples where lines[j].pattern != lines[j + 1].pattern {
            breaks += locateChanges(points[j], lines[j], points[j + 1], lines[j + 1], geo, tolerance: breakTolerance)
        }
        var kept: [Break] = []
        for x in breaks where x.z > (kept.last?.z ?? a) && x.z < b { kept.append(x) }
        var pieces = Self.pieces(a, b, breaks: kept.map(\.z))
        for k in pieces.indices { pieces[k].seed = k == 0 ? lines[0] : kept[k - 1].above }
        return (pieces, kept)
    }

    /// trades: the plan at this geometry from the breaks of a nearby one (the optimisers'
    /// previous evaluation): each break is the root of its event's function (`eventFunction`,
    /// from the lines beside it there), bracketed by steps out from where it was and confirmed
    /// by certified lines 1e-6 either side carrying the same patterns as there, without the
    /// panels' pattern samples. A break not found so (its event is gone, or the lines beside
    /// its root carry other patterns: near a triple point a sliver of a piece opens or closes
    /// between evaluations) is lost, and the outer panels that held it, where it was and where
    /// its root was found, are planned afresh with their neighbours (`planPanel`, as
    /// `planWithBreaks` plans them; the lost event may have crossed a panel's end); the other
    /// panels keep the located breaks. A new break elsewhere (an event that was not
    /// there) is not searched for: the integration then sees the lines of one piece change
    /// pattern (`Result.consistent`) and `evaluate` plans afresh. nil: breaks out of order, a
    /// break lost outside the panels, or more than a third of the panels to plan afresh (the
    /// caller plans afresh). `freshPanels`: how many panels were planned afresh.
    /// `seeds`: the previous evaluation's pieces; a piece that does not start at a break takes
    /// the seed of the one that held its start there (a line of a nearby geometry: its kinks
    /// are continued only where they certify at this one).
    func replan(_ geo: Geometry, from previous: [Break], seeds: [OuterPiece] = [], breakTolerance: Double)
        -> (pieces: [OuterPiece], breaks: [Break], freshPanels: Int)? {
        guard case .trades = kind, geo.su > 0, geo.sc > 0 else { return nil }
        var located: [Break] = []
        var lost: [Double] = []
        for old in previous {
            let z0 = old.z
            guard let f = eventFunction(old.below, old.above, geo) else {
                // Another kind of change (bisected): bisected again between lines 1e-3 either
                // side that carry the patterns it had.
                let step = 1e-3 * max(1, abs(z0))
                guard z0 - step > -Self.cut, z0 + step < Self.cut else { lost.append(z0); continue }
                let below = line(z0 - step, geo, near: old.below), above = line(z0 + step, geo, near: old.above)
                guard below.pattern == old.below.pattern, above.pattern == old.above.pattern else { lost.append(z0); continue }
                let changes = locateChanges(z0 - step, below, z0 + step, above, geo, tolerance: breakTolerance)
                guard changes.count == 1, let b = changes.first else { lost.append(z0); continue }
                located.append(b)
                continue
            }
            guard let (lo, flo, hi, fhi) = Self.bracket(near: z0, f(z0), first: 1e-4 * max(1, abs(z0)), growth: 4, steps: 12,
                                                        inside: (-Self.cut, Self.cut), f) else { lost.append(z0); continue }
            let root = lo == hi ? lo : illinoisRoot(lo, flo, hi, fhi, keepInside: true, done: { l, h in h - l <= breakTolerance * max(1, abs(l)) }, f)
            let delta = 1e-6 * max(1, abs(root))
            let below = line(root - delta, geo, near: old.below), above = line(root + delta, geo, near: old.above)
            guard below.pattern == old.below.pattern, above.pattern == old.above.pattern else { lost += [z0, root]; continue }
            located.append(Break(z: root, below: below, above: above))
        }
        let outer = outerPanels(geo)
        let panelCount = outer.count - 1
        func panel(of z: Double) -> Int? {
            guard z >= outer[0], z <= outer[panelCount] else { return nil }
            var lo = 0, hi = panelCount - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if outer[mid] <= z { lo = mid } else { hi = mid - 1 }
            }
            return lo
        }
        var afresh = Set<Int>()
        // The panels beside them too: a lost break's event may have moved across a panel's end.
        for z in lost {
            guard let p = panel(of: z) else { return nil }
            for q in max(0, p - 1)...min(panelCount - 1, p + 1) { afresh.insert(q) }
        }
        guard afresh.count * 3 <= panelCount else { return nil }
        let kept = located.filter { b in panel(of: b.z).map { !afresh.contains($0) } ?? false }
        for k in kept.indices.dropFirst() where kept[k].z <= kept[k - 1].z { return nil }
        let planned = Array(afresh).sorted()
        let fresh = Parallel.indexed(planned.count, parallel: parallel) { q in
            planPanel(outer[planned[q]], outer[planned[q] + 1], geo, breakTolerance: breakTolerance)
        }
        var pieces: [OuterPiece] = [], breaks: [Break] = []
        var seeded: [Bool] = []
        let zs = kept.map(\.z)
        var nextKept = 0
        for p in 0..<panelCount {
            if let q = planned.firstIndex(of: p) {
                pieces += fresh[q].pieces
                breaks += fresh[q].breaks
                seeded += Array(repeating: true, count: fresh[q].pieces.count)
                continue
            }
            let inPanel = Self.pieces(outer[p], outer[p + 1], breaks: zs)
            pieces += inPanel
            seeded += Array(repeating: false, count: inPanel.count)
            while nextKept < kept.count && kept[nextKept].z < outer[p + 1] {
                if kept[nextKept].z > outer[p] { breaks.append(kept[nextKept]) }
                nextKept += 1
            }
        }
        var next = 0, held = 0
        for k in pieces.indices where !seeded[k] {
            if pieces[k].leftBreak {
                while next < breaks.count && breaks[next].z < pieces[k].a { next += 1 }
                if next < breaks.count && breaks[next].z == pieces[k].a { pieces[k].seed = breaks[next].above; continue }
            }
            while held + 1 < seeds.count && seeds[held].b <= pieces[k].a { held += 1 }
            if held < seeds.count, seeds[held].a <= pieces[k].a { pieces[k].seed = seeds[held].seed }
        }
        return (pieces, breaks, planned.count)
    }

    // MARK: ls in closed form

    /// ls: vertices i and j have equal loss where 1 + X a_i1 + Y a_i2 = K (1 + X a_j1 + Y a_j2)
    /// (a_ik = e^(-e V_ik), K = e^(s e (sum V_j - sum V_i)), X = e^(-c-u), Y = e^(-c+u)): a
    /// straight line a0 + a1 X + a2 Y = 0 in (X, Y). Every kink of the integrand lies on one
    /// of these 15 lines, so the kinks along an inner line are roots of a quadratic in e^u and
    /// the outer breaks (where the inner pattern changes: a kink curve turns in u, meets u = 0,
    /// or two meet) are closed forms too.
    struct KinkLine {
        var i: Int, j: Int
        var a0: Double, a1: Double, a2: Double
    }

    /// The 15 lines, or nil (trades; or e^(e) and e^(-c) out of Double's range, where the
    /// scan of `scan` is used instead).
    func closedFormLines(_ geo: Geometry) -> [KinkLine]? {
        guard case .ls(let s) = kind, 2 * geo.e < 300, abs(geo.mc) + Self.cut * geo.sc < 600 else { return nil }
        var lines: [KinkLine] = []
        let v = Self.vertices
        for i in 0..<v.count {
            for j in (i + 1)..<v.count {
                let logK = s * geo.e * ((v[j].0 + v[j].1) - (v[i].0 + v[i].1))
                // e^x - e^y = e^y expm1(x - y), without cancellation.
                func difference(_ x: Double, _ y: Double) -> Double { exp(y) * expm1(x - y) }
                lines.append(KinkLine(
                    i: i, j: j, a0: -expm1(logK),
                    a1: difference(-geo.e * v[i].0, logK - geo.e * v[j].0),
                    a2: difference(-geo.e * v[i].1, logK - geo.e * v[j].1)))
            }
        }
        return lines
    }

    /// Whether the vertices in `members` (a bit set over the six vertices) are all best at
    /// (c, u) (to 1e-9 relative: a candidate break is kept when in doubt; an extra break only
    /// costs a panel). Allocation-free: it runs for every pair of kink lines of every plan.
    func allBest(_ members: UInt8, _ c: Double, _ u: Double, _ e: Double) -> Bool {
        var values = SIMD8<Double>(repeating: -.infinity)
        var best = -Double.infinity
        for k in 0..<Self.vertices.count {
            values[k] = vertexLoss(k, c + u, c - u, e)
            best = max(best, values[k])
        }
        let tolerance = 1e-9 * (1 + abs(best))
        for k in 0..<Self.vertices.count where members & (1 << k) != 0 {
            if values[k] < best - tolerance { return false }
        }
        return true
    }

    /// The outer breaks (in z1) for ls: folds of each kink curve (dc/du = 0 at e^(2u) =
    /// a1 / a2), its crossings of u = 0, and the meeting points of two kink curves, kept where
    /// their vertices are the best ones.
    func outerBreaks(_ lines: [KinkLine], _ geo: Geometry) -> [Double] {
        var cs: [Double] = []
        for l in lines {
            // On the line at u: e^(-c) (a1 / t + a2 t) = -a0, t = e^u.
            for t in [1.0, (l.a1 / l.a2).squareRoot()] where t.isFinite && t >= 1 {
                let r = -l.a0 / (l.a1 / t + l.a2 * t)
                guard r > 0 && r.isFinite else { continue }
                let c = -log(r), u = log(t)
                if allBest(UInt8(1 << l.i | 1 << l.j), c, u, geo.e) { cs.append(c) }
            }
        }
        for p in 0..<lines.count {
            for q in (p + 1)..<lines.count {
                let l = lines[p], m = lines[q]
                // Curves of two vertex pairs that share exactly one vertex meet where three
                // vertices tie.
                let first = 1 << l.i | 1 << l.j, second = 1 << m.i | 1 << m.j
                guard (first & second).nonzeroBitCount == 1 else { continue }
                let det = l.a1 * m.a2 - l.a2 * m.a1
                guard det != 0 else { continue }
                let x = (-l.a0 * m.a2 + m.a0 * l.a2) / det
                let y = (-l.a1 * m.a0 + m.a1 * l.a0) / det
                guard x > 0 && y > 0 && x.isFinite && y.isFinite else { continue }
                let c = -0.5 * (log(x) + log(y)), u = 0.5 * (log(y) - log(x))
                guard u >= 0 else { continue }
                if allBest(UInt8(first | second), c, u, geo.e) { cs.append(c) }
            }
        }
        guard geo.sc > 0 else { return [] }
        return cs.map { ($0 - geo.mc) / geo.sc }.filter { $0 > -Self.cut && $0 < Self.cut }.sorted()
    }

    /// The kinks along the inner line at c (in z2, within (0, cut)) and the pattern of best
    /// vertices between them: for ls the roots of the 15 quadratics a2 e^(-c) t^2 + a0 t +
    /// a1 e^(-c) = 0 (t = e^u), kept where the best vertex differs on the two sides; for
    /// trades the scan (`scan`).
    func innerKinks(_ c: Double, _ geo: Geometry, _ boundaries: [Double]) -> (pattern: [Int], kinks: [Double]) {
        let top = Self.cut * geo.su
        var roots: [Double] = []
        if case .trades = kind, geo.su > 0, tradesCertifiable(geo) {
            return tradesEnvelope(c, geo) ?? tradesAllPairs(c, geo)
        }
        guard let lines = closedFormLines(geo), geo.su > 0 else { return scan(c, geo, scanPoints(boundaries)) }
        let r = exp(-c)
        for l in lines {
            let qa = l.a2 * r, qb = l.a0, qc = l.a1 * r
            var ts: [Double] = []
            if qa == 0 {
                if qb != 0 { ts.append(-qc / qb) }
            } else {
                let disc = qb * qb - 4 * qa * qc
                if disc >= 0 {
                    let q = -0.5 * (qb + (qb >= 0 ? 1 : -1) * disc.squareRoot())
                    if q != 0 { ts += [q / qa, qc / q] }
                }
            }
            for t in ts where t > 1 && t.isFinite {
                let u = log(t)
                if u < top { roots.append(u / geo.su) }
            }
        }
        return labelled(c, geo, roots)
    }

    /// trades: the kinks along the inner line at c from the roots of all 15 vertex differences
    /// (the reference for `tradesEnvelope`).
    func tradesAllPairs(_ c: Double, _ geo: Geometry) -> (pattern: [Int], kinks: [Double]) {
        let top = Self.cut * geo.su
        let basis = CriticalBasis(c, geo.e)
        var roots: [Double] = []
        for i in 0..<Self.vertices.count {
            for j in (i + 1)..<Self.vertices.count {
                roots += tradesRoots(i, j, c, geo.e, top: top, basis: basis).map { $0 / geo.su }
            }
        }
        return labelled(c, geo, roots)
    }

    /// trades: the kinks along the inner line at c by following the upper envelope from z2 = 0:
    /// on a piece starting at s with best vertex a, the piece ends at the first root after s of
    /// the differences G_ab (b != a; certified roots, `tradesRoots`), since no other vertex can
    /// overtake a before one of them does. a is confirmed by the label at the piece's middle
    /// (away from its ends); when the label there is another vertex, that vertex is taken
    /// as a and its piece recomputed. Only the pairs that involve a best vertex are isolated
    /// (measured: 12.3 of the 15 per line on average at trades:6, sigma = mu, eps 0.35, W(3, 6),
    /// where lines have many pieces). nil (the caller then takes all 15 pairs) if the labels do
    /// not settle in 6 tries: in ties to rounding `loss` breaks ties by slope while the roots
    /// follow the sign of the difference (measured: 3% of the lines in that case).
    func tradesEnvelope(_ c: Double, _ geo: Geometry) -> (pattern: [Int], kinks: [Double])? {
        let count = Self.vertices.count
        let top = Self.cut * geo.su
        let basis = CriticalBasis(c, geo.e)
        var cache = [[Double]?](repeating: nil, count: count * count)
        func roots(_ i: Int, _ j: Int) -> [Double] {
            let key = min(i, j) * count + max(i, j)
            if let r = cache[key] { return r }
            let r = tradesRoots(min(i, j), max(i, j), c, geo.e, top: top, basis: basis).map { $0 / geo.su }
            cache[key] = r
            return r
        }
        func label(_ z: Double) -> Int { bestVertex(c, z, geo) }
        /// The first root after s of a difference G_ab, b != a, and that b (cut, -1 if none).
        func next(_ a: Int, after s: Double) -> (Double, Int) {
            let gap = 1e-12 * max(1, s)
            var first = (Self.cut, -1)
            for b in 0..<count where b != a {
                for r in roots(a, b) where r > s + gap {
                    if r < first.0 { first = (r, b) }
                    break
                }
            }
            return first
        }
        // The pieces' labels are read where `labelled` reads them (the result is what it
        // would give on these candidates); consecutive equal labels merge.
        var pattern: [Int] = []
        var kinks: [Double] = []
        var s = 0.0
        var a = label(0.25)
        for _ in 0..<64 {
            var (end, successor) = next(a, after: s)
            var settled = false
            for _ in 0..<6 {
                let middle = label(Self.readPoint(s, end))
                if middle == a { settled = true; break }
                a = middle
                (end, successor) = next(a, after: s)
            }
            guard settled else { return nil }
            if pattern.isEmpty {
                pattern.append(a)
            } else if pattern[pattern.count - 1] != a {
                kinks.append(s)
                pattern.append(a)
            }
            if successor < 0 { return (pattern, kinks) }
            s = end
            a = successor
        }
        return nil
    }

    /// trades: the kinks along the inner line at c continued from those of a neighbouring line
    /// (the previous node of the same outer piece, or a bracket end of the break bisection),
    /// and certified: each kink, between pattern[k] and pattern[k + 1], is the root of that
    /// pair's difference G near the neighbour's kink (bracketed by steps out from it, then
    /// Illinois in u to ~1e-15, as `tradesKink`), every piece's label is read where
    /// `tradesEnvelope` reads it, and on every piece of vertex a no other vertex b overtakes a:
    /// G_ab >= 0 (to rounding) at the piece's ends and at each critical point of G_ab inside it
    /// (isolated on the piece by Descartes' rule, as `tradesRoots` does on the whole line). So
    /// a piece that appears (a sliver inside a piece, at a kink or at an end of the line) or
    /// vanishes declines the continuation, as does a root that leaves its place between the
    /// kinks before and after it; the caller then certifies the line afresh. Cheaper than
    /// `tradesEnvelope` because each difference is examined on one piece instead of the whole
    /// line, and no kink is searched for from scratch. Measured at the trades:1, eps 0.3
    /// optimum: 15% of its time (every line certified afresh: 220-270 ms; continued: 180-230
    /// ms); values equal those with every line certified afresh to rounding (FastTradesTests).
    func tradesContinued(_ c: Double, _ geo: Geometry, from neighbour: InnerKinks) -> InnerKinks? {
        guard case .trades = kind, continuesKinks, geo.su > 0, neighbour.pattern.count == neighbour.kinks.count + 1 else { return nil }
        let pattern = neighbour.pattern
        let su = geo.su, e = geo.e
        var kinks: [Double] = []
        kinks.reserveCapacity(neighbour.kinks.count)
        var lower = 0.0
        for k in neighbour.kinks.indices {
            let a = pattern[k], b = pattern[k + 1]
            let upper = k + 1 < neighbour.kinks.count ? neighbour.kinks[k + 1] : Self.cut
            let guess = neighbour.kinks[k]
            guard guess > lower, guess < upper else { return nil }
            func g(_ z: Double) -> Double { tradesDifference(a, b, c, su * z, e) }
            let f0 = g(guess)
            var root = guess
            if f0 != 0 {
                // Step out from the guess (downhill of the sign) until G changes sign, within
                // (lower, upper) of the neighbour's kinks.
                let towardsRight = f0 > 0
                var step = 1e-3 * max(1, guess)
                var near = guess, fNear = f0
                var far = guess, fFar = f0
                var bracketed = false
                for _ in 0..<40 {
                    far = towardsRight ? min(near + step, upper) : max(near - step, lower)
                    fFar = g(far)
                    if (fFar > 0) != (f0 > 0) || fFar == 0 { bracketed = true; break }
                    if far == upper || far == lower { break }
                    near = far; fNear = fFar
                    step *= 4
                }
                // A sign change at the neighbour's next kink (or at 0 or the cut) brackets a
                // root inside as well (G there is not 0): the steps out reach that end when the
                // kink moved more than the steps so far (392 lines of the trades:1 optimum were
                // certified afresh for this alone).
                guard bracketed, fFar != 0 || (far > lower && far < upper) else { return nil }
                let (lo, flo, hi, fhi) = towardsRight ? (near, fNear, far, fFar) : (far, fFar, near, fNear)
                root = fFar == 0 ? far : illinoisRoot(su * lo, flo, su * hi, fhi, keepInside: false, done: { l, h in h - l <= 1e-15 * max(1, h) }) {
                    tradesDifference(a, b, c, $0, e)
                } / su
            }
            guard root > lower, root < upper else { return nil }
            kinks.append(root)
            lower = root
        }
        // The ends of piece k: 0, the kinks, the cut (no array: this runs on every line).
        func end(_ k: Int) -> Double { k == 0 ? 0 : k > kinks.count ? Self.cut : kinks[k - 1] }
        for k in pattern.indices {
            let z = Self.readPoint(end(k), end(k + 1))
            if !tradesClearlyBest(pattern[k], c, su * z, geo), bestVertex(c, z, geo) != pattern[k] { return nil }
        }
        // Certified as `tradesRoots` certifies: on each piece, no other vertex b overtakes its
        // vertex a, i.e. G_ab >= 0 (to rounding) at the piece's ends and at every critical
        // point of G_ab inside it (the roots of its critical polynomial, isolated by Descartes'
        // rule on the piece alone; none where the polynomial has no sign change there). A
        // failed check declines the line (it is then certified afresh).
        let basis = CriticalBasis(c, e)
        var left = tradesVertexTerms(c, 0, geo)
        for k in pattern.indices {
            let a = pattern[k]
            let s = end(k), t = end(k + 1)
            let right = tradesVertexTerms(c, su * t, geo)
            defer { left = right }
            let ts = exp(su * s), tt = exp(su * t)
            let noise = 1e-14 * (1 + abs(c) + su * t + 2 * e)
            let box = TradesBox(c, su * s, su * t, geo)
            for b in 0..<Self.vertices.count where b != a {
                guard left[a] - left[b] >= -noise, right[a] - right[b] >= -noise else { return nil }
                // Most pairs that do not tie at an end are settled by the box's bound (22% of
                // the pairs at the trades:1 optimum) without isolating their critical points.
                if let box, box.lowerBound(a, b, geo) >= 0 { continue }
                // G_ab between its ends falls lowest at a local minimum (its maxima need no
                // solving): G_ab' has the sign of the pair's critical polynomial, or the
                // opposite one for a > b (G_ab = -G_ba).
                let critical = RealPolynomial.minima(tradesCriticalPolynomial(min(a, b), max(a, b), basis, e), ts, tt, sign: a < b ? 1 : -1)
                guard critical.complete else { return nil }
                for x in critical.points where tradesDifference(a, b, c, log(x), e) < -noise { return nil }
            }
        }
        return (pattern, kinks)
    }

    /// H_v = softplus(d + e V_v) + e p.V_v at u on the inner line at c, for every vertex v
    /// (d = (c + u, c - u), p the clean wrong-class probabilities), so that
    /// G_ab = H_a - H_b (`tradesDifference`): one clean softmax and six logs for all 30 pairs
    /// at a point, where the pairs one at a time took three softplus each. The vertex terms
    /// come from the clean ones times e^(-e V) (`Geometry.tradesShifts`, within Double's range
    /// as 2 e < 100; beyond, each softplus is evaluated as it is). Also the clean softplus.
    func tradesVertexTerms(_ c: Double, _ u: Double, _ geo: Geometry) -> VertexTerms {
        let d1 = c + u, d2 = c - u, e = geo.e
        let (top, e0, e1, e2) = Self.scaledTerms(d1, d2)
        let sum = e0 + e1 + e2
        let p1 = e1 / sum, p2 = e2 / sum
        var h = VertexTerms()
        h.clean = top + log(sum)
        let shifted = geo.shiftsApply
        for v in 0..<Self.vertices.count {
            let vertex = Self.vertices[v]
            let softplus: Double
            if shifted {
                let shift = geo.tradesShifts[v]
                softplus = top + log(e0 + e1 * shift.0 + e2 * shift.1)
            } else {
                softplus = Self.softplus(d1 + e * vertex.0, d2 + e * vertex.1).0
            }
            h[v] = softplus + e * (p1 * vertex.0 + p2 * vertex.1)
        }
        return h
    }

    /// Whether `loss` labels the point u of the inner line at c with vertex a, read from the
    /// vertex terms (two exps and seven logs, where `loss` takes seven softplus): a's clamped
    /// term max(0, KL_a) exceeds every other vertex's by more than four times `loss`'s tie
    /// noise (twice would do: then `loss` takes a whatever its order and tie-breaking; the rest
    /// covers the two computations' rounding). false: not clearly (ask `loss`).
    func tradesClearlyBest(_ a: Int, _ c: Double, _ u: Double, _ geo: Geometry) -> Bool {
        let h = tradesVertexTerms(c, u, geo)
        let noise = 1e-13 * (1 + abs(c + u) + abs(c - u) + geo.e + h.clean)
        let klA = h[a] - h.clean
        for b in 0..<Self.vertices.count where b != a {
            guard klA - max(0, h[b] - h.clean) > 4 * noise else { return false }
        }
        return true
    }

    /// Six Doubles indexed without heap allocation, and the clean softplus (`tradesVertexTerms`).
    struct VertexTerms {
        var clean = 0.0
        private var storage = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        subscript(_ v: Int) -> Double {
            get { withUnsafeBytes(of: storage) { $0.load(fromByteOffset: 8 * v, as: Double.self) } }
            set { withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: 8 * v, as: Double.self) } }
        }
    }

    /// A lower bound of G_ab on an interval [us, ut] of an inner line without solving for its
    /// critical points. With X = e^(-(c + u)) and Y = e^(-(c - u)),
    /// G_ab = log(A_a / A_b) + e (X dV1 + Y dV2) / (1 + X + Y), A_v = 1 + X s_v1 + Y s_v2
    /// (s = e^(-e V), dV = V_a - V_b). Over the box X in [X(ut), X(us)], Y in [Y(us), Y(ut)],
    /// which holds the line's arc, both ratios are linear-fractional with positive
    /// denominators, so each is lowest at a corner of the box: the sum of the two corner minima
    /// bounds G_ab from below on the interval. The terms are scaled by e^(-m), m the largest
    /// exponent at the corners, against overflow (ratios of sums of scaled terms are
    /// unchanged; a term that underflows is below 1e-300 of its sum).
    struct TradesBox {
        /// (X, Y) at the corners (X(us), Y(us)), (X(us), Y(ut)), (X(ut), Y(us)), (X(ut), Y(ut)),
        /// and 1, all scaled by e^(-m).
        let xs: Double, xt: Double, ys: Double, yt: Double, one: Double

        init?(_ c: Double, _ us: Double, _ ut: Double, _ geo: PairObjective.Geometry) {
            guard geo.shiftsApply else { return nil }
            let m = max(0, -(c + us), -(c - ut))
            one = exp(-m)
            xs = exp(-(c + us) - m); xt = exp(-(c + ut) - m)
            ys = exp(-(c - us) - m); yt = exp(-(c - ut) - m)
        }

        @inline(__always)
        func lowerBound(_ a: Int, _ b: Int, _ geo: PairObjective.Geometry) -> Double {
            let sa = geo.tradesShifts[a], sb = geo.tradesShifts[b]
            let va = PairObjective.vertices[a], vb = PairObjective.vertices[b]
            let dv = (va.0 - vb.0, va.1 - vb.1)
            @inline(__always) func ratio(_ x: Double, _ y: Double) -> Double { (one + x * sa.0 + y * sa.1) / (one + x * sb.0 + y * sb.1) }
            @inline(__always) func mean(_ x: Double, _ y: Double) -> Double { (x * dv.0 + y * dv.1) / (one + x + y) }
            let r = min(ratio(xs, ys), ratio(xs, yt), ratio(xt, ys), ratio(xt, yt))
            let q = min(mean(xs, ys), mean(xs, yt), mean(xt, ys), mean(xt, yt))
            return log(r) + geo.e * q
        }
    }

    /// The best vertex (`loss`'s label) on the inner line at c, at z2 = z.
    func bestVertex(_ c: Double, _ z: Double, _ geo: Geometry) -> Int {
        let u = geo.su * z
        return loss(c + u, c - u, geo.e).4
    }

    /// Where a piece [s, end] of an inner line has its label read: its middle, but no further
    /// than 0.25 from s (near the left end, where the Gaussian weight is and the terms are not
    /// all tied to rounding).
    static func readPoint(_ s: Double, _ end: Double) -> Double { s + min(0.5 * (end - s), 0.25) }

    /// The pattern of best vertices between consecutive candidate kinks `roots` (in z2; every
    /// point where the best vertex can change is among them), and the kinks where it changes.
    func labelled(_ c: Double, _ geo: Geometry, _ candidates: [Double]) -> (pattern: [Int], kinks: [Double]) {
        let roots = candidates.sorted()
        let ends = [0.0] + roots + [Self.cut]
        var pattern: [Int] = []
        var kinks: [Double] = []
        for k in 0..<(ends.count - 1) {
            // The best vertex is the same all along the piece (no difference changes sign in
            // it); it is read near the piece's left end, where the Gaussian weight is and the
            // vertices' losses are not all tied to rounding (far out along u they can be).
            let l = bestVertex(c, Self.readPoint(ends[k], ends[k + 1]), geo)
            if pattern.isEmpty { pattern.append(l); continue }
            if l != pattern[pattern.count - 1] {
                kinks.append(ends[k])
                pattern.append(l)
            }
        }
        return (pattern, kinks)
    }

    /// The z1 in (lo, hi) where the inner pattern changes from `left` (at lo) towards `right`
    /// (at hi): trades' elementary events as roots (`locateEvents`), otherwise by bisection on
    /// pattern equality to `tolerance`; more than one change in the
    /// interval are followed in order (up to 6). trades: a midpoint whose kinks continue
    /// (`tradesContinued`, certified) from a bracket end has that end's pattern; the others
    /// are certified afresh.
    func locateChanges(_ lo: Double, _ left: InnerKinks, _ hi: Double, _ right: InnerKinks, _ geo: Geometry, tolerance: Double) -> [Break] {
        if locatesEvents, let events = locateEvents(lo, left, hi, right, geo, tolerance: tolerance) { return events }
        var out: [Break] = []
        var start = lo, startLine = left
        for _ in 0..<6 {
            var l = start, h = hi, lowLine = startLine, beyond = right
            while h - l > tolerance * max(1, abs(l)) {
                let m = 0.5 * (l + h)
                let c = geo.mc + geo.sc * m
                if let k = tradesContinued(c, geo, from: lowLine) { l = m; lowLine = k; continue }
                if let k = tradesContinued(c, geo, from: beyond) { h = m; beyond = k; continue }
                let line = innerLine(m, geo)
                if line.pattern == lowLine.pattern { l = m; lowLine = line } else { h = m; beyond = line }
            }
            out.append(Break(z: 0.5 * (l + h), below: lowLine, above: beyond))
            if beyond.pattern == right.pattern || h >= hi { break }
            start = h; startLine = beyond
        }
        return out
    }

    /// The certified line at z1 (trades): continued from a nearby line's kinks
    /// (`tradesContinued`), or certified afresh where that declines.
    func line(_ z1: Double, _ geo: Geometry, near: InnerKinks) -> InnerKinks {
        tradesContinued(geo.mc + geo.sc * z1, geo, from: near) ?? innerLine(z1, geo)
    }

    /// A sign change of f next to x0 (f0 = f(x0)): steps out on both sides, `first` and then
    /// `growth` times further each of `steps` times, inside the open interval `inside`. The
    /// bracket (lo, f(lo), hi, f(hi)) has x0 at one end ((x0, 0, x0, 0) when f0 is 0); nil when
    /// none is found or f is not finite on the way.
    static func bracket(near x0: Double, _ f0: Double, first: Double, growth: Double, steps: Int, inside: (Double, Double),
                        _ f: (Double) -> Double) -> (Double, Double, Double, Double)? {
        guard f0.isFinite else { return nil }
        if f0 == 0 { return (x0, f0, x0, f0) }
        var step = first
        for _ in 0..<steps {
            for x in [x0 - step, x0 + step] where x > inside.0 && x < inside.1 {
                let fx = f(x)
                guard fx.isFinite else { return nil }
                if (fx > 0) != (f0 > 0) || fx == 0 { return x < x0 ? (x, fx, x0, f0) : (x0, f0, x, fx) }
            }
            step *= growth
        }
        return nil
    }

    /// `pattern` without its `count` elements from index `k`.
    static func removing(_ pattern: [Int], _ k: Int, _ count: Int) -> [Int] {
        var out = pattern
        out.removeSubrange(k..<(k + count))
        return out
    }

    /// The mirror of each vertex (V1, V2) -> (V2, V1) (swapping the two wrong classes).
    static let mirror = [0, 5, 4, 3, 2, 1]

    /// trades: the z1 in (lo, hi) where the inner pattern changes from `left` to `right`, when
    /// the two patterns differ by one elementary event, as the root of a function of z1 that is
    /// continuous across it (Illinois, a few cheap evaluations instead of the bisection's
    /// certified lines at every halving):
    ///   a kink reaches z2 = 0 (pattern [a, b, ...] against [b, ...]): G_ab(c, 0);
    ///   the first piece's vertex swaps with its mirror ([a, ...] against [a', ...]; the two tie
    ///   at u = 0 on every line): the slope of G_aa' in u at 0;
    ///   a kink reaches z2 = cut ([..., a, b] against [..., a]): G_ab(c, su cut);
    ///   two kinks meet at a triple point ([..., a, b, d, ...] against [..., a, d, ...], a != d):
    ///   G_ad at the root of G_ab followed from the kink between a and b (of G_bd from the kink
    ///   between b and d when a and b are mirrors);
    ///   a sliver closes ([..., a, b, a, ...] against [..., a, ...]): the largest value of G_ba
    ///   at its critical points (`tradesCriticalPolynomial`) between the sliver's neighbours.
    /// The root (to `tolerance`, as the bisection's) is confirmed by certified lines at 1e-6
    /// on either side of it (far enough out that a piece born at the event is resolved: it
    /// grows like the distance, or its square root), which must carry the `left` and `right`
    /// patterns; when a line there shows a third pattern, or the change is of another kind or
    /// has no sign change, the interval is split there (or at its middle) and each part located
    /// alike, up to depth 6. nil: not located so (the caller bisects).
    ///
    /// Measured at the trades:1, eps 0.3 optimum of paper3 (l_inf): the bisection was 55-70% of
    /// the plan's time (37 halvings of certified lines per break at 1e-12); most changes are
    /// located so (the rest, mostly on the near-axis lines where the whole inner line changes
    /// vertex at once, are bisected), and the break location takes about half the time. The
    /// pattern changes at every located break (FastTradesTests.eventBreaks), which is more
    /// accurate than the bisection's break where a new piece is first resolved a little off
    /// the event.
    func locateEvents(_ lo: Double, _ left: InnerKinks, _ hi: Double, _ right: InnerKinks, _ geo: Geometry, tolerance: Double, depth: Int = 0) -> [Break]? {
        if left.pattern == right.pattern { return [] }
        guard depth < 6, hi > lo else { return nil }
        func line(_ z: Double, near: InnerKinks) -> InnerKinks { self.line(z, geo, near: near) }
        /// The events in (lo, hi) on both sides of the line at m.
        func split(_ m: Double, _ middle: InnerKinks) -> [Break]? {
            guard m > lo, m < hi,
                  let a = locateEvents(lo, left, m, middle, geo, tolerance: tolerance, depth: depth + 1),
                  let b = locateEvents(m, middle, hi, right, geo, tolerance: tolerance, depth: depth + 1) else { return nil }
            return a + b
        }
        guard let f = eventFunction(left, right, geo) else {
            let m = 0.5 * (lo + hi)
            return split(m, line(m, near: left))
        }
        let flo = f(lo), fhi = f(hi)
        guard flo.isFinite, fhi.isFinite, (flo > 0 && fhi < 0) || (flo < 0 && fhi > 0) else {
            let m = 0.5 * (lo + hi)
            return split(m, line(m, near: left))
        }
        var failed = false
        let root = illinoisRoot(lo, flo, hi, fhi, keepInside: true, done: { l, h in h - l <= tolerance * max(1, abs(l)) }) { z in
            let v = f(z)
            if !v.isFinite { failed = true; return 0 }
            return v
        }
        guard !failed, root > lo, root < hi else { return nil }
        // Confirmed by the patterns on both sides, far enough out that a piece born at the
        // event is resolved by the certified lines (a sliver grows like the distance or its
        // square root), but within the sample interval.
        let delta = min(1e-6 * max(1, abs(root)), 0.25 * (root - lo), 0.25 * (hi - root))
        let below = line(root - delta, near: left)
        let above = line(root + delta, near: right)
        if below.pattern == left.pattern && above.pattern == right.pattern { return [Break(z: root, below: below, above: above)] }
        // More than one event: each side apart.
        if below.pattern != left.pattern { return split(root - delta, below) }
        return split(root + delta, above)
    }

    /// The function of z1 whose sign change marks the elementary event between the two
    /// patterns (see `locateEvents`), nil for another kind of change.
    func eventFunction(_ left: InnerKinks, _ right: InnerKinks, _ geo: Geometry) -> ((Double) -> Double)? {
        guard case .trades = kind, geo.su > 0, geo.sc > 0 else { return nil }
        let e = geo.e, su = geo.su
        func centre(_ z: Double) -> Double { geo.mc + geo.sc * z }
        let (longer, shorter) = left.pattern.count >= right.pattern.count ? (left, right) : (right, left)
        let l = longer.pattern, s = shorter.pattern
        var f: ((Double) -> Double)? = nil
        /// The slope in u at u = 0 of G_ab for mirror vertices a, b (which tie at u = 0).
        func mirrorSlope(_ a: Int, _ b: Int) -> (Double) -> Double {
            { z in
                let c = centre(z)
                let clean = Self.softplus(c, c)
                return self.vertexLossAndSlope(a, c, c, e, clean: clean).1 - self.vertexLossAndSlope(b, c, c, e, clean: clean).1
            }
        }
        if l.count == s.count + 1 && Array(l.dropFirst()) == s {
            let a = l[0], b = l[1]
            f = Self.mirror[a] == b ? mirrorSlope(a, b) : { z in self.tradesDifference(a, b, centre(z), 0, e) }
        } else if l.count == s.count, !l.isEmpty, l[0] != s[0], Self.mirror[l[0]] == s[0], l.dropFirst().elementsEqual(s.dropFirst()) {
            f = mirrorSlope(l[0], s[0])
        } else if l.count == s.count + 1 && Array(l.dropLast()) == s {
            let a = l[l.count - 2], b = l[l.count - 1]
            f = { z in self.tradesDifference(a, b, centre(z), su * Self.cut, e) }
        } else if l.count == s.count + 1 {
            // One interior piece gone: l = P + [a, b, d] + S, s = P + [a, d] + S.
            guard let k = (1..<(l.count - 1)).first(where: { Self.removing(l, $0, 1) == s }) else { return nil }
            let a = l[k - 1], b = l[k], d = l[k + 1]
            guard a != d else { return nil }
            // G_ad at the root of G_ab (a = b there: a pair on the envelope beside the event,
            // and a falls below d through it), or at the root of G_bd when a and b are
            // mirrors (their tie at u = 0 is no kink, and the kink's root can merge into it).
            let followsFirst = Self.mirror[a] != b
            let (p, q) = followsFirst ? (a, b) : (b, d)
            let guess = longer.kinks[followsFirst ? k - 1 : k] * su
            let upper = Self.cut * su
            let lowest = Self.mirror[p] == q ? 0 : -upper
            f = { z in
                let c = centre(z)
                func g(_ u: Double) -> Double { self.tradesDifference(p, q, c, u, e) }
                // The root of G_pq nearest the guess: steps out from it until G changes sign
                // (above u = 0 for mirrors, which tie there on every line).
                guard let (lo, flo, hi, fhi) = Self.bracket(near: guess, g(guess), first: 1e-3 * max(1, guess), growth: 2, steps: 40,
                                                            inside: (lowest, 2 * upper), g) else { return .nan }
                let root = lo == hi ? lo : flo == 0 ? lo : fhi == 0 ? hi
                    : illinoisRoot(lo, flo, hi, fhi, keepInside: false, done: { l, h in h - l <= 1e-15 * max(1, abs(h)) }, g)
                return self.tradesDifference(a, d, c, root, e)
            }
        } else if l.count == s.count + 2 {
            // A sliver gone: l = P + [a, b, a] + S, s = P + [a] + S.
            guard let k = (1..<(l.count - 1)).first(where: { l[$0 - 1] == l[$0 + 1] && Self.removing(l, $0, 2) == s }) else { return nil }
            let a = l[k - 1], b = l[k]
            let from = k >= 2 ? longer.kinks[k - 2] : 0, to = k + 1 < longer.kinks.count ? longer.kinks[k + 1] : Self.cut
            let t0 = exp(su * from), t1 = exp(su * to)
            f = { z in
                let c = centre(z)
                let basis = CriticalBasis(c, e)
                let critical = RealPolynomial.roots(self.tradesCriticalPolynomial(min(a, b), max(a, b), basis, e), t0, t1)
                var best = max(self.tradesDifference(b, a, c, su * from, e), self.tradesDifference(b, a, c, su * to, e))
                for t in critical.roots { best = max(best, self.tradesDifference(b, a, c, log(t), e)) }
                return best
            }
        }
        return f
    }

    /// Value and gradient of R at (w1, w2) (w1, w2 >= 0; at w2 = 0 the w2-derivative is the
    /// one-sided derivative at 0+) with the given rule.
    ///
    /// `continuing`: an evaluation at a nearby point (the optimisers' previous one), whose
    /// breaks are located again here (`replan`) instead of planning afresh; when that fails, or
    /// the integration finds a piece whose lines change pattern (a break that was not there),
    /// the point is planned afresh and integrated again. Measured at the trades:1, eps 0.3
    /// optimum of paper3: the panels' pattern samples were half of a plan's time after
    /// `locateEvents`.
    func evaluate(w1: Double, w2: Double, rule: GaussLegendre = .working, continuing previous: Result? = nil) -> Result {
        let geo = geometry(w1, w2)
        // The coarse rule (the optimisers' warm-up) places the breaks to 1e-8: a break off by
        // d moves the integral by ~d^(3/2) (the outer integrand behaves like (z1 - b)^(3/2)
        // there), 1e-12, far below that rule's own error; it saves a third of the bisection.
        // It also integrates the plan's pieces unsplit (`outerSplits` 1): its evaluations take
        // ~40% less time. Its Hessian at the warm start is then rougher at margin scales ~6
        // (trades:6, eps 0.05, W(6.2, 5.8), where the working-rule Newton once stalled: 60
        // iterations, 4 minutes, before the lines were seeded); `DampedNewton` differences a
        // Hessian afresh once it stops contracting the steps, and goes on with steps at F's
        // rounding while they contract, so the rougher start costs no accuracy.
        let isCoarse = rule.nodes.count < GaussLegendre.working.nodes.count
        let tolerance = isCoarse ? 1e-8 : 1e-12
        var integration = self
        if isCoarse { integration.outerSplits = 1 }
        if let previous, !previous.breaks.isEmpty, let reused = replan(geo, from: previous.breaks, seeds: previous.pieces, breakTolerance: tolerance) {
            var r = integration.integrate(reused.pieces, geo, rule)
            if r.consistent {
                r.breaks = reused.breaks
                r.replanned = true
                r.freshPanels = reused.freshPanels
                return r
            }
        }
        let planned = planWithBreaks(geo, breakTolerance: tolerance)
        var r = integration.integrate(planned.pieces, geo, rule)
        r.breaks = planned.breaks
        return r
    }

    /// `innerRule`: the rule along the inner lines (default: `rule`).
    func integrate(_ pieces: [OuterPiece], _ geo: Geometry, _ rule: GaussLegendre, innerRule: GaussLegendre? = nil) -> Result {
        let m = max(1, outerSplits)
        // The sub-pieces of a piece in order, each continuing its first line from the last
        // line of the one before (no break between them: one pattern), the first from the
        // piece's seed; pieces apart.
        let sums = Parallel.indexed(pieces.count, parallel: parallel) { p -> [PieceSum] in
            let piece = pieces[p]
            let width = piece.b - piece.a
            var neighbour = piece.seed
            return (0..<m).map { k in
                let sub = m == 1 ? piece : OuterPiece(
                    a: piece.a + width * Double(k) / Double(m), b: k == m - 1 ? piece.b : piece.a + width * Double(k + 1) / Double(m),
                    leftBreak: k == 0 && piece.leftBreak, rightBreak: k == m - 1 && piece.rightBreak)
                return outerPiece(sub, geo, rule, innerRule ?? rule, neighbour: &neighbour, chained: k > 0)
            }
        }
        var total = (value: 0.0, g1: 0.0, g2: 0.0)
        var consistent = true
        for sum in sums.joined() { total.value += sum.value; total.g1 += sum.g1; total.g2 += sum.g2; consistent = consistent && sum.consistent }
        var r = Result(value: 2 * total.value, gradient: (2 * total.g1, 2 * total.g2), consistent: consistent)
        r.pieces = pieces
        for p in pieces.indices { if let first = sums[p].first?.firstLine { r.pieces[p].seed = first } }
        return r
    }

    /// The pattern of pieces along the inner line at z1 and the kinks between them (ce: [0]).
    func innerLine(_ z1: Double, _ geo: Geometry) -> InnerKinks {
        if isSmooth { return ([0], []) }
        let c = geo.mc + geo.sc * z1
        if geo.su == 0 { return ([loss(c, c, geo.e).4], []) }
        let centres = innerCentres(c, geo)
        return innerKinks(c, geo, Panels.boundaries(0, Self.cut, scale: geo.su, centres: centres))
    }

    /// An outer piece's share of (value, gradient) / 2, whether its node lines had one pattern,
    /// and its first node's line.
    struct PieceSum {
        var value = 0.0, g1 = 0.0, g2 = 0.0
        var consistent = true
        var firstLine: InnerKinks? = nil
    }

    /// One outer piece on the rule's nodes (with the end substitution of `OuterPiece`).
    /// `neighbour`: a certified line near the first node (trades: its kinks are continued
    /// from it where they certify there; nil: certified afresh); on return, the last node's
    /// line. `chained`: the neighbour is a node line of the same plan piece, so that a change
    /// of pattern from it is a missing break (`PieceSum.consistent`).
    func outerPiece(_ piece: OuterPiece, _ geo: Geometry, _ rule: GaussLegendre, _ innerRule: GaussLegendre,
                    neighbour: inout InnerKinks?, chained: Bool) -> PieceSum {
        let pieceRule = rule.onPanel(piece.a, piece.b, tailStart: tailStart)
        let nodes = pieceRule.nodes, weights = pieceRule.weights
        let width = piece.b - piece.a
        var sum = PieceSum()
        for i in 0..<nodes.count {
            let s = 0.5 * (nodes[i] + 1)
            let phi: Double, dphi: Double
            switch (piece.leftBreak, piece.rightBreak) {
            case (false, false): phi = s; dphi = 1
            case (true, false): phi = s * s; dphi = 2 * s
            case (false, true): phi = 1 - (1 - s) * (1 - s); dphi = 2 * (1 - s)
            case (true, true): phi = s * s * (3 - 2 * s); dphi = 6 * s * (1 - s)
            }
            let z1 = piece.a + width * phi
            let weight = 0.5 * width * dphi * weights[i] * Normal.pdf(z1)
            let c = geo.mc + geo.sc * z1
            let (r, kinks, le) = innerWithE(c, geo, innerRule, neighbour: neighbour)
            if i > 0 || chained, let previous = neighbour, let kinks, previous.pattern != kinks.pattern { sum.consistent = false }
            if i == 0 { sum.firstLine = kinks }
            neighbour = kinks
            sum.value += weight * r.value
            // dL/dw = L_c (dmc + z1 dsc) + L_u z2 dsu + L_e de.
            let d1: Double = r.c * (geo.mcW.0 + z1 * geo.scW.0) + r.uz * geo.suW.0 + le * geo.eW
            let d2: Double = r.c * (geo.mcW.1 + z1 * geo.scW.1) + r.uz * geo.suW.1 + le * geo.eW
            sum.g1 += weight * d1
            sum.g2 += weight * d2
        }
        return sum
    }

    /// The pattern of best vertices along an inner line and the kinks (in z2) between them.
    typealias InnerKinks = (pattern: [Int], kinks: [Double])

    /// The inner integral over z2 >= 0 of phi(z2) (L, L_c, L_u z2), the kinks along the line
    /// (nil: ce, or a degenerate line) and the integral of phi(z2) L_e. `neighbour`: the kinks
    /// on a neighbouring line of the same outer piece (trades: see `tradesContinued`).
    func innerWithE(_ c: Double, _ geo: Geometry, _ rule: GaussLegendre, neighbour: InnerKinks? = nil) -> (Inner, InnerKinks?, Double) {
        var r = Inner()
        var le = 0.0
        if geo.su == 0 {
            let (l, l1, l2, lE, _) = loss(c, c, geo.e)
            let mass = 0.5 - Normal.upperTail(Self.cut)
            r.value = l * mass
            r.c = (l1 + l2) * mass
            r.uz = (l1 - l2) * (Normal.pdf(0) - Normal.pdf(Self.cut))
            return (r, nil, lE * mass)
        }
        let centres = innerCentres(c, geo)
        var boundaries = Panels.boundaries(0, Self.cut, scale: geo.su, centres: centres)
        if case .trades = kind, mergesPanels {
            boundaries = Panels.merged(boundaries, scale: geo.su, gap: Panels.sliverGap)
        }
        var pattern = [0]
        var kinks: [Double] = []
        // ls with closed-form kinks: the best vertex of every piece is known, so only that
        // vertex's loss is evaluated at the nodes (one softplus instead of six).
        var knownLabels = false
        var found: InnerKinks? = nil
        if !isSmooth {
            let s = neighbour.flatMap { tradesContinued(c, geo, from: $0) } ?? innerKinks(c, geo, boundaries)
            found = s
            pattern = s.pattern
            kinks = s.kinks
            if !s.kinks.isEmpty { boundaries = (boundaries + s.kinks).sorted() }
            if case .ls = kind, closedFormLines(geo) != nil, pattern.count == kinks.count + 1 { knownLabels = true }
            if case .trades = kind, tradesCertifiable(geo), pattern.count == kinks.count + 1 { knownLabels = true }
        }
        var isTrades = false
        if case .trades = kind {
            isTrades = true
            if knownLabels, abs(c) < 600, Self.cut * geo.su < 600 {
                let (inner, innerE) = tradesLine(c, geo, rule: rule, boundaries: boundaries, pattern: pattern, kinks: kinks)
                return (inner, found, innerE)
            }
        }
        var piece = 0
        for q in 0..<(boundaries.count - 1) {
            let a = boundaries[q], b = boundaries[q + 1]
            if b - a <= 0 { continue }
            let panelRule = rule.onPanel(a, b, tailStart: tailStart)
            let nodes = panelRule.nodes, weights = panelRule.weights
            let half = 0.5 * (b - a), mid = 0.5 * (a + b)
            while piece < kinks.count && kinks[piece] < mid { piece += 1 }
            for j in 0..<nodes.count {
                let z2 = mid + half * nodes[j]
                let weight = half * weights[j] * Normal.pdf(z2)
                let u = geo.su * z2
                let (l, l1, l2, lE) = knownLabels
                    ? (isTrades ? tradesVertexLoss(pattern[piece], c + u, c - u, geo.e, shifts: geo.tradesShifts) : lsVertexLoss(pattern[piece], c + u, c - u, geo.e))
                    : { let f = loss(c + u, c - u, geo.e); return (f.0, f.1, f.2, f.3) }()
                r.value += weight * l
                r.c += weight * (l1 + l2)
                r.uz += weight * (l1 - l2) * z2
                le += weight * lE
            }
        }
        return (r, found, le)
    }

    /// trades on a line whose best vertex is known on every piece (`innerWithE`'s node loop
    /// for that case, |c| and u below 600): the terms e^(-(c + u)) and e^(-(c - u)) of the
    /// clean softmax come from e^(-c) (once per line) and e^(-u) (once per node) instead of two
    /// exps per node (exp and log were most of a trades optimum's time), scaled as
    /// `scaledTerms` scales them (top = max(0, u - c) for u >= 0), then `tradesVertexLoss` at the
    /// piece's vertex, summed with the Gaussian weights. Returns the inner sums and the integral
    /// of phi(z2) L_e.
    func tradesLine(_ c: Double, _ geo: Geometry, rule: GaussLegendre, boundaries: [Double], pattern: [Int], kinks: [Double]) -> (Inner, Double) {
        var r = Inner()
        var le = 0.0
        let down = exp(-c), up = 1 / down
        let e = geo.e, su = geo.su
        var piece = 0
        for q in 0..<(boundaries.count - 1) {
            let a = boundaries[q], b = boundaries[q + 1]
            if b - a <= 0 { continue }
            let panelRule = rule.onPanel(a, b, tailStart: tailStart)
            let half = 0.5 * (b - a), mid = 0.5 * (a + b)
            while piece < kinks.count && kinks[piece] < mid { piece += 1 }
            let vertex = Self.vertices[pattern[piece]], shift = geo.tradesShifts[pattern[piece]]
            panelRule.nodes.withUnsafeBufferPointer { nodes in
                panelRule.weights.withUnsafeBufferPointer { weights in
                    for j in 0..<nodes.count {
                        let z2 = mid + half * nodes[j]
                        let weight = half * weights[j] * Normal.pdf(z2)
                        let u = su * z2
                        let eu = exp(-u)
                        // top = max(0, -(c + u), -(c - u)) = max(0, u - c) as u >= 0.
                        let (l, l1, l2, lE) = c >= u
                            ? tradesVertexLoss(vertex, shift, top: 0, 1, down * eu, down / eu, e)
                            : tradesVertexLoss(vertex, shift, top: u - c, up * eu, eu * eu, 1, e)
                        r.value += weight * l
                        r.c += weight * (l1 + l2)
                        r.uz += weight * (l1 - l2) * z2
                        le += weight * lE
                    }
                }
            }
        }
        return (r, le)
    }

    /// Whether the fixed panels resolve this point: the outer panels are at most 3 margin units
    /// wide, so their number grows with the margin scale (sigma times the weights); beyond
    /// `Panels.maxPiecesPerGap` panels the adaptive reference path is used instead.
    func isTractable(w1: Double, w2: Double) -> Bool {
        let geo = geometry(w1, w2)
        let sc = geo.sc
        guard sc.isFinite && 2 * Self.cut * sc / 3 <= Double(Panels.maxPiecesPerGap) else { return false }
        // ls: only where its kinks are closed forms (e^(e), e^(-c) inside Double's range); the
        // scan-and-bisect fallback is for trades and costs minutes at margin scales ~1e3.
        if case .ls = kind { return closedFormLines(geo) != nil }
        if case .trades = kind { return tradesCertifiable(geo) }
        return true
    }

    /// Value with an error estimate: the working rule against the verification rule (twice the
    /// order on the same panels; on these analytic pieces the error falls geometrically with
    /// the order, so the difference bounds the working rule's error), plus the truncated tails.
    ///
    /// trades: first on `evaluate`'s sub-pieces (`outerSplits`), reusing `working` when it is
    /// the working-rule result at this point (the optimisers' last evaluation, whose plan is
    /// reused too), when their bound meets `tolerance`; otherwise (or with no tolerance) both
    /// rules on twice as many sub-pieces (see `tradesOuterSplits`), and with a tolerance that
    /// they miss, on up to four times as many again. ce and ls: on the plan's pieces, and with a
    /// tolerance that they miss, on up to four times as many sub-pieces.
    func estimate(w1: Double, w2: Double, tolerance: Double? = nil, working: Result? = nil) -> (result: Result, errorBound: Double, gradientError: Double) {
        let geo = geometry(w1, w2)
        let pieces = working.flatMap { $0.pieces.isEmpty ? nil : $0.pieces } ?? plan(geo)
        let growth = 1 + abs(w1 * structure.muE + w2 * structure.muC) + 2 * eps * (w1 + w2)
            + Self.cut * (w1 + w2) * (structure.sigmaE + structure.sigmaC + structure.tau)
        var scaleFactor = 1.0
        if case .trades(let beta) = kind { scaleFactor += beta }
        let tail = 4 * Normal.upperTail(Self.cut) * growth * scaleFactor
        /// The reported result and its bounds from the two rules' results r (working) and v.
        func bounded(_ r: Result, _ v: Result) -> (result: Result, errorBound: Double, gradientError: Double) {
            let gradientError = max(abs(r.gradient.w1 - v.gradient.w1), abs(r.gradient.w2 - v.gradient.w2)) + tail * 10
            guard case .trades = kind else { return (r, abs(r.value - v.value) + tail + 1e-15 * abs(r.value), gradientError) }
            // trades reports the verification rule's value and gradient, bounded by their
            // difference from the working rule's: the 24-point error is a small fraction of the
            // 12-point one (geometric convergence on analytic pieces; measured about 1/10 at
            // margin scales ~8), while the difference alone can fall just short of the 12-point
            // error when both rules err on the same side (measured: 2.0e-12 against 2.2e-12).
            // Rounding: sums of thousands of node terms (measured differences from a converged
            // evaluation up to 3.6e-15 at |R| ~ 0.5).
            return (v, abs(r.value - v.value) + tail + 1e-14 * (1 + abs(v.value)), gradientError)
        }
        /// Both rules on `splits` times `plan`'s outer pieces, bounded.
        func refined(_ splits: Int) -> (result: Result, errorBound: Double, gradientError: Double) {
            var fine = self
            fine.outerSplits = splits
            return bounded(fine.integrate(pieces, geo, .working), fine.integrate(pieces, geo, .verification))
        }
        // (A working-rule result handed in was integrated on these pieces: reused as it is.)
        let onPieces = { bounded(working ?? integrate(pieces, geo, .working), integrate(pieces, geo, .verification)) }
        var splits: Int
        var result: (result: Result, errorBound: Double, gradientError: Double)
        if case .trades = kind {
            if let tolerance {
                let halved = onPieces()
                if halved.errorBound <= tolerance { return halved }
            }
            splits = 2 * outerSplits
            result = refined(splits)
        } else {
            splits = outerSplits
            result = onPieces()
        }
        // Where that misses the tolerance, twice and four times as many sub-pieces again, the
        // best-bounded kept: at large margin scales the value was reported NOT converged at the
        // default tolerance 1e-10 (trades:6 on paper3 with sigma = mu, tau 0.2, |W| = 5, eps 0.35
        // and 0.49, quarters bounded by 1.7e-10 and 4.5e-10, `DenseGridTests`; ls:0.1's optimum
        // at sigma 0.2, eps 0.4, bounded by 2.6e-10 on the plan's pieces, results/phase_paper3.csv).
        if let tolerance {
            for _ in 0..<2 where result.errorBound > tolerance {
                splits *= 2
                let finer = refined(splits)
                if finer.errorBound < result.errorBound { result = finer }
            }
        }
        return result
    }
}

// MARK: trades kinks by certified root isolation

/// Real polynomials in t with Double coefficients (lowest degree first), for isolating the
/// critical points of the trades vertex differences (`PairObjective.tradesRoots`).
enum RealPolynomial {
    /// Disjoint intervals of (a, b) (a > 0) each holding exactly one root of p by Descartes'
    /// rule (Vincent-Collins-Akritas bisection, geometric splits where b / a > 4); an interval
    /// narrower than 1e-13 relative with more sign changes is returned as it is (a near-multiple
    /// root: its middle is used as a split point, which is always safe).
    /// `budget` caps the intervals examined (a polynomial that is zero up to rounding would
    /// otherwise split to the bottom everywhere); an interval left when it runs out is
    /// returned as it is.
    /// `single`: the interval holds exactly one root (one sign change).
    static func isolate(_ p: Fixed, _ a: Double, _ b: Double, depth: Int = 0, changes: Int? = nil, budget: inout Int,
                        into out: inout [(lo: Double, hi: Double, single: Bool)]) {
        budget -= 1
        let v = changes ?? p.signChanges(on: a, b)
        if v == 0 { return }
        if v == 1 || depth > 60 || budget <= 0 || b - a <= 1e-13 * b { out.append((a, b, v == 1)); return }
        let m = b > 4 * a ? (a * b).squareRoot() : 0.5 * (a + b)
        isolate(p, a, m, depth: depth + 1, budget: &budget, into: &out)
        if p.value(m) == 0 { out.append((m, m, true)) }
        isolate(p, m, b, depth: depth + 1, budget: &budget, into: &out)
    }

    /// The roots of p in (a, b) (0 < a < b): isolated (`isolate`, budget 64) and solved
    /// (`root`); `complete` is false when the budget ran out (an interval may then hold more
    /// than one root).
    static func roots(_ p: Fixed, _ a: Double, _ b: Double) -> (roots: [Double], complete: Bool) {
        let (intervals, complete) = isolated(p, a, b)
        return (intervals.map { $0.lo == $0.hi ? $0.lo : root(p, $0.lo, $0.hi) }, complete)
    }

    /// The isolating intervals of p's roots in (a, b) (`isolate`, budget 64); `complete` is
    /// false when the budget ran out.
    static func isolated(_ p: Fixed, _ a: Double, _ b: Double) -> (intervals: [(lo: Double, hi: Double, single: Bool)], complete: Bool) {
        // No root in (a, b) (most calls in a trades evaluation): no array is allocated.
        let changes = p.signChanges(on: a, b)
        if changes == 0 { return ([], true) }
        var intervals: [(lo: Double, hi: Double, single: Bool)] = []
        intervals.reserveCapacity(8)
        var budget = 64
        isolate(p, a, b, changes: changes, budget: &budget, into: &intervals)
        return (intervals, budget > 0)
    }

    /// Where in (a, b) (0 < a < b) a function g with g' of the sign of `sign * p` can have a
    /// local minimum: the roots of p isolated as `roots` isolates them, except those known to
    /// be local maxima (the only root of its interval, with sign * p > 0 at the interval's left
    /// end and < 0 at its right), which are not solved. Every other root is solved and
    /// returned (a minimum, or a root that isolation could not classify). `complete` as in
    /// `roots`.
    static func minima(_ p: Fixed, _ a: Double, _ b: Double, sign: Double) -> (points: [Double], complete: Bool) {
        let (intervals, complete) = isolated(p, a, b)
        if intervals.isEmpty { return ([], complete) }
        var points: [Double] = []
        for i in intervals {
            if i.lo == i.hi { points.append(i.lo); continue }
            if i.single && sign * p.value(i.lo) > 0 && sign * p.value(i.hi) < 0 { continue }
            points.append(root(p, i.lo, i.hi))
        }
        return (points, complete)
    }

    /// The root of p in [a, b] (0 < a < b) where p changes sign, to ~1e-15 relative in t (the
    /// interval can span e^50); the geometric middle if p does not change sign. Newton in t,
    /// safeguarded by the sign-changing bracket: a step that leaves the bracket or does not
    /// halve the previous one is a bisection (geometric where hi > 4 lo: p can be flat across a
    /// wide bracket). Measured: ~5 evaluations of p and p' against ~10 of p (plus an exp each
    /// in log t) for the Illinois steps this replaced, to the same 1e-15.
    static func root(_ p: Fixed, _ a: Double, _ b: Double) -> Double {
        let flo = p.value(a), fhi = p.value(b)
        if flo == 0 { return a }
        if fhi == 0 { return b }
        if (flo > 0) == (fhi > 0) { return (a * b).squareRoot() }
        var lo = a, hi = b
        let lowPositive = flo > 0
        func middle() -> Double { hi > 4 * lo ? (lo * hi).squareRoot() : 0.5 * (lo + hi) }
        var x = middle()
        var previousStep = hi - lo
        for _ in 0..<200 {
            let (f, slope) = p.valueAndSlope(x)
            if f == 0 { return x }
            if (f > 0) == lowPositive { lo = x } else { hi = x }
            var next = x - f / slope
            // A Newton step this small is the root to ~1e-14 (quadratic convergence), or
            // rounding noise of p near its root, which cannot be bisected further in fewer
            // than ~50 steps.
            if abs(next - x) <= 1e-14 * x { return next }
            if !(next > lo && next < hi) || abs(next - x) > 0.5 * previousStep { next = middle() }
            if hi - lo <= 1e-15 * hi { return next }
            let step = abs(next - x)
            previousStep = step
            x = next
        }
        return x
    }

    /// A polynomial of degree <= 7 in a fixed-size vector (lowest degree first): the trades
    /// kink isolation runs on thousands of inner lines, and array allocation dominated it.
    struct Fixed {
        var c = SIMD8<Double>()
        var degree = 0

        init() {}
        init(_ p: [Double]) {
            precondition(p.count >= 1 && p.count <= 8)
            for k in p.indices { c[k] = p[k] }
            degree = p.count - 1
        }
        init(_ c0: Double, _ c1: Double, _ c2: Double) { c[0] = c0; c[1] = c1; c[2] = c2; degree = 2 }

        var coefficients: [Double] { (0...degree).map { c[$0] } }

        static func * (p: Fixed, q: Fixed) -> Fixed {
            var out = Fixed()
            out.degree = p.degree + q.degree
            precondition(out.degree < 8)
            for i in 0...p.degree { for j in 0...q.degree { out.c[i + j] += p.c[i] * q.c[j] } }
            return out
        }
        static func + (p: Fixed, q: Fixed) -> Fixed {
            var out = Fixed()
            out.c = p.c + q.c
            out.degree = max(p.degree, q.degree)
            return out
        }
        static func * (p: Fixed, s: Double) -> Fixed {
            var out = p
            out.c = p.c * s
            return out
        }
        var derivative: Fixed {
            var out = Fixed()
            guard degree > 0 else { return out }
            for k in 1...degree { out.c[k - 1] = Double(k) * c[k] }
            out.degree = degree - 1
            return out
        }
        // The loops below read and write the coefficients through raw memory: SIMD8's
        // subscript with a run-time index compiled to ~10x slower code (measured: 570 ns
        // against 70 ns per `signChanges`), and these run millions of times per trades optimum.
        @inline(__always)
        func value(_ t: Double) -> Double {
            withUnsafeBytes(of: c) { raw in
                var v = 0.0
                var k = degree
                while k >= 0 { v = v * t + raw.load(fromByteOffset: 8 * k, as: Double.self); k -= 1 }
                return v
            }
        }
        /// p(t) and p'(t) by Horner's rule.
        @inline(__always)
        func valueAndSlope(_ t: Double) -> (Double, Double) {
            withUnsafeBytes(of: c) { raw in
                var v = 0.0, d = 0.0
                var k = degree
                while k >= 0 { d = d * t + v; v = v * t + raw.load(fromByteOffset: 8 * k, as: Double.self); k -= 1 }
                return (v, d)
            }
        }
        /// Sign changes of the coefficients of (1 + x)^n p((a + b x) / (1 + x)), whose positive
        /// roots x are the roots of p in (a, b): by Descartes' rule an upper bound on their
        /// number, of the same parity. Without heap allocation (the inner loop of the trades
        /// kink isolation): with r(y) = p(a + (b - a) y) (a Taylor shift by a, then a scaling),
        /// that polynomial is sum r_k x^k (1 + x)^(n - k) = x^n S(1/x) with S(t) = R(1 + t), R
        /// the reversal of r; so its coefficients are those of S reversed, with the same sign
        /// changes.
        func signChanges(on a: Double, _ b: Double) -> Int {
            degree == 6 ? signChangesDegree6(on: a, b) : signChangesByLoops(on: a, b)
        }

        /// `signChanges` for any degree (loops over a temporary buffer).
        func signChangesByLoops(on a: Double, _ b: Double) -> Int {
            let n = degree
            return withUnsafeTemporaryAllocation(of: Double.self, capacity: 16) { buffer -> Int in
                let r = buffer.baseAddress!, q = r + 8
                withUnsafeBytes(of: c) { raw in
                    for k in 0...n { r[k] = raw.load(fromByteOffset: 8 * k, as: Double.self) }
                }
                for i in 0..<n {
                    var k = n - 1
                    while k >= i { r[k] += a * r[k + 1]; k -= 1 }
                }
                var f = 1.0
                let w = b - a
                for k in 0...n { q[n - k] = r[k] * f; f *= w }
                for i in 0..<n {
                    var k = n - 1
                    while k >= i { q[k] += q[k + 1]; k -= 1 }
                }
                var count = 0, last = 0.0
                for k in 0...n where q[k] != 0 {
                    if last != 0 && (q[k] > 0) != (last > 0) { count += 1 }
                    last = q[k]
                }
                return count
            }
        }

        /// `signChanges` for degree 6 (every trades critical polynomial), written out in
        /// registers with the loops' order of operations (the same bits): ~5x fewer
        /// instructions than the loops over a temporary buffer, and this runs ~10^5 times per
        /// trades optimum.
        @inline(__always)
        func signChangesDegree6(on a: Double, _ b: Double) -> Int {
            var r0 = c[0], r1 = c[1], r2 = c[2], r3 = c[3], r4 = c[4], r5 = c[5]
            let r6 = c[6]
            // Taylor shift by a: for i in 0..<6, for k from 5 down to i, r_k += a r_(k+1).
            r5 += a * r6; r4 += a * r5; r3 += a * r4; r2 += a * r3; r1 += a * r2; r0 += a * r1
            r5 += a * r6; r4 += a * r5; r3 += a * r4; r2 += a * r3; r1 += a * r2
            r5 += a * r6; r4 += a * r5; r3 += a * r4; r2 += a * r3
            r5 += a * r6; r4 += a * r5; r3 += a * r4
            r5 += a * r6; r4 += a * r5
            r5 += a * r6
            // q_(6-k) = r_k w^k, then the Taylor shift by 1.
            let w = b - a
            var f = 1.0
            let q6 = r0 * f; f *= w
            var q5 = r1 * f; f *= w
            var q4 = r2 * f; f *= w
            var q3 = r3 * f; f *= w
            var q2 = r4 * f; f *= w
            var q1 = r5 * f; f *= w
            var q0 = r6 * f
            q5 += q6; q4 += q5; q3 += q4; q2 += q3; q1 += q2; q0 += q1
            q5 += q6; q4 += q5; q3 += q4; q2 += q3; q1 += q2
            q5 += q6; q4 += q5; q3 += q4; q2 += q3
            q5 += q6; q4 += q5; q3 += q4
            q5 += q6; q4 += q5
            q5 += q6
            var count = 0, last = 0.0
            @inline(__always) func visit(_ q: Double) {
                guard q != 0 else { return }
                if last != 0 && (q > 0) != (last > 0) { count += 1 }
                last = q
            }
            visit(q0); visit(q1); visit(q2); visit(q3); visit(q4); visit(q5); visit(q6)
            return count
        }
    }
}

extension PairObjective {
    /// trades: the difference of two vertices' terms along the inner line at c,
    /// G_ij(u) = KL_i - KL_j = softplus(d + e V_i) - softplus(d + e V_j) + e p.(V_i - V_j),
    /// d = (c + u, c - u), p the clean wrong-class probabilities.
    @inline(__always)
    func tradesDifference(_ i: Int, _ j: Int, _ c: Double, _ u: Double, _ e: Double) -> Double {
        let d1 = c + u, d2 = c - u
        // The clean probabilities as `softplus` computes them (the same bits), without its log.
        let (_, e0, e1, e2) = Self.scaledTerms(d1, d2)
        let sum = e0 + e1 + e2
        let p1 = e1 / sum, p2 = e2 / sum
        let vi = Self.vertices[i], vj = Self.vertices[j]
        return Self.softplus(d1 + e * vi.0, d2 + e * vi.1).0 - Self.softplus(d1 + e * vj.0, d2 + e * vj.1).0
            + e * (p1 * (vi.0 - vj.0) + p2 * (vi.1 - vj.1))
    }

    /// The line's scaled quadratics A_v of `tradesCriticalPolynomial` (every vertex) and its
    /// r = e^(-c), built once per inner line for all the pairs examined on it (`tradesRoots`,
    /// `tradesContinued`): 20 exps once instead of 8 per pair.
    struct CriticalBasis {
        var quadratics: [(Double, Double, Double)]
        var r: Double, one: Double
        init(_ c: Double, _ e: Double) {
            quadratics = PairObjective.vertices.map { v in
                let l0 = -e * v.0 - c, l2 = -e * v.1 - c
                let m = max(l0, 0, l2)
                return (exp(l0 - m), exp(-m), exp(l2 - m))
            }
            let m = max(-c, 0)
            r = exp(-c - m); one = exp(-m)
        }
    }

    /// The sign of dG_ij/dt along the inner line at c (t = e^u, X = e^(-c-u) = r / t,
    /// Y = e^(-c+u) = r t, r = e^(-c)) is that of a polynomial of degree <= 6 in t:
    /// with A_v = t (1 + X a_v1 + Y a_v2) = a_v1 r + t + a_v2 r t^2 (a_vk = e^(-e V_vk)),
    /// L = t (1 + X + Y) and N = t (X dV1 + Y dV2) (dV = V_i - V_j),
    ///   G = log A_i - log A_j + e N / L,
    ///   G' A_i A_j L^2 = (A_i' A_j - A_i A_j') L^2 + e (N' L - N L') A_i A_j,
    /// and A_i, A_j, L > 0 for t > 0. Each quadratic is scaled by a positive constant (its
    /// largest coefficient, from logarithms) first, which keeps the sign and Double's range.
    func tradesCriticalPolynomial(_ i: Int, _ j: Int, _ basis: CriticalBasis, _ e: Double) -> RealPolynomial.Fixed {
        // Written out (this runs for every isolated pair on every inner line): for quadratics
        // a, b, a' b - a b' = (a1 b0 - a0 b1) + 2 (a2 b0 - a0 b2) t + (a2 b1 - a1 b2) t^2 (the
        // t^3 terms cancel), so the result has degree 6.
        func wronskian(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> (Double, Double, Double) {
            (a.1 * b.0 - a.0 * b.1, 2 * (a.2 * b.0 - a.0 * b.2), a.2 * b.1 - a.1 * b.2)
        }
        func square(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> SIMD8<Double> {
            SIMD8(a.0 * b.0, a.0 * b.1 + a.1 * b.0, a.0 * b.2 + a.1 * b.1 + a.2 * b.0, a.1 * b.2 + a.2 * b.1, a.2 * b.2, 0, 0, 0)
        }
        let vi = Self.vertices[i], vj = Self.vertices[j]
        let ai = basis.quadratics[i], aj = basis.quadratics[j]
        let r = basis.r, one = basis.one
        let l = (r, one, r)
        let n = ((vi.0 - vj.0) * r, 0.0, (vi.1 - vj.1) * r)
        let d = wronskian(ai, aj), dn = wronskian(n, l)
        let ll = square(l, l), aa = square(ai, aj)
        var out = RealPolynomial.Fixed()
        out.degree = 6
        // In raw memory (see `Fixed.value`), in the same order of operations.
        withUnsafeMutableBytes(of: &out.c) { o in
            func add(_ k: Int, _ x: Double) { o.storeBytes(of: o.load(fromByteOffset: 8 * k, as: Double.self) + x, toByteOffset: 8 * k, as: Double.self) }
            withUnsafeBytes(of: ll) { lr in
                withUnsafeBytes(of: aa) { ar in
                    for k in 0..<5 {
                        let l = lr.load(fromByteOffset: 8 * k, as: Double.self), p = ar.load(fromByteOffset: 8 * k, as: Double.self)
                        add(k, d.0 * l + e * dn.0 * p)
                        add(k + 1, d.1 * l + e * dn.1 * p)
                        add(k + 2, d.2 * l + e * dn.2 * p)
                    }
                }
            }
        }
        return out
    }

    /// Every root in (0, top) of G_ij along the inner line at c (in u), certified: the
    /// critical points of G in t = e^u in (1, e^top) are isolated by Descartes' rule on the
    /// polynomial of `tradesCriticalPolynomial` and solved; G is monotone between them, so each
    /// sign change of G between consecutive critical points holds exactly one root (solved by
    /// Illinois in u to ~1e-15 relative), and no other root exists.
    func tradesRoots(_ i: Int, _ j: Int, _ c: Double, _ e: Double, top: Double, basis: CriticalBasis) -> [Double] {
        var splits = [0.0]
        for t in RealPolynomial.roots(tradesCriticalPolynomial(i, j, basis, e), 1, exp(top)).roots {
            let u = log(t)
            if u > splits[splits.count - 1] && u < top { splits.append(u) }
        }
        splits.append(top)
        var roots: [Double] = []
        // Mirror vertices (V_j = (V_i2, V_i1)) tie at u = 0 by symmetry: G_ij(0) = 0 exactly,
        // not a root inside (0, top).
        let vi = Self.vertices[i], vj = Self.vertices[j]
        var previous = vi.0 == vj.1 && vi.1 == vj.0 ? 0 : tradesDifference(i, j, c, 0, e)
        for k in 1..<splits.count {
            let a = splits[k - 1], b = splits[k]
            let next = tradesDifference(i, j, c, b, e)
            // A sign change within rounding (far out along u some vertices tie to rounding:
            // their terms are equal up to ~1e-16 relative) is no kink: whichever vertex is
            // taken there, the integrand is the same to rounding.
            let noise = 1e-14 * (1 + abs(c) + b + 2 * e)
            if max(abs(previous), abs(next)) <= noise {
            } else if (previous > 0 && next < 0) || (previous < 0 && next > 0) {
                roots.append(tradesKink(i, j, c, e, a, previous, b, next))
            } else if next == 0 && k < splits.count - 1 {
                roots.append(b)
            }
            previous = next
        }
        return roots
    }

    /// The root of G_ij in (a, b) where it changes sign (Illinois on G in u).
    func tradesKink(_ i: Int, _ j: Int, _ c: Double, _ e: Double, _ a: Double, _ fa: Double, _ b: Double, _ fb: Double) -> Double {
        illinoisRoot(a, fa, b, fb, keepInside: false, done: { lo, hi in hi - lo <= 1e-15 * max(1, hi) }) {
            tradesDifference(i, j, c, $0, e)
        }
    }

    /// Whether the trades kink roots are inside Double's range here (see
    /// `tradesCriticalPolynomial`: t^6 with t up to e^(cut su), e^(2 e) and e^(-c)).
    func tradesCertifiable(_ geo: Geometry) -> Bool {
        6 * Self.cut * geo.su < 600 && 2 * geo.e < 100 && abs(geo.mc) + Self.cut * geo.sc < 600
    }
}


/// The fixed-rule trades evaluation of `PairObjective` (the solvers' fast path for trades, see
/// `PairObjective.init`), exposed for audits against the reference path, scipy and brute force.
public enum FastTradesAudit {
    /// Value and error bound (working rule against verification rule), nil where the evaluator
    /// declines (not complement(3) under l_inf, or margins outside its certified range).
    /// `tolerance`: as `PairObjective.estimate` (the halved pieces when their bound meets it;
    /// `.infinity` always takes them).
    /// `fullOrderTails`: the full rules in the Gaussian tails too (`PairObjective.tailStart`).
    /// `certifiedLines`: every line's kinks certified afresh (`PairObjective.continuesKinks`).
    /// `bisectedBreaks`: the outer breaks by bisection only (`PairObjective.locatesEvents`).
    public static func estimate(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double,
                                tolerance: Double? = nil, fullOrderTails: Bool = false, certifiedLines: Bool = false,
                                bisectedBreaks: Bool = false) -> (value: Double, errorBound: Double)? {
        guard var p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        if fullOrderTails { p.tailStart = .infinity }
        if certifiedLines { p.continuesKinks = false }
        if bisectedBreaks { p.locatesEvents = false }
        let e = p.estimate(w1: w1, w2: w2, tolerance: tolerance)
        return (e.result.value, e.errorBound)
    }

    /// The outer breaks of the working rule's plan (`PairObjective.plan`, in z1): where the
    /// pattern of best vertices along the inner lines changes. `bisected`: every break by
    /// bisection on the patterns (`PairObjective.locatesEvents` off), for checking the
    /// located events against it.
    public static func breaks(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double, bisected: Bool = false) -> [Double]? {
        guard var p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        if bisected { p.locatesEvents = false }
        return p.plan(p.geometry(w1, w2)).filter(\.leftBreak).map(\.a)
    }

    /// How well the minimiser near (w1, w2) is determined: the working rule's gradient there,
    /// its Hessian (forward differences of that gradient, step 1e-5 |w|), and the gradient's
    /// error bound (working against verification rule, `PairObjective.estimate`).
    public static func stationarity(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double)
        -> (gradient: (Double, Double), hessian: [Double], gradientError: Double)? {
        guard let p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        let h = 1e-5 * (w1 * w1 + w2 * w2).squareRoot()
        let g = p.evaluate(w1: w1, w2: w2).gradient
        let a = p.evaluate(w1: w1 + h, w2: w2).gradient, b = p.evaluate(w1: w1, w2: w2 + h).gradient
        let off = 0.5 * ((a.w2 - g.w2) + (b.w1 - g.w1)) / h
        return ((g.w1, g.w2), [(a.w1 - g.w1) / h, off, off, (b.w2 - g.w2) / h], p.estimate(w1: w1, w2: w2).gradientError)
    }

    /// The working-rule value and gradient at `to` (the `coarse` rule's: `coarse`) continued
    /// from an evaluation at `from` (its breaks located again, `PairObjective.replan`), whether
    /// they were, and the same evaluated afresh, with both plans' breaks.
    public static func continued(model: DataModel, threat: ThreatModel, beta: Double, from: (w1: Double, w2: Double), to: (w1: Double, w2: Double), coarse: Bool = false)
        -> (continued: (value: Double, g1: Double, g2: Double, breaks: [Double]), replanned: Bool, freshPanels: Int,
            fresh: (value: Double, g1: Double, g2: Double, breaks: [Double]))? {
        guard let p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: from.w1, w2: from.w2), p.isTractable(w1: to.w1, w2: to.w2) else { return nil }
        let rule: GaussLegendre = coarse ? .coarse : .working
        let start = p.evaluate(w1: from.w1, w2: from.w2, rule: rule)
        let c = p.evaluate(w1: to.w1, w2: to.w2, rule: rule, continuing: start)
        let f = p.evaluate(w1: to.w1, w2: to.w2, rule: rule)
        return ((c.value, c.gradient.w1, c.gradient.w2, c.breaks.map(\.z)), c.replanned, c.freshPanels, (f.value, f.gradient.w1, f.gradient.w2, f.breaks.map(\.z)))
    }

    /// The integration's kinks along the lines of every outer piece (the working rule's nodes
    /// in z1, each line's kinks continued from the previous line's, `tradesContinued`), with
    /// the kinks certified afresh on the same line (`innerKinks`), and the number of lines
    /// where the continuation declined (those are certified, as the integration does). Each
    /// continued line comes with its whitened geometry (c, su, e), as `innerPattern`'s.
    public static func continuation(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double)
        -> (lines: [(continued: (pattern: [Int], kinks: [Double]), certified: (pattern: [Int], kinks: [Double]), c: Double, su: Double, e: Double)], declined: Int)? {
        guard let p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        let geo = p.geometry(w1, w2)
        guard geo.su > 0 else { return nil }
        var lines: [(continued: (pattern: [Int], kinks: [Double]), certified: (pattern: [Int], kinks: [Double]), c: Double, su: Double, e: Double)] = []
        var declined = 0
        for piece in p.plan(geo) {
            var neighbour: PairObjective.InnerKinks? = nil
            for node in GaussLegendre.working.nodes {
                let c = geo.mc + geo.sc * (piece.a + (piece.b - piece.a) * 0.5 * (node + 1))
                let certified = p.innerKinks(c, geo, [])
                guard let previous = neighbour else { neighbour = certified; continue }
                guard let line = p.tradesContinued(c, geo, from: previous) else { declined += 1; neighbour = certified; continue }
                lines.append((line, certified, c, geo.su, geo.e))
                neighbour = line
            }
        }
        return (lines, declined)
    }

    /// The value on `plan`'s outer pieces each split into `outerSplits` equal sub-pieces, with
    /// Gauss-Legendre rules of the given orders over z1 (outer) and z2 (inner), everywhere (the
    /// tails included): for convergence studies of the fixed rules.
    /// `gradedPanels`: the outer and inner panels as graded, without merging the narrowest
    /// (`PairObjective.mergesPanels`).
    public static func value(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double,
                             outerSplits: Int, outerOrder: Int, innerOrder: Int, gradedPanels: Bool = false) -> Double? {
        guard var p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        if gradedPanels { p.mergesPanels = false }
        p.outerSplits = outerSplits
        p.tailStart = .infinity
        let geo = p.geometry(w1, w2)
        return p.integrate(p.plan(geo), geo, GaussLegendre(order: outerOrder), innerRule: GaussLegendre(order: innerOrder)).value
    }

    /// The best vertices along the inner line at z1 (indices into the hexagon's vertices
    /// (-2,-2), (0,-2), (2,0), (2,2), (0,2), (-2,0), in units of e = eps (w1 + w2)), in order of
    /// z2 >= 0, and the kinks (z2) between them; with the whitened geometry (c, su, e) of the
    /// line: the margins at z2 are (c + su z2, c - su z2).
    /// `allPairs`: from the roots of all 15 vertex differences instead of following the upper
    /// envelope (the solvers' way), for checking one against the other.
    public static func innerPattern(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double, z1: Double, allPairs: Bool = false)
        -> (pattern: [Int], kinks: [Double], c: Double, su: Double, e: Double)? {
        guard let p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        let geo = p.geometry(w1, w2)
        let c = geo.mc + geo.sc * z1
        let s = allPairs && geo.su > 0 ? p.tradesAllPairs(c, geo) : p.innerKinks(c, geo, [])
        return (s.pattern, s.kinks, c, geo.su, geo.e)
    }

    /// The vertex differences G_ab (`tradesDifference`, as the certification compares them)
    /// along the inner line at z1 on [us, ut] (in u): the box's lower bound (`TradesBox`), the
    /// vertex-term differences at the ends (`tradesVertexTerms`), and whether the terms find
    /// `a` clearly best at us (`tradesClearlyBest`) with `loss`'s label there.
    public static func vertexBounds(model: DataModel, threat: ThreatModel, beta: Double, w1: Double, w2: Double, z1: Double,
                                    us: Double, ut: Double, a: Int, b: Int)
        -> (box: Double?, atStart: Double, atEnd: Double, clearlyBest: Bool, label: Int, difference: (Double) -> Double)? {
        guard let p = PairObjective(model: model, threat: threat, objective: .trades(beta: beta), trades: true),
              p.isTractable(w1: w1, w2: w2) else { return nil }
        let geo = p.geometry(w1, w2)
        let c = geo.mc + geo.sc * z1
        let hs = p.tradesVertexTerms(c, us, geo), ht = p.tradesVertexTerms(c, ut, geo)
        return (PairObjective.TradesBox(c, us, ut, geo)?.lowerBound(a, b, geo), hs[a] - hs[b], ht[a] - ht[b],
                p.tradesClearlyBest(a, c, us, geo), p.loss(c + us, c - us, geo.e).4, { p.tradesDifference(a, b, c, $0, geo.e) })
    }

    /// Descartes' sign changes of the polynomial (lowest degree first, degree <= 7) on (a, b):
    /// the written-out degree-6 count (nil for another degree) and the loops' count.
    public static func signChanges(_ coefficients: [Double], on a: Double, _ b: Double) -> (written: Int?, loops: Int) {
        let p = RealPolynomial.Fixed(coefficients)
        return (p.degree == 6 ? p.signChangesDegree6(on: a, b) : nil, p.signChangesByLoops(on: a, b))
    }
}

/// Illinois (regula falsi whose stale end's value is halved) for the root of f in a bracket
/// [lo, hi] where f changes sign, with a bisection step every fourth iteration (f can be
/// exponentially flat along a wide bracket), until `done(lo, hi)` or 200 steps; the bracket's
/// midpoint unless a step hits 0 exactly. `keepInside`: a secant step that leaves (lo, hi)
/// becomes a bisection step, and the search stops when the bracket cannot shrink.
@inline(__always)
func illinoisRoot(
    _ lo0: Double, _ flo0: Double, _ hi0: Double, _ fhi0: Double, keepInside: Bool,
    done: (Double, Double) -> Bool, _ f: (Double) -> Double
) -> Double {
    var lo = lo0, hi = hi0, flo = flo0, fhi = fhi0
    var side = 0
    for iteration in 0..<200 {
        var m = iteration % 4 == 3 ? 0.5 * (lo + hi) : (lo * fhi - hi * flo) / (fhi - flo)
        if keepInside {
            if !(m > lo && m < hi) { m = 0.5 * (lo + hi) }
            if m <= lo || m >= hi { break }
        }
        let fm = f(m)
        if fm == 0 { return m }
        if (fm > 0) == (flo > 0) {
            lo = m; flo = fm
            if side == -1 { fhi *= 0.5 }
            side = -1
        } else {
            hi = m; fhi = fm
            if side == 1 { flo *= 0.5 }
            side = 1
        }
        if done(lo, hi) { break }
    }
    return 0.5 * (lo + hi)
}

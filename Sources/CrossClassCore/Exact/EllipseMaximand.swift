import Foundation
import GSL

/// A class's robust ls or trades loss under l_2 in two independent Gaussian line coordinates:
/// u = mu + su z1 along the inner lines, v = `vAt(z2)` across them, with the adversary's
/// objective f(t) = ce(m(t)) + k1 m1 + k2 m2 on the boundary t of the ellipse of margin shifts.
/// What the certified inner maximum, the kink scan along a line and the planning of the v
/// panels need; they are written once, here, for the symmetric family (`ClassPairLS`, lines in
/// the exchangeable coordinates, half the plane by the mirror) and for any W (`ClassPairLSGeneral`,
/// lines in the independent coordinates of `PairCoordinates`, the whole plane).
protocol EllipseMaximand: Sendable {
    /// trades' beta (nil for ls).
    var beta: Double? { get }
    var mu: Double { get }
    var su: Double { get }
    /// Compute the lines of one evaluation on all cores (same bits).
    var parallel: Bool { get }
    /// Panels beyond |z| = tailStart take half the rule's order (`GaussLegendre.onPanel`).
    var tailStart: Double { get }
    var meanX: [Double] { get }
    /// The regression coefficients of x on the two centred coordinates whose sums `Sums.gd`
    /// holds (Sigma D' C^-1 for d - E d; `ClassPairLS`: on (u - mu, v)), and D'(D D')^-1
    /// (n x 2), per coordinate (`gradient(_:)`).
    var regression: [(Double, Double)] { get }
    var preimage: [(Double, Double)] { get }
    /// Rounding level of f'(t).
    var derivativeNoise: Double { get }
    /// Global bound on |f'''|, and M >= |m^(j)(t)| for j >= 1.
    var thirdBound: Double { get }
    var shift: Double { get }
    /// The amplitudes of S = (m1 + m2) / 2 and T = (m1 - m2) / 2 along the ellipse (`ClassPairLS.splitBound`).
    var amplitudes: (s: Double, t: Double) { get }
    /// m(t) - (u, u) on the line at v, with its first two t-derivatives (u moves both shifted
    /// margins alike).
    func baseMargins(_ v: Double, _ c: Double, _ s: Double) -> BaseMargins
    /// Lower bounds of m(t) - (u, u) over [l.t, r.t] on the line at v (`localThirdBound`'s).
    func baseLows(_ v: Double, _ l: ClassPairLS.Point, _ r: ClassPairLS.Point) -> (b1: Double, b2: Double)
    /// The linear coefficients k of f at clean (u, v).
    func coefficients(_ u: Double, _ v: Double) -> (Double, Double)
    /// f, f', f'' at angle t (cos c, sin s).
    func inner(_ u: Double, _ v: Double, _ c: Double, _ s: Double, _ k: (Double, Double)) -> (f: Double, d1: Double, d2: Double)
    /// trades' concentrated bound's ranges over [l.t, r.t] on the line at v (`ConcentratedRanges`).
    func concentratedRanges(_ v: Double, _ l: ClassPairLS.Point, _ r: ClassPairLS.Point) -> ConcentratedRanges
    /// Whether the maximum is over the whole circle (else over [0, pi]).
    func onCircle(_ v: Double) -> Bool
    /// The u-panel ends (in z1) of the line at v, and its kinks.
    func uBoundaries(_ v: Double) -> (ends: [Double], kinks: [Double])?
    /// The kink structure of a line, whose changes are v-panel ends.
    func kinkSignature(_ kinks: [Double], _ v: Double) -> [Int8]
    /// v at z2, and back.
    func vAt(_ z: Double) -> Double
    func zOf(_ v: Double) -> Double
    /// The inner maximum at clean (u, v) and its maximiser as an angle (default: the certified
    /// maximum over the ellipse, `certifiedMaximum`, with the line's `AngleTable` when given, in
    /// `scratch` when given; a polygon's vertices map to angles).
    func maximum(_ u: Double, _ v: Double, along table: AngleTable?, scratch: MaximumScratch?) -> (value: Double, t: Double, flat: Bool)?
    /// The grid angles' table of the line at v (default: `AngleTable(self, v)`; nil where
    /// `maximum` does not use it).
    func angleTable(_ v: Double) -> AngleTable?
    /// The local maximum reached from the maximiser t (default: a Newton ascent, `ascent`).
    func localPeak(_ u: Double, _ v: Double, from start: Double) -> (f: Double, t: Double)
    /// The angle alpha of the line's mirror symmetry f(2 alpha - t) = f(t) for every u, when it
    /// has one (default: none).
    func mirrorAngle(_ v: Double) -> Double?
    /// Whether the local peak a beats the peak b at (u, v) (default: by their values; the
    /// polygon ranks values within rounding by their exact difference).
    func peakBeats(_ u: Double, _ v: Double, _ a: (f: Double, t: Double), _ b: (f: Double, t: Double)) -> Bool
    /// How far below the maximum of f at (u, v) its third-highest local maximum lies (default:
    /// the ellipse's, `ellipseThirdPeakGap`; the polygon's third-best vertex).
    func thirdPeakGap(_ u: Double, _ v: Double) -> Double
    /// Whether the maximisers a and b at (u, v) lie on one plateau of f, the maximum `top`
    /// (default: `arcIsPlateau`; a polygon's vertices are separate peaks: never).
    func onOnePlateau(_ u: Double, _ v: Double, _ a: Double, _ b: Double, top: Double) -> Bool
}

/// An interval of angles `certifiedMaximum` is to certify: its ends, its grid interval (-1
/// without a table), and whether it is the whole of that interval.
struct CertifiedInterval { var l: ClassPairLS.Point, r: ClassPairLS.Point, grid: Int, whole: Bool }

/// A last-in first-out stack of intervals in memory lent by the caller, spilling to an array
/// when that is full; it pops in the order an array's `popLast` would.
struct IntervalStack {
    private let buffer: UnsafeMutableBufferPointer<CertifiedInterval>
    private var count = 0
    private var spill: [CertifiedInterval] = []

    init(_ buffer: UnsafeMutableBufferPointer<CertifiedInterval>) { self.buffer = buffer }

    mutating func push(_ interval: CertifiedInterval) {
        if spill.isEmpty && count < buffer.count {
            buffer.initializeElement(at: count, to: interval)
            count += 1
        } else {
            spill.append(interval)
        }
    }

    mutating func pop() -> CertifiedInterval? {
        if let last = spill.popLast() { return last }
        guard count > 0 else { return nil }
        count -= 1
        return buffer[count]
    }
}

/// Scratch memory of `certifiedMaximum` for any grid of angles: the grid's points, its rising
/// intervals, and the stack of intervals to certify before it spills to an array. The l_2
/// lines and kink scans ask millions of maxima an optimum; memory lent once per line saves a
/// heap block or two a maximum (the runtime puts blocks above 1 kB on the heap).
struct MaximumScratch {
    let points: UnsafeMutableBufferPointer<ClassPairLS.Point>
    let rising: UnsafeMutableBufferPointer<Int>
    let stack: UnsafeMutableBufferPointer<CertifiedInterval>

    /// `body` with scratch for grids of up to `count` points (memory valid inside it only).
    static func with<R>(count: Int = ClassPairLS.circleGrid.count, _ body: (MaximumScratch) -> R) -> R {
        withUnsafeTemporaryAllocation(of: ClassPairLS.Point.self, capacity: count) { points in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { rising in
                withUnsafeTemporaryAllocation(of: CertifiedInterval.self, capacity: 2 * count + 8) { stack in
                    body(MaximumScratch(points: points, rising: rising, stack: stack))
                }
            }
        }
    }
}

/// One u line's quadrature nodes: u, the maximiser t, and the weight (with the v weight).
typealias EllipseLine = [(u: Double, t: Double, w: Double)]

/// Over an interval of angles on one line: m_k(t) in u + [low_k, high_k] and T = (m1 - m2) / 2
/// in [tLow, tHigh] (u moves both margins alike, so T's range does not depend on it): what
/// trades' concentrated bound (`ClassPairLS.concentratedBound`) needs, up to u.
struct ConcentratedRanges {
    var low1: Double, high1: Double, low2: Double, high2: Double, tLow: Double, tHigh: Double

    /// The exponentials of `ClassPairLS.concentratedBound` at u = 0 (unclamped): e^{-low_k},
    /// e^{high_k}, and (clamped at e, as they do not move with u) e^{2 tHigh}, e^{-2 tLow}.
    var exponentials: ConcentratedExponentials {
        ConcentratedExponentials(low1: exp(-low1), low2: exp(-low2), high1: exp(high1), high2: exp(high2),
                                 tHigh: exp(min(2 * tHigh, 1)), tLow: exp(min(-2 * tLow, 1)))
    }

    /// `ClassPairLS.splitBound`'s exponentials at u, unclamped: e^{-u - low_k}, e^{-u - high_k},
    /// e^{2 tLow}, e^{2 tHigh} (a line's table keeps them at u = 0; without one, e^{-u} e^{-low_k}
    /// could be 0 times infinity).
    func splitExponentials(at u: Double) -> SplitExponentials {
        SplitExponentials(n1Low: exp(-u - low1), n1High: exp(-u - high1), n2Low: exp(-u - low2), n2High: exp(-u - high2),
                          t2Low: exp(2 * tLow), t2High: exp(2 * tHigh))
    }

    /// The concentrated bound's exponentials at u, each clamped at e (without a line's table).
    func exponentials(at u: Double) -> ConcentratedExponentials {
        ConcentratedExponentials(low1: exp(min(-u - low1, 1)), low2: exp(min(-u - low2, 1)),
                                 high1: exp(min(u + high1, 1)), high2: exp(min(u + high2, 1)),
                                 tHigh: exp(min(2 * tHigh, 1)), tLow: exp(min(-2 * tLow, 1)))
    }
}

/// `ConcentratedRanges.exponentials`; at u, e^{-m_k low} = e^{-u} low_k and e^{m_k high} = e^u high_k.
struct ConcentratedExponentials { var low1: Double, low2: Double, high1: Double, high2: Double, tHigh: Double, tLow: Double }

/// `ClassPairLS.splitBound`'s exponentials: e^{-m_k} at the ends of m_k's range (n_k low and
/// high), e^{2T} at T's; at u, e^{-m} = e^{-u} e^{-b} (T does not move with u).
struct SplitExponentials {
    var n1Low: Double, n1High: Double, n2Low: Double, n2High: Double, t2Low: Double, t2High: Double

    /// The same at u from those at u = 0 (`scale` = e^{-u}).
    @inline(__always)
    func scaled(_ scale: Double) -> SplitExponentials {
        SplitExponentials(n1Low: scale * n1Low, n1High: scale * n1High, n2Low: scale * n2Low, n2High: scale * n2High,
                          t2Low: t2Low, t2High: t2High)
    }
}

/// The shifted margins at u = 0 and their first two derivatives in the angle t.
struct BaseMargins { var b1: Double; var b2: Double; var b1p: Double; var b2p: Double; var b1pp: Double; var b2pp: Double }

/// The inner maximum's grid angles on one line (fixed v), at u = 0. Along a line u moves both
/// shifted margins alike, m(t) = (u, u) + b(t), so e^{-m_k} = e^{-u} e^{-b_k}: with b, its
/// derivatives and e^{-b} tabulated once per line, f, f', f'' at a grid angle cost one log1p
/// instead of the softmax's two or three exponentials and a log, and the grid intervals'
/// probability bounds e^{-min m_k} (`ClassPairLS.localBound`) cost none. The lines' nodes and
/// the kink scans' points share their line's table.
struct AngleTable {
    struct Entry { let t: Double, c: Double, s: Double; let base: BaseMargins; let e1: Double, e2: Double }
    /// The grid (`ClassPairLS.grid`, or `circleGrid` when the maximum is over the circle).
    let entries: [Entry]
    /// Per grid interval [entries[i], entries[i + 1]]: the lower bounds of b and e^{-b} there.
    let lows: [(b1: Double, b2: Double, e1: Double, e2: Double)]
    /// The largest e^{-b} of the grid and of the lower bounds (e^{-u} times it must not overflow).
    let largest: Double
    /// trades: per grid interval, the exponentials of its concentrated bound at u = 0.
    let concentrated: [ConcentratedExponentials]
    /// Per grid interval, the exponentials of its split bound at u = 0 (`ClassPairLS.splitBound`).
    let split: [SplitExponentials]

    init<M: EllipseMaximand>(_ maximand: M, _ v: Double) {
        let grid = maximand.onCircle(v) ? ClassPairLS.circleGrid : ClassPairLS.grid
        var largest = 0.0
        entries = grid.map { g in
            let b = maximand.baseMargins(v, g.c, g.s)
            let e1 = exp(-b.b1), e2 = exp(-b.b2)
            largest = max(largest, e1, e2)
            return Entry(t: g.t, c: g.c, s: g.s, base: b, e1: e1, e2: e2)
        }
        var lows: [(b1: Double, b2: Double, e1: Double, e2: Double)] = []
        var concentrated: [ConcentratedExponentials] = []
        var split: [SplitExponentials] = []
        lows.reserveCapacity(grid.count - 1)
        split.reserveCapacity(grid.count - 1)
        for i in 0..<(grid.count - 1) {
            let l = ClassPairLS.Point(t: grid[i].t, c: grid[i].c, s: grid[i].s, f: 0, d1: 0, d2: 0)
            let r = ClassPairLS.Point(t: grid[i + 1].t, c: grid[i + 1].c, s: grid[i + 1].s, f: 0, d1: 0, d2: 0)
            let b = maximand.baseLows(v, l, r)
            let e1 = exp(-b.b1), e2 = exp(-b.b2)
            largest = max(largest, e1, e2)
            lows.append((b.b1, b.b2, e1, e2))
            let ranges = maximand.concentratedRanges(v, l, r)
            if maximand.beta != nil { concentrated.append(ranges.exponentials) }
            split.append(ranges.splitExponentials(at: 0))
        }
        self.lows = lows
        self.concentrated = concentrated
        self.split = split
        self.largest = largest
    }
}

extension EllipseMaximand {
    /// The kink signature of the line at v (`kinkSignature`) whose known kinks (trades' kinks
    /// of symmetry) lie at `plusOne` and `minusOne` (in z1): per kink, +1 or -1 on them
    /// (`onKnownKink`), 0 elsewhere; a run of kinks on one known kink counts once (rounding
    /// splits its jump into three, ~3e-6 apart, at some v and not at others).
    func signature(_ kinks: [Double], plusOne: Double, minusOne: Double, _ v: Double) -> [Int8] {
        var out: [Int8] = []
        for z in kinks {
            let s: Int8 = onKnownKink(z, plusOne, v) ? 1 : onKnownKink(z, minusOne, v) ? -1 : 0
            if s != 0 && out.last == s { continue }
            out.append(s)
        }
        return out
    }

    /// Whether a kink at z (in z1) on the line at v is the known kink `line`: within
    /// 1e-10 (1 + |z|) of it, or within 1e-4 (1 + |z|) with f's two highest peaks tied to its
    /// rounding, 1e-14 (1 + |f|), halfway between them. There the maximiser's jump is not
    /// resolved: nearly antipodal peaks that tie to third order in u left it anywhere up to
    /// 1e-4 beside the line, on or off it from one v to the next (l_2 trades on complement(3)
    /// with exclusive means 0 and tau 0.2), and each such flicker of the signature was a v
    /// event (`vNodes`): 50-150 an evaluation, 0.1-4 s of location lines.
    func onKnownKink(_ z: Double, _ line: Double, _ v: Double) -> Bool {
        let distance = abs(z - line)
        if distance <= 1e-10 * (1 + abs(z)) { return true }
        guard distance <= 1e-4 * (1 + abs(z)) else { return false }
        let peaks = ellipsePeaks(mu + su * 0.5 * (z + line), v)
        return peaks.count >= 2 && peaks[0].f - peaks[1].f <= 1e-14 * (1 + abs(peaks[0].f))
    }

    typealias Point = ClassPairLS.Point

    /// The certified maximum of f over t in [0, pi] (on the circle: [-pi, pi]) at clean (u, v)
    /// and its maximiser; nil when the evaluation budget runs out (callers decline the point).
    ///
    /// `flat`: f varies by at most 1e-12 (1 + |f|) on the grid -- where the clean and shifted
    /// softmax laws are both concentrated on one class (trades far out in the tails), f is
    /// constant to rounding and its argmax is noise: the kink scan does not follow it there.
    func maximum(_ u: Double, _ v: Double, along table: AngleTable?, scratch: MaximumScratch?) -> (value: Double, t: Double, flat: Bool)? {
        certifiedMaximum(u, v, along: table, scratch: scratch)
    }
    /// `maximum` in scratch memory of its own.
    func maximum(_ u: Double, _ v: Double, along table: AngleTable?) -> (value: Double, t: Double, flat: Bool)? {
        maximum(u, v, along: table, scratch: nil)
    }
    func angleTable(_ v: Double) -> AngleTable? { AngleTable(self, v) }
    func onOnePlateau(_ u: Double, _ v: Double, _ a: Double, _ b: Double, top: Double) -> Bool { arcIsPlateau(u, v, a, b, top: top) }

    /// f, f', f'' at angle t at clean (u, v) (for tests).
    func derivatives(_ u: Double, _ v: Double, angle t: Double) -> (value: Double, first: Double, second: Double) {
        let r = inner(u, v, cos(t), sin(t), coefficients(u, v))
        return (r.f, r.d1, r.d2)
    }

    /// The certificate's bounds on |f'''| over the angles [a, b] (inside [-pi, pi]) at clean
    /// (u, v), from the interval's own ranges: `lowThirdBound` and `ClassPairLS.splitBound`
    /// (for tests).
    func thirdDerivativeBounds(_ u: Double, _ v: Double, from a: Double, to b: Double) -> (local: Double, split: Double) {
        let l = Point(t: a, c: cos(a), s: sin(a), f: 0, d1: 0, d2: 0), r = Point(t: b, c: cos(b), s: sin(b), f: 0, d1: 0, d2: 0)
        let k = coefficients(u, v)
        return (lowThirdBound(u, v, l, r, k), ClassPairLS.splitBound(concentratedRanges(v, l, r).splitExponentials(at: u), k, amplitudes: amplitudes))
    }

    /// Whether f stays within 1e-12 (1 + |top|) of the maximum `top` along the arc from angle a
    /// to b at (u, v) (probed every 0.01 or closer). Where the clean margins are large, a peak
    /// can be flat to rounding over 0.1 and more (f'' ~ 1e-12) while f elsewhere on the circle
    /// is not (`flat` is false): its maximiser is then anywhere on the plateau, as rounding
    /// decides, and two neighbouring points' maximisers 0.1 apart are not a jump between peaks
    /// (no valley deeper than rounding separates them, and the integrand is the plateau's value
    /// either way). Taken for jumps, such points made the kink scan bisect to 1e-9 and the v
    /// panels split at every line whose scan happened to find one (l_2, trades:1, eps 0.1, a
    /// complement(3) model with exclusive mean 0 at its face optimum w2 = 22: 1356 lines an
    /// evaluation on the working rule against 102 on the coarse one, 1.2 s against 0.06 s).
    func arcIsPlateau(_ u: Double, _ v: Double, _ a: Double, _ b: Double, top: Double) -> Bool {
        let level = top - 1e-12 * (1 + abs(top))
        let arc = remainder(b - a, 2 * Double.pi)
        let steps = max(2, Int((abs(arc) / 0.01).rounded(.up)))
        let k = coefficients(u, v)
        func above(_ i: Int) -> Bool {
            let t = a + arc * Double(i) / Double(steps)
            return inner(u, v, cos(t), sin(t), k).f >= level
        }
        // The middle first: between two separate peaks the valley is usually there, and the
        // kink scan asks this of every jump it bisects.
        let middle = steps / 2
        return above(middle) && (0...steps).allSatisfy { $0 == middle || above($0) }
    }

    /// The bound on |f'''| over [l.t, r.t] of both evaluators: the global bound, and the
    /// softmax probabilities bounded by e^{-min m_k} over [l.t, r.t] (`baseLows`).
    @inline(__always)
    func lowThirdBound(_ u: Double, _ v: Double, _ l: Point, _ r: Point, _ k: (Double, Double)) -> Double {
        let low = baseLows(v, l, r)
        return min(ClassPairLS.localBound(m1Low: u + low.b1, m2Low: u + low.b2, k, shift: shift, trades: beta != nil), thirdBound)
    }
    func localPeak(_ u: Double, _ v: Double, from start: Double) -> (f: Double, t: Double) { ascent(u, v, from: start) }
    func mirrorAngle(_ v: Double) -> Double? { nil }
    func peakBeats(_ u: Double, _ v: Double, _ a: (f: Double, t: Double), _ b: (f: Double, t: Double)) -> Bool { a.f >= b.f }

    /// The maximum of f over the ellipse at clean (u, v), certified: the grid's peaks refined,
    /// then every interval of angles bounded below the best value found or bisected.
    ///
    /// With the line's `table`, the grid's values and its intervals' probability bounds come
    /// from it (the same quantities, to rounding); without it, or where e^{-u} e^{-b} could
    /// overflow, from `inner` and `localThirdBound`.
    func certifiedMaximum(_ u: Double, _ v: Double, along table: AngleTable? = nil, scratch: MaximumScratch? = nil) -> (value: Double, t: Double, flat: Bool)? {
        let scale = exp(-u)
        let table = table.flatMap { scale * $0.largest < 1e300 ? $0 : nil }
        let count = table?.entries.count ?? (onCircle(v) ? ClassPairLS.circleGrid.count : ClassPairLS.grid.count)
        // The grid's points, the rising intervals and the stack of intervals to certify in
        // scratch memory (the line's, or this call's), not in arrays (the l_2 lines ask millions
        // of maxima per optimum; three arrays a call, their growth and reference counting were
        // about a tenth of the cycles).
        func certify(_ scratch: MaximumScratch) -> (value: Double, t: Double, flat: Bool)? {
            certifiedMaximum(u, v, scale: scale, table, points: UnsafeMutableBufferPointer(rebasing: scratch.points[0..<count]),
                             rising: UnsafeMutableBufferPointer(rebasing: scratch.rising[0..<count]),
                             stack: UnsafeMutableBufferPointer(rebasing: scratch.stack[0..<(2 * count + 8)]))
        }
        if let scratch, scratch.points.count >= count { return certify(scratch) }
        return MaximumScratch.with(count: count, certify)
    }

    /// `certifiedMaximum` with its scratch memory (`scale` = e^{-u}): `points` and `rising` hold
    /// `count` values, `stack` 2 count + 8 intervals before it spills to an array.
    private func certifiedMaximum(_ u: Double, _ v: Double, scale: Double, _ table: AngleTable?, points: UnsafeMutableBufferPointer<Point>,
                                  rising: UnsafeMutableBufferPointer<Int>, stack: UnsafeMutableBufferPointer<CertifiedInterval>)
        -> (value: Double, t: Double, flat: Bool)? {
        var evaluations = 0
        let k = coefficients(u, v)
        func at(_ t: Double) -> Point {
            evaluations += 1
            let c = cos(t), s = sin(t)
            let r = inner(u, v, c, s, k)
            return Point(t: t, c: c, s: s, f: r.f, d1: r.d1, d2: r.d2)
        }
        if let table {
            for (i, g) in table.entries.enumerated() {
                let b = g.base
                let x1 = scale * g.e1, x2 = scale * g.e2
                let sum = x1 + x2, inverse = 1 / (1 + sum), p1 = x1 * inverse, p2 = x2 * inverse
                let d = ClassPairLS.angleDerivatives(p1, p2, k, b.b1p, b.b2p, b.b1pp, b.b2pp)
                let f = log1p(sum) + k.0 * (u + b.b1) + k.1 * (u + b.b2)
                points.initializeElement(at: i, to: Point(t: g.t, c: g.c, s: g.s, f: f, d1: d.d1, d2: d.d2))
            }
        } else {
            for (i, g) in (onCircle(v) ? ClassPairLS.circleGrid : ClassPairLS.grid).enumerated() {
                let r = inner(u, v, g.c, g.s, k)
                points.initializeElement(at: i, to: Point(t: g.t, c: g.c, s: g.s, f: r.f, d1: r.d1, d2: r.d2))
            }
        }
        evaluations += points.count
        var best = points[0]
        let lowest = points.reduce(Double.infinity) { min($0, $1.f) }
        for p in points where p.f > best.f { best = p }
        /// Safeguarded Newton on f' in [lo, hi] with f'(lo) > 0 > f'(hi).
        func refine(_ lo0: Point, _ hi0: Point) -> Point {
            var lo = lo0, hi = hi0
            var x = lo.d2 < 0 ? lo.t - lo.d1 / lo.d2 : 0.5 * (lo.t + hi.t)
            if !(x > lo.t && x < hi.t) { x = 0.5 * (lo.t + hi.t) }
            var p = at(x)
            for _ in 0..<60 {
                // f' at its rounding level (|g_k| errors ~2.2e-16, |m'| <= M): no step can be
                // judged from here (flat peaks, f'' ~ 1e-7, where the clean margins are large).
                if abs(p.d1) <= derivativeNoise { return p }
                if p.d1 > 0 { lo = p } else { hi = p }
                var next = p.d2 < 0 ? p.t - p.d1 / p.d2 : 0.5 * (lo.t + hi.t)
                if !(next > lo.t && next < hi.t) { next = 0.5 * (lo.t + hi.t) }
                // (1 + |t|): on the circle t < 0 too.
                if abs(next - p.t) <= 1e-15 * (1 + abs(p.t)) || hi.t - lo.t <= 4e-16 * (1 + abs(p.t)) { let q = at(next); return p.f >= q.f ? p : q }
                p = at(next)
            }
            return p
        }
        // The table's bounds of a grid interval hold on every part of it, and cost no
        // exponentials; a part's own bounds (tighter) are computed where those fail. trades'
        // concentrated and the split bounds from the table's exponentials need e^u finite and
        // e^{-u} not 0 (else their products could be 0 times infinity).
        let inverseScale = 1 / scale
        let tabledExponentials = table != nil && scale > 0 && inverseScale.isFinite
        let amplitudes = self.amplitudes
        /// Whether f is certified at most `level` over [l.t, r.t], part of grid interval `grid`
        /// (-1: none, without a table), the whole of it when `whole`, by one of the bounds on |f'''|.
        func below(_ l: Point, _ r: Point, _ grid: Int, whole: Bool, _ level: Double) -> Bool {
            let half = 0.5 * (r.t - l.t)
            // The global bound's term-by-term test first: no exponential, no square root (half
            // the intervals of trades on random models under l_2 pass it). Then the smallest
            // of the bounds that apply, the cubics tested once.
            if ClassPairLS.crudelyBelow(l, r, thirdBound, half, level) { return true }
            var bound = Double.infinity
            if let table, grid >= 0 {
                let low = table.lows[grid]
                let p1 = u + low.b1 >= 0 ? scale * low.e1 : 1, p2 = u + low.b2 >= 0 ? scale * low.e2 : 1
                bound = min(ClassPairLS.localBound(p1: p1, p2: p2, k, shift: shift, trades: beta != nil), thirdBound)
                // (At the global bound the term-by-term test has just failed.)
                if bound < thirdBound && ClassPairLS.crudelyBelow(l, r, bound, half, level) { return true }
                if tabledExponentials {
                    if beta != nil {
                        let c = table.concentrated[grid]
                        let x = ConcentratedExponentials(low1: scale * c.low1, low2: scale * c.low2, high1: inverseScale * c.high1,
                                                         high2: inverseScale * c.high2, tHigh: c.tHigh, tLow: c.tLow)
                        bound = min(bound, ClassPairLS.concentratedBound(x, k, shift: shift))
                    }
                    bound = min(bound, ClassPairLS.splitBound(table.split[grid].scaled(scale), k, amplitudes: amplitudes))
                }
                if ClassPairLS.intervalBelow(l, r, bound, half, level) { return true }
                if whole && tabledExponentials { return false }
            }
            bound = min(bound, lowThirdBound(u, v, l, r, k))
            let ranges = concentratedRanges(v, l, r)
            if beta != nil { bound = min(bound, ClassPairLS.concentratedBound(ranges.exponentials(at: u), k, shift: shift)) }
            bound = min(bound, ClassPairLS.splitBound(ranges.splitExponentials(at: u), k, amplitudes: amplitudes))
            return ClassPairLS.intervalBelow(l, r, bound, half, level)
        }
        // The intervals to certify.
        var intervals = IntervalStack(stack)
        let tabled = table != nil
        var risingCount = 0
        for i in 0..<(points.count - 1) {
            if points[i].d1 > 0 && points[i + 1].d1 < 0 {
                rising[risingCount] = i
                risingCount += 1
            } else {
                intervals.push(CertifiedInterval(l: points[i], r: points[i + 1], grid: tabled ? i : -1, whole: true))
            }
        }
        // The peaks from the highest grid interval down: a lower one certified below the best
        // peak so far is not refined.
        var peaks = UnsafeMutableBufferPointer<Int>(rebasing: rising[0..<risingCount])
        peaks.sort { (a: Int, b: Int) -> Bool in max(points[a].f, points[a + 1].f) > max(points[b].f, points[b + 1].f) }
        for (n, i) in peaks.enumerated() {
            let l = points[i], r = points[i + 1], grid = tabled ? i : -1
            if n > 0 && below(l, r, grid, whole: true, best.f) { intervals.push(CertifiedInterval(l: l, r: r, grid: grid, whole: true)); continue }
            let peak = refine(l, r)
            if peak.f > best.f { best = peak }
            intervals.push(CertifiedInterval(l: l, r: peak, grid: grid, whole: false))
            intervals.push(CertifiedInterval(l: peak, r: r, grid: grid, whole: false))
        }
        // Certification: bound every interval; bisect those that might beat best.
        while let interval = intervals.pop() {
            let (l, r, grid, whole) = (interval.l, interval.r, interval.grid, interval.whole)
            let h = r.t - l.t
            let half = 0.5 * h
            let level = best.f + ClassPairLS.innerTolerance(best.f)
            if below(l, r, grid, whole: whole, level) { continue }
            if evaluations > ClassPairLS.innerBudget { return nil }
            let mid = at(l.t + half)
            if mid.f > best.f {
                // A higher point than every refined peak: refine the peak it climbs to.
                best = mid
                if l.d1 > 0 && mid.d1 < 0 { let p = refine(l, mid); if p.f > best.f { best = p } }
                else if mid.d1 > 0 && r.d1 < 0 { let p = refine(mid, r); if p.f > best.f { best = p } }
            }
            intervals.push(CertifiedInterval(l: l, r: mid, grid: grid, whole: false))
            intervals.push(CertifiedInterval(l: mid, r: r, grid: grid, whole: false))
        }
        return (best.f, best.t, best.f - lowest <= 1e-12 * (1 + abs(best.f)))
    }

    /// The local maximum of f reached by a damped Newton ascent from t (within [0, pi]; on the
    /// circle, returned in [-pi, pi]).
    func ascent(_ u: Double, _ v: Double, from start: Double) -> (f: Double, t: Double) {
        let k = coefficients(u, v)
        var t = start
        var r = inner(u, v, cos(t), sin(t), k)
        for _ in 0..<60 {
            var step = r.d2 < 0 ? -r.d1 / r.d2 : (r.d1 > 0 ? 0.05 : -0.05)
            step = min(max(step, -0.2), 0.2)
            let next = onCircle(v) ? t + step : min(max(t + step, 0), Double.pi)
            if abs(next - t) <= 1e-14 { break }
            t = next
            r = inner(u, v, cos(t), sin(t), k)
        }
        return (r.f, onCircle(v) ? remainder(t, 2 * Double.pi) : t)
    }

    /// The scan of the line at v for the maximiser's jumps: the points `scanBase` (in z1),
    /// refined where the maximiser moves by more than 0.1 between neighbours (there the
    /// integrand, analytic or not, has structure on a finer scale: the cells get graded
    /// automatically), down to 1e-9 in z (then a jump, located by bisection to 1e-13). A jump
    /// across a line `crossesKnown` names is put there without a search. Returns the scan
    /// points and the kinks (ascending); nil when an inner maximum declines.
    ///
    /// On a line with a mirror symmetry (`mirrorAngle`) the maximisers come in pairs t, 2 alpha - t
    /// of equal value, and which one a maximum returns is rounding: the scan compares them up
    /// to the mirror (an angle of the half circle [alpha, alpha + pi]). Where the maximiser
    /// leaves a fixed point phi of the mirror (alpha or alpha + pi) continuously (f''(phi) turns
    /// positive: a pitchfork, the two branches t ~ phi +- c sqrt(u - u0)), the integrand is C^1
    /// but not C^2 at u0: such a departure is located as a root of f''(phi) and returned
    /// among the kinks, so that it is a panel end.
    func scanKinks(_ v: Double, scanBase: [Double], crossesKnown: (Double, Double) -> Double?) -> (scan: [Double], kinks: [Double])? {
        let table = angleTable(v)
        let mirror = mirrorAngle(v)
        guard var found = scanKinks(at: { (self.mu + self.su * $0, v) }, table: { _ in table }, mirror: mirror,
                                    scanBase: scanBase, crossesKnown: crossesKnown) else { return nil }
        if let alpha = mirror {
            found.kinks += departures(v, alpha, scan: found.scan, argmax: found.argmax)
            found.kinks.sort()
        }
        return (found.scan, found.kinks)
    }

    /// `scanKinks` along any straight path z -> (u, v) = `point(z)` (the line at v; or across
    /// the lines at u = mu, for a class whose q is constant, `ClassPairLSGeneral.constantQ`),
    /// the angle table at z by `table`, maximisers taken up to `mirror`. Returns the scan
    /// points, the maximisers there (up to the mirror) and the jumps.
    func scanKinks(at point: (Double) -> (u: Double, v: Double), table: (Double) -> AngleTable?, mirror: Double?,
                   scanBase: [Double], crossesKnown: (Double, Double) -> Double?) -> (scan: [Double], argmax: [Double], kinks: [Double])? {
        MaximumScratch.with { scanKinks(at: point, table: table, mirror: mirror, scanBase: scanBase, crossesKnown: crossesKnown, scratch: $0) }
    }

    /// `scanKinks(at:table:mirror:scanBase:crossesKnown:)` with its maxima in `scratch`.
    private func scanKinks(at point: (Double) -> (u: Double, v: Double), table: (Double) -> AngleTable?, mirror: Double?,
                           scanBase: [Double], crossesKnown: (Double, Double) -> Double?, scratch: MaximumScratch)
        -> (scan: [Double], argmax: [Double], kinks: [Double])? {
        var scan: [Double] = []
        var argmax: [Double] = []
        var flat: [Bool] = []
        var tops: [Double] = []
        var stack: [(z: Double, t: Double, flat: Bool, top: Double)] = []
        /// t up to the mirror: its representative in [alpha, alpha + pi] (wrapped to [-pi, pi]).
        func canonical(_ t: Double) -> Double {
            guard let alpha = mirror else { return t }
            let d = remainder(t - alpha, 2 * Double.pi)
            return remainder(alpha + abs(d), 2 * Double.pi)
        }
        func maximum(_ z: Double) -> (value: Double, t: Double, flat: Bool)? {
            let (u, v) = point(z)
            return self.maximum(u, v, along: table(z), scratch: scratch).map { ($0.value, canonical($0.t), $0.flat) }
        }
        for z in scanBase.sorted().reversed() {
            guard let m = maximum(z) else { return nil }
            stack.append((z, m.t, m.flat, m.value))
        }
        /// Whether the maximisers at scan points z1 and z2 are one plateau's at both (not a jump).
        func plateau(_ z1: Double, _ t1: Double, _ top1: Double, _ z2: Double, _ t2: Double, _ top2: Double) -> Bool {
            let p1 = point(z1), p2 = point(z2)
            return onOnePlateau(p1.u, p1.v, t1, t2, top: top1) && onOnePlateau(p2.u, p2.v, t2, t1, top: top2)
        }
        var current = stack.removeLast()
        scan.append(current.z); argmax.append(current.t); flat.append(current.flat); tops.append(current.top)
        while let next = stack.last {
            if ClassPairLS.gap(next.t, current.t) > 0.1 && !(next.flat && current.flat) && next.z - current.z > 1e-9 * (1 + abs(current.z))
                && crossesKnown(current.z, next.z) == nil && !plateau(current.z, current.t, current.top, next.z, next.t, next.top) {
                let mid = 0.5 * (current.z + next.z)
                guard let m = maximum(mid) else { return nil }
                stack.append((mid, m.t, m.flat, m.value))
                continue
            }
            stack.removeLast()
            current = next
            scan.append(current.z); argmax.append(current.t); flat.append(current.flat); tops.append(current.top)
        }
        var kinks: [Double] = []
        for i in 0..<(scan.count - 1) where ClassPairLS.gap(argmax[i + 1], argmax[i]) > 0.1 && !(flat[i] && flat[i + 1]) {
            if let z = crossesKnown(scan[i], scan[i + 1]) { kinks.append(z); continue }
            if plateau(scan[i], argmax[i], tops[i], scan[i + 1], argmax[i + 1], tops[i + 1]) { continue }
            // A jump (the cell is below 1e-9): it is where the peak continued from the left end stops beating the one continued
            // from the right (local ascents, cheap); where the two ascents meet the same peak the
            // certified maximum decides which side's peak it is nearer.
            var lo = scan[i], hi = scan[i + 1]
            var tl = argmax[i], tr = argmax[i + 1]
            while hi - lo > 1e-13 * (1 + abs(lo)) {
                let mid = 0.5 * (lo + hi)
                let (u, v) = point(mid)
                let l = localPeak(u, v, from: tl), r = localPeak(u, v, from: tr)
                let left = (f: l.f, t: canonical(l.t)), right = (f: r.f, t: canonical(r.t))
                var leftWins: Bool
                if ClassPairLS.gap(left.t, right.t) > 1e-6 {
                    leftWins = peakBeats(u, v, left, right)
                    if leftWins { tl = left.t } else { tr = right.t }
                } else {
                    guard let m = maximum(mid) else { return nil }
                    leftWins = ClassPairLS.gap(m.t, tl) <= ClassPairLS.gap(m.t, tr)
                }
                if leftWins { lo = mid } else { hi = mid }
            }
            kinks.append(0.5 * (lo + hi))
        }
        return (scan, argmax, kinks)
    }

    /// The root in (lo, hi) of f, whose sign at lo is negative when `lowNegative` and opposite
    /// at hi, by bisection to 1e-13 (1 + |lo|) (an exact zero ends it); nil when f declines.
    func signChange(_ low: Double, _ high: Double, lowNegative: Bool, _ f: (Double) -> Double?) -> Double? {
        var lo = low, hi = high
        while hi - lo > 1e-13 * (1 + abs(lo)) {
            let mid = 0.5 * (lo + hi)
            guard let value = f(mid) else { return nil }
            if value == 0 { return mid }
            if (value < 0) == lowNegative { lo = mid } else { hi = mid }
        }
        return 0.5 * (lo + hi)
    }

    /// The points (in z1) between scan points where the maximiser leaves a fixed point phi of
    /// the line's mirror (alpha, alpha + pi) continuously: phi is the maximiser at one scan
    /// point with f''(phi) < 0 and f''(phi) > 0 at the next; the root of f''(phi) in u
    /// between them, by bisection to 1e-13 (f''(phi) is smooth in u).
    func departures(_ v: Double, _ alpha: Double, scan: [Double], argmax: [Double]) -> [Double] {
        var out: [Double] = []
        for phi in [alpha, remainder(alpha + Double.pi, 2 * Double.pi)] {
            let c = cos(phi), s = sin(phi)
            func curvature(_ z: Double) -> Double {
                let u = mu + su * z
                return inner(u, v, c, s, coefficients(u, v)).d2
            }
            var previous = curvature(scan[0])
            for i in 0..<(scan.count - 1) {
                let next = curvature(scan[i + 1])
                defer { previous = next }
                guard (previous < 0) != (next < 0), previous != 0, next != 0 else { continue }
                // phi must be the maximiser on the side where it is a local maximum.
                let atPhi = previous < 0 ? argmax[i] : argmax[i + 1]
                guard ClassPairLS.gap(atPhi, phi) <= 1e-6 else { continue }
                if let root = signChange(scan[i], scan[i + 1], lowNegative: previous < 0, { curvature($0) }) { out.append(root) }
            }
        }
        return out
    }

    /// The v (in z2) inside (lo, hi) where the kink signature changes, by bisection to `width`
    /// (every change when several lie between; a change the probes do not separate from another
    /// is found once). `probes` caps the lines scanned (a signature that changed at every probe
    /// would otherwise split without end): when it runs out, the midpoint stands for the rest.
    /// nil when an inner maximum declines.
    func kinkEvents(_ lo: Double, _ low: [Int8], _ hi: Double, _ high: [Int8], width: Double, probes: inout Int) -> [Double]? {
        if low == high { return [] }
        let mid = 0.5 * (lo + hi)
        if hi - lo <= width || probes <= 0 { return [mid] }
        probes -= 1
        let v = vAt(mid)
        guard let line = uBoundaries(v) else { return nil }
        let signature = kinkSignature(line.kinks, v)
        guard let left = kinkEvents(lo, low, mid, signature, width: width, probes: &probes),
              let right = kinkEvents(mid, signature, hi, high, width: width, probes: &probes) else { return nil }
        return left + right
    }

    /// Changes of the kink signature inside (a, b) (in z2) when a and b have the same one: a
    /// window narrower than the probes' spacing, bounded by triple points (three local maxima
    /// of f tie, and one kink becomes two; at a general W near the symmetric family, a window
    /// 0.006 wide between probes 0.05 apart held a kink the lines did not know, and the rules
    /// then differed by 1e-8). Such a window is announced by the kinks' third-peak gaps
    /// (`thirdPeakGap`: 0 at a triple point), which fall linearly towards it: the interval is
    /// bisected while some kink's gaps at its ends could reach 0 inside it at `slopes` (a
    /// slope bound per kink, from the probes), gap(a) + gap(b) <= slope (b - a). Where a probe's
    /// signature differs, `kinkEvents` locates the changes. nil when an inner maximum declines.
    func transientEvents(_ a: (z: Double, signature: [Int8], gaps: [Double]), _ b: (z: Double, signature: [Int8], gaps: [Double]),
                         slopes: [Double], width: Double, probes: inout Int) -> [Double]? {
        let h = b.z - a.z
        guard h > width, probes > 0, a.gaps.count == b.gaps.count,
              a.gaps.indices.contains(where: { a.gaps[$0].isFinite && b.gaps[$0].isFinite && a.gaps[$0] + b.gaps[$0] <= slopes[$0] * h })
        else { return [] }
        probes -= 1
        let z = 0.5 * (a.z + b.z), v = vAt(z)
        guard let line = uBoundaries(v) else { return nil }
        let signature = kinkSignature(line.kinks, v)
        if signature != a.signature {
            guard let left = kinkEvents(a.z, a.signature, z, signature, width: width, probes: &probes),
                  let right = kinkEvents(z, signature, b.z, b.signature, width: width, probes: &probes) else { return nil }
            return left + right
        }
        let mid = (z: z, signature: signature, gaps: line.kinks.map { thirdPeakGap(mu + su * $0, v) })
        guard let left = transientEvents(a, mid, slopes: slopes, width: width, probes: &probes),
              let right = transientEvents(mid, b, slopes: slopes, width: width, probes: &probes) else { return nil }
        return left + right
    }

    /// How far below the maximum of f at (u, v) its third-highest local maximum lies (infinity
    /// with fewer than three): at a kink, where two local maxima tie, the distance to a triple
    /// point. The grid's rising-falling intervals, each climbed by `ascent` (a locator, not a
    /// certified maximum: it only decides where to probe).
    func thirdPeakGap(_ u: Double, _ v: Double) -> Double { ellipseThirdPeakGap(u, v) }
    func ellipseThirdPeakGap(_ u: Double, _ v: Double) -> Double {
        let peaks = ellipsePeaks(u, v)
        guard peaks.count >= 3 else { return .infinity }
        return peaks[0].f - peaks[2].f
    }

    /// The local maxima of f over the ellipse at (u, v), highest first (from the grid's sign
    /// changes of f', each ascended).
    func ellipsePeaks(_ u: Double, _ v: Double) -> [(f: Double, t: Double)] {
        let k = coefficients(u, v)
        let grid = onCircle(v) ? ClassPairLS.circleGrid : ClassPairLS.grid
        var peaks: [(f: Double, t: Double)] = []
        var previous = inner(u, v, grid[0].c, grid[0].s, k)
        for i in 1..<grid.count {
            let next = inner(u, v, grid[i].c, grid[i].s, k)
            defer { previous = next }
            guard previous.d1 > 0 && next.d1 <= 0 else { continue }
            let p = ascent(u, v, from: 0.5 * (grid[i - 1].t + grid[i].t))
            if !peaks.contains(where: { ClassPairLS.gap($0.t, p.t) < 1e-6 }) { peaks.append(p) }
        }
        peaks.sort { $0.f > $1.f }
        return peaks
    }

    /// The v nodes (v and weight) of `rule` on the v panels `base` (ends in z2), with the
    /// u-panel ends of the lines computed on the way (nil: to be computed).
    ///
    /// The line integral I(v) = E[L | v] is smooth in v except where the kink structure of the
    /// u lines changes (kink curves meeting, or joining the symmetry lines u = +-v): there I(v)
    /// has a singular point, which a panel must not straddle. The changes are found between
    /// consecutive v nodes, located by bisection to 1e-5 of a panel width, and made panel ends,
    /// as the kinks are u-panel ends. Only the u-panel ends are computed before the panels are
    /// final (the inner maxima at the nodes are the cost). nil when an inner maximum declines.
    ///
    /// `cubedStart`: the panel that starts at the first end a is integrated through z2 = a +
    /// (b - a) s^3, s in [0, 1] (where a kink is born at the lines' end a, I(v) has a
    /// (v - a)^2 log(v - a) term there, s^8 log s after the map: where the working and
    /// verification rules had differed by 1.2e-10, they differ by 3e-14, without a line more).
    func vNodes(_ rule: GaussLegendre, panels vEnds0: [Double], cubedStart: Bool = false)
        -> (nodes: [(v: Double, w: Double)], computed: [(ends: [Double], kinks: [Double])?])? {
        /// The v nodes (v and weight) of the panel [a, b] (in z2).
        func panelNodes(_ a: Double, _ b: Double) -> [(v: Double, w: Double)] {
            let panelRule = rule.onPanel(a, b, tailStart: tailStart)
            let nodes = panelRule.nodes, weights = panelRule.weights
            if cubedStart && a == vEnds0[0] {
                return (0..<nodes.count).map { j in
                    let s = 0.5 * (nodes[j] + 1)
                    let z2 = a + (b - a) * s * s * s
                    return (vAt(z2), 1.5 * (b - a) * s * s * weights[j] * Normal.pdf(z2))
                }
            }
            let vh = 0.5 * (b - a), vm = 0.5 * (b + a)
            return (0..<nodes.count).map { j in
                let z2 = vm + vh * nodes[j]
                return (vAt(z2), vh * weights[j] * Normal.pdf(z2))
            }
        }
        var vEnds = vEnds0
        var vNodes: [(v: Double, w: Double)] = []
        var computed: [(ends: [Double], kinks: [Double])?] = []
        let base = zip(vEnds, vEnds.dropFirst()).map { ($0, $1) }
        let perPanel = base.map { panelNodes($0.0, $0.1) }
        // The first node of each base panel in `baseNodes` (panels in the tails have fewer).
        var offsets = [0]
        for p in perPanel { offsets.append(offsets[offsets.count - 1] + p.count) }
        let baseNodes = perPanel.flatMap { $0 }
        // The coarse rule serves the optimisers' early steps, which need ~1e-8, not 1e-12:
        // it keeps the fixed panels.
        let locate = rule.nodes.count > GaussLegendre.coarse.nodes.count
        let lines = Parallel.indexed(baseNodes.count, parallel: parallel) { k -> (ends: [Double], kinks: [Double], gaps: [Double])? in
            let v = baseNodes[k].v
            guard let e = uBoundaries(v) else { return nil }
            return (e.ends, e.kinks, locate ? e.kinks.map { thirdPeakGap(mu + su * $0, v) } : [])
        }
        var ends: [(ends: [Double], kinks: [Double])?] = []
        var probes: [(z: Double, signature: [Int8], width: Double, gaps: [Double])] = []
        var panelIndex = 0
        for (k, node) in baseNodes.enumerated() {
            guard let e = lines[k] else { return nil }
            ends.append((e.ends, e.kinks))
            while k >= offsets[panelIndex + 1] { panelIndex += 1 }
            let panel = base[panelIndex]
            probes.append((zOf(node.v), kinkSignature(e.kinks, node.v), panel.1 - panel.0, e.gaps))
        }
        // (The rule's nodes need not be in ascending order.)
        probes.sort { $0.z < $1.z }
        var events: [Double] = []
        // ~17 lines per change located; at trades:6, W(3.12, 2.60) there are three.
        var budget = 400
        for (a, b) in zip(probes, probes.dropFirst()) where locate && a.signature != b.signature {
            let width = 1e-5 * min(a.width, b.width)
            guard let found = kinkEvents(a.z, a.signature, b.z, b.signature, width: width, probes: &budget) else { return nil }
            // Changes closer than the location's precision are one panel end (a kink curve
            // crossing u = +-v changes the signature twice, ~1e-6 apart).
            for z in found where events.last.map({ z - $0 > width }) ?? true { events.append(z) }
        }
        // Windows narrower than the probes' spacing, where the structure changes and changes
        // back between two probes of the same signature (`transientEvents`).
        var windowBudget = 120
        for i in 0..<max(probes.count - 1, 0) where locate && probes[i].signature == probes[i + 1].signature {
            let a = probes[i], b = probes[i + 1]
            // Per kink, the steepest change of its third-peak gap over this probe interval and
            // its neighbours of the same signature and kinks (a run of kinks on a known kink
            // counts once in a signature: `signature(_:plusOne:minusOne:_:)`).
            var slopes = [Double](repeating: 0, count: a.gaps.count)
            for j in max(i - 1, 0)...min(i + 1, probes.count - 2)
            where probes[j].signature == a.signature && probes[j + 1].signature == a.signature
                && probes[j].gaps.count == a.gaps.count && probes[j + 1].gaps.count == a.gaps.count {
                let h = probes[j + 1].z - probes[j].z
                guard h > 0 else { continue }
                for k in slopes.indices where probes[j].gaps[k].isFinite && probes[j + 1].gaps[k].isFinite {
                    slopes[k] = max(slopes[k], abs(probes[j + 1].gaps[k] - probes[j].gaps[k]) / h)
                }
            }
            let width = 1e-5 * min(a.width, b.width)
            guard let found = transientEvents((a.z, a.signature, a.gaps), (b.z, b.signature, b.gaps), slopes: slopes.map { 4 * $0 },
                                              width: width, probes: &windowBudget) else { return nil }
            events += found
        }
        vEnds = (vEnds + events).sorted()
        vEnds = vEnds.enumerated().filter { $0.offset == 0 || $0.element > vEnds[$0.offset - 1] }.map { $0.element }
        for panel in zip(vEnds, vEnds.dropFirst()) {
            let nodes = panelNodes(panel.0, panel.1)
            vNodes += nodes
            // A panel not split by an event keeps its lines' ends.
            if let i = base.firstIndex(where: { $0 == panel }) {
                computed += ends[offsets[i]..<offsets[i + 1]]
            } else {
                computed += Array(repeating: nil, count: nodes.count)
            }
        }
        return (vNodes, computed)
    }

    /// The u lines of the v nodes (the inner maxima: the cost), on all cores when `parallel`,
    /// in node order (so sums over them have the same bits either way); nil when an inner
    /// maximum declines.
    func lines(_ rule: GaussLegendre, _ vNodes: [(v: Double, w: Double)], computed: [(ends: [Double], kinks: [Double])?]) -> [EllipseLine]? {
        lineNodes(rule, vNodes, computed: computed) { u, v, w, table, scratch in maximum(u, v, along: table, scratch: scratch).map { (u, $0.t, w) } }
    }

    /// `lines` with each node made by `node(u, v, weight, the line's angle table, scratch for
    /// its maximum)` (nil: the line declines).
    func lineNodes<Node>(_ rule: GaussLegendre, _ vNodes: [(v: Double, w: Double)], computed: [(ends: [Double], kinks: [Double])?],
                         _ node: (Double, Double, Double, AngleTable?, MaximumScratch) -> Node?) -> [[Node]]? {
        func line(_ v: Double, _ wv: Double, _ uEnds: [Double], _ scratch: MaximumScratch) -> [Node]? {
            var out: [Node] = []
            out.reserveCapacity((uEnds.count - 1) * rule.nodes.count)
            let table = angleTable(v)
            for q in 0..<(uEnds.count - 1) {
                let panelRule = rule.onPanel(uEnds[q], uEnds[q + 1], tailStart: tailStart)
                let nodes = panelRule.nodes, weights = panelRule.weights
                let uh = 0.5 * (uEnds[q + 1] - uEnds[q]), um = 0.5 * (uEnds[q + 1] + uEnds[q])
                for i in 0..<nodes.count {
                    let z1 = um + uh * nodes[i]
                    guard let n = node(mu + su * z1, v, wv * uh * weights[i] * Normal.pdf(z1), table, scratch) else { return nil }
                    out.append(n)
                }
            }
            return out
        }
        let all = Parallel.indexed(vNodes.count, parallel: parallel) { k -> [Node]? in
            guard let e = computed[k] ?? uBoundaries(vNodes[k].v) else { return nil }
            return MaximumScratch.with { line(vNodes[k].v, vNodes[k].w, e.ends, $0) }
        }
        var out: [[Node]] = []
        out.reserveCapacity(all.count)
        for l in all {
            guard let l else { return nil }
            out.append(l)
        }
        return out
    }

    /// dR/dD_k[f] = E[g_k x_f] + E[h_k delta*_f] from the sums, with E[g_k x] = mean_x E[g_k]
    /// + Sigma D' C^-1 E[g_k (d - E d)] (the regression of x on d, exact for a Gaussian x; or on
    /// any two centred coordinates that span d - E d, as `regression` and `Sums.gd` agree).
    func gradient(_ sums: ClassPairLS.Sums) -> [[Double]] {
        let n = meanX.count
        var gradient = [[Double]](repeating: [Double](repeating: 0, count: n), count: 2)
        let eg = [sums.g.0, sums.g.1]
        for k in 0..<2 {
            for f in 0..<n {
                let ex = meanX[f] * eg[k] + regression[f].0 * sums.gd[k][0] + regression[f].1 * sums.gd[k][1]
                let shift = preimage[f].0 * sums.gDelta[k][0] + preimage[f].1 * sums.gDelta[k][1]
                gradient[k][f] = ex + shift
            }
        }
        return gradient
    }
}

import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

/// Issue 12: label smoothing of the symmetric family under l_2 on the fixed-rule path
/// (`ClassPairLS`: certified inner maximum over the ellipse, kinks where the maximiser jumps)
/// against a brute-force angle scan, the adaptive reference path, and its own differences.
@Suite("fast exact l2 ls path")
struct FastL2LSTests {
    static func objective(_ eps: Double, _ alpha: Double, _ method: ExactMethod, tolerance: Double = 1e-10) throws -> RobustObjective {
        var r = RobustObjective(model: try DataModel.paper3(mu: 1, sigma: 0.5), threat: try ThreatModel(norm: .l2, eps: eps),
                                objective: .ls(alpha: alpha), tolerance: tolerance)
        r.method = method
        return r
    }

    /// xorshift in [0, 1).
    struct Uniform {
        var state: UInt64
        mutating func next() -> Double {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Double(state % 1_000_000_007) / 1_000_000_007
        }
    }

    /// A random arc of angles (width 0.01 to 0.61, inside [-pi, pi]), the bound on |f'''| there,
    /// and the largest |f'''| at 65 points of it, by central differences (step 1e-5) of the
    /// exact f'' (error ~1e-10).
    static func randomArc(_ rng: inout Uniform, bound: (Double, Double) -> Double, second: (Double) -> Double)
        -> (angles: ClosedRange<Double>, bound: Double, largest: Double) {
        let width = 0.01 + 0.6 * rng.next()
        let from = -Double.pi + (2 * Double.pi - width) * rng.next(), to = from + width
        let h = 1e-5
        let largest = (0...64).reduce(0.0) { largest, i in
            let t = from + width * Double(i) / 64
            return max(largest, abs((second(t + h) - second(t - h)) / (2 * h)))
        }
        return (from...to, bound(from, to), largest)
    }

    @Test("the bound on |f'''| from S's and T's separate amplitudes holds on 400 random ellipses, margins and arcs (f''' by differences of the exact f''), and is 100x below the probabilities' bound where the law sits on the two other classes and the ellipse is long in S")
    func splitThirdBound() throws {
        var rng = Uniform(state: 0x2545F4914F6CDD1D)
        var tightest = 0.0
        for case_ in 0..<400 {
            // Round and long ellipses (B from 0.01 A to 1.5 A), margins in [-8, 8] x [-4, 4].
            let axisS = 0.05 + 3.95 * rng.next(), axisT = axisS * (0.01 + 1.49 * rng.next())
            let u = -8 + 16 * rng.next(), v = -4 + 8 * rng.next()
            let inner = case_ % 2 == 0
                ? L2SmoothedInnerMaximum(axisS: axisS, axisT: axisT, smoothing: 0.3 * rng.next())
                : L2SmoothedInnerMaximum(axisS: axisS, axisT: axisT, tradesBeta: 1)
            let arc = Self.randomArc(&rng, bound: { inner.thirdDerivativeBounds(u: u, v: v, from: $0, to: $1).split }) {
                inner.derivatives(u: u, v: v, angle: $0).second
            }
            #expect(arc.largest <= arc.bound * (1 + 1e-6) + 1e-8,
                    "case \(case_) (A \(axisS), B \(axisT), u \(u), v \(v), \(arc.angles)): |f'''| \(arc.largest) > bound \(arc.bound)")
            tightest = max(tightest, arc.largest / arc.bound)
        }
        // Not vacuous: somewhere the bound is within a factor 4 of |f'''|.
        #expect(tightest > 0.25, "the bound is never within 4x of |f'''| (\(tightest))")
        // The flat case of trades on random 3-class models under l_2: classes 1 and 2 hold the
        // law (u = -8, v ~ 0) and the ellipse is long in S (A = 3, B = 0.1).
        let flat = L2SmoothedInnerMaximum(axisS: 3, axisT: 0.1, tradesBeta: 1)
        let bounds = flat.thirdDerivativeBounds(u: -8, v: 0.003, from: 0.1, to: 0.35)
        #expect(bounds.split * 100 <= bounds.local, "split \(bounds.split), local \(bounds.local)")
    }

    @Test("any W: the bound on |f'''| from S's and T's separate amplitudes holds on 300 random rows, margins and arcs (f''' by differences of the exact f'')")
    func generalSplitThirdBound() throws {
        var rng = Uniform(state: 0x9E3779B97F4A7C15)
        var tightest = 0.0
        var cases = 0
        for case_ in 0..<300 {
            // Rows in [-2, 2]^3, some nearly parallel (a long ellipse); eps in (0, 0.8].
            let first = (0..<3).map { _ in -2 + 4 * rng.next() }
            let tilt = case_ % 3 == 0 ? 0.05 : 1.0
            let second = first.map { $0 + tilt * (-2 + 4 * rng.next()) }
            let eps = 0.01 + 0.79 * rng.next()
            guard let inner = L2GeneralInnerMaximum(rows: [first, second], eps: eps, tradesBeta: 1) else { continue }
            cases += 1
            let q = -8 + 16 * rng.next(), r = -4 + 8 * rng.next()
            let arc = Self.randomArc(&rng, bound: { inner.thirdDerivativeBounds(q: q, r: r, from: $0, to: $1).split }) {
                inner.derivatives(q: q, r: r, angle: $0).second
            }
            #expect(arc.largest <= arc.bound * (1 + 1e-6) + 1e-8,
                    "case \(case_) (rows \(first), \(second), eps \(eps), q \(q), r \(r), \(arc.angles)): |f'''| \(arc.largest) > bound \(arc.bound)")
            tightest = max(tightest, arc.largest / arc.bound)
        }
        #expect(cases >= 250)
        #expect(tightest > 0.25, "the bound is never within 4x of |f'''| (\(tightest))")
    }

    @Test("certified inner maximum == dense angle scan (4096 angles, every local maximum of the scan refined by golden section) on 200 random ellipses and margins")
    func innerMaximumAgainstScan() throws {
        var rng = Uniform(state: 0x5DEECE66D)
        var worst = 0.0
        for case_ in 0..<200 {
            // Axes up to 5 margin units (eps ||w|| up to ~4), margins in [-8, 12], alpha in [0, 0.6].
            let axisS = 5 * rng.next(), axisT = axisS * (0.2 + 0.8 * rng.next())
            let alpha = 0.6 * rng.next()
            let u = -8 + 20 * rng.next(), v = -6 + 12 * rng.next()
            let inner = L2SmoothedInnerMaximum(axisS: axisS, axisT: axisT, smoothing: alpha / 2)
            let m = try #require(inner.maximum(u: u, v: v), "case \(case_): declined")
            // Brute force: dense scan of the whole circle, golden section in every cell pair
            // around a local maximum of the scan.
            let n = 4096
            let h = 2 * Double.pi / Double(n)
            let values = (0..<n).map { inner.loss(u: u, v: v, angle: Double($0) * h) }
            var best = values.max()!
            let peaks = (0..<n).filter { values[$0] >= values[($0 + n - 1) % n] && values[$0] >= values[($0 + 1) % n] }
            for i in peaks {
                var lo = Double(i - 1) * h, hi = Double(i + 1) * h
                let r = 0.618_033_988_749_894_848_2
                for _ in 0..<80 {
                    let x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo)
                    if inner.loss(u: u, v: v, angle: x1) >= inner.loss(u: u, v: v, angle: x2) { hi = x2 } else { lo = x1 }
                }
                best = max(best, inner.loss(u: u, v: v, angle: 0.5 * (lo + hi)))
            }
            // The certified value is attained (at its angle) and no scanned point beats it.
            #expect(abs(inner.loss(u: u, v: v, angle: m.angle) - m.value) <= 1e-15 * (1 + abs(m.value)))
            #expect(best <= m.value + inner.tolerance(at: m.value), "case \(case_) (A \(axisS), B \(axisT), a \(alpha / 2), u \(u), v \(v)): scan \(best) > certified \(m.value)")
            #expect(m.value <= best + 1e-12, "case \(case_): certified \(m.value) above the refined scan \(best)")
            worst = max(worst, best - m.value)
        }
        #expect(worst <= 1e-13)
    }

    @Test("the grid angles' line table (f from e^{-u} e^{-b}, bounds without exponentials) gives the softmax path's maximum to its tolerance, ls and trades, on 2000 random ellipses and margins; where e^{-u} e^{-b} would overflow it is not used (same bits)")
    func angleTableAgainstSoftmax() throws {
        var rng = Uniform(state: 0x9E3779B97F4A7C15)
        var differing = 0
        for case_ in 0..<2000 {
            let axisS = 5 * rng.next(), axisT = axisS * (0.2 + 0.8 * rng.next())
            let u = -8 + 24 * rng.next(), v = -6 + 12 * rng.next()
            let inner = case_ % 2 == 0
                ? L2SmoothedInnerMaximum(axisS: axisS, axisT: axisT, smoothing: 0.3 * rng.next())
                : L2SmoothedInnerMaximum(axisS: axisS, axisT: axisT, tradesBeta: 6)
            let tabled = try #require(inner.maximum(u: u, v: v), "case \(case_): declined")
            let plain = try #require(inner.maximum(u: u, v: v, tabled: false), "case \(case_): declined")
            #expect(abs(tabled.value - plain.value) <= inner.tolerance(at: plain.value),
                    "case \(case_) (A \(axisS), B \(axisT), u \(u), v \(v)): tabled \(tabled.value), softmax \(plain.value)")
            // Each maximiser is worth the other's value (ties at a jump may pick either).
            #expect(abs(inner.loss(u: u, v: v, angle: tabled.angle) - plain.value) <= inner.tolerance(at: plain.value), "case \(case_)")
            if tabled.value != plain.value { differing += 1 }
        }
        // Not vacuous: the two paths compute the grid differently (log1p against the softmax's log).
        #expect(differing > 0)
        let inner = L2SmoothedInnerMaximum(axisS: 2, axisT: 1, smoothing: 0.05)
        for u in [-760.0, -700] {
            let tabled = try #require(inner.maximum(u: u, v: 0.5)), plain = try #require(inner.maximum(u: u, v: 0.5, tabled: false))
            #expect(tabled.value == plain.value && tabled.angle == plain.angle, "u \(u)")
        }
    }

    @Test("trades at small margin scales (where |k - pi| <= M / 2 decides the third-derivative bound): the certified maximum equals a dense search's (4000 angles and golden sections) to its tolerance, on 400 random ellipses and margins")
    func smallScaleTradesAgainstDenseSearch() throws {
        var rng = Uniform(state: 0x2545F4914F6CDD1D)
        for case_ in 0..<400 {
            let axisS = 0.001 + 0.2 * rng.next() * rng.next(), axisT = axisS * (0.2 + 0.8 * rng.next())
            let u = -3 + 6 * rng.next(), v = -2 + 4 * rng.next()
            let inner = L2SmoothedInnerMaximum(axisS: axisS, axisT: axisT, tradesBeta: case_ % 2 == 0 ? 6 : 1)
            let certified = try #require(inner.maximum(u: u, v: v), "case \(case_): declined")
            // trades off v = 0: over the whole circle. 4000 angles, then golden sections around
            // the best three.
            let n = 4000
            func angle(_ i: Int) -> Double { -Double.pi + 2 * Double.pi * Double(i) / Double(n) }
            let values = (0...n).map { inner.loss(u: u, v: v, angle: angle($0)) }
            var dense = values.max()!
            for i in (0...n).sorted(by: { values[$0] > values[$1] }).prefix(3) {
                var lo = angle(max(i - 1, 0)), hi = angle(min(i + 1, n))
                for _ in 0..<60 {
                    let a = hi - 0.618 * (hi - lo), b = lo + 0.618 * (hi - lo)
                    if inner.loss(u: u, v: v, angle: a) >= inner.loss(u: u, v: v, angle: b) { hi = b } else { lo = a }
                }
                dense = max(dense, inner.loss(u: u, v: v, angle: 0.5 * (lo + hi)))
            }
            #expect(certified.value >= dense - inner.tolerance(at: dense) && certified.value <= dense + inner.tolerance(at: dense),
                    "case \(case_) (A \(axisS), B \(axisT), u \(u), v \(v)): certified \(certified.value), dense \(dense)")
        }
    }

    @Test("the maximiser is not always the margin-lowering one: large margins are raised (t near 0), small ones lowered (t near pi)")
    func adversaryRaisesLargeMargins() throws {
        let inner = L2SmoothedInnerMaximum(axisS: 1, axisT: 0.6, smoothing: 0.05)
        let large = try #require(inner.maximum(u: 12, v: 0.5)), small = try #require(inner.maximum(u: 0, v: 0.5))
        #expect(abs(large.angle) < 0.5, "u = 12: angle \(large.angle)")
        #expect(abs(small.angle) > 2, "u = 0: angle \(small.angle)")
    }

    @Test("ls under l2, symmetric family: fast == reference (adaptive, ellipse scan) to 1e-9")
    func valuesAgainstReference() throws {
        // (0.3, 1, 0.5): the reference takes ~3 s; w2 = 0 is served by a 1-D reference path.
        var points: [(Double, Double, Double, Double)] = [(0.3, 0.1, 1.0, 0.5), (0.3, 0.1, 2.0, 0.0)]
        if SlowTier.enabled {
            points += [(0.3, 0.1, 3.7, 2.7), (0.1, 0.1, 1.5, 1.2), (0.45, 0.1, 1.2, 0.6), (0.3, 0.3, 1.0, 1.0), (0.2, 0.05, 2.5, 0.4)]
        }
        for (eps, alpha, w1, w2) in points {
            let f = try Self.objective(eps, alpha, .fast).evaluate(w1: w1, w2: w2)
            let r = try Self.objective(eps, alpha, .reference).evaluate(w1: w1, w2: w2)
            #expect(f.method == .gaussLegendre2DL2 && r.method != f.method)
            #expect(f.converged && f.errorBound <= 1e-10, "eps \(eps) w (\(w1), \(w2)): error bound \(f.errorBound)")
            #expect(abs(f.value - r.value) <= 1e-9, "eps \(eps) ls:\(alpha) w (\(w1), \(w2)): fast \(f.value) reference \(r.value) (+- \(r.errorBound))")
        }
    }

    @Test("ls under l2: an evaluation with its inner maxima on all cores has the same bits as on one thread")
    func parallelSameBits() throws {
        var e = try #require(L2PairObjective(model: try DataModel.paper3(), threat: try ThreatModel(norm: .l2, eps: 0.3), objective: .ls(alpha: 0.1)))
        let serial = try #require(e.evaluate(w1: 1.47, w2: 1.33))
        e.parallel = true
        let parallel = try #require(e.evaluate(w1: 1.47, w2: 1.33))
        #expect(serial.value.bitPattern == parallel.value.bitPattern)
        #expect(serial.g1.bitPattern == parallel.g1.bitPattern && serial.g2.bitPattern == parallel.g2.bitPattern)
    }

    @Test("ls under l2: gradient in (w1, w2) equals central differences of the fast values (h = 1e-5)")
    func gradient() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        var points: [(Double, Double, Double)] = [(0.3, 1.4, 1.3), (0.3, 2.0, 0.0)]
        if SlowTier.enabled { points += [(0.1, 3.0, 1.0), (0.45, 1.0, 0.7)] }
        for (eps, w1, w2) in points {
            let e = try #require(L2PairObjective(model: model, threat: try ThreatModel(norm: .l2, eps: eps), objective: .ls(alpha: 0.1)))
            let g = try #require(e.evaluate(w1: w1, w2: w2))
            let h = 1e-5
            let d1 = (try #require(e.evaluate(w1: w1 + h, w2: w2)).value - (try #require(e.evaluate(w1: w1 - h, w2: w2))).value) / (2 * h)
            // At w2 = 0 the one-sided derivative: a forward difference of second order.
            let d2: Double
            if w2 == 0 {
                let f0 = g.value, f1 = try #require(e.evaluate(w1: w1, w2: h)).value, f2 = try #require(e.evaluate(w1: w1, w2: 2 * h)).value
                d2 = (-3 * f0 + 4 * f1 - f2) / (2 * h)
            } else {
                d2 = (try #require(e.evaluate(w1: w1, w2: w2 + h)).value - (try #require(e.evaluate(w1: w1, w2: w2 - h))).value) / (2 * h)
            }
            #expect(abs(g.g1 - d1) <= 1e-7 && abs(g.g2 - d2) <= 1e-7, "eps \(eps) w (\(w1), \(w2)): gradient (\(g.g1), \(g.g2)) vs differences (\(d1), \(d2))")
        }
    }

    @Test("ls under l2: the fast optimum is converged, stationary, and below its fast and reference neighbours on a ring")
    func optimumOnRing() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        let o = try SymmetricOptimizer(model: model, threat: threat, objective: .ls(alpha: 0.1)).solve()
        #expect(o.converged, "\(o.notes)")
        #expect(!o.onBoundary && o.w2 > 0)
        let e = try #require(L2PairObjective(model: model, threat: threat, objective: .ls(alpha: 0.1)))
        let g = try #require(e.evaluate(w1: o.w1, w2: o.w2))
        #expect(abs(g.g1) <= 1e-8 && abs(g.g2) <= 1e-8, "gradient (\(g.g1), \(g.g2))")
        // A ring of radius 1e-2 around the optimum: every point higher, by about the quadratic
        // term (>= 1e-6 here), on the fast path; the reference path at four ring points in the
        // slow tier (the fast one equals the reference to 1e-9 in `valuesAgainstReference`).
        let reference = try Self.objective(0.3, 0.1, .reference)
        let angles = SlowTier.enabled ? [0.0, 1.6, 3.1, 4.7] : []
        for k in 0..<4 {
            let phi = Double(k) * Double.pi / 2 + 0.1
            let w1 = o.w1 + 1e-2 * cos(phi), w2 = o.w2 + 1e-2 * sin(phi)
            let f = try #require(e.evaluate(w1: w1, w2: w2)).value
            #expect(f > o.objectiveValue + 1e-7, "ring point \(k): \(f) vs optimum \(o.objectiveValue)")
        }
        for phi in angles {
            let r = try reference.evaluate(w1: o.w1 + 1e-2 * cos(phi), w2: o.w2 + 1e-2 * sin(phi))
            #expect(r.value > o.objectiveValue + 1e-7, "reference at angle \(phi): \(r.value) vs optimum \(o.objectiveValue)")
        }
    }

    @Test("an error bound above the tolerance is reported unconverged (W(6, 4), eps 0.3: bound ~3e-9) and covers the reference (slow)", .enabled(if: SlowTier.enabled))
    func largeScaleBoundIsHonest() throws {
        let f = try Self.objective(0.3, 0.1, .fast).evaluate(w1: 6, w2: 4)
        #expect(f.method == .gaussLegendre2DL2)
        #expect(f.converged == (f.errorBound <= 1e-10))
        let r = try Self.objective(0.3, 0.1, .reference, tolerance: 1e-11).evaluate(w1: 6, w2: 4)
        #expect(abs(f.value - r.value) <= f.errorBound + r.errorBound, "fast \(f.value) +- \(f.errorBound) reference \(r.value) +- \(r.errorBound)")
    }
}

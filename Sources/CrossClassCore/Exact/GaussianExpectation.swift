import Foundation
import GSL

/// E[h(d)] for a Gaussian vector d ~ N(mean, cov) of dimension m = 1, 2 (deterministic nested
/// GSL quadrature in the whitened coordinates z, d = mean + L z) or m >= 3 (randomised lattice
/// rules with a reported error: pre-integrated along one direction for m <= 5).
struct GaussianExpectation {
    /// Absolute tolerance asked of the quadrature.
    var tolerance: Double = 1e-10
    /// Whitened coordinates are integrated over [-cut, cut]; P(|Z| > 9) = 2.3e-19.
    static let cut = 9.0
    /// Integrand evaluations one 2-D expectation may spend (a bound on work, so that an
    /// integrand dominated by round-off ends in a clear error instead of running for hours).
    static let defaultEvaluationBudget = 50_000_000
    /// The bound this expectation applies (injectable, so that a test can reach it quickly).
    var evaluationBudget = GaussianExpectation.defaultEvaluationBudget
    /// Most kinks located per line (beyond that QAG's own bisection has to cope).
    static let maxBreaks = 24
    /// When set, the label scan of a line has cells at most this many margin units wide at
    /// the line's centre, graded outwards (`scanEdges`); otherwise a fixed 24 cells on a half
    /// line, 48 on a whole one. A piece that starts and ends inside one cell is not seen, and
    /// QAG's Gauss-Kronrod nodes can step over it at every tolerance: a systematic error its
    /// own estimate does not show. trades needs it (`RobustObjective` sets
    /// `tradesScanCellWidth(tolerance:)`); elsewhere the fixed scans are kept: no such error was
    /// measured there, and a dense scan costs hundreds of label evaluations per line of every
    /// expectation.
    var scanCellWidth: Double?
    /// Measured on the 8 scipy cases of Tests/Fixtures/trades_reference.json (trades, margin
    /// spans up to ~200 along the inner lines), tolerance 1e-10, with uniform cells: the fixed
    /// cells left the value up to 2.6e-8 below scipy's (certified kinks) while reporting
    /// 2.4e-11; 0.025-unit cells up to 5.7e-11 below at a bound of 1.3e-11; with 0.01-unit cells
    /// every difference was within the reported bound (largest 2.0e-12), and the evaluations
    /// got 2-6x faster (QAG no longer bisects around unseen kinks).
    static let tradesScanCellWidth = 0.01
    /// The tolerance `tradesScanCellWidth` was calibrated at.
    static let tradesScanCalibrationTolerance = 1e-10
    /// The widest trades scan cells (a quarter of a margin unit; the fixed scans are wider).
    static let tradesScanMaxCellWidth = 0.25
    /// The trades scan's cell width for an expectation of absolute tolerance `tolerance`: a lost
    /// sliver of width at most c costs an error of order c^2 (`scanEdges`), so the calibrated
    /// width grows as the square root of the tolerance above the calibration's, up to
    /// `tradesScanMaxCellWidth` (at 1e-10 and below: 0.01; 1e-8: 0.1; 1e-7 and above: 0.25).
    /// Measured against the complement(4) and (5) fixture (ls, trades at their lattice floors
    /// 1e-7 and 5e-6; Tests/Fixtures/complement_smooth_reference.json): within the bound.
    static func tradesScanCellWidth(tolerance: Double) -> Double {
        let ratio = max(1, tolerance / tradesScanCalibrationTolerance)
        return min(tradesScanMaxCellWidth, tradesScanCellWidth * ratio.squareRoot())
    }
    /// Bounds on the number of scan cells of a line: the lower bound is the fixed scan; a line
    /// that would need more than the upper bound (margin spans beyond ~300 units per half line,
    /// i.e. weights far outside the fast path's panels) gets the fixed scan, since cells wider
    /// than the pieces cannot resolve them anyway (trades:6 at W(1000, 500): 19 s with 8000
    /// cells per line, unconverged either way). Scan evaluations count against
    /// `evaluationBudget`.
    static let scanCellRange = 24...8000

    /// The cell edges of the label scan of [lower, cut] (first `lower`, last `cut`), for a line
    /// whose points move the margins by at most `marginsPerUnit` per unit of z.
    ///
    /// Without `scanCellWidth`: the fixed uniform scan. With it, the cells are graded: a sliver
    /// piece of width c inside a cell at z is lost with an error of order c^2 phi(z), so the
    /// widths c(z) = a e^(z^2 / 4) (in margin units) keep that error the same in every cell,
    /// which is the fewest cells for a given total (minimise the integral of 1/c subject to
    /// the integral of c phi). a = width / 2.239 makes that total no larger than uniform cells
    /// of `width` give (integral of a e^(z^2/4) phi(z) = 2.239 a over the line), at about 5
    /// margin units / width cells per line instead of 18: the centre cells are 0.71 x `width`
    /// wide, and cells never exceed the fixed scan's.
    ///
    /// `uniformStep`: the fixed scan's step (its cells end at start + step, as they always
    /// have, so that the settings without `scanCellWidth` keep their bits); nil when graded.
    func scanEdges(from lower: Double, marginsPerUnit: Double) -> (edges: [Double], uniformStep: Double?) {
        let minimum = lower < 0 ? 2 * Self.scanCellRange.lowerBound : Self.scanCellRange.lowerBound
        let fixedStep = (Self.cut - lower) / Double(minimum)
        func uniform() -> ([Double], Double?) { ((0...minimum).map { lower + Double($0) * fixedStep }, fixedStep) }
        guard let width = scanCellWidth, marginsPerUnit > 0 else { return uniform() }
        let centre = width / 2.239 / marginsPerUnit
        var edges = [lower]
        edges.reserveCapacity(1024)
        var z = lower
        while z < Self.cut {
            // The width at the cell's point nearest z = 0 (to the right of a negative z, the
            // cell can come at most one fixed step closer to 0).
            let nearest = z < 0 ? max(0, -z - fixedStep) : z
            let step = min(fixedStep, centre * exp(nearest * nearest / 4))
            z = z + step >= Self.cut - 1e-12 ? Self.cut : z + step
            edges.append(z)
            if edges.count > Self.scanCellRange.upperBound + 1 { return uniform() }
        }
        return (edges, nil)
    }

    var qmcTolerance: Double = 1e-6
    /// The smallest error the m >= 3 methods reach within their point caps on the objectives'
    /// integrands, with a margin (the callers refuse tighter tolerances). Measured at eps 0.2
    /// on complement(K) (the general path, `--reference` for the margin losses):
    /// - m = 3 (K = 4), pre-integrated: ls:0.1 2.2e-9 at 10946 points (W(1.82, 1.40)); ce,
    ///   worst-margin, hinge:1, ls:0.1, trades:1 all below 1e-7 at sigma 0.6, W(1.3, 0.8);
    /// - m = 4 (K = 5), pre-integrated: ls 8.7e-7, trades 7.3e-7, hinge 1.5e-6 at the cap
    ///   (the min over 4 margins has the most intersecting kinks);
    /// - m = 5 (K = 6), pre-integrated: ls 4.1e-6, trades 3.4e-6 (130 s), hinge 1.5e-5 at the cap;
    /// - m >= 6, the plain lattice: ls 4.1e-5 to 4.6e-5 at its cap (K = 4, 6, 8).
    static func qmcAttainableTolerance(margins m: Int) -> Double {
        switch m {
        case ...3: return 1e-7
        case 4: return 5e-6
        case 5: return 5e-5
        default: return 1e-4
        }
    }
    /// Largest lattice the pre-integrated method tries (a Fibonacci lattice of 17711 points in
    /// two dimensions): at about 300 (ls) to 3000 (trades, before its scans were graded and
    /// scaled to the tolerance) integrand evaluations per line and 10 shifts, up to 5e8
    /// evaluations when the tolerance is not met first.
    static let preIntegratedMaxPoints = 1 << 14
    /// Most margins the pre-integrated lattice takes: beyond, its periodising weights (a product
    /// over m - 1 coordinates) cost more accuracy than the pre-integration gains.
    static let preIntegratedMaxMargins = 5
    var qmcSeed: UInt64 = 11

    /// `h` gets a pointer to the m margins and returns the integrand; it may also write a
    /// "piece" label (e.g. the index of the maximising vertex): where the label changes along
    /// an integration line the integrand has a kink, which is located by bisection and handed
    /// to GSL QAGP as a break point. `growth` bounds |h(d)| / (1 + |d|) (tail error term).
    ///
    /// `exchangeable`, for m = 2: the variances of (d1 + d2)/2 and (d1 - d2)/2, computed by a
    /// caller that knows the structure (so that a tiny difference variance is exact instead of
    /// a cancellation of two large covariance entries); the integrand must be symmetric under
    /// swapping d1 and d2.
    ///
    /// `constantPiece`: the caller guarantees that `h` never writes a piece label other than 0
    /// (e.g. a single candidate vertex). Every label scan would then find one label only and
    /// produce no break point, so the scans are skipped; the break points handed to QAG (the
    /// scan cells included) are the same as with the scans.
    func expectation(
        mean: [Double], covariance: [Double], growth: Double = 1, exchangeable: (sum: Double, difference: Double)? = nil,
        constantPiece: Bool = false,
        _ h: (UnsafePointer<Double>, inout Int) -> Double
    ) throws -> Estimate {
        let m = mean.count
        let l = PerturbationSet.cholesky(covariance, m)
        let tail = tailBound(mean: mean, l: l, growth: growth)
        // Scratch margins as raw memory owned by this call (a captured array mutated in the
        // integrand costs a dynamic exclusivity check per access).
        let d = UnsafeMutablePointer<Double>.allocate(capacity: max(m, 1))
        d.initialize(repeating: 0, count: max(m, 1))
        defer { d.deallocate() }
        switch m {
        case 0:
            var piece = 0
            return Estimate(value: h(UnsafePointer(d), &piece), errorBound: 0, converged: true, method: .point)
        case 1:
            let s = l[0]
            var piece = 0
            if s == 0 {
                d[0] = mean[0]
                return Estimate(value: h(UnsafePointer(d), &piece), errorBound: 0, converged: true, method: .point)
            }
            let m0 = mean[0]
            let q = try lineIntegral(Integrator(), tolerance: tolerance, marginsPerUnit: abs(s), constantPiece: constantPiece) { z, piece in
                d[0] = m0 + s * z
                return h(UnsafePointer(d), &piece)
            }
            return Estimate(value: q.value, errorBound: q.absoluteError + tail, converged: q.converged, method: .quadrature1D)
        case 2:
            let spread = mean[0] == mean[1] ? exchangeable : nil
            return try twoDimensional(mean: mean, l: l, exchangeable: spread, tail: tail, constantPiece: constantPiece, h)
        default:
            if m <= Self.preIntegratedMaxMargins {
                return try latticeWithPreIntegration(mean: mean, l: l, tail: tail, constantPiece: constantPiece, h)
            }
            return try quasiMonteCarlo(mean: mean, l: l, h)
        }
    }

    /// The mass outside [-cut, cut] in every whitened coordinate times the integrand's growth
    /// bound there.
    func tailBound(mean: [Double], l: [Double], growth: Double) -> Double {
        var scale = 0.0
        for v in mean { scale = max(scale, abs(v)) }
        for v in l { scale = max(scale, abs(v) * Self.cut) }
        return 2 * Normal.upperTail(Self.cut) * growth * (1 + scale) + 1e-300
    }

    /// integral over [lower, cut] of phi(z) g(z) dz, with break points where g's piece label
    /// changes (found on a scan, then bisected to 1e-13).
    /// `constantPiece`: g's label is always 0, so the scan would find no break point: skip it.
    func lineIntegral(
        _ integrator: Integrator, tolerance: Double, from lower: Double = -cut, marginsPerUnit: Double, constantPiece: Bool = false,
        _ g: (Double, inout Int) -> Double
    ) throws -> Quadrature {
        if constantPiece {
            return try integrator.integrate(
                over: lower, Self.cut, breakPoints: [], tolerance: Tolerance(absolute: tolerance, relative: 1e-12)
            ) { z in
                var piece = 0
            return Normal.pdf(z) * g(z, &piece)
            }
        }
        let (edges, uniformStep) = scanEdges(from: lower, marginsPerUnit: marginsPerUnit)
        let n = edges.count - 1
        // How closely a kink is bisected. A break point d off the kink leaves a kink of slope
        // jump s inside a QAG panel, an error of order s d^2 phi that QAG then subdivides for:
        // with the graded scans (trades), d = 1e-3 sqrt(tolerance) keeps that below
        // 1e-6 x the line's tolerance per unit of slope jump, at about half the bisection steps
        // of 1e-13 at loose tolerances. The fixed scans keep 1e-13 (and their bits).
        let breakResolution = scanCellWidth == nil ? 0 : 1e-3 * tolerance.squareRoot()
        // On a half line starting at a symmetry axis the first point is a tie (the two mirror
        // pieces are equal there): label it from just inside the interval.
        let inset = lower < 0 ? 0 : 1e-9
        var labels = [Int](repeating: 0, count: n + 1)
        var scanEvaluations = n + 1
        for i in 0...n {
            var piece = 0
            _ = g(i == 0 ? lower + inset : edges[i], &piece)
            labels[i] = piece
        }
        var breaks: [Double] = []
        for i in 0..<n where labels[i] != labels[i + 1] && breaks.count < Self.maxBreaks {
            // Bisect to the first change of label in the cell; if the label found there is
            // not the cell's right-hand label, another change follows: bisect again from there
            // (this finds the thin slivers a vertex occupies between two others).
            var start = edges[i]
            let end = uniformStep.map { start + $0 } ?? edges[i + 1]
            var left = labels[i]
            var guardCount = 0
            while left != labels[i + 1] && guardCount < 8 {
                guardCount += 1
                var lo = start, hi = end
                var hiLabel = labels[i + 1]
                while hi - lo > max(1e-13 * max(1, abs(lo)), breakResolution) {
                    let mid = 0.5 * (lo + hi)
                    var piece = 0
                    _ = g(mid, &piece)
                    scanEvaluations += 1
                    if piece == left { lo = mid } else { hi = mid; hiLabel = piece }
                }
                breaks.append(0.5 * (lo + hi))
                start = hi
                left = hiLabel
            }
        }
        // (The integrands only write their piece label, never read it: a fresh local per call.)
        var q = try integrator.integrate(
            over: lower, Self.cut, breakPoints: breaks, tolerance: Tolerance(absolute: tolerance, relative: 1e-12)
        ) { z in
            var piece = 0
            return Normal.pdf(z) * g(z, &piece)
        }
        q.evaluations += scanEvaluations
        return q
    }

    /// m = 2. Coordinates: d = mean + A z with A the Cholesky factor, or, for an exchangeable
    /// pair (equal means and variances, integrand symmetric under swapping d1 and d2), the
    /// independent sum/difference directions d = mean + (su z1 + sv z2, su z1 - sv z2), with the
    /// inner integral over z2 >= 0 only (doubled): half the work, and the kink on the diagonal
    /// d1 = d2 becomes an end point.
    private func twoDimensional(
        mean: [Double], l: [Double], exchangeable: (sum: Double, difference: Double)?, tail: Double,
        constantPiece: Bool, _ h: (UnsafePointer<Double>, inout Int) -> Double
    ) throws -> Estimate {
        // Constants (not captured `var`s, whose every read in the integrands would be a dynamic
        // exclusivity check).
        let (a11, a12, a21, a22, innerLower, factor): (Double, Double, Double, Double, Double, Double) = {
            var a11 = l[0], a12 = 0.0, a21 = l[2], a22 = l[3]
            var innerLower = -Self.cut
            var factor = 1.0
            if let spread = exchangeable {
                let su = max(0, spread.sum).squareRoot(), sv = max(0, spread.difference).squareRoot()
                a11 = su; a12 = sv; a21 = su; a22 = -sv
                if sv > 0 {
                    innerLower = 0
                    factor = 2
                }
            }
            return (a11, a12, a21, a22, innerLower, factor)
        }()
        let d = UnsafeMutablePointer<Double>.allocate(capacity: 2)
        d.initialize(repeating: 0, count: 2)
        defer { d.deallocate() }
        let mean0 = mean[0], mean1 = mean[1]
        // Each outer evaluation is a whole inner integral: cap the outer subdivisions (GSL
        // QAG otherwise keeps bisecting up to its limit when the tolerance is out of reach).
        let outer = Integrator(limit: 150), inner = Integrator()
        // Work bound (evaluationBudget): ordinary expectations use a few percent of it.
        let innerNull = a12 == 0 && a22 == 0
        let outerNull = a11 == 0 && a21 == 0
        if innerNull && outerNull {
            d[0] = mean0
            d[1] = mean1
            var piece = 0
            return Estimate(value: h(UnsafePointer(d), &piece), errorBound: 0, converged: true, method: .point)
        }
        // A degenerate direction makes the inner integral trivial: integrate in 1-D.
        if innerNull || outerNull {
            let b1 = innerNull ? a11 : a12, b2 = innerNull ? a21 : a22
            let q = try lineIntegral(outer, tolerance: tolerance, marginsPerUnit: max(abs(b1), abs(b2)), constantPiece: constantPiece) { z, piece in
                d[0] = mean0 + b1 * z
                d[1] = mean1 + b2 * z
                return h(UnsafePointer(d), &piece)
            }
            return Estimate(value: q.value, errorBound: q.absoluteError + tail, converged: q.converged, method: .quadrature1D)
        }
        // Inner integrals well below the outer tolerance, so that their error does not look
        // like round-off noise to the outer QAG.
        let innerTolerance = tolerance * 0.05 / factor
        let innerMarginsPerUnit = max(abs(a12), abs(a22))
        // Where the pattern of pieces along the inner line changes (a kink curve turns, or
        // three pieces meet), the outer integrand loses smoothness: find those z1 by a scan
        // and bisection, and give them to QAG as break points.
        func pattern(_ z1: Double) -> [Int] {
            let n = innerLower < 0 ? 48 : 24
            let width = (Self.cut - innerLower) / Double(n)
            let inset = innerLower < 0 ? 0 : 1e-9
            var labels: [Int] = []
            for i in 0...n {
                var piece = 0
                let z2 = innerLower + max(Double(i) * width, inset)
                d[0] = mean0 + a11 * z1 + a12 * z2
                d[1] = mean1 + a21 * z1 + a22 * z2
                _ = h(UnsafePointer(d), &piece)
                if labels.last != piece { labels.append(piece) }
            }
            return labels
        }
        var outerBreaks: [Double] = []
        let scan = 48
        let step = 2 * Self.cut / Double(scan)
        // With a constant piece label every pattern is [0]: the scan finds no break point.
        var previous = constantPiece ? [] : pattern(-Self.cut)
        for i in 1...scan where !constantPiece {
            let z = -Self.cut + Double(i) * step
            let current = pattern(z)
            // Chained bisection, as on the inner lines: after the first change in the cell,
            // look for further changes between it and the cell's end (a pattern that lives
            // only in a thin band of z1 is otherwise missed).
            var left = previous
            var start = z - step
            var rounds = 0
            while left != current && rounds < 8 && outerBreaks.count < 4 * Self.maxBreaks {
                rounds += 1
                var lo = start, hi = z
                var hiPattern = current
                while hi - lo > 1e-10 * max(1, abs(lo)) {
                    let mid = 0.5 * (lo + hi)
                    let p = pattern(mid)
                    if p == left { lo = mid } else { hi = mid; hiPattern = p }
                }
                outerBreaks.append(0.5 * (lo + hi))
                start = hi
                left = hiPattern
            }
            previous = current
        }
        // The scan cells are break points too: every cell gets its own QAG (its first
        // Gauss-Kronrod panel is then small enough to notice narrow features of the outer
        // integrand, which on a single long interval were seen to be stepped over).
        let cells = (1..<scan).map { -Self.cut + Double($0) * step }
        let q = try NestedIntegral(outer: outer, inner: inner, evaluationBudget: evaluationBudget).integrate(
            over: -Self.cut, Self.cut, breakPoints: outerBreaks + cells,
            tolerance: Tolerance(absolute: tolerance * 0.5 / factor, relative: 1e-12)
        ) { z1, inner in
            let base0 = mean0 + a11 * z1, base1 = mean1 + a21 * z1
            let r = try lineIntegral(inner, tolerance: innerTolerance, from: innerLower, marginsPerUnit: innerMarginsPerUnit, constantPiece: constantPiece) { z2, piece in
                d[0] = base0 + a12 * z2
                d[1] = base1 + a22 * z2
                return h(UnsafePointer(d), &piece)
            }
            return .init(value: Normal.pdf(z1) * r.value, error: r.absoluteError, converged: r.converged, evaluations: r.evaluations)
        }
        let innerError = q.innerError
        return Estimate(
            value: factor * q.value, errorBound: factor * (q.outerError + innerError) + tail,
            converged: q.converged, method: factor == 2 ? .quadrature2DSymmetric : .quadrature2D)
    }

    /// 3 <= m <= `preIntegratedMaxMargins` by a randomised lattice rule with pre-integration
    /// (conditional smoothing). The margins are d = mean + L (Q y + t u): u is a unit direction
    /// along which every margin moves and no two move together, Q an orthonormal basis of u's
    /// complement, t and y independent standard normals. The integral over t is `lineIntegral`'s adaptive quadrature, which puts
    /// the loss's kinks on the line in as break points. What is left, F(y) = int phi(t) h dt, is
    /// smooth where the kinks cross the lines (integrating a kink against a Gaussian smooths
    /// it), so after y = Phi^{-1}(psi(v)) with Sidi's periodising psi, a rank-1 lattice over v
    /// converges near its smooth rate. Measured on ls:0.1, complement(4), eps 0.2, W(1.82, 1.40):
    /// error 1.5e-6 at 233 points, 6.6e-8 at 1597, 7.4e-10 at 28657 (the cap raised for that
    /// measurement; the plain lattice over all three margins: 4e-5 at 2^16 points).
    ///
    /// Error bound: 3.5 standard errors over 10 random shifts, plus the lines' own bounds
    /// (their weighted mean: a bound on the bias they add), plus the Gaussian tails.
    private func latticeWithPreIntegration(
        mean: [Double], l: [Double], tail: Double, constantPiece: Bool, _ h: (UnsafePointer<Double>, inout Int) -> Double
    ) throws -> Estimate {
        let plan = PreIntegratedLattice(mean: mean, l: l, seed: qmcSeed, tolerance: qmcTolerance, constantPiece: constantPiece)
        return try plan.run(tail: tail) { lattice in
            try (0..<PreIntegratedLattice.randomisations).map { try plan.shiftMean(lattice, shift: $0, engine: self, h) }
        }
    }

    /// The same rule with its random shifts spread over every core: `scope` hands each worker an
    /// integrand of its own (its scratch memory is the worker's) for the duration of a call. Same
    /// bits as `expectation` (each shift's sum is formed in the same order, then combined in
    /// shift order). nil when `expectation` would not use this rule (m outside
    /// 3...`preIntegratedMaxMargins`): the caller then takes `expectation`.
    func parallelLatticeExpectation(
        mean: [Double], covariance: [Double], growth: Double, constantPiece: Bool,
        scope: @Sendable @escaping (_ body: ((UnsafePointer<Double>, inout Int) -> Double) throws -> Void) throws -> Void
    ) throws -> Estimate? {
        let m = mean.count
        guard m >= 3, m <= Self.preIntegratedMaxMargins else { return nil }
        let l = PerturbationSet.cholesky(covariance, m)
        let tail = tailBound(mean: mean, l: l, growth: growth)
        let plan = PreIntegratedLattice(mean: mean, l: l, seed: qmcSeed, tolerance: qmcTolerance, constantPiece: constantPiece)
        let engine = self
        return try plan.run(tail: tail) { lattice in
            try Parallel.map(Array(0..<PreIntegratedLattice.randomisations)) { shift in
                var result: PreIntegratedLattice.ShiftMean? = nil
                try scope { h in result = try plan.shiftMean(lattice, shift: shift, engine: engine, h) }
                return result!
            }
        }
    }

    /// m >= 6: a randomised Richtmyer lattice with the baker's transform over all m margins,
    /// z = Phi^{-1}(u) (no pre-integration; its error at the cap is about 4e-5 on the kinked
    /// losses).
    private func quasiMonteCarlo(mean: [Double], l: [Double], _ h: (UnsafePointer<Double>, inout Int) -> Double) throws -> Estimate {
        let m = mean.count
        let primes: [Double] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
        let generators = (0..<m).map { i -> Double in
            let r = (i < primes.count ? primes[i] : Double(73 + 2 * i)).squareRoot()
            return r - r.rounded(.down)
        }
        let randomisations = 10
        let random = RandomSource(seed: qmcSeed)
        let shifts = (0..<randomisations).map { _ in (0..<m).map { _ in random.uniform() } }
        var points = 1 << 12
        var z = [Double](repeating: 0, count: m)
        var d = [Double](repeating: 0, count: m)
        var estimate = 0.0, error = Double.infinity
        while true {
            var sums = [Double](repeating: 0, count: randomisations)
            for r in 0..<randomisations {
                var total = 0.0
                for k in 1...points {
                    for i in 0..<m {
                        var u = Double(k) * generators[i] + shifts[r][i]
                        u -= u.rounded(.down)
                        u = abs(2 * u - 1)
                        z[i] = Normal.quantile(min(max(u, 1e-17), 1 - 1e-16))
                    }
                    for i in 0..<m {
                        var s = mean[i]
                        for j in 0...i { s += l[i * m + j] * z[j] }
                        d[i] = s
                    }
                    var piece = 0
                    total += d.withUnsafeBufferPointer { h($0.baseAddress!, &piece) }
                }
                sums[r] = total / Double(points)
            }
            estimate = sums.reduce(0, +) / Double(randomisations)
            let v = sums.reduce(0) { $0 + ($1 - estimate) * ($1 - estimate) } / Double(randomisations * (randomisations - 1))
            error = 3.5 * v.squareRoot()
            if error <= qmcTolerance || points >= 1 << 16 { break }
            points *= 2
        }
        return Estimate(value: estimate, errorBound: error, converged: error <= qmcTolerance, method: .latticeQMC)
    }

    /// A unit direction u in whitened coordinates along which every margin moves (L u has no
    /// zero entry) and no two margins move together (distinct entries), so that no kink of the
    /// loss on d_i = d_j or on a margin's level set runs along the pre-integration lines.
    static func preIntegrationDirection(_ l: [Double], _ m: Int) -> (u: [Double], lu: [Double]) {
        // Margin velocities v = (1, 1 + 1/m, ..., (2m - 1)/m): solve L u = v by forward
        // substitution, then normalise u.
        var u = [Double](repeating: 0, count: m)
        for i in 0..<m {
            var s = 1 + Double(i) / Double(m)
            for k in 0..<i { s -= l[i * m + k] * u[k] }
            u[i] = s / l[i * m + i]
        }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else {
            // A singular L (a degenerate margin): the first coordinate direction. Kinks may then
            // run along the lines, which slows the lattice but leaves its error bound honest.
            var first = [Double](repeating: 0, count: m)
            first[0] = 1
            return (first, (0..<m).map { l[$0 * m] })
        }
        let unit = u.map { $0 / norm }
        var lu = [Double](repeating: 0, count: m)
        for i in 0..<m { for k in 0...i { lu[i] += l[i * m + k] * unit[k] } }
        return (unit, lu)
    }
}


/// A nested integral int dx F(x) whose integrand F(x) is itself computed by an inner
/// quadrature (issue 14's nested-integral helper): every 2-D expectation goes through it. The
/// inner computation may throw (the error ends the whole integral, through the Integrator's
/// throwing integrands); inner error estimates, convergence and evaluation counts are collected
/// here instead of in flags inside each integrand; a work budget bounds the total number of
/// inner integrand evaluations.
struct NestedIntegral {
    let outer: Integrator
    let inner: Integrator
    var evaluationBudget: Int = GaussianExpectation.defaultEvaluationBudget

    struct InnerValue {
        /// F(x).
        var value: Double
        /// The inner quadrature's error in F(x).
        var error: Double
        var converged: Bool
        var evaluations: Int
    }

    struct Result {
        var value: Double
        /// The outer quadrature's error estimate.
        var outerError: Double
        /// The largest inner error over all outer evaluations.
        var innerError: Double
        /// Outer and every inner quadrature reached their tolerance.
        var converged: Bool
        var evaluations: Int
    }

    func integrate(
        over a: Double, _ b: Double, breakPoints: [Double] = [], tolerance: Tolerance,
        _ body: (Double, Integrator) throws -> InnerValue
    ) throws -> Result {
        var innerError = 0.0
        var innerConverged = true
        var evaluations = 0
        let q = try outer.integrate(over: a, b, breakPoints: breakPoints, tolerance: tolerance) { x in
            let r = try body(x, inner)
            innerError = max(innerError, r.error)
            innerConverged = innerConverged && r.converged
            evaluations += r.evaluations
            if evaluations > evaluationBudget {
                throw NumericalError("a nested integral needed more than \(evaluationBudget) integrand evaluations without reaching tolerance \(tolerance.absolute) (the integrand is dominated by round-off, e.g. weights of huge norm); refusing rather than returning an unverified number")
            }
            return r.value
        }
        return Result(value: q.value, outerError: q.absoluteError, innerError: innerError,
                      converged: q.converged && innerConverged, evaluations: evaluations + q.evaluations)
    }
}


/// The geometry and shifts of `GaussianExpectation`'s pre-integrated lattice rule (see
/// `latticeWithPreIntegration`): margins d = mean + lq y + lu t, y over the lattice, t by the
/// adaptive line quadrature.
struct PreIntegratedLattice: Sendable {
    static let randomisations = 10
    let m: Int
    let mean: [Double]
    /// L Q: m x (m - 1).
    let lq: [Double]
    /// L u: how fast each margin moves along the line.
    let lu: [Double]
    /// The largest entry of L u: margin units per unit of t (the line scans' cell count).
    let rate: Double
    let shifts: [[Double]]
    /// The expectation's tolerance, and the lines' (well below it: their errors bias the mean).
    let tolerance: Double
    let lineTolerance: Double
    let constantPiece: Bool

    init(mean: [Double], l: [Double], seed: UInt64, tolerance: Double, constantPiece: Bool) {
        let m = mean.count
        let dims = m - 1
        let (u, lu) = GaussianExpectation.preIntegrationDirection(l, m)
        // Householder reflection mapping e_1 to u: its columns 2...m span u's complement.
        var w = u
        w[0] -= 1
        let ww = w.reduce(0) { $0 + $1 * $1 }
        var lq = [Double](repeating: 0, count: m * dims)
        for i in 0..<m {
            for j in 0..<dims {
                var s = 0.0
                for k in 0...i {
                    let identity = k == j + 1 ? 1.0 : 0.0
                    let q = ww == 0 ? identity : identity - 2 * w[k] * w[j + 1] / ww
                    s += l[i * m + k] * q
                }
                lq[i * dims + j] = s
            }
        }
        let random = RandomSource(seed: seed)
        self.m = m
        self.mean = mean
        self.lq = lq
        self.lu = lu
        self.rate = lu.map(abs).max() ?? 1
        self.shifts = (0..<Self.randomisations).map { _ in (0..<dims).map { _ in random.uniform() } }
        self.tolerance = tolerance
        self.lineTolerance = tolerance * 0.01
        self.constantPiece = constantPiece
    }

    /// One shift's mean over the lattice, and the weighted mean of its lines' error bounds (a
    /// bound on the bias the lines add).
    struct ShiftMean: Sendable {
        var value: Double
        var lineBias: Double
        var linesConverged: Bool
    }

    func shiftMean(_ lattice: RankOneLattice, shift r: Int, engine: GaussianExpectation, _ h: (UnsafePointer<Double>, inout Int) -> Double) throws -> ShiftMean {
        let dims = m - 1
        let n = lattice.points
        let integrator = Integrator()
        let base = UnsafeMutablePointer<Double>.allocate(capacity: m)
        let d = UnsafeMutablePointer<Double>.allocate(capacity: m)
        base.initialize(repeating: 0, count: m)
        d.initialize(repeating: 0, count: m)
        defer { base.deallocate(); d.deallocate() }
        var y = [Double](repeating: 0, count: dims)
        var total = 0.0, bias = 0.0
        var converged = true
        let m = self.m, lu = self.lu
        for k in 0..<n {
            var weight = 1.0
            for i in 0..<dims {
                var v = Double(k * lattice.generator[i] % n) / Double(n) + shifts[r][i]
                v -= v.rounded(.down)
                let p = PeriodisingTransform.apply(v)
                weight *= p.weight
                y[i] = Normal.quantile(min(max(p.value, 1e-300), 1 - 1e-16))
            }
            // Where the weight vanishes (the transform's ends) the line contributes 0.
            if weight == 0 { continue }
            for i in 0..<m {
                var s = mean[i]
                for j in 0..<dims { s += lq[i * dims + j] * y[j] }
                base[i] = s
            }
            let q = try engine.lineIntegral(integrator, tolerance: lineTolerance, marginsPerUnit: rate, constantPiece: constantPiece) { t, piece in
                for i in 0..<m { d[i] = base[i] + lu[i] * t }
                return h(UnsafePointer(d), &piece)
            }
            converged = converged && q.converged
            total += weight * q.value
            bias += weight * q.absoluteError
        }
        return ShiftMean(value: total / Double(n), lineBias: bias / Double(n), linesConverged: converged)
    }

    /// Doubles the lattice until 3.5 standard errors over the shifts, plus the lines' bias
    /// bound, plus the tails are within the tolerance, or the lattice reaches its cap.
    func run(tail: Double, _ means: (RankOneLattice) throws -> [ShiftMean]) throws -> Estimate {
        var size = 1 << 8
        var estimate = 0.0, error = Double.infinity
        var converged = true
        while true {
            let lattice = RankOneLattice(size: size, dimension: m - 1)
            let results = try means(lattice)
            let count = Double(results.count)
            estimate = results.reduce(0) { $0 + $1.value } / count
            let variance = results.reduce(0) { $0 + ($1.value - estimate) * ($1.value - estimate) } / (count * (count - 1))
            let lineBias = results.reduce(0) { $0 + $1.lineBias } / count
            converged = results.allSatisfy { $0.linesConverged }
            error = 3.5 * variance.squareRoot() + lineBias + tail
            if error <= tolerance || size >= GaussianExpectation.preIntegratedMaxPoints { break }
            size *= 2
        }
        return Estimate(value: estimate, errorBound: error, converged: converged && error <= tolerance, method: .latticeQMC)
    }
}

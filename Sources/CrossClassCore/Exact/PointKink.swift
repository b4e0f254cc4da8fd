import Foundation
import GSL

/// The kink of a point class's loss (`LinearPairCE.pointClasses`: both margins constant, its
/// loss the inner maximum at one point): where two or three candidates of that maximum (ellipse
/// peaks, or polygon vertices) tie, R is the largest of smooth functions, and a minimiser can sit
/// on the tie (`SymmetricOptimizer.familyKinkSolve`, `FullOptimizer.fastSolve`'s held runs).
///
/// The candidates are followed by their angles (peaks and vertices move continuously with W),
/// from the last point on the kink; `gaps` are the first's value minus each other's, exact to
/// rounding and cheap (one point, no integral), so the kink is found by root-finding on them
/// (Brent on one gap, Newton on two) and its normals by differences.
struct PointKink {
    let engine: LinearPairCE
    let pointClass: Int
    /// The angles of the tying candidates at the last point followed.
    private(set) var angles: [Double]

    /// The kink of the first point class at W (or of class `only`) whose `count` best candidates
    /// are within `near` of the best (relative to 1 + |f|); nil when there is none.
    init?(_ engine: LinearPairCE, at w: Matrix, near: Double = 1e-2, count: Int = 2, only: Int? = nil) {
        precondition(count == 2 || count == 3)
        for y in engine.pointClasses(w) where only.map({ $0 == y }) ?? true {
            guard let peaks = engine.pointPeaks(w, class: y), peaks.count >= count,
                  peaks[0].f - peaks[count - 1].f <= near * (1 + abs(peaks[0].f)) else { continue }
            self.engine = engine
            pointClass = y
            angles = peaks.prefix(count).map(\.t)
            return
        }
        return nil
    }

    /// How many candidates tie.
    var count: Int { angles.count }

    /// The followed candidates at W (the nearest in angle to each), nil when two merge or y is no
    /// longer a point class there.
    private func candidates(_ w: Matrix) -> [(f: Double, t: Double)]? {
        guard let peaks = engine.pointPeaks(w, class: pointClass), peaks.count >= count else { return nil }
        let followed = angles.compactMap { a in peaks.min(by: { ClassPairLS.gap($0.t, a) < ClassPairLS.gap($1.t, a) }) }
        for i in followed.indices {
            for j in followed.indices where j > i { guard ClassPairLS.gap(followed[i].t, followed[j].t) > 1e-6 else { return nil } }
        }
        return followed
    }

    /// The first candidate's value and its value minus each other's at W.
    private func state(_ w: Matrix) -> (top: Double, gaps: [Double])? {
        candidates(w).map { c in (c[0].f, c.dropFirst().map { c[0].f - $0.f }) }
    }

    /// The first candidate's value minus each other's at W.
    func gaps(_ w: Matrix) -> [Double]? { state(w)?.gaps }

    /// The first candidate's value minus the second's at W.
    func gap(_ w: Matrix) -> Double? { gaps(w)?.first }

    /// Follows the candidates to W (a point on the kink), for the next points near it.
    mutating func follow(_ w: Matrix) {
        if let c = candidates(w) { angles = c.map(\.t) }
    }

    /// The gaps' Jacobian in the `entries` of x (W = `matrix(x)`), one row per gap, by central
    /// differences of `step`: the gaps are analytic in W and exact to rounding, so a step of 1e-6
    /// to 1e-5 |x| leaves ~1e-10 truncation and ~1e-11 rounding. nil where the candidates cannot
    /// be followed.
    func jacobian(at x: [Double], entries: [Int], step h: Double, matrix: ([Double]) -> Matrix) -> [[Double]]? {
        var columns: [[Double]] = []
        for i in entries {
            var plus = x, minus = x
            plus[i] += h; minus[i] -= h
            guard let a = gaps(matrix(plus)), let b = gaps(matrix(minus)) else { return nil }
            columns.append(zip(a, b).map { ($0 - $1) / (2 * h) })
        }
        return (0..<(count - 1)).map { r in columns.map { $0[r] } }
    }

    /// The first gap's gradient in the `entries` of x (`jacobian`'s first row).
    func gradient(at x: [Double], entries: [Int], step h: Double, matrix: ([Double]) -> Matrix) -> [Double]? {
        jacobian(at: x, entries: entries, step: h, matrix: matrix)?.first
    }

    /// x with its `pivots` (one per gap) moved so that every gap is 0: Brent on the one gap
    /// (`root`, steps from `step` doubling up to `limit`), or Newton on two with their Jacobian in
    /// the pivots differenced (`jacobianStep`) at each step. nil when no root is found.
    func solve(pivots: [Int], from x: [Double], step: Double, jacobianStep: Double, limit: Double, matrix: ([Double]) -> Matrix) -> [Double]? {
        precondition(pivots.count == count - 1 && count <= 3)
        if count == 2 {
            let j = pivots[0]
            guard let xj = Self.root(near: x[j], step: step, limit: limit, { v in
                var p = x
                p[j] = v
                return gap(matrix(p))
            }) else { return nil }
            var out = x
            out[j] = xj
            return out
        }
        var point = x
        var last = Double.infinity
        for _ in 0..<30 {
            guard let (top, g) = state(matrix(point)), g.allSatisfy(\.isFinite) else { return nil }
            let size = g.maxMagnitude
            // At rounding (the gaps are exact to it, relative to the candidates' value), or no
            // longer falling there.
            let rounding = 1e-15 * (1 + abs(top))
            if size <= rounding || (size >= 0.5 * last && size <= 100 * rounding) { return point }
            guard size < last, let j = jacobian(at: point, entries: pivots, step: jacobianStep, matrix: matrix),
                  let step = Self.solveLinear(j, g.map { -$0 }), step.allSatisfy({ abs($0) <= limit }) else { return nil }
            last = size
            for (i, k) in pivots.enumerated() { point[k] += step[i] }
        }
        return nil
    }

    /// The solution of A z = b for a 1 x 1 or 2 x 2 A (rows), by Cramer's rule; nil when A is
    /// singular or the solution not finite.
    static func solveLinear(_ a: [[Double]], _ b: [Double]) -> [Double]? {
        let z: [Double]
        switch b.count {
        case 1:
            z = [b[0] / a[0][0]]
        case 2:
            let det = a[0][0] * a[1][1] - a[0][1] * a[1][0]
            z = [(a[1][1] * b[0] - a[0][1] * b[1]) / det, (a[0][0] * b[1] - a[1][0] * b[0]) / det]
        default:
            preconditionFailure("solveLinear: 1 x 1 or 2 x 2 only")
        }
        return z.allSatisfy(\.isFinite) ? z : nil
    }

    /// A root of `g` near x0 (Brent, bracketed by steps from `step`, doubling up to `limit`, inside
    /// `domain`); nil when no sign change is found.
    static func root(near x0: Double, step: Double, limit: Double, domain: ClosedRange<Double> = -.infinity...(.infinity),
                     _ g: (Double) -> Double?) -> Double? {
        guard let g0 = g(x0) else { return nil }
        if g0 == 0 { return x0 }
        var step = step
        while step <= limit {
            for x in [x0 - step, x0 + step] where domain.contains(x) {
                guard let gx = g(x), (gx < 0) != (g0 < 0) else { continue }
                guard let root = try? RootFinder.brent(in: min(x0, x), max(x0, x), absoluteTolerance: 1e-15, relativeTolerance: 1e-15, { g($0) ?? .nan }),
                      root.converged else { return nil }
                return root.location
            }
            step *= 2
        }
        return nil
    }
}

extension FullOptimizer {
    /// The free entries of a gradient in W (every row but the last, which is fixed at 0), in the
    /// order of the full-W optimiser's x.
    static func freeEntries(_ g: Matrix) -> [Double] { Array(g.storage.prefix((g.rows - 1) * g.columns)) }

    /// The full-W optimum along a point class's kink: from the family optimum on it
    /// (`SymmetricOptimizer.familyKinkSolve`), where the fixed rules decline the start (a tied point
    /// class has no one-sided gradient to give) and the simplex on values took over (r2 of
    /// bench/ANALYSIS.md stop 42, `--full --norm l2 --objective trades:1`: over 6 minutes, on the
    /// adaptive path at about a minute an evaluation); or from where Newton over all entries
    /// stopped beside it (`fastSolve`'s end, bench/ANALYSIS.md stop 55).
    ///
    /// Class y is a point class while its features' columns are tied (its margins constant: every
    /// row difference is 0 on them), and two or three of its candidates tie where their gaps are
    /// 0 (`PointKink`): R has a kink across both, a cone (off the tied columns y's margins spread,
    /// by the distance). Newton runs on that manifold: the other classes' entries free, one pivot
    /// per gap (the entries whose columns of the gaps' Jacobian N are largest, or furthest from
    /// dependent) solved from the gaps, the gradient G_others - N_others' lambda with
    /// N_pivots' lambda = G_pivots, from either side's G (`valueOnly`). `KinkCertificate` decides
    /// the rest (the tied columns and the gaps' normals): R rises along every direction that
    /// leaves the manifold. A trades point also needs a positive definite Hessian along the
    /// manifold (differences of its gradient). nil when no point class ties at the start or an
    /// evaluation on the manifold is declined.
    /// Where the certificate finds R decreasing off the manifold (at the start, or at Newton's
    /// point), the outcome is the best point along that direction (`descend`), off the kink, for
    /// the Newton over all entries to start from.
    public enum PointKinkOutcome {
        case solved(FullOptimum)
        /// `start`: R at the given start (both rules); `note`: the kink and the descent off it
        /// (what runs from `point` is the caller's to say).
        case leave(point: [Double], value: Double, start: Double, note: String)
    }

    /// Newton along a point class's kink from x0 (see `PointKinkOutcome`).
    /// - Parameters:
    ///   - near: how close the `count` best candidates must be at the start (relative to 1 + |f|).
    ///   - count: how many candidates tie (2 or 3; three tie on a manifold of codimension 2).
    ///   - holding: features whose columns are 0 at the start and are held there too (an l_inf
    ///     tie that the search settled), certified with the rest off the manifold.
    ///   - pointClass: the point class whose kink is followed (default: the first that ties).
    ///   - threeWayNear: how close a third candidate must be at the start for Newton along the
    ///     three-way kink to go first (default: `near`).
    ///   - returning: whether, where the three-way kink is left from a two-way run's stall,
    ///     Newton along the two-way kink runs again from the point left to (false inside that
    ///     run: it goes back once, and not to the three-way kink first, just left).
    public static func pointKinkSolve(_ base: LinearPairCE, start x0: [Double], matrix: ([Double]) -> Matrix, tolerance: Double,
                                      near: Double = 1e-2, count: Int = 2, holding: [Int] = [], pointClass: Int? = nil,
                                      threeWayNear: Double? = nil, returning: Bool = true) throws -> PointKinkOutcome? {
        precondition(count == 2 || count == 3)
        let d = x0.count / 2
        guard var kink = PointKink(base, at: matrix(x0), near: near, count: count, only: pointClass) else { return nil }
        let y = kink.pointClass
        // A third candidate within `near` at the start too: the three-way kink is the one at hand,
        // and Newton along it goes first; its point is kept where certified. Along the two-way
        // kink Newton stalls on it, and the bundle-Newton method crawls to it (r8 of
        // bench/ANALYSIS.md stop 68, trades:1 under l_2, its third candidate 1.1e-6 below at the
        // wide run's stop: 7 iterations and 12 bundle steps, 18 s, before the three-way run;
        // 37 -> 14 s in all, the same point within 2e-15).
        if count == 2, returning, case let nearThree = threeWayNear ?? near,
           PointKink(base, at: matrix(x0), near: nearThree, count: 3, only: y) != nil,
           case .solved(let three)? = try pointKinkSolve(base, start: x0, matrix: matrix, tolerance: tolerance, near: nearThree, count: 3, holding: holding, pointClass: y),
           three.converged {
            return .solved(three)
        }
        let variance = base.model.variance(ofClass: y)
        let classTied = (0..<d).filter { variance[$0] > 0 }
        let tied = Array(Set(classTied + holding)).sorted()
        // Class y's margins are constant only while its columns are 0 in the free entries.
        guard tied.allSatisfy({ x0[$0] == 0 && x0[d + $0] == 0 }) else { return nil }
        let held = (0..<(2 * d)).filter { !tied.contains($0 % d) }
        var engine = base
        engine.valueOnly = true
        let free = freeEntries
        let size = max(x0.maxMagnitude, 1e-3)
        // The gaps' gradients in the held entries (one row per gap).
        func normals(_ x: [Double]) -> [[Double]]? { kink.jacobian(at: x, entries: held, step: 1e-5 * size, matrix: matrix) }
        // The pivots, solved from the gaps: the entry of the gap's largest slope, or the pair of
        // entries whose columns of the two gaps' Jacobian are furthest from dependent.
        guard let n0 = normals(x0) else { return nil }
        let pivotColumns: [Int]
        if count == 2 {
            guard let c = n0[0].indices.max(by: { abs(n0[0][$0]) < abs(n0[0][$1]) }), n0[0][c] != 0 else { return nil }
            pivotColumns = [c]
        } else {
            let pairs = held.indices.flatMap { a in held.indices.filter { $0 > a }.map { (a, $0) } }
            func det(_ p: (Int, Int)) -> Double { abs(n0[0][p.0] * n0[1][p.1] - n0[0][p.1] * n0[1][p.0]) }
            func length(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            // Normals dependent to 1e-9 (as `WeightSymmetry.orthonormal` drops them): no manifold
            // of codimension 2 to follow.
            guard let best = pairs.max(by: { det($0) < det($1) }), det(best) > 1e-9 * length(n0[0]) * length(n0[1]) else { return nil }
            pivotColumns = [best.0, best.1]
        }
        let pivots = pivotColumns.map { held[$0] }, others = held.filter { !pivots.contains($0) }
        let otherColumns = others.map { held.firstIndex(of: $0)! }
        var onKink = x0
        /// x with the others' entries y and the pivots on the kink (from the last point there).
        func point(_ y: [Double]) -> [Double]? {
            var x = onKink
            for (i, k) in others.enumerated() { x[k] = y[i] }
            return kink.solve(pivots: pivots, from: x, step: 1e-6 * size, jacobianStep: 1e-5 * size, limit: size, matrix: matrix)
        }
        struct Declined: Error {}
        /// R on the manifold at y and its gradient there: G_others - N_others' lambda, with the
        /// multipliers lambda from N_pivots' lambda = G_pivots (N the gaps' Jacobian), which
        /// removes the pivots' dependence on the others (implicit function theorem).
        func restricted(_ y: [Double]) throws -> (value: Double, gradient: [Double]) {
            // Beyond the kink's reach (no tie along the pivots, or candidates merge): a point
            // the line search refuses.
            let refused = (Double.infinity, others.map { _ in Double.nan })
            guard let p = point(y), let n = normals(p) else { return refused }
            guard let r = engine.evaluate(matrix(p)), r.value.isFinite else { throw Declined() }
            guard let gradient = tangential(free(r.gradient), normals: n) else { return refused }
            onKink = p
            kink.follow(matrix(p))
            return (r.value, gradient)
        }
        /// A gradient in the free entries (either side's) along the manifold, given the gaps'
        /// normals there; nil where the pivots' normals are singular.
        func tangential(_ g: [Double], normals n: [[Double]]) -> [Double]? {
            let transposed = pivotColumns.map { c in n.map { $0[c] } }
            guard let lambda = PointKink.solveLinear(transposed, pivots.map { g[$0] }) else { return nil }
            return zip(others, otherColumns).map { k, c in g[k] - zip(lambda, n).reduce(0) { $0 + $1.0 * $1.1[c] } }
        }
        /// The directions off the manifold at x (the tied columns and the gaps' normals in the held
        /// entries, orthonormal) and `KinkCertificate`'s verdict there, on the gradients a step
        /// 1e-7 |x| along each.
        func certificate(at x: [Double], error: Double) -> (directions: [[Double]], verdict: KinkCertificate.Verdict?) {
            var directions: [[Double]] = []
            for f in tied {
                for r in 0..<2 { var e = [Double](repeating: 0, count: 2 * d); e[r * d + f] = 1; directions.append(e) }
            }
            guard let n = normals(x), directions.count + n.count <= KinkCertificate.maxDimension else { return (directions, nil) }
            let across = n.map { row in
                var v = [Double](repeating: 0, count: 2 * d)
                for (i, k) in held.enumerated() { v[k] = row[i] }
                return v
            }
            let normalDirections = WeightSymmetry.orthonormal(across, against: directions)
            guard normalDirections.count == n.count else { return (directions, nil) }
            directions += normalDirections
            let h = 1e-7 * size
            // A direction that keeps two tying candidates tied to first order (three tie: the
            // second normal is orthogonal to the first gap's gradient) probes a point the rules
            // decline; a direction 1e-3 away from it does not.
            let generic = WeightSymmetry.unit(directions.indices.map { sin(Double($0) + 1.3) })
            let verdict = KinkCertificate.certify(dimension: directions.count, error: error) { z in
                for tilt in [0, 1e-3, -1e-3] {
                    let u = tilt == 0 ? z : WeightSymmetry.unit(zip(z, generic).map { $0 + tilt * $1 })
                    let probe = WeightSymmetry.combination(u.map { h * $0 }, of: directions, plus: x)
                    if let r = base.evaluate(matrix(probe)) { return (u, WeightSymmetry.coordinates(free(r.gradient), in: directions)) }
                }
                return nil
            }
            return (directions, verdict)
        }
        let constant = classTied.isEmpty
            ? "class \(y) has no features (both margins are 0 on every W)"
            : "class \(y) has both margins constant with feature\(classTied.count == 1 ? "" : "s") \(classTied.map(String.init).joined(separator: ", ")) tied"
        let alsoHeld = holding.filter { !classTied.contains($0) }
        let heldToo = alsoHeld.isEmpty ? "" : " (feature\(alsoHeld.count == 1 ? "" : "s") \(alsoHeld.map(String.init).joined(separator: ", ")) held tied too)"
        let manifold = "\(constant), and \(count == 2 ? "two" : "three") of its inner maximum's candidates tie at this run's start (to \(near) of 1 + |f|)\(heldToo)"
        let along = "\(manifold): Newton along that kink (\(others.count) entries)"
        guard let startEstimate = engine.estimate(matrix(x0)) else { return nil }
        // The start on the kink (x0 can be `near` off it, where the certificate's probes would all
        // fall on one side); R at the start stays x0's, the value reported for the start.
        guard let start = point(others.map { x0[$0] }) else { return nil }
        onKink = start
        /// The best point along a descent direction off the manifold from x, as an outcome.
        func leave(_ x: [Double], value: Double, along z: [Double], rate: Double, directions: [[Double]], at place: String) -> PointKinkOutcome? {
            let u = WeightSymmetry.unit(WeightSymmetry.combination(z, of: directions))
            guard let (point, best) = descend(base, from: x, value: value, along: u, matrix: matrix) else { return nil }
            return .leave(point: point, value: best, start: startEstimate.value, note: "\(manifold); R decreases at rate \(rate) along \(u) off that kink at \(place)")
        }
        // At the start first: a kink that is not optimal there is left at once.
        let startError = max(10 * startEstimate.gradientError, 1e-5)
        if case let (directions, .descent(z, rate)?) = certificate(at: start, error: startError),
           let outcome = leave(start, value: startEstimate.value, along: z, rate: rate, directions: directions, at: "the start") {
            return outcome
        }
        let newton: DampedNewton.Result
        let x: [Double]
        var notes: [String] = []
        var converged: Bool
        // Newton's decrement at its point, and the Hessian along the manifold it came from.
        var decrement = Double.infinity
        var curvature: [Double]? = nil
        // Set when the bundle-Newton method continued along the kink: its gap is then no bound on
        // F - F* (trades is not convex).
        var bundleNote: String? = nil
        // The run's end on the kink, where the bundle's check already found it.
        var end: [Double]? = nil
        do {
            var run = try DampedNewton.minimize(start: others.map { start[$0] }, maxIterations: 60, evaluatesRoundingSteps: !engine.onLines,
                                                secantUpdates: engine.onLines, stallWindow: engine.onLines ? 6 : nil, restricted)
            /// Newton along the three-way kink from p, where the two-way run (value R, `stopped`)
            /// stalled beside it, as the outcome where it improves on R; nil otherwise.
            func threeWay(from p: [Double], value: Double, iterations: Int, stopped: String) throws -> PointKinkOutcome? {
                let nearly = "a third candidate nearly ties at that point (R = \(value))"
                switch try pointKinkSolve(base, start: p, matrix: matrix, tolerance: tolerance, near: 1e-3, count: 3, holding: holding, pointClass: y) {
                case .solved(let three)? where improves(three, on: value, tolerance: tolerance):
                    return .solved(three.continuing(after: [along, stopped, "\(nearly): Newton along the three-way kink from there"],
                                                    iterations: iterations, symmetricValue: startEstimate.value))
                case let .leave(point, left, _, note)? where left < value:
                    let path = "\(along); \(stopped); \(nearly): \(note)"
                    // Back to the two-way kink from there, once: where R falls off the three-way
                    // kink, it fell along the two-way one (r3 of bench/ANALYSIS.md stop 75,
                    // trades:1 under l_2: Newton over all entries from the point left to took 6
                    // iterations, 5.4 s, gained 1.5e-9 and stopped within 1e-2 of the two-way kink,
                    // where Newton along it then converged in 4). Kept where certified and no
                    // higher than the point left to; else Newton over all entries from the point
                    // left to, as before. Only where the wide v panels certify a kink
                    // (`LinearPairCE.kinksOnWidePanels`): under l_inf, on r3, the run stalled beside
                    // the three-way kink once more and left it no lower (1.2 s for nothing: Newton
                    // over all entries then ran as before).
                    if returning && base.kinksOnWidePanels,
                       case .solved(let two)? = try pointKinkSolve(base, start: point, matrix: matrix, tolerance: tolerance, near: near, holding: holding,
                                                                    pointClass: y, returning: false),
                       two.converged, improves(two, on: left, tolerance: tolerance) {
                        return .solved(two.continuing(after: ["\(path): Newton along the two-way kink again from the best point along it (R = \(left))"],
                                                      iterations: iterations, symmetricValue: startEstimate.value))
                    }
                    return .leave(point: point, value: left, start: startEstimate.value, note: path)
                default:
                    return nil
                }
            }
            // A third candidate ties where the run ended: Newton along the three-way kink from
            // there, which the certificate decides. Where R decreases off that kink (r3 of
            // bench/ANALYSIS.md stop 55 under l_2: the two-way run stalled at gradient 8e-3 with a
            // third candidate 1.4e-4 below, and R falls off the three-way kink by 3.5e-5), the
            // best point along the descent is the outcome. Where the third candidate is within
            // 1e-3 at the stall, this goes before the bundle-Newton method below (on r3 the
            // bundle's 21 evaluations, 3.9 s of 28 s, gained nothing before it); where it does not
            // improve, the bundle runs as before and the three-way kink is tried again from the
            // bundle's point.
            let stalledOnTwo = !run.converged && count == 2
            let stoppedNote = "Newton along the kink stopped after \(run.iterations) iterations with step \(run.step)"
            var threeTriedFrom: [Double]? = nil
            if stalledOnTwo, let p = point(run.argument), PointKink(base, at: matrix(p), near: 1e-3, count: 3, only: y) != nil {
                threeTriedFrom = p
                if let outcome = try threeWay(from: p, value: run.value, iterations: run.iterations, stopped: stoppedNote) { return outcome }
            }
            if !run.converged && engine.tradesBeta != nil {
                // A second kink along the manifold (trades on the featureless-class model of
                // BundleNewtonTests, eps 0.3: BFGS stalled after 7 iterations at gradient 0.014, R
                // 7.7e-3 above the point below): the bundle-Newton method continues along it, on a
                // budget of 30 steps (21 there; each step, and each of the piece Hessian's 3 n
                // gradients, is an evaluation on lines). trades is not convex, so its
                // certificate (which assumes convexity) is not one here: the point is reported, lower,
                // and NOT converged.
                let stalled = run
                if let b = try? BundleNewton.minimize(start: run.argument, value: run.value, gradient: run.gradient, tolerance: tolerance,
                                                      maxEvaluations: 30, step: 1e-6 * size, restricted),
                   b.value < run.value, let projected = point(b.argument) {
                    end = projected
                    run = DampedNewton.Result(argument: b.argument, value: b.value, gradient: b.aggregateGradient,
                                              decrement: max(b.decrement, b.gap), iterations: run.iterations + b.evaluations, step: 0, converged: false)
                    bundleNote = "Newton along the kink stalled after \(stalled.iterations) iterations (R = \(stalled.value), step \(stalled.step)); the bundle-Newton method continued along it: R = \(b.value) after \(b.evaluations) steps, \(b.activePlanes) planes active (\(b.activePlanes > 1 ? "a further kink along the manifold" : "R smooth there")), aggregate subgradient \(b.aggregateGradient.maxMagnitude); trades is not convex, so its model's certificate (decrement \(b.decrement), gap \(b.gap)) does not certify a local minimum"
                }
            }
            // The three-way kink from where the run (or the bundle) ended (trades:1 on the
            // bundle's model: its point ties three vertices to 1e-10, 3 planes active), unless
            // tried from there above.
            guard let p = end ?? threeTriedFrom ?? point(run.argument) else { return nil }
            let stopped = bundleNote ?? stoppedNote
            if stalledOnTwo && p != threeTriedFrom, let outcome = try threeWay(from: p, value: run.value, iterations: run.iterations, stopped: stopped) {
                return outcome
            }
            x = p
            run.argument = x
            newton = run
            converged = run.converged
            if !run.converged { notes.append(stopped) }
            decrement = run.decrement
            curvature = run.hessian
            if engine.tradesBeta != nil {
                // trades is not convex, and a BFGS Hessian is positive definite by construction.
                let step = 1e-4 * size
                let yx = others.map { x[$0] }
                let g0 = try restricted(yx).gradient
                if let h = try? DampedNewton.differencedHessian(at: yx, gradient: g0, step: step, { try restricted($0).gradient }),
                   let value = DampedNewton.decrement(hessian: h, gradient: run.gradient) {
                    decrement = value
                    curvature = h
                } else {
                    curvature = nil
                    converged = false
                    notes.append("the Hessian along the kink at the point found is not positive definite: not a certified local minimum")
                }
                onKink = x
            }
        } catch is Declined {
            return nil
        }
        // The working rule's shares at x, once: the estimate's working half, and the gradient the
        // certificate's error is measured from below.
        guard let workingShares = engine.sharesWithParts(matrix(x), rule: .working),
              let final = engine.estimate(matrix(x), working: nil, workingShares: workingShares) else { return nil }
        let working = engine.combine(workingShares.shares, columns: d)
        // The decrement on the estimate's gradient too (along the manifold): Newton's are the
        // working rule's, unrefined, which on the wide v panels can be further off.
        if let h = curvature, let n = normals(x), let g = tangential(free(final.gradient), normals: n), g.allSatisfy(\.isFinite),
           let value = DampedNewton.decrement(hessian: h, gradient: g) {
            decrement = max(decrement, value)
        } else if converged {
            converged = false
            notes.append("the decrement on the estimate's gradient along the kink is not available: not certified")
        }
        if !decrementMeets(decrement, value: newton.value, tolerance: tolerance) {
            converged = false
            notes.append("Newton decrement \(decrement) (F - F* of the quadratic model) exceeds the tolerance \(tolerance)")
        }
        // The start is not on the certified point (nor, from `fastSolve`'s end, certified itself).
        let useStart = startEstimate.value < final.value
        // The bound of the value returned (from `fastSolve`'s end the start is a point where the
        // rules can be 7.6e-9 apart while the kink's point, 7.8e-6 below, is integrated to 2.9e-11:
        // r3 under l_2 of bench/ANALYSIS.md stop 55).
        let errorBound = useStart ? startEstimate.errorBound : final.errorBound
        if errorBound > tolerance {
            converged = false
            notes.append("the fixed rule and its verification rule differ by \(errorBound) > tolerance \(tolerance)")
        }
        // The certificate's probes take the working rule's gradients, unrefined: its error also
        // covers how far that is from the estimate's at the point (on the wide v panels the
        // estimate refines the panels where the rules differ).
        let workingOff = zip(free(working.gradient), free(final.gradient)).reduce(0.0) { max($0, ($1.0 - $1.1).isNaN ? .infinity : abs($1.0 - $1.1)) }
        let error = max(10 * final.gradientError, 10 * workingOff, 1e-5)
        let (directions, verdict) = certificate(at: x, error: error)
        switch verdict {
        case .optimal(let slack, let flat)? where flat.isEmpty:
            notes.insert("\(along); R rises at rate >= \(slack.map { String($0) } ?? "0") along every direction off it (error \(error))", at: 0)
        case .optimal(_, let flat)?:
            converged = false
            notes.insert("\(along); R has no first-order kink along \(flat.count) direction(s) off it: not certified", at: 0)
        case .descent(let z, let rate)?:
            if let outcome = leave(x, value: final.value, along: z, rate: rate, directions: directions, at: "Newton's point") { return outcome }
            converged = false
            notes.insert("\(along); R decreases at rate \(rate) along \(WeightSymmetry.combination(z, of: directions)): the point is not the full-W optimum", at: 0)
        case .undecided(let slack)?:
            converged = false
            notes.insert("\(along); the kink off it is not certified (the nearest facet at \(slack.map { String($0) } ?? "none"), error \(error))", at: 0)
        case nil:
            converged = false
            notes.insert("\(along); the kink off it is not decided (an evaluation near the point was declined, or \(directions.count) directions)", at: 0)
        }
        if useStart {
            converged = false
            notes.append("Newton along the kink found no point below its start (R = \(startEstimate.value)): the start is returned, NOT converged")
        }
        let value = useStart ? startEstimate.value : final.value
        // Along the manifold (off it the gradient is one side's).
        let gradientNorm = newton.gradient.reduce(0.0) { max($0, abs($1)) }
        return .solved(FullOptimum(
            classifier: LinearClassifier(weights: matrix(useStart ? x0 : x)), value: value, symmetricValue: startEstimate.value, projected: (0, 0),
            iterations: newton.iterations, converged: converged && value.isFinite, errorBound: errorBound,
            gradientNorm: gradientNorm, optimalityGap: bundleNote == nil ? newton.decrement : nil, method: .fast, notes: notes))
    }

    /// Whether a result found from a point of value `reference` replaces it: lower, or converged
    /// and no higher than the reference beyond its error bound (or the tolerance).
    static func improves(_ candidate: FullOptimum, on reference: Double, tolerance: Double) -> Bool {
        candidate.value < reference || (candidate.converged && candidate.value <= reference + max(candidate.errorBound ?? 0, tolerance))
    }
}

import Foundation
import GSL

/// The AT optimum over the symmetric family W(w1, w2), w1, w2 >= 0.
public struct SymmetricOptimum: Sendable, Equatable, Codable {
    public var w1: Double
    public var w2: Double
    /// w2 / w1: infinite on the face w1 = 0, undefined (NaN) at W = 0.
    public var ratio: Double { w1 == 0 ? (w2 == 0 ? .nan : .infinity) : w2 / w1 }
    /// `ratio`, nil when it is infinite (the face w1 = 0) or undefined (W = 0): results files
    /// and JSON leave it empty.
    public var finiteRatio: Double? { ratio.isFinite ? ratio : nil }
    /// The minimised value (objective plus the weight-decay penalty, if any).
    public var value: Double
    /// The objective alone at the optimum.
    public var objectiveValue: Double
    /// Bound on |objectiveValue - R(w1, w2)|: the integration error of the value reported at the
    /// point reported (the fixed rule against its verification rule, or the adaptive
    /// quadrature's bound; 0 for a closed form). The point's own error adds only to second
    /// order: a stationary point whose gradient is off by g sits at most g^2 / (2 F'') above
    /// the minimum. nil where no bound was computed.
    public var objectiveError: Double? = nil
    public var robustAccuracy: Double
    public var naturalAccuracy: Double
    /// The one-sided derivative d/dw2 of the minimised value at (w1 optimal for w2 = 0, 0+),
    /// when it was computed. By convexity (ce, ls) w2* = 0 exactly when it is >= 0.
    public var derivativeAtZero: Double?
    /// A bound on the error of `derivativeAtZero` (quadrature or difference error; nil when the
    /// derivative was not computed). Its sign is only resolved when |derivative| > this bound.
    public var derivativeAtZeroError: Double?
    /// True when the optimum is exactly on the boundary w2 = 0.
    public var onBoundary: Bool
    /// The one-sided derivative dF/dw1 at (0+, w2) when the optimum is on the family's other
    /// face, w1 = 0 (no weight on the exclusive features; `ratio` is then infinite), with its
    /// error bound: >= 0 beyond the bound certifies that face (nil elsewhere).
    public var derivativeAtExclusiveZero: Double? = nil
    public var derivativeAtExclusiveZeroError: Double? = nil
    /// True when the optimum is exactly on the face w1 = 0 (and w2 > 0).
    public var onExclusiveFace: Bool { w1 == 0 && w2 > 0 }
    /// True when the optimum is W = 0 (the adversary cancels every class's mean signal: no
    /// weight pays), certified by the closed-form directional derivative there (`OriginDerivative`).
    public var atOrigin: Bool { w1 == 0 && w2 == 0 }
    /// False when a minimiser or a quadrature did not reach its tolerance (see `notes`).
    public var converged: Bool
    public var notes: [String]

    public init(
        w1: Double, w2: Double, value: Double, objectiveValue: Double, robustAccuracy: Double, naturalAccuracy: Double,
        derivativeAtZero: Double?, derivativeAtZeroError: Double? = nil, onBoundary: Bool, converged: Bool, notes: [String]
    ) {
        self.w1 = w1; self.w2 = w2; self.value = value; self.objectiveValue = objectiveValue
        self.robustAccuracy = robustAccuracy; self.naturalAccuracy = naturalAccuracy
        self.derivativeAtZero = derivativeAtZero; self.derivativeAtZeroError = derivativeAtZeroError
        self.onBoundary = onBoundary
        self.converged = converged; self.notes = notes
    }
}

/// Minimises a robust objective over the symmetric family.
///
/// - fixed scale ||(w1, w2)|| = s: Brent (GSL) over the angle theta in [0, pi/2] after a grid scan,
///   with exact boundary handling at theta = 0.
/// - free scale and weight decay: the boundary candidate (w1 optimal with w2 = 0, by Brent over
///   log w1) and the one-sided derivative there; for the convex objectives (ce, ls) a
///   non-negative derivative proves w2* = 0. Otherwise GSL's Nelder-Mead simplex over
///   (log ||w||, theta) finds the interior optimum, and the better candidate wins.
public struct SymmetricOptimizer: Sendable {
    public let model: DataModel
    public let threat: ThreatModel
    public let objective: Objective
    public let scale: ScaleMode
    /// Quadrature tolerance of each objective evaluation.
    public var tolerance: Double = 1e-10
    /// Implementation of the objective (`.reference`: the general adaptive path).
    public var method: ExactMethod = .fast
    /// Spread each objective evaluation of the fast paths (l_inf; ls under l_2) over all cores
    /// (same bits as one thread). For single optima; grids already run one point per core.
    public var parallelEvaluation = false
    /// Called after each objective evaluation of the searches that have no fast optimiser of
    /// their own (values on the reference path; on 3-class models without the complement
    /// structure, also the full-W evaluations of the family Newton and of the derivative at
    /// w2 = 0), from the solving thread: for progress on long searches.
    public var onEvaluation: (@Sendable () -> Void)? = nil
    /// Range of log ||w|| searched first in free-scale modes; when the best scale sits at its
    /// upper end the search is repeated on `extendedLogScaleRange`.
    public var logScaleRange: ClosedRange<Double> = -5...4
    public var extendedLogScaleRange: ClosedRange<Double> = -5...7
    /// When the best scale on the axis sits at the lower end of `logScaleRange` (the loss
    /// barely pays for any weight, e.g. eps near mu/2 at large sigma), the search continues
    /// down to e^smallestLogScale; a point still pinned there is reported as not converged.
    public var smallestLogScale: Double = -12

    /// Entries of W equal to w1 and to w2 (for ||W||_F^2 = a w1^2 + b w2^2).
    let exclusiveEntries: Int
    let crossEntries: Int
    /// ||W(w1, w2) - column means||_F^2 = A w1^2 + 2 B w1 w2 + C w2^2.
    let centred: (a: Double, b: Double, c: Double)

    public init(model: DataModel, threat: ThreatModel, objective: Objective, scale: ScaleMode? = nil) throws {
        self.model = model
        self.threat = threat
        self.objective = objective
        self.scale = scale ?? objective.defaultScale
        var a = 0, b = 0
        for f in 0..<model.featureCount {
            let carriers = model.membership.filter { $0[f] }.count
            switch model.kind(ofFeature: f) {
            case .exclusive: a += carriers
            case .crossClass: b += carriers
            case .unused: break
            }
        }
        exclusiveEntries = a
        crossEntries = b
        func centredMatrix(_ w1: Double, _ w2: Double) -> [Double] {
            let w = LinearClassifier.symmetric(model: model, w1: w1, w2: w2).weights
            var out = w.storage
            for f in 0..<w.columns {
                var mean = 0.0
                for r in 0..<w.rows { mean += w[r, f] }
                mean /= Double(w.rows)
                for r in 0..<w.rows { out[r * w.columns + f] -= mean }
            }
            return out
        }
        let e1 = centredMatrix(1, 0), e2 = centredMatrix(0, 1)
        centred = (zip(e1, e1).reduce(0) { $0 + $1.0 * $1.1 }, zip(e1, e2).reduce(0) { $0 + $1.0 * $1.1 },
                   zip(e2, e2).reduce(0) { $0 + $1.0 * $1.1 })
        guard a > 0, b > 0 else {
            throw InputError("model '\(model.name)' needs both exclusive and cross-class features for the symmetric family (it has \(a) exclusive and \(b) cross-class entries)")
        }
        switch self.scale {
        case .fixed(let s): try Check.positive(s, "--scale")
        case .weightDecay(let l), .centeredWeightDecay(let l): try Check.positive(l, "--weight-decay")
        case .free:
            if case .worstMargin = objective {
                throw InputError("worst-margin needs a fixed scale (its value grows without bound with ||w||); use --scale")
            }
            if case .hinge = objective {
                throw InputError("hinge needs a fixed scale (--scale s)")
            }
            if case .zeroOne = objective {
                // Scale-free: any scale is the same direction.
            }
        }
    }

    /// The minimised function: objective (+ (lambda/2) ||W||_F^2).
    public func value(w1: Double, w2: Double) throws -> Estimate {
        var r = RobustObjective(model: model, threat: threat, objective: objective, tolerance: tolerance)
        r.method = method
        r.parallel = parallelEvaluation
        var e = try r.evaluate(w1: w1, w2: w2)
        onEvaluation?()
        switch scale {
        case .weightDecay(let lambda):
            e.value += 0.5 * lambda * (Double(exclusiveEntries) * w1 * w1 + Double(crossEntries) * w2 * w2)
        case .centeredWeightDecay(let lambda):
            e.value += 0.5 * lambda * (centred.a * w1 * w1 + 2 * centred.b * w1 * w2 + centred.c * w2 * w2)
        default: break
        }
        return e
    }

    /// d/dw2 of `value` at (w1, 0+) with an error bound: exact (the fixed rules' one-sided
    /// derivative, verified by the rule of higher order) where a fast evaluator covers the
    /// setting (l_inf ce, ls, trades; l_2 ce, ls), else by Richardson extrapolation of one-sided
    /// differences (steps h and h/2, h = 1e-3 max(w1, 1e-3)): error O(h^2) + O(tolerance / h).
    ///
    /// Bounds. Fast paths: the difference between the working and the verification rule's
    /// derivative. Richardson: the quadrature errors of the four objective
    /// values it combines, propagated through the difference quotient (they are divided by the
    /// step, so a root of a noisy derivative is not exact), plus the truncation error of the
    /// extrapolation, estimated from two extrapolations (steps h, h/2 and h/2, h/4; their
    /// difference is 3 times the error of the finer one).
    public func derivativeAtZeroEstimate(w1: Double) throws -> Estimate {
        if let e = pairEvaluator {
            // The exact one-sided derivative, integrated on the fixed rule and verified by the
            // rule of twice the order.
            return pairDerivativeAtZero(e.estimate(w1: w1, w2: 0), w1: w1)
        }
        if let e = l2Evaluator, let r = e.estimate(w1: w1, w2: 0) {
            // l_2: the same exact one-sided derivative from the l_2 fixed rules (ce, ls).
            var d = r.g2
            if case .centeredWeightDecay(let lambda) = scale { d += lambda * centred.b * w1 }
            return Estimate(value: d, errorBound: r.gradientError, converged: r.gradientError.isFinite, method: .gaussLegendre2DGradient)
        }
        if let engine = familyEvaluator, let d = try familyDerivativeAtZero(engine, w1: w1) { return d }
        if method == .fast, w1 > 0, model.classCount >= 4, let axis = AxisLabelSmoothing(model: model, threat: threat, objective: objective) {
            // ls on complement(K) and pairwise(K), K >= 4: exact, from the expected order statistics.
            var d = try axis.derivativeAtZero(w1: w1, tolerance: tolerance)
            if case .centeredWeightDecay(let lambda) = scale { d.value += lambda * centred.b * w1 }
            return d
        }
        return try richardsonFaceDerivative(face: .noCrossWeight, at: w1)
    }

    /// d/dw1 of `value` at (0+, w2) with an error bound: the one-sided derivative into the family
    /// from its other face, w1 = 0 (no weight on the exclusive features). At a minimiser of F
    /// along that face it decides whether the face holds the optimum: >= 0 (F rises into the
    /// family) is the first-order condition of the constraint w1 >= 0, sufficient for ce and ls
    /// (convex). From the family evaluator's values and derivatives inside
    /// (`familyFaceDerivative`) where there is one, else by Richardson extrapolation of one-sided
    /// differences of values (as `derivativeAtZeroEstimate`, with the same bound).
    public func derivativeAtExclusiveZeroEstimate(w2: Double) throws -> Estimate {
        if let engine = familyEvaluator, let d = try familyFaceDerivative(engine, face: .noExclusiveWeight, at: w2) { return d }
        return try richardsonFaceDerivative(face: .noExclusiveWeight, at: w2)
    }

    /// The one-sided derivative from the face point `other` into the family by Richardson
    /// extrapolation of one-sided differences of values (`derivativeAtZeroEstimate`).
    func richardsonFaceDerivative(face: FamilyFace, at other: Double) throws -> Estimate {
        let h = 1e-3 * max(abs(other), 1e-3)
        func f(_ s: Double) throws -> Estimate {
            let p = face.point(s, other: other)
            return try value(w1: p.w1, w2: p.w2)
        }
        let e0 = try f(0)
        let e1 = try f(h)
        let e2 = try f(h / 2)
        let e3 = try f(h / 4)
        let d1 = (e1.value - e0.value) / h, d2 = (e2.value - e0.value) / (h / 2), d3 = (e3.value - e0.value) / (h / 4)
        let coarse = 2 * d2 - d1, fine = 2 * d3 - d2
        // fine = (8 f3 - 2 f2 - 6 f0) / h.
        let noise = (8 * e3.errorBound + 2 * e2.errorBound + 6 * e0.errorBound) / h
        return Estimate(
            value: fine, errorBound: noise + abs(coarse - fine) / 3,
            converged: e0.converged && e1.converged && e2.converged && e3.converged, method: .richardson)
    }

    /// `derivativeAtZeroEstimate` from the pair evaluator's verified estimate at (w1, 0).
    func pairDerivativeAtZero(_ r: (result: PairObjective.Result, errorBound: Double, gradientError: Double), w1: Double) -> Estimate {
        var d = r.result.gradient.w2
        if case .centeredWeightDecay(let lambda) = scale { d += lambda * centred.b * w1 }
        return Estimate(value: d, errorBound: r.gradientError, converged: r.gradientError.isFinite, method: .gaussLegendre2DGradient)
    }

    /// The error bound of a derivative at (w1, 0+) that a search took from its working rule:
    /// the verified estimate's bound plus the distance between the two.
    func derivativeAtZeroError(_ d: Double, w1: Double) throws -> Double {
        let e = try derivativeAtZeroEstimate(w1: w1)
        return e.errorBound + abs(e.value - d)
    }

    /// Where the objective restricted to the axis w2 = 0 is smallest over log w1 (free scale and
    /// weight decay): searched on `logScaleRange`, extended up (`extendedLogScaleRange`) or down
    /// (to `smallestLogScale`) when the best point is at an end. `atSearchBound` is true when the
    /// final point still sits at an end of the range searched: it is then not a minimiser.
    /// Where an evaluator has the exact derivative on the axis (pair, l_2, and the family
    /// evaluator on a non-degenerate axis), the minimiser is instead its root.
    public func optimalScaleOnAxis(
        _ f: ((Double) throws -> Double)? = nil
    ) throws -> (logScale: Double, value: Double, range: ClosedRange<Double>, atSearchBound: Bool) {
        if f == nil, let e = pairEvaluator {
            let a = try fastAxis(e)
            let range = smallestLogScale...extendedLogScaleRange.upperBound
            return (a.logScale, fastValue(e, exp(a.logScale), 0).value, range, a.pinnedLow || a.pinnedHigh)
        }
        if f == nil, let e = l2Evaluator, let axis = try? l2Axis(e) {
            let range = smallestLogScale...extendedLogScaleRange.upperBound
            return (axis.logScale, axis.value, range, axis.pinned)
        }
        let g: (Double) throws -> Double = f ?? { try self.value(w1: exp($0), w2: 0).value }
        if let e = familyEvaluator, let axis = try familyAxis(e) {
            // The root of the exact derivative; the value (the caller's, when given) at it alone.
            let range = smallestLogScale...extendedLogScaleRange.upperBound
            return (axis.logScale, try g(axis.logScale), range, axis.pinned)
        }
        return try scaleSearchOnValues(g)
    }

    /// The value search of `optimalScaleOnAxis` for any one-parameter ray of the family: g over
    /// log scale on `logScaleRange`, extended up or down when the best point is at an end.
    func scaleSearchOnValues(
        _ g: (Double) throws -> Double
    ) throws -> (logScale: Double, value: Double, range: ClosedRange<Double>, atSearchBound: Bool) {
        var range = logScaleRange
        var edge = try Minimizer1D.minimize(in: range.lowerBound, range.upperBound, gridPoints: 13, tolerance: 1e-9, g)
        if edge.argument >= range.upperBound - 1e-6 {
            range = extendedLogScaleRange
            edge = try Minimizer1D.minimize(in: range.lowerBound, range.upperBound, gridPoints: 17, tolerance: 1e-9, g)
        }
        if edge.argument <= range.lowerBound + 1e-6 && smallestLogScale < range.lowerBound {
            // Continue downwards: the old lower end plus one unit, so that a minimiser just
            // inside the old range is bracketed too.
            range = smallestLogScale...range.upperBound
            let low = try Minimizer1D.minimize(in: smallestLogScale, edge.argument + 1, gridPoints: 15, tolerance: 1e-9, g)
            if low.value <= edge.value { edge = low }
        }
        let pinned = edge.argument >= range.upperBound - 1e-6 || edge.argument <= range.lowerBound + 1e-6
        return (edge.argument, edge.value, range, pinned)
    }

    /// A candidate on the family's face w1 = 0 (no weight on the exclusive features) at free
    /// scale or under weight decay: w2 optimal along the face and the one-sided derivative
    /// dF/dw1 at (0+, w2). `certified` when the scale is inside the range searched and the
    /// derivative certifies the face (`certifiesFace`).
    struct ExclusiveFaceCandidate {
        var w2: Double
        var value: Double
        var derivative: Estimate
        var pinned: Bool
        /// ce and ls (convex F).
        var convex: Bool
        /// trades with the derivative's sign not resolved: the smallest eigenvalue of F's Hessian
        /// in (w1, w2) at the face point (one-sided in w1), when it is positive beyond its noise.
        var curvature: Double? = nil
        var certified: Bool { !pinned && Self.certifiesFace(derivative, acceptsUnresolvedSign: convex || curvature != nil) }

        /// Whether dF/dw1(0+) = d at a point of the face w1 = 0 makes it a minimiser: d >= 0
        /// beyond its error bound, the first-order condition of the constraint w1 >= 0 (for ce
        /// and ls, convex, sufficient over the whole family; for trades a local minimum, as the
        /// family Newton's points are). With `acceptsUnresolvedSign` (F convex, or its Hessian
        /// there positive definite), |d| within its bound too: the point is then a minimiser to
        /// that error, as a point on the face w2 = 0 is (on l_2 with mu = 0 on the exclusive
        /// features F is even in w1, and d is 0).
        static func certifiesFace(_ d: Estimate, acceptsUnresolvedSign: Bool) -> Bool {
            d.converged && (d.value - d.errorBound >= 0 || (acceptsUnresolvedSign && abs(d.value) <= d.errorBound))
        }

        /// How a note states the derivative's value (`unresolved`: why a sign within its error
        /// bound of 0 is accepted).
        static func derivativeText(_ d: Estimate, unresolved: String = "F convex, the face point is a minimiser to that error") -> String {
            "\(d.value) (error \(d.errorBound))\(abs(d.value) <= d.errorBound ? ", its sign not resolved: \(unresolved)" : "")"
        }

        var derivativeText: String {
            guard let curvature else { return Self.derivativeText(derivative) }
            return Self.derivativeText(
                derivative, unresolved: "F's Hessian in (w1, w2) there is positive definite (smallest eigenvalue \(curvature)), a local minimum to that error")
        }
    }

    /// The face candidate on values (`scaleSearchOnValues` over log w2, then
    /// `derivativeAtExclusiveZeroEstimate`).
    func exclusiveFaceCandidate(_ f: (Double, Double) throws -> Double) throws -> ExclusiveFaceCandidate {
        let search = try scaleSearchOnValues { rho in try f(0, exp(rho)) }
        let w2 = exp(search.logScale)
        return ExclusiveFaceCandidate(
            w2: w2, value: search.value, derivative: try derivativeAtExclusiveZeroEstimate(w2: w2), pinned: search.atSearchBound,
            convex: isConvex)
    }

    /// An interior search's point (`solveOnValues`, the fast paths), with the reason it is not
    /// converged and its notes.
    struct InteriorPoint {
        var w1: Double, w2: Double, value: Double
        var failure: String?
        var notes: [String] = []
    }

    /// The interior point, or the face candidate (`face`, asked only then) when the search
    /// headed to the face w1 = 0 (w1 < 1e-3 w2) and the face is as low, to 10 quadrature
    /// tolerances. A search that heads there crawls (Newton's w1 shrank to 1e-12 of w2 in 60
    /// iterations on HonestErrorTests' model), and the face is not one of its points. `search`
    /// names the interior search in the failure note.
    func preferringExclusiveFace(_ interior: InteriorPoint, search: String, face: () throws -> ExclusiveFaceCandidate) throws
        -> (point: InteriorPoint, derivative: Estimate?)
    {
        guard interior.w1 < 1e-3 * interior.w2 else { return (interior, nil) }
        let candidate = try face()
        guard candidate.value <= interior.value + 10 * tolerance else {
            var kept = interior
            if interior.failure != nil {
                kept.notes.append("w1 -> 0 (w1 / w2 = \(interior.w1 / interior.w2)), but the face w1 = 0 is higher (\(candidate.value) against \(interior.value))")
            }
            return (kept, nil)
        }
        return (facePoint(candidate, search: search), candidate.derivative)
    }

    /// The face candidate as an interior search's point: its failure (a search bound, or a
    /// derivative that does not certify it) and its note.
    func facePoint(_ candidate: ExclusiveFaceCandidate, search: String) -> InteriorPoint {
        let d = candidate.derivative
        var failure: String? = nil
        if candidate.pinned {
            failure = "the optimal scale along the face w1 = 0 is at a search limit: a point on a search bound, not a minimiser"
        } else if !candidate.certified {
            failure = "the one-sided derivative dF/dw1 at (0+, w2 = \(candidate.w2)) is \(d.value) (error \(d.errorBound)): the face w1 = 0 is not certified (\(search) stopped near it)"
        }
        return InteriorPoint(w1: 0, w2: candidate.w2, value: candidate.value, failure: failure, notes: [
            "\(Self.exclusiveFaceNote): F is minimal along the face at w2 = \(candidate.w2) and its one-sided derivative into the family dF/dw1(0+) is \(candidate.derivativeText)\(isConvex ? "" : "; a local minimum: trades is not convex")",
        ])
    }

    /// The arc's end at the face w1 = 0: dF/dtheta(pi/2-) = -s dF/dw1(0+, s), so a minimiser
    /// `theta` within 1e-4 of pi/2 moves there when that derivative (`derivative`) is >= 0 beyond
    /// its error bound (F rises into the family; a minimiser of F on the arc for ce and ls,
    /// convex; `ExclusiveFaceCandidate.certifiesFace`) and F there (`atFace`) is as low as at the
    /// minimiser (`best`, asked only then), to 10 quadrature tolerances: theta becomes pi/2, the
    /// derivative and a note are recorded, and F at the face is returned. A minimiser at pi/2
    /// that the derivative does not certify is not converged, with the reason.
    func settleArcEnd(
        _ theta: inout Double, converged: inout Bool, notes: inout [String], exclusiveDerivative: inout Estimate?,
        best: () throws -> Double, derivative: () throws -> Estimate, atFace: () throws -> Double
    ) throws -> Double? {
        guard theta > .pi / 2 - 1e-4 else { return nil }
        let d = try derivative()
        if ExclusiveFaceCandidate.certifiesFace(d, acceptsUnresolvedSign: isConvex) {
            let value = try atFace()
            if try value <= best() + 10 * tolerance {
                theta = .pi / 2
                exclusiveDerivative = d
                notes.append("\(Self.exclusiveFaceNote): dF/dw1(0+) = \(ExclusiveFaceCandidate.derivativeText(d))")
                return value
            }
        }
        if theta == .pi / 2 {
            converged = false
            notes.append("the minimiser on the arc is at theta = pi/2 (w1 = 0), but the one-sided derivative dF/dw1(0+) there is \(d.value) (error \(d.errorBound)): the face w1 = 0 is not certified")
        }
        return nil
    }

    /// How a note names an optimum on the face w1 = 0.
    static let exclusiveFaceNote = "the optimum is on the family's face w1 = 0 (no weight on the exclusive features; w2 / w1 is infinite)"

    /// Whether the family's margins depend on w2: some cross-class feature is in one class and
    /// not in another. Else w2 cancels in every w_y - w_k (a 2-class model: its shared features
    /// are in both classes), and the objective, at free scale, does not depend on it.
    var marginsDependOnW2: Bool {
        (0..<model.featureCount).contains { f in
            model.kind(ofFeature: f) == .crossClass && Set(model.membership.map { $0[f] }).count == 2
        }
    }

    /// True for objectives that are jointly convex in W (so local = global).
    var isConvex: Bool {
        switch objective {
        case .ce, .ls: return true
        default: return false
        }
    }

    public func solve() throws -> SymmetricOptimum { try solveKeepingEvaluations().optimum }

    /// `solve()`, with the l_2 fast path's evaluations at the optimum (`L2FinalEvaluations`).
    /// Or the family Newton's full-W evaluations at the optimum (`FamilyFinalEvaluations`), when
    /// it is that Newton's point.
    func solveKeepingEvaluations() throws -> (optimum: SymmetricOptimum, final: L2FinalEvaluations?, family: FamilyFinalEvaluations?) {
        if let o = try originOptimum() { return (o, nil, nil) }
        if let e = pairEvaluator { return (try solveFast(e), nil, nil) }
        if let e = l2Evaluator, let o = try solveL2Fast(e) { return (o.optimum, o.final, nil) }
        let o = try solveOnValues()
        return (o.optimum, nil, o.family)
    }

    /// W = 0, when the closed-form first-order test certifies it: ce and ls (convex) at free
    /// scale or with weight decay (its penalty is second order at 0), where the one-sided
    /// derivative of F at W = 0 is positive, beyond rounding, along every direction of the
    /// family. No search could report this point: its log-scale is -infinity. nil otherwise
    /// (the searches run, as before).
    func originOptimum() throws -> SymmetricOptimum? {
        if case .fixed = scale { return nil }
        guard isConvex, let d = OriginDerivative(model: model, threat: threat, objective: objective) else { return nil }
        let bound = d.familyBound()
        guard bound.nonNegative else { return nil }
        let note = "W = 0 is the minimiser (the adversary cancels the mean signal): F is convex and its one-sided derivative at W = 0 along W(1 - l, l), l in [0, 1], is >= \(bound.lowerBound) (rounding \(bound.rounding); closed form, no quadrature). w2/w1 is undefined there"
        return try optimum(w1: 0, w2: 0, value: d.valueAtOrigin, objectiveValue: d.valueAtOrigin, derivativeAtZero: nil,
                           derivativeError: nil, onBoundary: true, converged: true, notes: [note], objectiveError: 0)
    }

    /// The family's steepest direction (1 - l, l) at W = 0 when F falls from W = 0 along it
    /// beyond rounding (`OriginDerivative.familyBound`, closed form); nil otherwise.
    func steepestDirectionAtOrigin() -> (Double, Double)? {
        guard let origin = OriginDerivative(model: model, threat: threat, objective: objective) else { return nil }
        let bound = origin.familyBound()
        guard bound.negative else { return nil }
        return (1 - bound.lambda, bound.lambda)
    }

    /// The optimum from objective values alone (the reference path, and settings without a
    /// fast evaluator), with the family Newton's evaluations when the optimum is its point.
    func solveOnValues() throws -> (optimum: SymmetricOptimum, family: FamilyFinalEvaluations?) {
        var notes: [String] = []
        var converged = true
        var failures = 0
        func f(_ w1: Double, _ w2: Double) throws -> Double {
            let e = try value(w1: w1, w2: w2)
            if !e.converged { failures += 1 }
            return e.value
        }
        var w1 = 0.0, w2 = 0.0, best = 0.0
        var derivative: Double? = nil
        var derivativeError: Double? = nil
        // dF/dw1 at (0+, w2) when the optimum is on the face w1 = 0.
        var exclusiveDerivative: Estimate? = nil
        var boundary = false
        // R's estimate at the interior point when the family Newton has it already.
        var interiorObjective: (w1: Double, w2: Double, estimate: Estimate)? = nil
        var familyFinal: FamilyFinalEvaluations? = nil
        switch scale {
        case .fixed(let s):
            // Scale-free objectives use s as given (their value does not depend on it).
            let m = try Minimizer1D.minimize(in: 0, .pi / 2, gridPoints: 13, tolerance: 1e-9) { theta in
                try f(s * cos(theta), s * sin(theta))
            }
            converged = converged && m.converged
            var theta = m.argument
            best = m.value
            if theta < 1e-4 {
                // Near the boundary the angle is only resolved to the noise of the objective;
                // the one-sided derivative decides: >= 0 means w2* = 0 exactly.
                let estimate = try derivativeAtZeroEstimate(w1: s)
                let d = estimate.value
                derivative = d
                derivativeError = estimate.errorBound
                if d >= 0 && theta > 0 {
                    let atZero = try f(s, 0)
                    if atZero <= best + 10 * tolerance { theta = 0; best = atZero }
                }
            }
            let found = best
            if let atFace = try settleArcEnd(&theta, converged: &converged, notes: &notes, exclusiveDerivative: &exclusiveDerivative,
                                             best: { found }, derivative: { try derivativeAtExclusiveZeroEstimate(w2: s) }, atFace: { try f(0, s) }) {
                best = atFace
            }
            w1 = theta == .pi / 2 ? 0 : s * cos(theta)
            w2 = theta == 0 ? 0 : s * sin(theta)
            boundary = theta == 0
        case .free, .weightDecay, .centeredWeightDecay:
            // Boundary candidate: w2 = 0, w1 optimal.
            let axis = try optimalScaleOnAxis { rho in try f(exp(rho), 0) }
            let range = axis.range
            let edge = (argument: axis.logScale, value: axis.value)
            let r0 = exp(edge.argument)
            let estimate = try derivativeAtZeroEstimate(w1: r0)
            let d = estimate.value, dError = estimate.errorBound
            derivative = d
            derivativeError = dError
            w1 = r0; w2 = 0; best = edge.value; boundary = true
            if !marginsDependOnW2 {
                notes.append("the objective does not depend on w2 on this model (every cross-class feature is in every class, so w2 cancels in every w_y - w_k): w2 = 0 is reported, and every w2 gives the same value")
            } else if !(isConvex && d - dError >= 0) {
                // (A non-negative derivative proves w2* = 0 only when its error bound cannot
                // change its sign; otherwise the interior is searched as well.)
                // Interior: Newton on the full-W evaluator's exact gradient through W(w1, w2) where
                // there is one (`familyNewton`), else a simplex over (log r, theta) on values,
                // theta reflected into [0, pi/2].
                let interior: (w1: Double, w2: Double, value: Double, failure: String?)
                var interiorNotes: [String] = []
                let search: String
                var family = try familyNewton(start: (r0 * cos(0.35), r0 * sin(0.35)))
                // With the axis's best scale below the search range, Newton from beside it starts
                // at e^-12 and may crawl there. Where it did not converge and F falls from W = 0
                // into the family, it runs again from F's minimiser along the steepest direction
                // at W = 0 (a value search along that ray: dear on the adaptive path, so only
                // then), and the better point is kept.
                if let first = family, !first.converged, axis.atSearchBound && edge.argument <= range.lowerBound + 1e-6,
                   let (c, s) = steepestDirectionAtOrigin()
                {
                    let ray = try scaleSearchOnValues { rho in try f(exp(rho) * c, exp(rho) * s) }
                    if !ray.atSearchBound, let again = try familyNewton(start: (exp(ray.logScale) * c, exp(ray.logScale) * s)),
                       again.value < first.value || (again.converged && again.value <= first.value + 10 * tolerance)
                    {
                        family = again
                    }
                }
                if let newton = family {
                    search = "Newton"
                    interiorObjective = newton.objective.map { (newton.w1, newton.w2, $0) }
                    familyFinal = newton.final
                    interiorNotes = newton.notes
                    interior = (newton.w1, newton.w2, newton.value,
                                newton.converged ? nil : newton.failure ?? "Newton stopped after \(newton.iterations) iterations with step \(newton.step)")
                } else {
                    search = "the simplex"
                    func reflect(_ t: Double) -> Double {
                        var u = abs(t).truncatingRemainder(dividingBy: .pi)
                        if u > .pi / 2 { u = .pi - u }
                        return u
                    }
                    let result = try MultiMinimizer.simplex(
                        start: [edge.argument, 0.35], steps: [0.4, 0.2], sizeTolerance: 1e-6, maxIterations: 400
                    ) { p in
                        let rho = min(max(p[0], range.lowerBound), range.upperBound)
                        let theta = reflect(p[1])
                        return try f(exp(rho) * cos(theta), exp(rho) * sin(theta))
                    }
                    let rho = min(max(result.argument[0], range.lowerBound), range.upperBound)
                    let theta = reflect(result.argument[1])
                    interior = (exp(rho) * cos(theta), exp(rho) * sin(theta), result.value,
                                result.converged ? nil : "simplex stopped after \(result.iterations) iterations with size \(result.simplexSize)")
                }
                // The family's other face, w1 = 0, is not a point of the interior search.
                let preferred = try preferringExclusiveFace(
                    InteriorPoint(w1: interior.w1, w2: interior.w2, value: interior.value, failure: interior.failure, notes: interiorNotes),
                    search: search, face: { try exclusiveFaceCandidate(f) })
                let chosen = preferred.point
                if let d = preferred.derivative { exclusiveDerivative = d }
                if let failure = chosen.failure {
                    converged = false
                    notes.append(failure)
                }
                if chosen.value < best {
                    w1 = chosen.w1; w2 = chosen.w2; best = chosen.value; boundary = false
                    notes += chosen.notes
                    let rho = 0.5 * log(w1 * w1 + w2 * w2)
                    if rho >= range.upperBound - 1e-6 || rho <= range.lowerBound + 1e-6 {
                        converged = false
                        notes.append("optimal scale at the search limit e^\(rho >= range.upperBound - 1e-6 ? range.upperBound : range.lowerBound): a point on a search bound, not a minimiser")
                    }
                }
                if isConvex && d + dError < 0 && boundary {
                    converged = false
                    notes.append("derivative at w2 = 0 is negative (\(d), error \(dError)) but \(search) found no better interior point")
                } else if isConvex && boundary && abs(d) <= dError {
                    notes.append("the derivative at w2 = 0 (\(d)) is within its error bound \(dError) of 0: its sign is not resolved, and \(search) found no better interior point")
                }
            }
            // The axis point (and the derivative test made there) is only a minimiser when its
            // scale is inside the range searched.
            if boundary && axis.atSearchBound {
                converged = false
                if edge.argument >= range.upperBound - 1e-6 {
                    notes.append("the objective keeps decreasing as ||w|| grows (optimal scale on the axis w2 = 0 above e^\(range.upperBound)): a point on a search bound, not a minimiser")
                } else {
                    notes.append("the optimal scale on the axis w2 = 0 is below the search limit e^\(range.lowerBound) (w1 -> 0): a point on a search bound, not a minimiser")
                }
            }
        }
        if failures > 0 {
            converged = false
            notes.append("\(failures) objective evaluations did not reach the quadrature tolerance")
        }
        var evaluator = RobustObjective(model: model, threat: threat, objective: objective, tolerance: tolerance)
        evaluator.method = method
        evaluator.parallel = parallelEvaluation
        let objectiveOnly: Estimate
        if let known = interiorObjective, known.w1 == w1, known.w2 == w2 {
            objectiveOnly = known.estimate
        } else {
            objectiveOnly = try evaluator.evaluate(w1: w1, w2: w2)
        }
        let o = try optimum(w1: w1, w2: w2, value: best, objectiveValue: objectiveOnly.value, derivativeAtZero: derivative,
                            derivativeError: derivativeError, onBoundary: boundary, converged: converged, notes: notes,
                            exclusiveDerivative: exclusiveDerivative, objectiveError: objectiveOnly.errorBound)
        return (o, familyFinal.flatMap { $0.w1 == w1 && $0.w2 == w2 ? $0 : nil })
    }

    /// The common last step of every optimiser (reference, fast l_inf, fast l_2): the
    /// resolution check and the exact robust and natural accuracy of the point found.
    ///
    /// A smooth loss (ce, ls, trades) whose minimum is within 100 tolerances of zero has been
    /// driven towards its infimum 0 (nearly separable data at free scale): candidate points
    /// differ by less than the quadrature error, so the direction found is not resolved.
    func optimum(
        w1: Double, w2: Double, value: Double, objectiveValue: Double, derivativeAtZero: Double?,
        derivativeError: Double?, onBoundary: Bool, converged: Bool, notes: [String], exclusiveDerivative: Estimate? = nil,
        objectiveError: Double?
    ) throws -> SymmetricOptimum {
        var converged = converged, notes = notes
        switch objective {
        case .ce, .ls, .trades:
            if abs(objectiveValue) < 100 * tolerance {
                converged = false
                notes.append("objective value \(objectiveValue) is within 100 quadrature tolerances (\(tolerance)) of 0: the loss is driven to ~0 and (w1, w2) is not resolved")
            }
        default: break
        }
        let ra = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat)
        let na = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: ThreatModel(norm: threat.norm, eps: 0))
        var o = SymmetricOptimum(
            w1: w1, w2: w2, value: value, objectiveValue: objectiveValue, robustAccuracy: ra.value,
            naturalAccuracy: na.value, derivativeAtZero: derivativeAtZero,
            derivativeAtZeroError: derivativeAtZero == nil ? nil : derivativeError, onBoundary: onBoundary,
            converged: converged, notes: notes)
        o.objectiveError = objectiveError
        if o.onExclusiveFace, let d = exclusiveDerivative {
            o.derivativeAtExclusiveZero = d.value
            o.derivativeAtExclusiveZeroError = d.errorBound
        }
        return o
    }
}

/// The optimum over the full weight matrix W (K x d, no bias), to see whether restricting to the
/// symmetric family loses anything.
///
/// Softmax losses and robust margins depend on W only through the differences of its rows, so
/// the last row is fixed at 0 and the other (K-1) d entries are searched, starting from the
/// symmetric optimum (shifted so that its last row is 0).
/// - fast (ce, ls and trades, K = 3, l_inf or l_2): damped Newton on the exact value and
///   gradient of `LinearPairCE` (`DampedNewton`; on lines, BFGS updates after the start's
///   coarse-rule Hessian); converged when the Newton decrement (F - F* for the quadratic model;
///   ce and ls are convex, a trades point away from the start must have a positive definite
///   Hessian of its own) and the integration error are both within the tolerance.
/// - reference (and every other setting): GSL's Nelder-Mead simplex on the adaptive path.
public struct FullOptimum: Sendable {
    public var classifier: LinearClassifier
    public var value: Double
    public var symmetricValue: Double
    /// symmetricValue - value: how much the full W gains over the symmetric family (>= 0 up to
    /// the optimiser's tolerance).
    public var improvement: Double { symmetricValue - value }
    /// The full optimum projected back onto the family (through class differences).
    public var projected: (w1: Double, w2: Double)
    public var iterations: Int
    public var converged: Bool
    /// Bound on |value - R(classifier)| from the integration (nil on the simplex path, whose
    /// evaluations carry the adaptive tolerance).
    public var errorBound: Double? = nil
    /// Largest |dF/dW| entry at the returned point (fast path).
    public var gradientNorm: Double? = nil
    /// The Newton decrement at the returned point: F - F* of the quadratic model (fast path).
    public var optimalityGap: Double? = nil
    public var method: ExactMethod = .reference
    public var notes: [String] = []
}

extension FullOptimum {
    /// This result as the last stage of a longer search: the earlier stages' notes first, their
    /// iterations added, and R at the whole search's start as the symmetric value.
    func continuing(after notes: [String], iterations: Int, symmetricValue: Double) -> FullOptimum {
        var result = self
        result.notes = notes + self.notes
        result.iterations += iterations
        result.symmetricValue = symmetricValue
        return result
    }
}

public enum FullOptimizer {
    /// The optimum over the full W, from the symmetric optimum. `coarseStage`: under l_2 the first
    /// Newton run goes on the coarse rule first (`fastSolve`); false starts it on the working
    /// rule (as before stop 72), for tests of the stages after it.
    public static func solve(
        model: DataModel, threat: ThreatModel, objective: Objective, tolerance: Double = 1e-10,
        maxIterations: Int = 4000, method: ExactMethod = .fast, parallel: Bool = false, coarseStage: Bool = true
    ) throws -> FullOptimum {
        switch objective {
        case .ce, .ls, .trades: break
        default:
            throw InputError("the full-W optimum is implemented for ce, ls and trades (free scale); got \(objective)")
        }
        // Every evaluation of a K >= 4 general W is a randomised lattice rule (error 1e-7 at
        // best, seconds per value): too noisy and too slow for the full-W optimisers.
        guard model.classCount <= 3 else {
            throw InputError("the full-W optimum needs K <= 3 classes, got K = \(model.classCount): a general W of K >= 4 classes is integrated by randomised lattice rules (error about \(GaussianExpectation.qmcAttainableTolerance(margins: model.classCount - 1)) at best), too noisy to optimise over; allowed: a model of 2 or 3 classes, or the symmetric family (without --full)")
        }
        // The start (fast symmetric optimiser on either path, as before), at the same tolerance.
        var symmetricOptimizer = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: .free)
        symmetricOptimizer.tolerance = tolerance
        symmetricOptimizer.parallelEvaluation = parallel
        let (symmetric, symmetricFinal, familyFinal) = try symmetricOptimizer.solveKeepingEvaluations()
        let k = model.classCount, d = model.dimension
        if symmetric.atOrigin, symmetricOptimizer.isConvex,
           let origin = originOptimum(model: model, threat: threat, objective: objective, symmetric: symmetric)
        {
            return origin
        }
        let start = LinearClassifier.symmetric(model: model, w1: symmetric.w1, w2: symmetric.w2).weights
        var x0: [Double] = []
        for r in 0..<(k - 1) { for f in 0..<d { x0.append(start[r, f] - start[k - 1, f]) } }
        func matrix(_ x: [Double]) -> Matrix {
            var w = Matrix(rows: k, columns: d)
            for r in 0..<(k - 1) { for f in 0..<d { w[r, f] = x[r * d + f] } }
            return w
        }
        if method == .fast, var engine = LinearPairCE(model: model, threat: threat, objective: objective) {
            engine.parallel = parallel
            // The start's two evaluations are the symmetric optimiser's last ones (l_2: class 0's
            // share there, rearranged for classes 1 and 2), when they apply: the same integrals,
            // not computed again. Only inside the family (w2 > 0: at w2 = 0 its line v is
            // degenerate) and where their bound needs no refinement (`LinearPairCE.refines`).
            var known: StartEvaluations? = nil
            if let f = symmetricFinal, f.w2 > 0, let e = symmetricOptimizer.l2Evaluator {
                let problem = e.problem(f.w1, f.w2), w = matrix(x0)
                if let a = engine.assemble(w, classZero: f.working.share, problem: problem),
                   let b = engine.assemble(w, classZero: f.verification.share, problem: problem) {
                    let estimate = engine.estimate(working: a, verification: b)
                    if !engine.refines(estimate.errorBound) { known = StartEvaluations(working: a, estimate: estimate) }
                }
            }
            // Or the family Newton's (the same evaluator at the same W, up to the rows' rounding:
            // its W has a nonzero last row).
            if known == nil { known = familyFinal?.evaluations }
            // Under l_inf the adaptive path evaluates a W in seconds: the value where the fixed
            // rules miss the tolerance at the point found.
            let adaptive: ((Matrix) throws -> Estimate)? = threat.norm == .linf ? { w in
                var evaluator = RobustObjective(model: model, threat: threat, objective: objective, tolerance: tolerance)
                evaluator.method = .reference
                return try evaluator.evaluate(LinearClassifier(weights: w))
            } : nil
            if var r = try fastSolve(engine, start: x0, matrix: matrix, tolerance: tolerance, known: known, adaptiveValue: adaptive, coarseStage: coarseStage,
                                     symmetricValue: symmetric.objectiveValue) {
                r.projected = r.classifier.projectSymmetric(model: model)
                if !symmetric.converged {
                    r.converged = false
                    r.notes.append("the symmetric optimum used as the start and for comparison is not converged: \(symmetric.notes.joined(separator: "; "))")
                }
                return r
            }
        }
        let evaluator = RobustObjective(model: model, threat: threat, objective: objective, tolerance: tolerance)
        let scale = max(symmetric.w1, symmetric.w2, 0.1)
        let result = try MultiMinimizer.simplex(
            start: x0, steps: x0.map { _ in 0.1 * scale }, sizeTolerance: 1e-6 * scale, maxIterations: maxIterations
        ) { x in
            try evaluator.evaluate(LinearClassifier(weights: matrix(x))).value
        }
        let best = LinearClassifier(weights: matrix(result.argument))
        // Compare like with like: the symmetric optimum evaluated by the same (all-class) path.
        let symmetricValue = try evaluator.evaluate(LinearClassifier(weights: start)).value
        let value = min(result.value, symmetricValue)
        return FullOptimum(
            classifier: result.value <= symmetricValue ? best : LinearClassifier(weights: start),
            value: value, symmetricValue: symmetricValue,
            projected: (result.value <= symmetricValue ? best : LinearClassifier(weights: start)).projectSymmetric(model: model),
            iterations: result.iterations, converged: result.converged,
            notes: result.converged ? [] : ["simplex stopped after \(result.iterations) iterations with size \(result.simplexSize)"])
    }

    /// W = 0 over the full W, when the symmetric optimum is W = 0 and the closed form certifies
    /// it for every W (the caller asks for ce and ls only: convex), with the class means inside one ball of radius eps
    /// of the threat's norm (`OriginDerivative.meanRadius`). nil otherwise: the search runs
    /// from W = 0 (a direction of descent exists when the radius is beyond eps).
    static func originOptimum(model: DataModel, threat: ThreatModel, objective: Objective, symmetric: SymmetricOptimum) -> FullOptimum? {
        guard let derivative = OriginDerivative(model: model, threat: threat, objective: objective) else { return nil }
        let (radius, rounding) = derivative.meanRadius()
        guard radius < threat.eps - rounding else { return nil }
        let ball = threat.norm == .linf ? "box of half-width" : "l_2 ball of radius"
        return FullOptimum(
            classifier: LinearClassifier(weights: Matrix(rows: model.classCount, columns: model.dimension)),
            value: symmetric.value, symmetricValue: symmetric.value, projected: (0, 0), iterations: 0, converged: true,
            errorBound: 0, gradientNorm: nil, optimalityGap: 0, method: .fast,
            notes: ["W = 0 is the minimiser over the full W (closed form, no quadrature): F is convex, and the class means fit in one \(ball) \(radius) <= eps = \(threat.eps) (rounding \(rounding)), so the adversary can move every class to a common point and every direction's one-sided derivative at W = 0 is >= 0"])
    }

    /// The start's working-rule evaluation and its estimate, when the caller has them.
    struct StartEvaluations {
        var working: (value: Double, gradient: Matrix, tail: Double)
        var estimate: LinearPairCE.RuleEstimate
    }

    /// Newton on the exact value and gradient; nil when the fast evaluator declines a point
    /// (then the reference path runs). `known`: the start's evaluations (else computed here).
    /// `symmetricValue`: R at the start, for a search that must start off it (the fixed rules
    /// decline the start itself).
    /// `coarseStage`: see `solve`.
    static func fastSolve(
        _ engine: LinearPairCE, start x0: [Double], matrix: ([Double]) -> Matrix, tolerance: Double, known: StartEvaluations? = nil,
        adaptiveValue: ((Matrix) throws -> Estimate)? = nil, coarseStage: Bool = true, symmetricValue: Double? = nil
    ) throws -> FullOptimum? {
        let k = 3, d = x0.count / 2
        struct Declined: Error {}
        func free(_ r: (value: Double, gradient: Matrix, tail: Double)) -> (value: Double, gradient: [Double]) { (r.value, freeEntries(r.gradient)) }
        // A class whose d1 - d2 is constant at the start: held on the symmetries' subspace (the
        // fixed rules decline it on lines, and elsewhere Newton stalls on its kink: ls:0.1 on
        // the model of `subspaceSolve`, 60 iterations, NOT converged, 2.9e-3 above the optimum).
        if let result = try subspaceSolve(engine, start: x0, matrix: matrix, tolerance: tolerance) {
            return result
        }
        // A class whose d1 - d2 is constant at the start without a symmetry of the model (which
        // `subspaceSolve` takes): where its inner maximum does not tie along its line, R is
        // differentiable there, and the start's evaluations take its gradient by the regression
        // on q alone (the lines decline it otherwise; then the simplex on values ran over 5
        // minutes on a 3-class model with nested features).
        var startEngine = engine
        var startNotes: [String] = []
        if known == nil, case let classes = engine.untiedConstantClasses(matrix(x0)), !classes.isEmpty {
            startEngine.constantRGradients = true
            startNotes.append("class\(classes.count == 1 ? "" : "es") \(classes.map(String.init).joined(separator: ", ")) \(classes.count == 1 ? "has" : "have") d1 - d2 constant at the start, with no tie of the adversary's best shifts along the line: its gradient there by the regression on q alone")
        }
        guard let working0 = known?.working ?? startEngine.evaluate(matrix(x0)) else {
            // A start on a point class's kink (the family optimum there): the lines decline it.
            switch try pointKinkSolve(engine, start: x0, matrix: matrix, tolerance: tolerance) {
            case .solved(let result)?: return result
            case let .leave(point, value, symmetric, note)?:
                guard var result = try fastSolve(engine, start: point, matrix: matrix, tolerance: tolerance, adaptiveValue: adaptiveValue, coarseStage: coarseStage)?
                    .continuing(after: ["\(note): Newton over all entries from the best point along it (R = \(value))"], iterations: 0, symmetricValue: symmetric) else { return nil }
                if symmetric < result.value {
                    result.converged = false
                    result.notes.append("the search from off the kink ended above the symmetric optimum (\(symmetric))")
                }
                return result
            case nil:
                // The fixed rules decline the start itself (every class of m0 in bench/exact.py has
                // its two margins equal at the family's axis; trades keeps all its adversary's
                // vertices, so the class is not smooth there): Newton starts a step 1e-3 |x| off
                // it, along a direction that favours no entry, and the symmetric optimum's own
                // value (`symmetricValue`, given once: the shifted start does not shift again)
                // stays the comparison. (The simplex on values ran over 20 minutes.)
                guard known == nil, let symmetricValue else { return nil }
                let size = max(x0.maxMagnitude, 1e-3)
                let shifted = x0.indices.map { x0[$0] + 1e-3 * size * sin(Double($0) + 1.3) }
                guard var result = try fastSolve(engine, start: shifted, matrix: matrix, tolerance: tolerance, adaptiveValue: adaptiveValue, coarseStage: coarseStage) else { return nil }
                result.notes.insert("the fixed rules decline the symmetric start (a class's margins coincide there): Newton started 1e-3 |x| off it", at: 0)
                result.symmetricValue = symmetricValue
                if result.value > symmetricValue {
                    result.converged = false
                    result.notes.append("the search from off the start ended above the symmetric optimum (\(symmetricValue))")
                }
                return result
            }
        }
        // The last working-rule evaluation with its classes' shares: the estimate at the Newton
        // point (where the last one was made) takes them instead of integrating them again.
        var last: (x: [Double], width: Double, shares: LinearPairCE.SharesWithParts)? = nil
        // The evaluator of the Newton runs: `engine`, or its fine v panels after a stall.
        var active = engine
        // The coarse rule's value and gradient on the wide v panels, for the coarse stage of
        // `newtonRun` (at the start, the start's evaluator: its regression gradients).
        func coarse(_ x: [Double]) throws -> (value: Double, gradient: [Double]) {
            guard let r = (x == x0 ? startEngine : engine).evaluate(matrix(x), rule: .coarse) else { throw Declined() }
            return free(r)
        }
        func f(_ x: [Double]) throws -> (value: Double, gradient: [Double]) {
            if x == x0 && active.vWidth == engine.vWidth { return free(working0) }
            let w = matrix(x)
            guard let r = active.sharesWithParts(w, rule: .working) else { throw Declined() }
            last = (x, active.vWidth, r)
            return free(engine.combine(r.shares, columns: w.columns))
        }
        do {
            guard let startEstimate = known?.estimate ?? startEngine.estimate(matrix(x0), working: working0) else { return nil }
            // ls and trades on lines (l_2; trades under l_inf): an evaluation is seconds, and the start (the
            // symmetric optimum) is stationary by symmetry, so the first Hessian -- which only
            // certifies the minimum and measures the decrement there -- comes from the coarse
            // rule's gradients (a Newton step above 1e-3 |x| differences afresh on the working rule).
            let initial = engine.onLines ? freeEntriesHessian(startEngine, at: x0, matrix: matrix) : nil
            // A step at F's rounding is not evaluated there: the step (~1e-9) puts rounding dust
            // on the symmetric start's zero entries, which splits the kinks that coincide there
            // (at the eps 0.1 trades:1 optimum under l_inf, 60 s against 2 s at the start).
            // On lines the later Hessians are BFGS updates of that first one: a Hessian
            // differenced on the working rule is 2 (K - 1) d evaluations of seconds each (on a
            // model without the complement structure, ls:0.1 under l_2: 27 evaluations, 24 of
            // them for two Hessians, against 5 with the updates, to the same optimum).
            // Newton over the entries `moving` (the others stay at x0's), its gradient in them.
            let all = Array(0..<(2 * d))
            func restricted(_ h: [Double], to moving: [Int]) -> [Double] { moving.flatMap { i in moving.map { j in h[i * 2 * d + j] } } }
            // The features among `moving`'s whose column in x is below a tenth of its largest
            // entry, smallest first: where an l_inf tie's kink is near (`holdNearlyTied`).
            func nearlyTiedColumns(_ x: [Double], moving: [Int]) -> [Int] {
                let size = x.maxMagnitude
                return (0..<d).filter { moving.contains($0) }.map { f in (f, max(abs(x[f]), abs(x[d + f]))) }
                    .filter { $0.1 <= 0.1 * size }.sorted { $0.1 < $1.1 }.map { $0.0 }
            }
            // A run that returns nil where the evaluator declines a point (other errors rethrown).
            func declining(_ run: () throws -> DampedNewton.Result) throws -> DampedNewton.Result? {
                do { return try run() } catch is Declined { return nil }
            }
            // A trades run on the wide v panels that stalls is certified where it stopped when it
            // can be (`settled` below), so it stops once its secant model's decrement is a
            // hundredth of the tolerance: under l_2 the steps from there to the rule's noise
            // floor moved R by 5e-14 on q1 of bench/ANALYSIS.md stop 69 (7 of its 20 evaluations,
            // 5 s) and 3.6e-13 on q0, both far inside the point's error bound; under l_inf (stop
            // 71) they were line searches at secant decrements of 2e-13 on q1 (2.3 s), after
            // which its fine stage took 4.4 s more.
            let settlesStalls = engine.onLines && engine.vWidth > LinearPairCE.fineVWidth && engine.tradesBeta != nil
            // The coarse stages' notes (`newtonRun`).
            var stageNotes: [String] = []
            // `patient`: on lines a stall needs F to have stopped falling as well (see the
            // continuation below).
            func newtonRun(free moving: [Int], from start: [Double] = x0, decrementBelow: Double? = nil, hessian warm: [Double]? = nil,
                           patient: Bool = false) throws -> DampedNewton.Result {
                func expand(_ y: [Double]) -> [Double] {
                    var x = start
                    for (i, j) in moving.enumerated() { x[j] = y[i] }
                    return x
                }
                /// `evaluate` at the entries y of `moving`, its gradient in them.
                func onMoving(_ y: [Double], _ evaluate: ([Double]) throws -> (value: Double, gradient: [Double])) throws -> (value: Double, gradient: [Double]) {
                    let r = try evaluate(expand(y))
                    return (r.value, moving.map { r.gradient[$0] })
                }
                // The coarse Hessian is the start's.
                var hessian = warm ?? (start == x0 ? initial.map { restricted($0, to: moving) } : nil)
                var begin = moving.map { start[$0] }
                // Under l_2 a run from the start goes first on the coarse rule (an evaluation a
                // fifth to a tenth of the working rule's), to its secant model's decrement 1e-8 or
                // steps of 1e-4 |x|, and the working rule's run continues from its point with a
                // coarse Hessian differenced there. From the start the BFGS updates of the start's
                // Hessian converge linearly on the working rule (q1 of bench/ANALYSIS.md stop 72,
                // trades:1: 14 iterations of 0.9 s, the gradient halving at each; from the coarse
                // stage's point 3). Kept only where that stage ends at a gradient below 1e-4:
                // above it the stage has stopped on a kink of R (r3 and r8 there), and a Hessian
                // differenced beside it would take the kink's jump for curvature (on r8 the
                // working run from there took 9.4 s, against 7.7 s from the start). Not under l_inf, whose kinks (the adversary's vertices) stopped
                // the stage on six of seven such models there, where it only cost time. Nor where
                // the start's Hessian is positive definite and predicts a decrease below the
                // stage's 1e-8 from the working rule's gradient: the start is the minimum (paper3,
                // ls:0.1), which the coarse rule's would only move off.
                var coarseIterations = 0
                func startIsMinimum() -> Bool {
                    hessian.flatMap { DampedNewton.decrement(hessian: $0, gradient: moving.map { free(working0).gradient[$0] }) }.map { $0 <= 1e-8 } ?? false
                }
                if coarseStage && engine.onLines && engine.threat.norm == .l2 && warm == nil && start == x0 && active.vWidth == engine.vWidth,
                   !startIsMinimum(),
                   let stage = try? DampedNewton.minimize(start: begin, maxIterations: 40, stopBelow: 1e-4, hessian: hessian, evaluatesRoundingSteps: false,
                                                          secantUpdates: true, stallWindow: 6, stallBelow: 1e-8, saddleFree: true, interpolates: true,
                                                          { y in try onMoving(y, coarse) }),
                   stage.gradient.maxMagnitude <= 1e-4,
                   let h = freeEntriesHessian(engine, at: expand(stage.argument), matrix: matrix).map({ restricted($0, to: moving) }) {
                    begin = stage.argument
                    hessian = h
                    coarseIterations = stage.iterations
                    stageNotes.append("Newton \(moving.count == 2 * d ? "over all entries" : "over \(moving.count) entries") went first on the coarse rule from the start: \(stage.iterations) iterations (gradient \(stage.gradient.maxMagnitude)), counted in the iterations; the working rule's run continued from there with a coarse Hessian differenced at that point")
                }
                // Patience ends beside a tie's kink under l_inf (a column below a tenth of the
                // largest entry, as `holdNearlyTied` takes them): Newton crawls along it there
                // (q0 of bench/ANALYSIS.md stop 54: 32 iterations of gradient 0.07), and the tie,
                // held, settles it.
                func besideTie(_ y: [Double]) -> Bool { !nearlyTiedColumns(expand(y), moving: moving).isEmpty }
                // On lines a stall (the gradient not halving in 6 iterations, or line searches
                // gaining only rounding) ends the run, for the fine panels below to continue.
                // Saddle-free steps where the Hessian has mild negative curvature: the symmetric
                // start is often a saddle of the full W (a random 3-class model under l_2,
                // trades:1: 140 iterations with the shift, 175 s; saddle-free 21, 21 s).
                // `pointKinkSolve` and `subspaceSolve` keep the shift: along a kink the negative
                // eigenvalues are its jump.
                var result = try DampedNewton.minimize(start: begin, maxIterations: 60, hessian: hessian,
                                                       evaluatesRoundingSteps: !engine.onLines, secantUpdates: engine.onLines,
                                                       stallWindow: engine.onLines ? 6 : (engine.tradesBeta == nil ? 20 : nil),
                                                       stallGain: engine.onLines && patient ? 1e-5 : nil,
                                                       patientAt: engine.threat.norm == .linf ? { !besideTie($0) } : nil, decrementBelow: decrementBelow,
                                                       stallBelow: settlesStalls && active.vWidth == engine.vWidth ? 0.01 * tolerance : nil,
                                                       saddleFree: true, interpolates: engine.onLines) { y in try onMoving(y, f) }
                result.argument = expand(result.argument)
                result.iterations += coarseIterations
                return result
            }
            // Under l_inf, features tied at the start are held tied, and the tie certified
            // (`TiedFeatures`); a tie that is not optimal, or not decided, frees them all.
            var moving = all
            // Newton along a point class's kink from x, where Newton over all entries stopped
            // within `near` of it, the features held tied (outside `moving`) held there too; a
            // third candidate sends it along the three-way kink first within 1e-4.
            func kinkSolve(_ evaluator: LinearPairCE, from x: [Double], near: Double = 1e-4) throws -> PointKinkOutcome? {
                try pointKinkSolve(evaluator, start: x, matrix: matrix, tolerance: tolerance, near: near, holding: (0..<d).filter { !moving.contains($0) },
                                   threeWayNear: 1e-4)
            }
            var tieNotes: [String] = []
            let tied = engine.threat.norm == .linf ? TiedFeatures.features(of: x0, columns: d) : []
            // The working rule's gradients off the family can be off by 4e-6 (trades on lines):
            // a tie's certificate asks for a slack above 1e-5.
            let tieError = max(10 * startEstimate.gradientError, 1e-5)
            // Newton over `held` from `start` (the features `tied` at 0 there) and the ties'
            // verdicts at its point when `certifies` accepts the run (else none); nil where the
            // fast evaluator declines a point on the way or near the tie (the tie undecided).
            func heldRun(free held: [Int], from start: [Double], tied: [Int], hessian: [Double]? = nil, decrementBelow: Double? = nil,
                         certifies: (DampedNewton.Result) -> Bool = { _ in true }) throws
                -> (result: DampedNewton.Result, verdicts: [Int: TiedFeatures.Verdict]?)? {
                let result: DampedNewton.Result
                do { result = try newtonRun(free: held, from: start, decrementBelow: decrementBelow, hessian: hessian) } catch is Declined { return nil }
                guard certifies(result) else { return (result, nil) }
                let point = result.argument
                let kept = last.flatMap { $0.x == point ? engine.combine($0.shares.shares, columns: d) : nil }
                guard let working = point == x0 ? working0 : (kept ?? engine.evaluate(matrix(point))),
                      let verdicts = TiedFeatures.certify(at: point, gradient: free(working).gradient, tied: tied, columns: d, error: tieError, gradientAt: { y in
                          engine.evaluate(matrix(y)).map { free($0).gradient }
                      }) else { return nil }
                return (result, verdicts)
            }
            var newton: DampedNewton.Result
            if tied.isEmpty {
                newton = try newtonRun(free: all)
            } else {
                let held = all.filter { !tied.contains($0 % d) }
                let run = try heldRun(free: held, from: x0, tied: tied).flatMap { r in r.verdicts.map { (result: r.result, verdicts: $0) } }
                let summary = TiedFeatures.summary(run?.verdicts, tied: tied, error: tieError)
                tieNotes.append(summary.note)
                if summary.certified, let run {
                    newton = run.result
                    moving = held
                } else if let run, let (start, startValue) = descendOffTies(engine, run: run.result, verdicts: run.verdicts, columns: d, matrix: matrix) {
                    // Newton from the start would find the tie's kink again and crawl along it
                    // (model b of bench/ANALYSIS.md stop 40: 48 iterations against 8 from here).
                    tieNotes.append("Newton over all entries from the best point along the tie's descent direction from the held point (R = \(startValue))")
                    newton = try newtonRun(free: all, from: start)
                } else {
                    tieNotes.append("Newton over all entries from the start")
                    newton = try newtonRun(free: all)
                }
            }
            // Features whose weights are nearly equal in every class where Newton stopped: the
            // l_inf shift's kink where a column vanishes is where the minimiser of a weak
            // feature often is (sparsity), and Newton straddling it stalls (a model whose
            // classes' features are nested, ce: 60 iterations, gradient 0.06, feature 1's
            // entries 3e-5 against 1.06). The smallest such column, then the two smallest (up
            // to a tenth of the largest entry), are held tied from the point reached, and
            // kept so when that run converges at or below it and the ties are certified
            // (`TiedFeatures`).
            // On the wide v panels a held run can end below the run it was held from yet NOT
            // converged: the wide rule, up to 1e-6 off under l_inf, is its noise floor. That
            // run is kept (`heldBelow`, the lowest) for the fine panels to hold first.
            struct HeldRun { var tied: [Int], held: [Int], nearlyTied: [Int], result: DampedNewton.Result }
            var heldBelow: HeldRun? = nil
            /// A gradient in W in the entries `moving`.
            func movingGradient(_ g: Matrix) -> [Double] { let free = freeEntries(g); return moving.map { free[$0] } }
            /// An evaluator's Hessian at x on `rule`, in the entries `moving`; `base`: its shares at
            /// x on that rule, where known.
            func movingHessian(_ evaluator: LinearPairCE, at x: [Double], rule: GaussLegendre, base: [LinearPairCE.ClassShare]? = nil) -> [Double]? {
                freeEntriesHessian(evaluator, at: x, matrix: matrix, rule: rule, base: base).map { restricted($0, to: moving) }
            }
            /// The working-rule shares of the runs' last evaluation where it was made at x on
            /// `evaluator`'s v panels.
            func lastShares(at x: [Double], on evaluator: LinearPairCE) -> LinearPairCE.SharesWithParts? {
                last.flatMap { $0.x == x && $0.width == evaluator.vWidth ? $0.shares : nil }
            }
            /// A Newton point within rounding of the start is the start (no second estimate).
            func isStart(_ x: [Double]) -> Bool {
                let size = x0.maxMagnitude
                return zip(x, x0).allSatisfy { abs($0 - $1) <= 1e-9 * size }
            }
            // `heldRun` kept where it converges no higher than `ceiling` (+ the tolerance) and its
            // ties are certified: the run, and then the certificate's note; nil where declined.
            func holdTied(free held: [Int], from start: [Double], tied: [Int], hessian: [Double]? = nil, decrementBelow: Double? = nil,
                          noHigherThan ceiling: Double) throws -> (result: DampedNewton.Result, certified: String?)? {
                guard let run = try heldRun(free: held, from: start, tied: tied, hessian: hessian, decrementBelow: decrementBelow, certifies: { $0.converged && $0.value <= ceiling + tolerance }) else { return nil }
                guard let verdicts = run.verdicts else { return (run.result, nil) }
                let summary = TiedFeatures.summary(verdicts, tied: tied, error: tieError)
                return (run.result, summary.certified ? summary.note : nil)
            }
            func holdNearlyTied() throws {
                guard engine.threat.norm == .linf && !newton.converged else { return }
                let point = newton.argument
                let candidates = nearlyTiedColumns(point, moving: moving)
                for count in 1...2 where count <= candidates.count {
                    let nearlyTied = Array(candidates.prefix(count))
                    var start = point
                    for f in nearlyTied { start[f] = 0; start[d + f] = 0 }
                    let held = moving.filter { !nearlyTied.contains($0 % d) }
                    let tiedNow = (0..<d).filter { !held.contains($0) }
                    let stopped = newton
                    guard let hold = try holdTied(free: held, from: start, tied: tiedNow, noHigherThan: stopped.value) else { continue }
                    guard let note = hold.certified else {
                        let r = hold.result
                        if !r.converged && active.vWidth > LinearPairCE.fineVWidth && r.value < stopped.value && r.value < heldBelow?.result.value ?? .infinity {
                            heldBelow = HeldRun(tied: tiedNow, held: held, nearlyTied: nearlyTied, result: r)
                        }
                        continue
                    }
                    tieNotes.append("Newton over all entries stopped after \(newton.iterations) iterations (gradient \(newton.gradient.maxMagnitude)) with feature\(count == 1 ? "" : "s") \(nearlyTied.map(String.init).joined(separator: ", ")) nearly tied; held tied from there")
                    tieNotes.append(note)
                    var result = hold.result
                    result.iterations += newton.iterations
                    newton = result
                    moving = held
                    return
                }
            }
            try holdNearlyTied()
            // Newton stalled where kinks of R meet (the adversary's vertices of a featureless
            // class tied, a column tied, margins that coincide): its quadratic model of one
            // side overshoots the other, and its decrement says nothing about the distance to
            // the optimum (on the featureless-class model s2 of bench/ANALYSIS.md stop 48, ce:
            // stopped 3.1e-3 above it with decrement 1.1e-8). ce and ls are convex in W: the
            // bundle-Newton method continues from the stall with every entry free
            // (`BundleNewton`), and its point is taken where it is lower.
            var aggregateGradient: [Double]? = nil
            if !newton.converged && !engine.onLines && engine.tradesBeta == nil {
                let stalled = newton
                let size = stalled.argument.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let bundle: BundleNewton.Result?
                do {
                    // Newton's gradient is the whole one when it moved every entry.
                    let gradient = moving.count == 2 * d ? stalled.gradient : try f(stalled.argument).gradient
                    bundle = try BundleNewton.minimize(start: stalled.argument, value: stalled.value, gradient: gradient,
                                                       tolerance: tolerance, step: 1e-6 * max(size, 1e-3), f)
                } catch is Declined {
                    bundle = nil
                } catch {
                    // Its metric's eigen-decomposition failed: Newton's point stands, NOT converged.
                    tieNotes.append("the bundle-Newton method could not continue from Newton's stall: \(error)")
                    bundle = nil
                }
                if let bundle, bundle.value <= stalled.value {
                    newton = DampedNewton.Result(argument: bundle.argument, value: bundle.value, gradient: bundle.aggregateGradient,
                                                 decrement: max(bundle.decrement, bundle.gap), iterations: stalled.iterations + bundle.evaluations,
                                                 step: 0, converged: bundle.converged)
                    aggregateGradient = bundle.aggregateGradient
                    let planes = bundle.activePlanes == 1 ? "one plane active at the point (R smooth there)" : "\(bundle.activePlanes) planes active at the point (a kink)"
                    tieNotes.append("Newton stopped after \(stalled.iterations) iterations (decrement \(stalled.decrement), R = \(stalled.value)); the bundle-Newton method (cutting planes with the piece Hessian) continued from there: \(bundle.evaluations) steps (\(bundle.seriousSteps) serious) and \(bundle.hessianEvaluations) evaluations for Hessians, \(planes); its model's decrement \(bundle.decrement), and F - F* <= \(bundle.gap) for a modulus of convexity \(bundle.modulus) (the piece Hessian's smallest eigenvalue), aggregate subgradient \(bundle.aggregateGradient.maxMagnitude)")
                    if !bundle.converged { tieNotes.append("the bundle-Newton method stopped after \(bundle.evaluations) steps (\(bundle.stop.reason))") }
                }
            }
            // On lines a run stops where its gradient has not halved in 6 iterations: Newton
            // straddling a tie's kink, which `holdNearlyTied` then settles, or minimising the
            // rule's error. But trades also descends that way on a nonconvex stretch: on a random
            // 3-class model (q1 of bench/ANALYSIS.md stop 54) the runs stopped 5e-5 above the
            // optimum, NOT converged. When no tie settled the stall, Newton continues on the same
            // rule from there with its last Hessian, stopping only where F has stopped falling
            // too (on the wide panels an evaluation is a fifth of the fine panels'). Not where F
            // had stopped falling over the stalled window (below the same 1e-5 (1 + |F|)): the
            // rule's noise floor, which the fine panels' run takes up.
            // A point the evaluator declines on the way ends the continuation, not the search.
            // Nor where a tie held from the stall ended below it at the wide rule's noise floor
            // (`heldBelow`, its gradient below 1e-4: not on a kink), which the fine panels hold
            // first: on q0 of bench/ANALYSIS.md stop 73 (trades:1 under l_inf) the continuation
            // took 13 iterations (1.9 s) back beside that tie, and held once more there it ended
            // NOT converged again (1.3 s), before the fine panels held it from the first point.
            let heldAtFloor = heldBelow.map { $0.result.gradient.maxMagnitude <= 1e-4 } ?? false
            var stalledRun: DampedNewton.Result? = nil
            if engine.onLines && !newton.converged && !heldAtFloor && newton.windowGain.map({ $0 > 1e-5 }) ?? true {
                let stalled = newton
                stalledRun = stalled
                if var continued = try declining({ try newtonRun(free: moving, from: stalled.argument, hessian: stalled.hessian, patient: true) }),
                   continued.value <= stalled.value {
                    continued.iterations += stalled.iterations
                    newton = continued
                    try holdNearlyTied()
                }
            }
            var settled: (estimate: LinearPairCE.RuleEstimate, decrement: Double)? = nil
            // A secant run straddling a kink of R takes the gradient's jump there for curvature:
            // its steps shrink below 1e-7 |x| and it reports convergence at a gradient far above
            // any rule's error (r3 of bench/ANALYSIS.md stop 70: 9.2e-3 on the wide panels, where
            // the fine stage then crawled 180 s to the kink). Such a run is a stall, which the kink
            // or the fine stage below takes up.
            // (Above a hundred times the wide rule's gradient error, ~1e-6: a kink, not its noise.)
            let wideGradient = newton.gradient.maxMagnitude
            let onKinkGradient = wideGradient > 1e-4
            if engine.onLines && newton.converged && onKinkGradient {
                newton.converged = false
            }
            // A trades wide run that stalled at its rule's noise floor beside the optimum, or
            // stopped at `stallBelow`, is certified where it stopped when it can be: the wide
            // panels' estimate there (refined where their rules differ) within the tolerance, and
            // the decrement from its gradient and a positive definite Hessian on the wide panels
            // too: the coarse rule's first, then the working rule's, as for a wide run that
            // converged (stop 71; the working rule's alone before, the Hessian that decides the
            // point after the l_2 fine stage: the same points, decrements 10% apart and far below
            // the tolerance; the Hessian on q1 under l_2 1.7 s against 7.4 s, 30 -> 25 s in all).
            // On three random 3-class models (q0, q1 and r9 of bench/ANALYSIS.md stop 68, l_2) the
            // wide runs stalled at gradients of 4e-9 to 1.1e-8, and the fine stage's Newton did not
            // move their points (the same weights bit for bit) in 2-13 s; r2's, at 8.8e-7, is not
            // certified here and takes the fine stage; under l_inf q1's, r1's and r2's are certified
            // here (stop 71). Tried only where the run's own model (its last Hessian, on its gradient)
            // predicts a decrement below a tenth of the tolerance, and not at a gradient above
            // 1e-4 (`onKinkGradient`: a kink's jump, which a Hessian differenced across it takes
            // for curvature); otherwise, or where the certificate fails, the fine stage as before.
            if settlesStalls && !newton.converged && !onKinkGradient, let h = newton.hessian, let predicted = DampedNewton.decrement(hessian: h, gradient: newton.gradient), predicted <= 0.1 * tolerance,
               !isStart(newton.argument), case let known = lastShares(at: newton.argument, on: engine),
               let estimate = engine.estimate(matrix(newton.argument), working: nil, workingShares: known), estimate.errorBound <= tolerance,
               case let rules: [(name: String, rule: GaussLegendre, base: [LinearPairCE.ClassShare]?)] =
                   [("coarse", .coarse, nil), ("working", .working, known?.shares)],
               let point = pointDecrement(gradient: movingGradient(estimate.gradient), candidates: rules.count, { i in
                   movingHessian(engine, at: newton.argument, rule: rules[i].rule, base: rules[i].base)
               }), decrementMeets(point.decrement, value: estimate.value, tolerance: tolerance) {
                settled = (estimate, point.decrement)
                tieNotes.append("Newton on the wide v panels stopped after \(newton.iterations) iterations (gradient \(wideGradient), its secant model's decrement \(predicted)); certified there: the estimate's bound \(estimate.errorBound) and the decrement \(point.decrement) from its gradient and the wide panels' \(rules[point.candidate].name) rule's Hessian within the tolerance")
                newton.converged = true
                newton.decrement = point.decrement
            }
            // A wide run that stopped at `stallBelow` on the start itself, its secant model's
            // decrement below a hundredth of the tolerance, has left nothing for the fine panels:
            // the start's verified estimate and the Hessians differenced there at the end decide,
            // as for a run that converged at the start. (paper3, `--full --norm l2` trades:6,
            // whose full-W optimum is the symmetric one: the fine stage cost one more iteration
            // and Hessians on the dearest panels, 1.8 s against stop 54's 1.25 s back to back,
            // 0.7 s without it: bench/ANALYSIS.md stop 76.)
            if settlesStalls && !newton.converged && newton.windowGain == 0 && newton.decrement <= 0.01 * tolerance
                && isStart(newton.argument) {
                newton.converged = true
            }
            if engine.onLines && !newton.converged && engine.vWidth > LinearPairCE.fineVWidth {
                // Beside a point class's kink (its two best candidates within 1e-4 of 1 + |f|)
                // Newton over all entries crawls: on r8 of bench/ANALYSIS.md stop 64 (trades:1
                // under l_2) the fine panels' run took 31 iterations of up to 17 halvings each
                // (140 s) towards the kink, where `pointKinkSolve` at the end then settled it.
                // Newton along that kink on the fine panels goes first; its point is kept where
                // it is certified (converged: no higher than the fine panels' estimate at its
                // start, R rising off the kink), else the run below goes on. (Not against the wide
                // run's value: the working rule on the wide panels, up to 1e-6 off under l_inf.)
                let wide = newton
                // A run that stalls at a gradient a hundred times the wide rule's error (~1e-6)
                // is on a kink of R, not at the rule's noise floor: there the kink is taken within
                // 1e-2 of 1 + |f| (as at a run's start), since Newton hopping across it leaves the
                // candidates' gap at the size of its steps. (r3 of bench/ANALYSIS.md stop 70,
                // trades:1 under l_2: a start 1e-9 apart in W stalled at gradient 9.2e-3 with the
                // gap above 1e-4, and the fine stage took 180 s to the same kink.) A third
                // candidate still goes first only within 1e-4 (`kinkSolve`): within 1e-2 on r3 the
                // three-way run took 21 s and ended off its kink, before the two-way run's 5 s.
                let besideKink = onKinkGradient ? 1e-2 : 1e-4
                // Under l_2 the wide panels first: there an evaluation costs a quarter to an eighth
                // of the fine panels' (r8 and r3 of bench/ANALYSIS.md stop 68, trades:1: 0.19
                // against 0.70 s, 0.17 against 1.24 s; r8's kink took 112 evaluations on the fine
                // panels, 94 s), and a point certified on them -- the estimate's bound and
                // its gradient's decrement within the tolerance, R rising off the kink -- stands
                // as stop 67's wide estimates do after the fine stage.
                for evaluator in (engine.kinksOnWidePanels ? [engine] : []) + [engine.onPanels(width: LinearPairCE.fineVWidth)] {
                    guard case .solved(let onKink)? = try kinkSolve(evaluator, from: wide.argument, near: besideKink), onKink.converged else { continue }
                    let panels = evaluator.vWidth == engine.vWidth ? "the same panels" : "the fine panels (width \(evaluator.vWidth))"
                    let stopped = "Newton over all entries stopped on the wide v panels (R = \(wide.value) on the working rule, \(wide.iterations) iterations) within \(besideKink) of the kink of a point class's inner maximum: Newton along that kink continued from there on \(panels)"
                    return onKink.continuing(after: startNotes + stageNotes + tieNotes + [stopped], iterations: wide.iterations, symmetricValue: startEstimate.value)
                }
                // The wide v panels' rule can be off by 1e-6 off the family, and Newton then
                // minimises its error: on a tau = 0.1 model with unequal means (trades:1, eps
                // 0.3) it stalled 20 iterations at gradient 7.4e-4 where the rule was 3.4e-6 off.
                // The fine panels continue from there, stopping at a decrement a tenth of the
                // tolerance (their gradients' error floor, ~1e-7, is far above F's rounding).
                active = active.onPanels(width: LinearPairCE.fineVWidth)
                last = nil
                // A tie held on the wide panels that ended below the wide run, NOT converged there:
                // held on the fine panels first, from its point. On q0 of bench/ANALYSIS.md stop 66
                // (trades:1 under l_inf) the fine panels' run over all entries took 24 s back to
                // that tie, where held it then converged in 2 iterations. Kept where it converges
                // no higher than the fine panels' value at the wide run's point and the tie is
                // certified; else the run over all entries below, as before. The held run's last
                // Hessian (its secant model on the wide panels) starts it: differenced afresh on
                // the fine panels it was 2 d + 1 evaluations of the dearest rule (q0 there, stop
                // 73: 4 iterations of 0.3 s from it, against a 2 s Hessian and 2 iterations). It
                // stops at a decrement a tenth of the tolerance, as the fine stage's other runs
                // do: without that, a run whose last decrement (2.7e-15) was above F's rounding
                // stopped as a stall its line search could not judge, NOT converged, and the fine
                // panels' run over all entries took 13 s more (q0 with stop 73's line search).
                func holdOnFinePanels(_ below: HeldRun) throws -> DampedNewton.Result? {
                    let reference: Double
                    do { reference = try f(wide.argument).value } catch is Declined { return nil }
                    guard let hold = try holdTied(free: below.held, from: below.result.argument, tied: below.tied, hessian: below.result.hessian,
                                                  decrementBelow: 0.1 * tolerance, noHigherThan: reference),
                          let note = hold.certified else { return nil }
                    let features = below.nearlyTied.map(String.init).joined(separator: ", ")
                    tieNotes.append("Newton over all entries stopped on the wide v panels after \(wide.iterations) iterations (gradient \(wide.gradient.maxMagnitude)) with feature\(below.nearlyTied.count == 1 ? "" : "s") \(features) nearly tied; held tied there it ended below that (R = \(below.result.value) on the working rule) NOT converged, and held tied on the fine panels (width \(LinearPairCE.fineVWidth)) from its point it converged")
                    tieNotes.append(note)
                    var result = hold.result
                    result.iterations += wide.iterations + below.result.iterations
                    return result
                }
                if let below = heldBelow, let held = try holdOnFinePanels(below) {
                    newton = held
                    moving = below.held
                } else {
                    // The wide run's last Hessian starts it: differenced afresh on the fine panels it
                    // is 2 d + 1 evaluations of the dearest rule.
                    var handedOver = wide
                    if var run = try declining({ try newtonRun(free: moving, from: wide.argument, decrementBelow: 0.1 * tolerance, hessian: wide.hessian, patient: true) }) {
                        // That Hessian is the wide rule's secant model; where it leaves the run NOT
                        // converged (a random 3-class model: decrement 6e-9 after 7 iterations), once
                        // more from there with one differenced on the fine panels.
                        if !run.converged && wide.hessian != nil,
                           var again = try declining({ try newtonRun(free: moving, from: run.argument, decrementBelow: 0.1 * tolerance, patient: true) }),
                           again.value <= run.value {
                            again.iterations += run.iterations
                            run = again
                        }
                        newton = run
                    } else {
                        // The fine panels decline a point on the way from the continued one (a
                        // featureless class's candidates tie near it): from the stalled run's point,
                        // with a Hessian differenced there, as before the continuation.
                        handedOver = stalledRun ?? wide
                        newton = try newtonRun(free: moving, from: handedOver.argument, decrementBelow: 0.1 * tolerance)
                    }
                    newton.iterations += handedOver.iterations
                    tieNotes.append("Newton on the wide v panels stopped after \(handedOver.iterations) iterations (gradient \(handedOver.gradient.maxMagnitude)); it continued on the fine panels (width \(LinearPairCE.fineVWidth)) from there")
                }
            }
            // A column may come near zero only on the fine panels (a random 3-class model, trades:1:
            // Newton on them cycled with step 0.04 beside feature 3's vanishing column).
            if active.vWidth != engine.vWidth { try holdNearlyTied() }
            let atStart = isStart(newton.argument)
            let kept = lastShares(at: newton.argument, on: active)
            // After the fine stage under l_2, the point's estimate is first the wide panels'
            // refined where their rules differ (`LinearPairCE.estimate`, as everywhere else), kept
            // where it meets the tolerance: at the fine-stage optima of three random 3-class
            // models (trades:1, bench/ANALYSIS.md stop 67) it took 1.6-4.1 s against 4.0-27 s for
            // the fine panels' two rules, its bound 1.4e-11 to 4.1e-11, its value within 6e-13 of
            // theirs and its gradient within 3.6e-10. Its gradient decides the decrement below;
            // where that misses the tolerance the fine panels' estimate is taken after all.
            let fineStageOnL2 = active.vWidth != engine.vWidth && engine.threat.norm == .l2
            func fineEstimate() -> LinearPairCE.RuleEstimate? {
                active.estimate(matrix(newton.argument), working: nil, workingShares: kept)
            }
            // The wide panels' estimate where it was made (the fallback after the fine stage below
            // takes it again where the point has not moved).
            let wideAtPoint = !atStart && fineStageOnL2 ? engine.estimate(matrix(newton.argument)).map { (x: newton.argument, estimate: $0) } : nil
            var finalOnWidePanels = false
            var final: LinearPairCE.RuleEstimate
            if atStart {
                final = startEstimate
            } else if let settled {
                final = settled.estimate
            } else if let wide = wideAtPoint?.estimate, wide.errorBound <= tolerance {
                final = wide
                finalOnWidePanels = true
            } else {
                guard let estimate = fineEstimate() else { return nil }
                final = estimate
            }
            // Where a stage's rules still miss the tolerance at the point reached, their gradient
            // can be off by far more than Newton's stopping rule sees: on r9 of bench/ANALYSIS.md
            // stop 54 (trades:1) one class's fine rules were 1e-9 apart, and Newton converged
            // where their gradient was 0 and R's 2.3e-5. The next finer panels continue from
            // there, kept where their rules agree better: the fine panels after a wide run that
            // converged (r5 of bench/ANALYSIS.md stop 59, trades:1 under l_2, with a trial of that
            // stop: its wide run converged where the wide rules were 1.2e-10 apart, and the result
            // was NOT converged), the finer (`LinearPairCE.finerVWidth`) after the fine.
            for (from, to) in [(engine.vWidth, LinearPairCE.fineVWidth), (LinearPairCE.fineVWidth, LinearPairCE.finerVWidth)]
            where from > to && !atStart && engine.onLines && active.vWidth == from && final.errorBound > tolerance {
                let stopped = newton, stoppedActive = active, stoppedBound = final.errorBound
                active = active.onPanels(width: to)
                last = nil
                if var run = try declining({ try newtonRun(free: moving, from: stopped.argument, decrementBelow: 0.1 * tolerance, hessian: stopped.hessian, patient: true) }),
                   let estimate = active.estimate(matrix(run.argument), working: nil, workingShares: lastShares(at: run.argument, on: active)),
                   estimate.errorBound < stoppedBound {
                    run.iterations += stopped.iterations
                    newton = run
                    final = estimate
                    let names = to == LinearPairCE.finerVWidth ? ("fine", "finer") : ("wide", "fine")
                    tieNotes.append("the \(names.0) panels' rules differ by \(stoppedBound) at the point they reached: Newton continued on the \(names.1) panels (width \(to)) from there, \(run.iterations - stopped.iterations) iterations")
                } else {
                    active = stoppedActive
                }
            }
            // After the fine stage, where its rules miss the tolerance, the wide panels refined
            // where they differ may meet it (the rules' pairs differ in where they are weak: at
            // one W near the tau = 0.1 model's trades:1 optimum, 9.4e-10 fine against 1.2e-11).
            if active.vWidth != engine.vWidth && final.errorBound > tolerance,
               let wide = wideAtPoint.flatMap({ $0.x == newton.argument ? $0.estimate : nil }) ?? engine.estimate(matrix(newton.argument)),
               wide.errorBound < final.errorBound {
                final = wide
            }
            // Where the fixed rules still miss the tolerance there, the adaptive path's value and
            // bound (a random 3-class model's trades:1 optimum: the rules 6.4e-10 apart, the
            // adaptive path's bound 1.2e-11 in 1.7 s; the values 1e-13 apart).
            var valueNotes: [String] = []
            if !atStart && final.errorBound > tolerance, let adaptiveValue,
               let r = try? adaptiveValue(matrix(newton.argument)), r.converged, r.errorBound <= tolerance, r.value.isFinite {
                valueNotes.append("the fixed rules differ by \(final.errorBound) at the point found: its value and bound are the adaptive path's (\(r.method.rawValue))")
                final.value = r.value
                final.errorBound = r.errorBound
            }
            var notes = startNotes + stageNotes + tieNotes + valueNotes
            var decrement = newton.decrement
            var minimum = true
            if let settled {
                decrement = settled.decrement
            } else if engine.onLines && !atStart && engine.tradesBeta != nil {
                // A BFGS Hessian is positive definite by construction, so it says nothing about
                // the curvature where Newton stopped, and trades is not convex: the point's own
                // Hessian (`pointDecrement`) decides that it is a minimum and gives the
                // decrement. (ce and ls are convex: a stationary point is
                // the minimum, and the updated Hessian's decrement estimates F - F*.)
                // The gradient is the one reported: where the rules were refined at the point (and
                // the value taken from the adaptive path) it differs from the run's own by their
                // error, which the decrement must not hide (a random 3-class model: 1.8e-5 against
                // 1e-7, and two such runs' points 2.3e-10 apart in F, each with a decrement of
                // 1e-13 from the run's gradient).
                // After the fine stage under l_2 the first Hessian is the wide panels' working
                // rule's: at the fine-stage optima of three random 3-class models (bench/ANALYSIS.md
                // stop 67) it was within 3e-7 to 2.9e-5 of the fine panels' working rule's (the
                // most accurate, 9-68 s), the coarse rule's on the fine panels within
                // 8.3e-7 to 6.4e-5, at 45-70% of its cost. Where it is not positive definite, the
                // fine panels' coarse and working rules as before.
                // (`base`: the working rule's shares at the point, where the run's last evaluation was
                // there; after the fine stage the last evaluations are the fine panels'.)
                let rules: [(evaluator: LinearPairCE, rule: GaussLegendre, base: [LinearPairCE.ClassShare]?)] =
                    (fineStageOnL2 ? [(engine, .working, nil)] : []) + [(active, .coarse, nil), (active, .working, lastShares(at: newton.argument, on: active)?.shares)]
                if let point = pointDecrement(gradient: movingGradient(final.gradient), candidates: rules.count, { i in
                    movingHessian(rules[i].evaluator, at: newton.argument, rule: rules[i].rule, base: rules[i].base)
                }) {
                    decrement = point.decrement
                    if finalOnWidePanels && !decrementMeets(decrement, value: final.value, tolerance: tolerance),
                       let fine = fineEstimate(), fine.errorBound <= tolerance,
                       let fineDecrement = DampedNewton.decrement(hessian: point.hessian, gradient: movingGradient(fine.gradient)) {
                        notes.append("the wide panels' gradient at the point found gives the decrement \(decrement) > tolerance \(tolerance): the value, bound and gradient are the fine panels' (width \(active.vWidth))")
                        final = fine
                        decrement = fineDecrement
                    }
                } else {
                    minimum = false
                    notes.append("the Hessian (\(fineStageOnL2 ? "the wide panels' working rule, the fine panels' " : "")coarse and working rules) at the point found is not positive definite: not a certified local minimum")
                }
            }
            let useStart = atStart || startEstimate.value < final.value
            let value = useStart ? startEstimate.value : final.value
            // In the free entries: a certified tie's gradient lies inside its subdifferential.
            let gradient = (useStart ? startEstimate.gradient : final.gradient).storage.prefix((k - 1) * d)
            // At a kink: the bundle's aggregate subgradient (the one-sided gradient there is not small).
            let gradientNorm = aggregateGradient?.maxMagnitude ?? moving.reduce(0) { max($0, abs(gradient[$1])) }
            // The bound of the value returned (`FullOptimum.errorBound`): the start's only when it
            // is the start (a start 1e-3 |x| off a declined symmetric one can be integrated worse
            // than the point found).
            let errorBound = useStart ? startEstimate.errorBound : final.errorBound
            var converged = newton.converged && minimum
            if !newton.converged && aggregateGradient == nil { notes.append("Newton stopped after \(newton.iterations) iterations with step \(newton.step)") }
            if minimum && !decrementMeets(decrement, value: value, tolerance: tolerance) {
                converged = false
                notes.append(aggregateGradient != nil ? "the bundle-Newton decrement or gap \(decrement) exceeds the tolerance \(tolerance)" : "Newton decrement \(decrement) (F - F* of the quadratic model) exceeds the tolerance \(tolerance)")
            }
            if errorBound > tolerance {
                converged = false
                notes.append("the fixed rule and its verification rule differ by \(errorBound) > tolerance \(tolerance)")
            }
            if useStart && !atStart { notes.append("Newton found no point below the symmetric optimum") }
            let classifier = LinearClassifier(weights: matrix(useStart ? x0 : newton.argument))
            let smooth = FullOptimum(
                classifier: classifier, value: value, symmetricValue: startEstimate.value, projected: (0, 0),
                iterations: newton.iterations, converged: converged && value.isFinite, errorBound: errorBound,
                gradientNorm: gradientNorm, optimalityGap: minimum ? decrement : nil, method: .fast, notes: notes)
            // Newton over the entries can end on a point class's kink: a featureless class whose
            // two best vertices (l_inf) or peaks (l_2) tie (r3, r4 and r8 of bench/ANALYSIS.md
            // stop 55, trades:1: Newton straddled the kink, its Hessian there not positive
            // definite, NOT converged, up to 2.1e-7 above the optimum). Newton along that kink
            // from there, with the columns held tied still held, and the certificate off it
            // (`pointKinkSolve`) decide; its point is taken where it is lower, or certified and no
            // higher beyond its bound. Where R decreases off the kink (`.leave`), Newton's point
            // stands: the search over all entries from beside it is the one that stopped here.
            guard !smooth.converged && !useStart,
                  case .solved(let onKink)? = try kinkSolve(active, from: newton.argument),
                  improves(onKink, on: smooth.value, tolerance: tolerance) else { return smooth }
            let stopped = "Newton over all entries stopped there (R = \(value), not certified) within 1e-4 of the kink of a point class's inner maximum: Newton along that kink continued from there"
            return onKink.continuing(after: notes + [stopped], iterations: newton.iterations, symmetricValue: startEstimate.value)
        } catch is Declined {
            return nil
        }
    }

    /// The full-W optimum where the start has a class whose d1 - d2 is constant (its two other
    /// classes' weights equal on every feature it has, as a symmetry of the model that exchanges
    /// them makes them): the fixed rules decline such a class (`ClassPairLSGeneral`), and R has
    /// a kink there. The loss of that class ties the adversary's best shifts exactly (the
    /// symmetry exchanges them), so R is smooth along the weights every symmetry fixes (they keep
    /// the tie) and kinked across them (a first-order term in the break of the symmetry). On a
    /// 3-class model with tau = 0 (classes 0 and 1 sharing two features, class 2 one of them),
    /// the reference simplex ran 22 minutes at trades:1 and refused.
    ///
    /// Newton runs on the fixed subspace (`WeightSymmetry`, with the tied features held too),
    /// where the constant class's gradient is the regression on q alone (exact along it,
    /// `LinearPairCE.constantRGradients`), and `KinkCertificate` decides the point along the
    /// rest: converged only when R rises along every direction that breaks the symmetry. nil
    /// when no class has d1 - d2 constant at the start, the model has no such symmetry, or the
    /// evaluator declines.
    /// `holdTies`: features tied at the start (`TiedFeatures`) are held tied too; when the
    /// certificate finds R decreasing along a direction the symmetries fix (the tie is not
    /// optimal), the search runs again with them free, from the best point along that direction,
    /// and certifies its point in turn.
    static func subspaceSolve(
        _ base: LinearPairCE, start x0: [Double], matrix: ([Double]) -> Matrix, tolerance: Double, holdTies: Bool = true
    ) throws -> FullOptimum? {
        var engine = base
        engine.constantRGradients = true
        let d = x0.count / 2
        let constant = constantClasses(engine, matrix(x0))
        let tied = engine.threat.norm == .linf && holdTies ? TiedFeatures.features(of: x0, columns: d) : []
        guard !constant.isEmpty, let symmetry = WeightSymmetry(model: engine.model, x: x0, heldColumns: tied),
              !symmetry.fixed.isEmpty, !symmetry.complement.isEmpty, symmetry.complement.count <= KinkCertificate.maxDimension,
              let working0 = engine.evaluate(matrix(x0)) else { return nil }
        let basis = symmetry.fixed, held = symmetry.complement
        let coordinates = WeightSymmetry.coordinates, combination = WeightSymmetry.combination
        /// The free entries' gradient in a basis.
        func projected(_ g: Matrix, _ basis: [[Double]]) -> [Double] { coordinates(Array(g.storage.prefix(2 * d)), basis) }
        // y: x's coordinates in the basis (so that |y| = |x|, the scale of Newton's tests).
        let y0 = coordinates(x0, basis)
        func point(_ y: [Double]) -> [Double] { combination(zip(y, y0).map { $0 - $1 }, basis, x0) }
        struct Declined: Error {}
        func f(_ y: [Double]) throws -> (value: Double, gradient: [Double]) {
            let x = point(y)
            if x == x0 { return (working0.value, projected(working0.gradient, basis)) }
            guard let r = engine.evaluate(matrix(x)) else { throw Declined() }
            return (r.value, projected(r.gradient, basis))
        }
        let newton: DampedNewton.Result
        do {
            let initial = engine.onLines ? subspaceHessian(engine, at: x0, basis: basis, matrix: matrix) : nil
            newton = try DampedNewton.minimize(start: y0, maxIterations: 60, hessian: initial, evaluatesRoundingSteps: !engine.onLines,
                                               secantUpdates: engine.onLines, f)
        } catch is Declined {
            return nil
        }
        let x = point(newton.argument)
        guard let startEstimate = engine.estimate(matrix(x0), working: working0),
              let final = x == x0 ? startEstimate : engine.estimate(matrix(x), working: nil) else { return nil }
        var notes: [String] = []
        var converged = newton.converged
        if !newton.converged { notes.append("Newton stopped after \(newton.iterations) iterations with step \(newton.step)") }
        var decrement = newton.decrement
        if engine.tradesBeta != nil {
            // trades is not convex, and a BFGS Hessian is positive definite by construction: the
            // point's own Hessian along the subspace decides that it is a minimum there.
            if let value = pointDecrement(gradient: newton.gradient, { subspaceHessian(engine, at: x, basis: basis, matrix: matrix, rule: $0) }) {
                decrement = value
            } else {
                converged = false
                notes.append("the Hessian (coarse and working rules) along the symmetric subspace at the point found is not positive definite: not a certified local minimum")
            }
        }
        if !decrementMeets(decrement, value: final.value, tolerance: tolerance) {
            converged = false
            notes.append("Newton decrement \(decrement) (F - F* of the quadratic model) exceeds the tolerance \(tolerance)")
        }
        if final.errorBound > tolerance {
            converged = false
            notes.append("the fixed rule and its verification rule differ by \(final.errorBound) > tolerance \(tolerance)")
        }
        // The kink across the subspace, on the working rule's gradients a step 1e-7 |x| along
        // each direction (their change is the exposed point, up to H h). The error: ten times
        // the two rules' difference at the first such point (at x itself the tie makes each
        // rule's node pick a side: their gradients differ by the kink's jump).
        let size = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let h = 1e-7 * max(size, 1e-3)
        func along(_ z: [Double], step: Double) -> Matrix { matrix(combination(z.map { step * $0 }, held, x)) }
        // A probe direction the evaluator declines is moved 1e-3 towards a fixed direction that
        // favours no entry: on an axis of H a class can lose a dimension (on the model above,
        // class 2's two margins depend on one feature once feature 3 is tied, and a step off the
        // symmetry along feature 2 alone leaves them proportional: the fixed rules decline such
        // a class).
        let generic = WeightSymmetry.unit((0..<held.count).map { sin(Double($0) + 1.3) })
        func probed(_ z: [Double]) -> [Double] { WeightSymmetry.unit(zip(z, generic).map { $0 + 1e-3 * $1 }) }
        let first = [1.0] + [Double](repeating: 0, count: held.count - 1)
        guard let probe = engine.estimate(along(probed(first), step: h), working: nil) else { return nil }
        let error = max(10 * probe.gradientError, 1e-5)
        // The direction itself first: a flat direction's rate is then its own (0), where a moved
        // one's picks up 1e-3 of T's width across it.
        let verdict = KinkCertificate.certify(dimension: held.count, error: error) { z in
            if let r = engine.evaluate(along(z, step: h)) { return (z, projected(r.gradient, held)) }
            let u = probed(z)
            return engine.evaluate(along(u, step: h)).map { r in (u, projected(r.gradient, held)) }
        }
        let maps = symmetry.maps.map { "classes \($0.classes) with features \($0.features)" }.joined(separator: "; ")
        let subspace = "the start is fixed by the model's symmetr\(symmetry.maps.count == 1 ? "y" : "ies") (\(maps)), and class\(constant.count == 1 ? "" : "es") \(constant.map(String.init).joined(separator: ", ")) has d1 - d2 constant there (the adversary's best shifts tie, a kink of R across the symmetry): Newton on the \(basis.count)-dimensional subspace the symmetries fix\(tied.isEmpty ? "" : " with feature\(tied.count == 1 ? "" : "s") \(tied.map(String.init).joined(separator: ", ")) held tied")"
        func entries(_ z: [Double]) -> [Double] { combination(z, held, nil) }
        switch verdict {
        case .optimal(let slack, let flat)?:
            var note = "\(subspace); the kink in the other \(held.count) directions is certified"
            if let slack { note += ": R rises at rate >= \(slack) along each\(flat.isEmpty ? "" : " but \(flat.count)") (error \(error))" }
            if !flat.isEmpty {
                // No first-order kink along these: their curvature decides, by central
                // differences (step 1e-3 |x|) of the working rule's gradient.
                let step = 1e-3 * max(size, 1e-3)
                var curvature = [Double](repeating: 0, count: flat.count * flat.count)
                var declined = false
                for (j, l) in flat.enumerated() {
                    guard let plus = engine.evaluate(along(l, step: step)), let minus = engine.evaluate(along(l, step: -step)) else { declined = true; break }
                    let change = zip(plus.gradient.storage.prefix(2 * d), minus.gradient.storage.prefix(2 * d)).map { ($0 - $1) / (2 * step) }
                    for (i, k) in flat.enumerated() { curvature[i * flat.count + j] = entries(k).dot(change) }
                }
                DampedNewton.symmetrize(&curvature, flat.count)
                let definite = !declined && DampedNewton.decrement(hessian: curvature, gradient: [Double](repeating: 0, count: flat.count)) != nil
                let diagonal = (0..<flat.count).map { curvature[$0 * flat.count + $0] }
                note += "; along \(flat.map { entries($0) }) R has no first-order kink (|rate| <= \(error) both ways) and its curvature (diagonal \(diagonal)) is \(declined ? "not evaluated (declined)" : definite ? "positive definite" : "not positive definite")"
                if !definite { converged = false }
            }
            notes.insert(note, at: 0)
        case .descent(let z, let rate)?:
            let u = entries(z)
            let note = "R decreases at rate \(rate) along the free entries' direction \(u)"
            // Along the symmetries' own subspace: the held tie is what is not optimal.
            if !tied.isEmpty, let fixed = WeightSymmetry(model: engine.model, x: x0)?.fixed,
               case let inFixed = coordinates(u, fixed), inFixed.reduce(0.0, { $0 + $1 * $1 }) > 0.5,
               let (start, startValue) = descend(engine, from: x, value: final.value, along: combination(WeightSymmetry.unit(inFixed), fixed, nil), matrix: matrix),
               var result = try subspaceSolve(base, start: start, matrix: matrix, tolerance: tolerance, holdTies: false) {
                result.notes.append("with feature\(tied.count == 1 ? "" : "s") \(tied.map(String.init).joined(separator: ", ")) held tied as well, \(note), which keeps the symmetry: the tie is not optimal, and the search ran again with it free from the best point along that direction (R = \(startValue))")
                result.symmetricValue = startEstimate.value
                return result
            }
            converged = false
            notes.insert("\(subspace); \(note), off the subspace: the point is not the full-W optimum", at: 0)
        case .undecided(let slack)?:
            converged = false
            notes.insert("\(subspace); the kink in the other \(held.count) directions is not certified (the nearest facet at \(slack.map { String($0) } ?? "none"), error \(error))", at: 0)
        case nil:
            converged = false
            notes.insert("\(subspace); the kink in the other \(held.count) directions is not decided: an evaluation near the point was declined", at: 0)
        }
        let gradientNorm = combination(projected(final.gradient, basis), basis, nil).reduce(0.0) { max($0, abs($1)) }
        let useStart = startEstimate.value < final.value
        if useStart && x != x0 { notes.append("Newton found no point below the symmetric optimum") }
        let value = useStart ? startEstimate.value : final.value
        let errorBound = max(final.errorBound, startEstimate.errorBound)
        return FullOptimum(
            classifier: LinearClassifier(weights: matrix(useStart ? x0 : x)), value: value, symmetricValue: startEstimate.value, projected: (0, 0),
            iterations: newton.iterations, converged: converged && value.isFinite, errorBound: errorBound, gradientNorm: gradientNorm,
            optimalityGap: decrement, method: .fast, notes: notes)
    }

    /// The best point along a unit direction of descent from x where R has a kink: Newton
    /// started on the kink sees one side's gradient and crawls (60 iterations, 16 minutes on m1
    /// at eps 0.1); a step off it lands where R is smooth. Steps 1e-3 |x| times 2^k while R
    /// decreases; nil when even the first does not.
    static func descend(_ engine: LinearPairCE, from x: [Double], value: Double, along direction: [Double],
                        matrix: ([Double]) -> Matrix) -> (point: [Double], value: Double)? {
        let size = max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-3)
        var values = engine
        values.valueOnly = true
        var best: (point: [Double], value: Double)? = nil
        var step = 1e-3 * size
        for _ in 0..<16 {
            let point = zip(x, direction).map { $0 + step * $1 }
            guard let r = values.evaluate(matrix(point)), r.value < (best?.value ?? value) else { break }
            best = (point, r.value)
            step *= 2
        }
        return best
    }

    /// The best point along the descent directions the tie certificate found, from the held
    /// run's point (`descend`); nil when no feature has one or R does not decrease along it.
    static func descendOffTies(_ engine: LinearPairCE, run: DampedNewton.Result, verdicts: [Int: TiedFeatures.Verdict], columns d: Int,
                               matrix: ([Double]) -> Matrix) -> (point: [Double], value: Double)? {
        var direction = [Double](repeating: 0, count: 2 * d)
        for (f, verdict) in verdicts {
            if case .descent(let u) = verdict { direction[f] = u[0]; direction[d + f] = u[1] }
        }
        guard direction.contains(where: { $0 != 0 }) else { return nil }
        return descend(engine, from: run.argument, value: run.value, along: WeightSymmetry.unit(direction), matrix: matrix)
    }

    /// The classes whose d1 - d2 is constant at W.
    static func constantClasses(_ engine: LinearPairCE, _ w: Matrix) -> [Int] { engine.classes(w) { $0.sr == 0 } }

    /// The Hessian of R along an orthonormal basis of a subspace through x (coordinates in it),
    /// by forward differences (step 1e-4 |x|) of the coarse rule's gradients (or `rule`'s):
    /// every point stays in the subspace (`subspaceSolve`: off it R has a kink).
    static func subspaceHessian(_ engine: LinearPairCE, at x: [Double], basis: [[Double]], matrix: ([Double]) -> Matrix,
                                rule: GaussLegendre = .coarse) -> [Double]? {
        let m = basis.count, n = x.count
        let step = 1e-4 * max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-3)
        func gradient(_ point: [Double]) -> [Double]? {
            engine.evaluate(matrix(point), rule: rule).map { r in WeightSymmetry.coordinates(Array(r.gradient.storage.prefix(n)), in: basis) }
        }
        guard let g0 = gradient(x) else { return nil }
        var hessian = [Double](repeating: 0, count: m * m)
        for j in 0..<m {
            guard let g = gradient(zip(x, basis[j]).map { $0 + step * $1 }) else { return nil }
            for i in 0..<m { hessian[i * m + j] = (g[i] - g0[i]) / step }
        }
        DampedNewton.symmetrize(&hessian, m)
        return hessian
    }

    /// The Hessian of R in the free entries at x by forward differences (step 1e-4 |x|) of the
    /// coarse rule's exact per-class gradients (`LinearPairCE.freeHessian`, which uses the
    /// classes' symmetries): its noise (~1e-8 / step) and truncation (~step) are far below what a
    /// Newton step from a stationary start needs. `rule`: the working rule's gradients instead.
    static func freeEntriesHessian(_ engine: LinearPairCE, at x: [Double], matrix: ([Double]) -> Matrix, rule: GaussLegendre = .coarse,
                                   base: [LinearPairCE.ClassShare]? = nil) -> [Double]? {
        engine.freeHessian(matrix(x), rule: rule, step: 1e-4 * max(x.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-3), base: base)
    }

    /// Whether a Newton decrement certifies the point: within the tolerance, or F's rounding
    /// (1e-15 (1 + |F|)) where that is larger. False for NaN.
    static func decrementMeets(_ decrement: Double, value: Double, tolerance: Double) -> Bool {
        decrement <= max(tolerance, 1e-15 * (1 + abs(value)))
    }

    /// The Newton decrement at a trades point from its own Hessian: the coarse rule's, or where
    /// that is not positive definite the working rule's (the coarse rule can miss a small
    /// curvature: at a random 3-class model's trades:1 optimum the working rule's smallest
    /// eigenvalue was 1.13e-3 at steps 1e-3, 1e-4 and 1e-5 of |x| alike, and the coarse
    /// rule's Hessian was indefinite). nil when neither is positive definite.
    static func pointDecrement(gradient: [Double], _ hessian: (GaussLegendre) -> [Double]?) -> Double? {
        pointDecrement(gradient: gradient, candidates: 2) { hessian($0 == 0 ? .coarse : .working) }?.decrement
    }

    /// The decrement from the first of the candidate Hessians 0..<candidates that is positive
    /// definite, with that Hessian and its index; nil when none is.
    static func pointDecrement(gradient: [Double], candidates: Int, _ hessian: (Int) -> [Double]?) -> (decrement: Double, hessian: [Double], candidate: Int)? {
        for i in 0..<candidates {
            if let h = hessian(i), let value = DampedNewton.decrement(hessian: h, gradient: gradient) { return (value, h, i) }
        }
        return nil
    }
}

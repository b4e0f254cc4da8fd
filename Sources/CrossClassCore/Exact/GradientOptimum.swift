import Foundation
import GSL

/// Derivative-based optimisers for the evaluators of `PairQuadratureGeneral.swift`:
/// - the symmetric family under l_2 (ce, ls and trades on complement(3)), the same plan as
///   `solveFast` for l_inf (axis optimum by Brent on the exact derivative in log w1, the exact
///   one-sided derivative at w2 = 0+ -- for the convex ce and ls it decides w2* = 0; trades also
///   tries an interior start -- then damped Newton on (w1, w2) with a Hessian from differences
///   of the exact gradient; a fixed scale by `arcMinimum` on dF/dtheta);
/// - the full 3-class W under l_inf or l_2 (ce, ls, trades): damped Newton over the (K - 1) d
///   free entries (last row fixed at 0, softmax losses see only row differences) from the
///   symmetric optimum, Hessian from forward differences of the exact gradient (on lines: the
///   start's from the coarse rule, then BFGS updates, and a trades point away from the start
///   certified by its own coarse-rule Hessian), stopped on the Newton decrement.
/// The robust ce and ls are convex in W, so a point where the Newton decrement is below the
/// tolerance is the minimiser to within that decrement (its second-order estimate of F - F*).
extension SymmetricOptimizer {
    /// The fast l_2 evaluator for this setting, if there is one.
    var l2Evaluator: L2PairObjective? {
        guard method == .fast else { return nil }
        var e = L2PairObjective(model: model, threat: threat, objective: objective)
        e?.parallel = parallelEvaluation
        return e
    }

    /// The full-W evaluator for the interior of the symmetric family on a 3-class model that has
    /// no pair evaluator of its own (no complement structure: per-feature mu or sigma, say), for
    /// ce, ls and trades under either norm (`familyNewton`).
    var familyEvaluator: LinearPairCE? {
        guard method == .fast, model.classCount == 3, pairEvaluator == nil, l2Evaluator == nil else { return nil }
        var e = LinearPairCE(model: model, threat: threat, objective: objective)
        e?.parallel = parallelEvaluation
        return e
    }

    /// The interior minimiser of F over (w1, w2 > 0) by `warmNewton` on the family evaluator's
    /// exact gradient through W(w1, w2) = w1 U1 + w2 U2 (dF/dw_i = <dR/dW, U_i> plus the
    /// penalty's), from `start`; nil when there is no family evaluator or it declines a point
    /// on the way (the caller then searches on values). On the axis w2 = 0 the classes' margins
    /// can be degenerate (absent features exactly zero), so the axis stays with the value-based
    /// search and the one-sided derivative there takes the axis value and interior points
    /// (`familyDerivativeAtZero`); inside the family the margins are not degenerate.
    ///
    /// `objective` is R's estimate at the returned point (both rules, reusing the last working
    /// evaluation there), nil when its bound misses the tolerance.
    ///
    /// `final`: the full-W evaluations at the returned point (the last working-rule one and the
    /// estimate, with gradients), which the full-W optimiser starts from (`FullOptimizer`).
    func familyNewton(start: (Double, Double)) throws -> FamilyOptimum? {
        guard var engine = familyEvaluator else { return nil }
        let (u1, u2) = familyDirections
        // A class whose d1 - d2 is constant at two independent points of the family is constant
        // on all of it (the rows' differences are linear in (w1, w2)), with E r = 0 (tau = 0: its
        // absent features are exactly 0): its loss ties the adversary's two vertices on the whole
        // family, smooth along it, and the regression on q alone gives its gradient along the
        // family exactly (`LinearPairCE.constantRGradients`). Else the fixed rules decline it
        // and the caller searched on values (a simplex: 12 s of the 17.6 s full-W trades:1
        // optimum on the model of `FullOptimizer.subspaceSolve`).
        let constant = [(1.0, 0.37), (0.61, 1.0)].map {
            FullOptimizer.constantClasses(engine, LinearClassifier.symmetric(model: model, w1: $0.0, w2: $0.1).weights)
        }
        let holdsTie = !constant[0].isEmpty && constant[0] == constant[1]
        engine.constantRGradients = holdsTie
        // The last working-rule evaluation, with its classes' shares (the estimate at the point
        // refines them where its rules differ, instead of integrating them again).
        var last: (w1: Double, w2: Double, r: (value: Double, gradient: Matrix, tail: Double), shares: LinearPairCE.SharesWithParts)? = nil
        func f(_ w1: Double, _ w2: Double, _ rule: GaussLegendre, working: Bool = false) throws -> (value: Double, g1: Double, g2: Double) {
            let w = LinearClassifier.symmetric(model: model, w1: w1, w2: w2).weights
            guard w2 > 0, let shares = engine.sharesWithParts(w, rule: rule), case let r = engine.combine(shares.shares, columns: w.columns),
                  r.value.isFinite else { throw Declined() }
            onEvaluation?()
            if working { last = (w1, w2, r, shares) }
            return penalised(w1, w2, (r.value, Self.along(r.gradient, u1), Self.along(r.gradient, u2)))
        }
        // A class whose margins are both constant on the family (`LinearPairCE.pointClasses`:
        // its features a subset of another class's, one feature present) has the adversary's
        // best shift at one point, a max over peaks or vertices: F has a kink where two of them
        // tie, and the minimiser may sit on it (r2 of bench/ANALYSIS.md stop 41, trades:1 under
        // l_2: the gradient alternated between 0.0047 and 0.0019 for minutes). Newton then stops
        // at its stall, three iterations without halving the gradient, and `familyKinkSolve`
        // minimises F along the kink from there (12.7 s in all, 1.7 s of it along the kink,
        // against 5 min 47 s of simplex on values).
        let pointClass = !engine.pointClasses(LinearClassifier.symmetric(model: model, w1: start.0, w2: start.1).weights).isEmpty
        do {
            var o = try warmNewton({ try f($0, $1, .working, working: true) }, coarse: { try f($0, $1, .coarse) }, start: start, evaluatesRoundingSteps: false,
                                   stallWindow: pointClass ? 3 : nil)
            if pointClass && !o.converged {
                if let kink = try familyKinkSolve(engine, near: (o.w1, o.w2), stalled: o.iterations), kink.converged { return kink }
                // No certified minimum on a kink there: Newton continues from its stall, with the
                // wider window (a slow stretch of a smooth descent can stall three iterations).
                let stalled = o
                o = try warmNewton({ try f($0, $1, .working, working: true) }, coarse: nil, start: (o.w1, o.w2), evaluatesRoundingSteps: false,
                                   stallWindow: 6)
                o.iterations += stalled.iterations
                if !o.converged { return nil }
            }
            let known = last.flatMap { $0.w1 == o.w1 && $0.w2 == o.w2 ? $0 : nil }
            // R's estimate at the point (as `RobustObjective.fixedRuleEstimate`), with its gradient.
            let w = LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2).weights
            guard let e = engine.estimate(w, working: nil, workingShares: known?.shares), e.value.isFinite else {
                return FamilyOptimum(w1: o.w1, w2: o.w2, value: o.value, converged: o.converged, iterations: o.iterations, step: o.step)
            }
            let estimate = e.errorBound <= tolerance
                ? Estimate(value: e.value, errorBound: e.errorBound, converged: true, method: threat.norm == .l2 ? .gaussLegendre2DL2 : .gaussLegendre2D)
                : nil
            // Not with a constant class: its gradient here is one side's across the symmetry, which
            // the full-W optimiser must not start from (`FullOptimizer.subspaceSolve`).
            let final = holdsTie ? nil : known.map { FamilyFinalEvaluations(w1: o.w1, w2: o.w2, evaluations: .init(working: $0.r, estimate: e)) }
            return FamilyOptimum(w1: o.w1, w2: o.w2, value: o.value, converged: o.converged, iterations: o.iterations, step: o.step,
                                 objective: estimate, final: final)
        } catch is Declined {
            return nil
        }
    }

    /// The family Newton's interior point (`familyNewton`, `familyKinkSolve`).
    struct FamilyOptimum {
        var w1: Double, w2: Double
        /// F at the point, on the working rule.
        var value: Double
        var converged: Bool
        var iterations: Int
        var step: Double
        /// R's estimate at the point (both rules), nil when its bound misses the tolerance.
        var objective: Estimate? = nil
        /// The full-W evaluations at the point, for the full-W optimiser's start.
        var final: FamilyFinalEvaluations? = nil
        var notes: [String] = []
        /// Why the point is not converged, if it is not.
        var failure: String? = nil
    }

    /// The minimiser of F along a kink of a point class's loss (`LinearPairCE.pointClasses`), from
    /// `start`, near it, where the family Newton stalled: two candidates of the class's inner
    /// maximum (peaks, or vertices under l_inf) tie on a curve in (w1, w2), F is the larger of two
    /// smooth functions near it, and the minimiser can sit on the curve (r2 of bench/ANALYSIS.md
    /// stop 41, trades:1 under l_2: w2 / w1 = sqrt 2; the simplex on values took 5 min 47 s).
    ///
    /// The curve is theta(rho) in log scale and angle, where the two candidates' values are equal
    /// (Brent on their difference alone: the class's one point, microseconds). F is smooth along
    /// it, and either side's gradient gives its derivative there (the sides differ only across the
    /// curve): secant steps on dF/drho along the curve, the evaluations on it taking the tied
    /// point class as one side (`LinearPairCE.valueOnly`). The point is certified when F rises
    /// across the curve both ways: the gradients a step 1e-6 |w| to either side (one maximiser
    /// there) along the curve's normal, each against the gradient's error (at least 1e-5). nil
    /// when the candidates cannot be followed or an evaluation declines (the caller then
    /// continues Newton, and searches on values if that stalls too).
    func familyKinkSolve(_ base: LinearPairCE, near start: (Double, Double), stalled: Int) throws -> FamilyOptimum? {
        let (u1, u2) = familyDirections
        func weights(_ w1: Double, _ w2: Double) -> Matrix { LinearClassifier.symmetric(model: model, w1: w1, w2: w2).weights }
        guard var kink = PointKink(base, at: weights(start.0, start.1)) else { return nil }
        let y = kink.pointClass
        func gap(_ w1: Double, _ w2: Double) -> Double? { kink.gap(weights(w1, w2)) }
        func polar(_ rho: Double, _ theta: Double) -> (Double, Double) { (exp(rho) * cos(theta), exp(rho) * sin(theta)) }
        /// The curve's angle at log scale rho, from `near` (bracketed by steps 1e-4, doubling).
        func angle(_ rho: Double, near theta0: Double) -> Double? {
            PointKink.root(near: theta0, step: 1e-4, limit: 0.5, domain: 1e-12...(Double.pi / 2 - 1e-12)) { theta in
                let (w1, w2) = polar(rho, theta)
                return gap(w1, w2)
            }
        }
        let rho0 = 0.5 * log(start.0 * start.0 + start.1 * start.1)
        guard var theta = angle(rho0, near: atan2(start.1, start.0)) else { return nil }
        var engine = base
        engine.valueOnly = true
        var evaluations = 0
        /// The point on the curve at rho, its unit normal in (w1, w2) (towards where the first
        /// candidate wins), F there and F's derivative along the curve, dF/drho (the last one
        /// kept: the search ends where it last evaluated).
        typealias CurvePoint = (rho: Double, w1: Double, w2: Double, normal: (Double, Double), value: Double, slope: Double)
        var lastPoint: CurvePoint? = nil
        func onCurve(_ rho: Double) throws -> CurvePoint {
            if let lastPoint, lastPoint.rho == rho { return lastPoint }
            guard let t = angle(rho, near: theta) else { throw Declined() }
            theta = t
            let (w1, w2) = polar(rho, t)
            kink.follow(weights(w1, w2))
            // The gap's gradient in (w1, w2).
            guard let g = kink.gradient(at: [w1, w2], entries: [0, 1], step: 1e-6 * exp(rho), matrix: { weights($0[0], $0[1]) }) else { throw Declined() }
            let n = (g[0], g[1])
            let length = (n.0 * n.0 + n.1 * n.1).squareRoot()
            guard length > 0 else { throw Declined() }
            let normal = (n.0 / length, n.1 / length)
            // dW/drho: along the curve (orthogonal to the normal), with d rho = w . dW / |w|^2.
            let along = (-normal.1, normal.0)
            let radial = (w1 * along.0 + w2 * along.1) / (w1 * w1 + w2 * w2)
            guard abs(radial) > 1e-12 else { throw Declined() }
            let tangent = (along.0 / radial, along.1 / radial)
            guard let r = engine.evaluate(weights(w1, w2), rule: .working), r.value.isFinite else { throw Declined() }
            evaluations += 1
            onEvaluation?()
            let f = penalised(w1, w2, (r.value, Self.along(r.gradient, u1), Self.along(r.gradient, u2)))
            guard f.g1.isFinite, f.g2.isFinite else { throw Declined() }
            let point = (rho, w1, w2, normal, f.value, f.g1 * tangent.0 + f.g2 * tangent.1)
            lastPoint = point
            return point
        }
        do {
            // The root of dF/drho: bracketed by steps 1e-3, doubling, downhill from the start (the
            // stall is near it), then secant steps kept inside the bracket (bisection where one
            // leaves it), until the decrement along the curve is a hundredth of the tolerance.
            var lo = (x: rho0, d: try onCurve(rho0).slope)
            var step = lo.d > 0 ? -1e-3 : 1e-3
            var hi = lo
            for _ in 0..<16 where (hi.d > 0) == (lo.d > 0) && hi.d != 0 {
                lo = hi
                hi = (lo.x + step, try onCurve(lo.x + step).slope)
                step *= 2
            }
            guard (hi.d > 0) != (lo.d > 0) || hi.d == 0 else { return nil }
            if lo.x > hi.x { (lo, hi) = (hi, lo) }
            // The last two points (the secant's) and F's curvature along the curve between them.
            var (previous, latest) = (lo, hi)
            var curvature = (hi.d - lo.d) / (hi.x - lo.x)
            var converged = false
            for _ in 0..<30 {
                guard curvature > 0 else { break }
                if latest.d * latest.d / (2 * curvature) <= 0.01 * tolerance { converged = true; break }
                var x = latest.x - latest.d / curvature
                if !(x > lo.x && x < hi.x) { x = 0.5 * (lo.x + hi.x) }
                let next = (x: x, d: try onCurve(x).slope)
                if next.d < 0 { lo = next } else { hi = next }
                (previous, latest) = (latest, next)
                curvature = (latest.d - previous.d) / (latest.x - previous.x)
            }
            // A root is a minimum along the curve where dF/drho rises through it.
            guard curvature > 0 else { return nil }
            let point = try onCurve(latest.x)
            let w = weights(point.w1, point.w2)
            guard let e = engine.estimate(w), e.value.isFinite else { throw Declined() }
            // Across the curve: the gradients a step to either side, along the normal.
            let size = exp(latest.x)
            let error = max(10 * e.gradientError, 1e-5)
            var rates: [Double] = []
            for side in [1.0, -1.0] {
                let s = side * 1e-6 * size
                let (w1, w2) = (point.w1 + s * point.normal.0, point.w2 + s * point.normal.1)
                guard let r = base.evaluate(weights(w1, w2), rule: .working), r.value.isFinite else { throw Declined() }
                evaluations += 1
                onEvaluation?()
                let g = penalised(w1, w2, (r.value, Self.along(r.gradient, u1), Self.along(r.gradient, u2)))
                rates.append(side * (g.g1 * point.normal.0 + g.g2 * point.normal.1))
            }
            let decrement = point.slope * point.slope / (2 * curvature)
            let notes = ["the family Newton stalled after \(stalled) iterations on a kink of class \(y)'s loss (two of its inner maximum's candidates tie; its margins are constant on the family): F minimised along the kink curve (w2 / w1 = \(point.w2 / point.w1) at the point) by secant steps on its derivative there, in \(evaluations) evaluations; F rises across the curve at rates \(rates[0]) and \(rates[1]) (error \(error))"]
            var reason: String? = nil
            if !converged { reason = "the secant search along the kink curve did not converge (30 steps)" }
            if !(decrement <= tolerance) { reason = "the decrement along the kink curve \(decrement) exceeds the tolerance \(tolerance)" }
            if !rates.allSatisfy({ $0 > error }) {
                reason = "F does not rise across the kink curve both ways (rates \(rates[0]) and \(rates[1]), error \(error)): not a certified minimum"
            }
            let estimate = e.errorBound <= tolerance
                ? Estimate(value: e.value, errorBound: e.errorBound, converged: true, method: threat.norm == .l2 ? .gaussLegendre2DL2 : .gaussLegendre2D)
                : nil
            return FamilyOptimum(w1: point.w1, w2: point.w2, value: point.value, converged: reason == nil, iterations: stalled + evaluations,
                                 step: latest.x - previous.x, objective: estimate, notes: notes, failure: reason)
        } catch is Declined {
            return nil
        }
    }

    /// dF/dw2 at (w1, 0+) on a model with a family evaluator: the axis value f(0) (where the
    /// classes' margins can be degenerate, so the full-W evaluator declines) and the exact value
    /// and derivative f(s), f'(s) at s = h and h/2 inside the family give
    /// d(s) = 2 (f(s) - f(0)) / s - f'(s) = f'(0+) - f'''(0) s^2 / 6 + O(s^3), extrapolated from
    /// s = h and h/2: two evaluations where a Richardson on values takes three, and the
    /// gradient's error is not divided by s. The bound: the value errors (f(0)'s and f(s)'s,
    /// divided by s / 2) and the derivative's error in the w2 direction, propagated through the
    /// extrapolation, plus d(h/2)'s truncation, a third of |d(h) - d(h/2)|. nil when the
    /// evaluator declines or misses the tolerance (the caller then extrapolates values).
    ///
    /// Under l_2, where every class's d1 - d2 is constant on the axis (ls, trades), the
    /// derivative comes instead from the axis lines alone (`LinearPairCE.oneSidedSlope`: the
    /// kink of the loss across the mirror in closed form), without the 2-D evaluations.
    func familyDerivativeAtZero(_ engine: LinearPairCE, w1: Double) throws -> Estimate? {
        if let s = engine.oneSidedSlope(LinearClassifier.symmetric(model: model, w1: w1, w2: 0).weights, direction: familyDirections.u2) {
            onEvaluation?()
            let d = penalised(w1, 0, (0, 0, s.value)).g2
            return Estimate(value: d, errorBound: s.errorBound, converged: s.errorBound.isFinite && d.isFinite, method: .gaussLegendre2DGradient)
        }
        return try familyDerivativeByDifferences(engine, w1: w1)
    }

    /// `familyDerivativeAtZero` from the axis value and the family evaluator's values and
    /// derivatives inside the family (every setting it covers).
    func familyDerivativeByDifferences(_ engine: LinearPairCE, w1: Double) throws -> Estimate? {
        try familyFaceDerivative(engine, face: .noCrossWeight, at: w1)
    }

    /// One of the family's two faces: w2 = 0 (no weight on the cross-class features) or w1 = 0
    /// (none on the exclusive ones).
    enum FamilyFace {
        case noCrossWeight, noExclusiveWeight

        /// The family point at distance s from the face, at `other` (the face's own weight).
        func point(_ s: Double, other: Double) -> (w1: Double, w2: Double) {
            self == .noCrossWeight ? (other, s) : (s, other)
        }
    }

    /// dF at the face point `other` along the family direction leaving the face (w2 from
    /// (w1, 0+), w1 from (0+, w2)), one-sided, by `familyDerivativeAtZero`'s extrapolation of
    /// the face value and the evaluator's values and derivatives at s = h and h/2 inside.
    func familyFaceDerivative(_ engine: LinearPairCE, face: FamilyFace, at other: Double) throws -> Estimate? {
        let h = 1e-3 * max(abs(other), 1e-3)
        let base = face.point(0, other: other)
        let onFace = try value(w1: base.w1, w2: base.w2)
        let u = face == .noCrossWeight ? familyDirections.u2 : familyDirections.u1
        let uNorm = u.storage.reduce(0) { $0 + abs($1) }
        func difference(_ s: Double) -> (d: Double, noise: Double)? {
            let p = face.point(s, other: other)
            let w = LinearClassifier.symmetric(model: model, w1: p.w1, w2: p.w2).weights
            guard let r = engine.estimate(w), r.value.isFinite, r.errorBound <= tolerance else { return nil }
            onEvaluation?()
            let along = Self.along(r.gradient, u)
            let f = penalised(p.w1, p.w2, face == .noCrossWeight ? (r.value, 0, along) : (r.value, along, 0))
            let slope = face == .noCrossWeight ? f.g2 : f.g1
            return (2 * (f.value - onFace.value) / s - slope, 2 * (r.errorBound + onFace.errorBound) / s + r.gradientError * uNorm)
        }
        guard let coarse = difference(h), let fine = difference(h / 2) else { return nil }
        // The s^2 terms cancel in (4 d(h/2) - d(h)) / 3; its bound keeps d(h/2)'s truncation
        // estimate, which the next order does not exceed while the expansion holds (at the
        // skewed model's l_2 ce axis optimum, w1 = 5.5: d(h/2) was 1.75e-7 off a converged
        // Richardson sequence, the extrapolation 4e-9, the bound 1.8e-7).
        let bound = (4 * fine.noise + coarse.noise) / 3 + abs(coarse.d - fine.d) / 3
        return Estimate(value: (4 * fine.d - coarse.d) / 3, errorBound: bound, converged: onFace.converged && bound.isFinite, method: .hermiteDifference)
    }

    /// The family's directions: W(w1, w2) = w1 U1 + w2 U2.
    var familyDirections: (u1: Matrix, u2: Matrix) {
        (LinearClassifier.symmetric(model: model, w1: 1, w2: 0).weights, LinearClassifier.symmetric(model: model, w1: 0, w2: 1).weights)
    }

    /// <G, U>: the derivative along U of a function whose gradient in W is G.
    static func along(_ gradient: Matrix, _ u: Matrix) -> Double {
        zip(gradient.storage, u.storage).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Raised inside the gradient optimiser when the fast evaluator declines a point.
    struct Declined: Error {}

    /// F = R + penalty and its gradient, from R's value and gradient.
    func penalised(_ w1: Double, _ w2: Double, _ r: (value: Double, g1: Double, g2: Double)) -> (value: Double, g1: Double, g2: Double) {
        var (v, g1, g2) = r
        switch scale {
        case .weightDecay(let lambda):
            let a = Double(exclusiveEntries), b = Double(crossEntries)
            v += 0.5 * lambda * (a * w1 * w1 + b * w2 * w2)
            g1 += lambda * a * w1
            g2 += lambda * b * w2
        case .centeredWeightDecay(let lambda):
            v += 0.5 * lambda * (centred.a * w1 * w1 + 2 * centred.b * w1 * w2 + centred.c * w2 * w2)
            g1 += lambda * (centred.a * w1 + centred.b * w2)
            g2 += lambda * (centred.b * w1 + centred.c * w2)
        default: break
        }
        return (v, g1, g2)
    }

    /// The full-W evaluations at the family Newton's point (`familyNewton`): the full-W
    /// optimiser's start takes them, as it takes `L2FinalEvaluations`.
    struct FamilyFinalEvaluations {
        var w1: Double, w2: Double
        var evaluations: FullOptimizer.StartEvaluations
    }

    /// The final point's two evaluations behind an l_2 fast optimum (class 0's shares: the
    /// full-W optimiser's start, `FullOptimizer.solve`, takes them instead of integrating the
    /// same class again).
    struct L2FinalEvaluations {
        var w1: Double, w2: Double
        var working: L2PairObjective.Evaluation, verification: L2PairObjective.Evaluation
    }

    /// The l_2 optimum by the fast evaluator, or nil when it declines a point on the way (the
    /// caller then uses the reference path), with the evaluations at the returned point.
    func solveL2Fast(_ e: L2PairObjective) throws -> (optimum: SymmetricOptimum, final: L2FinalEvaluations?)? {
        // Every working-rule evaluation and estimate of this solve, by point: the optimisers and
        // the final checks ask for the same points again (a root finder's bracket ends, the
        // face's derivative, the verification at the Newton point: one face optimum's point was
        // integrated 4 times on the working rule and twice on the verification rule). A solve
        // makes tens of evaluations, so the memo stays small.
        struct Point: Hashable { var w1: Double, w2: Double }
        var evaluations: [Point: L2PairObjective.Evaluation] = [:]
        typealias Detailed = (value: Double, g1: Double, g2: Double, errorBound: Double, gradientError: Double,
                              working: L2PairObjective.Evaluation, verification: L2PairObjective.Evaluation)
        var estimates: [Point: Detailed] = [:]
        func workingEvaluation(_ w1: Double, _ w2: Double) throws -> L2PairObjective.Evaluation {
            if let known = evaluations[Point(w1: w1, w2: w2)] { return known }
            guard let r = e.evaluation(w1: w1, w2: w2, rule: .working) else { throw Declined() }
            evaluations[Point(w1: w1, w2: w2)] = r
            return r
        }
        func working(_ w1: Double, _ w2: Double) throws -> (value: Double, g1: Double, g2: Double) {
            let r = try workingEvaluation(w1, w2)
            return (r.value, r.g1, r.g2)
        }
        func estimate(_ w1: Double, _ w2: Double) throws -> Detailed {
            if let known = estimates[Point(w1: w1, w2: w2)] { return known }
            guard let r = e.detailedEstimate(w1: w1, w2: w2, working: try workingEvaluation(w1, w2)) else { throw Declined() }
            estimates[Point(w1: w1, w2: w2)] = r
            return r
        }
        var final: L2FinalEvaluations? = nil
        do {
            let optimum = try solveWithGradient({ w1, w2 in
                penalised(w1, w2, try working(w1, w2))
            }, coarse: { w1, w2 in
                guard let r = e.evaluate(w1: w1, w2: w2, rule: .coarse) else { throw Declined() }
                return penalised(w1, w2, r)
            }, verify: { w1, w2 in
                let r = try estimate(w1, w2)
                final = L2FinalEvaluations(w1: w1, w2: w2, working: r.working, verification: r.verification)
                return (r.value, r.errorBound)
            }, faceDerivative: { w2 in
                let d = penalised(0, w2, try working(0, w2)).g1
                let r = try estimate(0, w2)
                let error = r.gradientError + abs(penalised(0, w2, (r.value, r.g1, r.g2)).g1 - d)
                return Estimate(value: d, errorBound: error, converged: error.isFinite, method: .gaussLegendre2DGradient)
            })
            return (optimum, final.flatMap { $0.w1 == optimum.w1 && $0.w2 == optimum.w2 ? $0 : nil })
        } catch is Declined {
            return nil
        }
    }

    /// The minimiser of F on the axis w2 = 0 over log w1 by the root of the family evaluator's
    /// exact derivative (`warmAxis`, as `l2Axis`), where the axis is not degenerate: absent
    /// features with tau > 0, so every class's d1 - d2 varies there (with tau = 0 it is
    /// constant, and the caller's value search integrates one line a class). nil otherwise, or
    /// when the evaluator declines a point. The value search evaluated a grid up to e^4 and
    /// beyond, where the fixed rules' cost grows with the margin scale (a paper3-like model with
    /// tau = 0.1, trades:2 under l_inf: 28 s at w1 = 20, over a minute at 55, and the adaptive
    /// path past their reach); the root is bracketed from w1 = 1 by unit steps in log w1.
    func familyAxis(_ engine: LinearPairCE) throws -> (logScale: Double, pinned: Bool)? {
        guard model.tau > 0 else { return nil }
        let u1 = familyDirections.u1
        func d1(_ w1: Double, _ rule: GaussLegendre) throws -> Double {
            let w = LinearClassifier.symmetric(model: model, w1: w1, w2: 0).weights
            guard let r = engine.evaluate(w, rule: rule), r.value.isFinite else { throw Declined() }
            onEvaluation?()
            return penalised(w1, 0, (r.value, Self.along(r.gradient, u1), 0)).g1
        }
        do {
            let axis = try warmAxis(fine: { try d1($0, .working) }, coarse: { try d1($0, .coarse) })
            guard axis.converged else { return nil }
            return (axis.logScale, axis.pinnedLow || axis.pinnedHigh)
        } catch is Declined {
            return nil
        }
    }

    /// The minimiser of F on the axis w2 = 0 over log w1 by the l_2 evaluator's exact
    /// derivative (the root of d F / d log w1, as in `solveWithGradient`); nil when the
    /// evaluator declines a point on the way (the caller then searches on values).
    func l2Axis(_ e: L2PairObjective) throws -> (logScale: Double, value: Double, pinned: Bool)? {
        func f(_ w1: Double) throws -> (value: Double, g1: Double, g2: Double) {
            guard let r = e.evaluate(w1: w1, w2: 0) else { throw Declined() }
            return penalised(w1, 0, r)
        }
        do {
            let axis = try warmAxis(fine: { try f($0).g1 }, coarse: { w1 in
                guard let r = e.evaluate(w1: w1, w2: 0, rule: .coarse) else { throw Declined() }
                return penalised(w1, 0, r).g1
            })
            guard axis.converged else { return nil }
            return (axis.logScale, try f(exp(axis.logScale)).value, axis.pinnedLow || axis.pinnedHigh)
        } catch is Declined {
            return nil
        }
    }

    /// - Parameters:
    ///   - coarse: f on a cheaper rule: the free-scale axis root and the first Newton steps run on
    ///     it (as `solveFast` does), and are then located on f.
    ///   - faceDerivative: dF/dw1 at (0+, w2) with its error bound (the face w1 = 0).
    func solveWithGradient(
        _ f: (Double, Double) throws -> (value: Double, g1: Double, g2: Double),
        coarse: ((Double, Double) throws -> (value: Double, g1: Double, g2: Double))? = nil,
        verify: (Double, Double) throws -> (value: Double, errorBound: Double),
        faceDerivative: (Double) throws -> Estimate
    ) throws -> SymmetricOptimum {
        var notes: [String] = []
        var converged = true
        var w1 = 0.0, w2 = 0.0
        var derivative: Double? = nil
        // dF/dw1 at (0+, w2) when the optimum is on the face w1 = 0.
        var exclusiveDerivative: Estimate? = nil
        // w1 of the axis point where `derivative` is taken (the scale s, or the free-scale
        // axis optimum).
        var axisPoint = 0.0
        var boundary = false
        switch scale {
        case .fixed(let s):
            func slope(_ theta: Double) throws -> Double {
                let v = try f(s * cos(theta), s * sin(theta))
                return s * (-sin(theta) * v.g1 + cos(theta) * v.g2)
            }
            let atZero = try f(s, 0).g2
            axisPoint = s
            let arc = try arcMinimum(atZero: atZero * s, slope: slope, value: { try f(s * cos($0), s * sin($0)).value })
            var theta = arc.theta
            converged = converged && arc.converged
            if theta == 0 { derivative = atZero }
            _ = try settleArcEnd(&theta, converged: &converged, notes: &notes, exclusiveDerivative: &exclusiveDerivative,
                                 best: { try arc.value ?? f(s * cos(arc.theta), s * sin(arc.theta)).value },
                                 derivative: { try faceDerivative(s) }, atFace: { try f(0, s).value })
            w1 = theta == .pi / 2 ? 0 : s * cos(theta)
            w2 = theta == 0 ? 0 : s * sin(theta)
            boundary = theta == 0
        case .free, .weightDecay, .centeredWeightDecay:
            let axis = try warmAxis(fine: { try f($0, 0).g1 }, coarse: coarse.map { c in { try c($0, 0).g1 } })
            let r0 = exp(axis.logScale)
            let atAxis = try f(r0, 0)
            derivative = atAxis.g2
            axisPoint = r0
            w1 = r0; w2 = 0; boundary = true
            converged = converged && axis.converged
            // Convex F: w2* = 0 exactly when dF/dw2(w1*, 0+) >= 0. trades (not convex) also
            // tries an interior start, always at the angle 0.35 (the start at (r0, 1e-3 r0) cost
            // three dear evaluations near w2 = 0 and reached the same optima: eps 0.05-0.45,
            // trades:1 and trades:6 within 3e-15 in value, 10-25% faster).
            if (atAxis.g2 < 0 || !isConvex) && !axis.pinnedHigh && (!axis.pinnedLow || atAxis.g2 < 0) {
                let begin = atAxis.g2 < 0 && isConvex ? (r0, 1e-3 * r0) : (r0 * cos(0.35), r0 * sin(0.35))
                // A last step at F's rounding is not evaluated: it was a fifth of trades' time.
                let search = try offAxisSearch(f, coarse: coarse, start: begin, axisPinnedLow: axis.pinnedLow, evaluatesRoundingSteps: false,
                                               faceDerivative: faceDerivative)
                let chosen = search.point
                exclusiveDerivative = search.derivative
                if chosen.value < atAxis.value {
                    w1 = chosen.w1; w2 = chosen.w2; boundary = false
                    notes += chosen.notes
                    if let failure = chosen.failure {
                        converged = false
                        notes.append(failure)
                    }
                    let rho = 0.5 * log(w1 * w1 + w2 * w2)
                    if rho >= extendedLogScaleRange.upperBound - 1e-6 || rho <= smallestLogScale + 1e-6 {
                        converged = false
                        notes.append("optimal scale at the search limit: a point on a search bound, not a minimiser")
                    }
                } else {
                    exclusiveDerivative = nil
                    if atAxis.g2 < 0 {
                        converged = false
                        notes.append("derivative at w2 = 0 is negative (\(atAxis.g2)) but Newton found no better interior point")
                    }
                }
            }
            if boundary && axis.pinnedHigh {
                converged = false
                notes.append("the objective keeps decreasing as ||w|| grows (optimal scale on the axis w2 = 0 above e^\(extendedLogScaleRange.upperBound)): a point on a search bound, not a minimiser")
            }
            if boundary && axis.pinnedLow {
                converged = false
                notes.append("the optimal scale on the axis w2 = 0 is below the search limit e^\(smallestLogScale) (w1 -> 0): a point on a search bound, not a minimiser")
            }
        }
        let final = try verify(w1, w2)
        if final.errorBound > tolerance {
            converged = false
            notes.append("the objective's fixed rule and its verification rule differ by \(final.errorBound) > tolerance \(tolerance)")
        }
        // The derivative at w2 = 0 was taken on the working rule: its error from the verified one.
        let derivativeError = try derivative.map { try derivativeAtZeroError($0, w1: axisPoint) }
        return try optimum(w1: w1, w2: w2, value: try f(w1, w2).value, objectiveValue: final.value,
                           derivativeAtZero: derivative, derivativeError: derivativeError, onBoundary: boundary,
                           converged: converged, notes: notes, exclusiveDerivative: exclusiveDerivative,
                           objectiveError: final.errorBound)
    }

    /// The free-scale search off the axis w2 = 0 on the fast paths (`solveFast`,
    /// `solveWithGradient`). Where the axis is pinned low (no minimiser above w1 = 0, and F falls
    /// into the family there) the face w1 = 0 comes first: for convex F a certified face point
    /// is the minimiser. Otherwise Newton (`warmNewton`) from `start`, or beside the face point
    /// when the axis is pinned low, with the face preferred where Newton heads for it
    /// (`preferringExclusiveFace`). The face is searched at most once.
    func offAxisSearch(
        _ f: (Double, Double) throws -> (value: Double, g1: Double, g2: Double),
        coarse: ((Double, Double) throws -> (value: Double, g1: Double, g2: Double))?, start: (Double, Double),
        axisPinnedLow: Bool, evaluatesRoundingSteps: Bool, faceDerivative: (Double) throws -> Estimate
    ) throws -> (point: InteriorPoint, derivative: Estimate?) {
        var candidate: ExclusiveFaceCandidate? = nil
        func face() throws -> ExclusiveFaceCandidate {
            if let candidate { return candidate }
            let c = try gradientFaceCandidate(f, coarse: coarse, derivative: faceDerivative)
            candidate = c
            return c
        }
        var begin = start
        if axisPinnedLow {
            let c = try face()
            if isConvex && c.certified { return (facePoint(c, search: "Newton"), c.derivative) }
            begin = (0.1 * c.w2, c.w2)
            // Both the axis and the face have their best scale at w -> 0: beside them Newton
            // starts at e^-12 and crawls (60 steps of 1e-6).
            if c.pinned, let ray = try steepestRay(f, coarse: coarse) { begin = ray }
        }
        var interior = try warmNewton(f, coarse: coarse, start: begin, evaluatesRoundingSteps: evaluatesRoundingSteps, faceStreak: 4)
        if interior.towardsFace {
            // Newton heads for the face w1 = 0, halving w1 each step: the face is asked now,
            // and a certified face point as low wins. Otherwise Newton goes on from there.
            let c = try face()
            if c.certified && !c.pinned && c.value <= interior.value + 10 * tolerance { return (facePoint(c, search: "Newton"), c.derivative) }
            interior = try warmNewton(f, coarse: nil, start: (interior.w1, interior.w2), evaluatesRoundingSteps: evaluatesRoundingSteps)
        }
        func failure(_ r: (w1: Double, w2: Double, value: Double, converged: Bool, iterations: Int, step: Double, towardsFace: Bool)) -> String? {
            r.converged ? nil : "Newton stopped after \(r.iterations) iterations with step \(r.step)"
        }
        let chosen = try preferringExclusiveFace(
            InteriorPoint(w1: interior.w1, w2: interior.w2, value: interior.value,
                          failure: failure(interior)),
            search: "Newton", face: face)
        // Newton stopped at the face, but F falls into the family there beyond its error: not
        // a minimiser. Once more from inside, beside the face point (trades on complement(3)
        // with exclusive means 0.3, cross-class 1.2, sigma 0.3, eps 0.1: the minimiser is at
        // w1 = 1.47, w2 = 20.9, where Newton from the angle 0.35 ended at the face).
        if chosen.point.w1 == 0, chosen.point.failure != nil, let d = chosen.derivative, d.value + d.errorBound < 0,
           let c = candidate, !c.pinned
        {
            let again = try warmNewton(f, coarse: coarse, start: (0.1 * c.w2, c.w2), evaluatesRoundingSteps: evaluatesRoundingSteps)
            if again.w1 >= 1e-3 * again.w2 && again.value < chosen.point.value {
                let note = "Newton from beside the face w1 = 0 (w2 = \(c.w2)), where F falls into the family (dF/dw1(0+) = \(d.value), error \(d.errorBound)) and the first Newton run had stopped"
                return (InteriorPoint(w1: again.w1, w2: again.w2, value: again.value,
                                      failure: failure(again),
                                      notes: [note]), nil)
            }
        }
        return chosen
    }

    /// A start at a scale that fits when F falls from W = 0 into the family but neither the
    /// axis nor the face has a minimiser above the search limit: along the family's steepest
    /// direction at W = 0 (`steepestDirectionAtOrigin`, closed form), the root of the ray's
    /// slope in log-scale (`warmAxis`). nil when F does not fall from W = 0 along any direction
    /// of the family beyond rounding, or the ray's scale is pinned as well.
    func steepestRay(
        _ f: (Double, Double) throws -> (value: Double, g1: Double, g2: Double),
        coarse: ((Double, Double) throws -> (value: Double, g1: Double, g2: Double))?
    ) throws -> (Double, Double)? {
        guard let (c, s) = steepestDirectionAtOrigin() else { return nil }
        func along(_ g: @escaping (Double, Double) throws -> (value: Double, g1: Double, g2: Double)) -> (Double) throws -> Double {
            { t in let v = try g(t * c, t * s); return c * v.g1 + s * v.g2 }
        }
        let ray = try withoutActuallyEscaping(f) { f in
            try warmAxis(fine: along(f), coarse: coarse.map { along($0) })
        }
        guard !ray.pinnedLow, !ray.pinnedHigh else { return nil }
        let t = exp(ray.logScale)
        return (t * c, t * s)
    }

    /// The face candidate from an evaluator with exact gradients (the fast paths): the root of
    /// dF/dlog w2 along the face w1 = 0 (`warmAxis`) and the one-sided dF/dw1 at (0+, w2) there
    /// with its error bound (`derivative`; the evaluators differentiate |w1| from w1 > 0), and
    /// for trades with that derivative's sign not resolved, F's curvature there.
    func gradientFaceCandidate(
        _ f: (Double, Double) throws -> (value: Double, g1: Double, g2: Double),
        coarse: ((Double, Double) throws -> (value: Double, g1: Double, g2: Double))?,
        derivative: (_ w2: Double) throws -> Estimate
    ) throws -> ExclusiveFaceCandidate {
        let axis = try warmAxis(fine: { try f(0, $0).g2 }, coarse: coarse.map { c in { try c(0, $0).g2 } })
        let w2 = exp(axis.logScale)
        var d = try derivative(w2)
        d.converged = d.converged && axis.converged
        let atFace = try f(0, w2)
        var candidate = ExclusiveFaceCandidate(w2: w2, value: atFace.value, derivative: d, pinned: axis.pinnedLow || axis.pinnedHigh, convex: isConvex)
        if !isConvex && d.converged && abs(d.value) <= d.errorBound {
            // trades, the sign of dF/dw1(0+) not resolved: the point is a local minimum to that
            // error when F's Hessian in (w1, w2) there (forward differences of the exact
            // gradients, into the family in w1) is positive definite beyond the differences'
            // noise (the gradients' error over the step).
            let h = 1e-4 * w2
            let hessian = try DampedNewton.differencedHessian(at: [0, w2], gradient: [atFace.g1, atFace.g2], step: h) { p in
                let v = try f(p[0], p[1])
                return [v.g1, v.g2]
            }
            if let smallest = try SymmetricEigen.decompose(hessian, 2).values.min(), smallest > 10 * d.errorBound / h {
                candidate.curvature = smallest
            }
        }
        return candidate
    }

    /// The minimiser of F on the arc ||w|| = s over theta in [0, pi/2] (the fixed scale), from
    /// dF/dtheta (`slope`; `atZero` its one-sided value at 0+): candidates theta = 0 when
    /// atZero >= 0, every root where dF/dtheta turns from negative to positive on a 9-angle scan
    /// (Brent to 1e-13), and pi/2 when it is still negative there; the lowest `value` wins. A
    /// convex F is unimodal on the arc: its scan stops at the first root.
    func arcMinimum(atZero: Double, slope: (Double) throws -> Double, value: (Double) throws -> Double) throws
        -> (theta: Double, value: Double?, converged: Bool)
    {
        let grid = (0...8).map { Double.pi / 2 * Double($0) / 8 }
        var candidates: [Double] = atZero >= 0 ? [0] : []
        var converged = true
        var previous = (grid[0], atZero)
        for t in grid.dropFirst() {
            if isConvex && !candidates.isEmpty { break }
            let d = try slope(t)
            if previous.1 < 0 && d >= 0 {
                var failure: Error? = nil
                let root = try RootFinder.brent(in: previous.0, t, absoluteTolerance: 1e-13, relativeTolerance: 1e-13) { x in
                    do { return try slope(x) } catch { failure = error; return 0 }
                }
                if let failure { throw failure }
                candidates.append(root.location)
                converged = converged && root.converged
            }
            previous = (t, d)
        }
        if previous.1 < 0 { candidates.append(.pi / 2) }
        if candidates.count == 1 { return (candidates[0], nil, converged) }
        var theta = candidates[0], best = Double.infinity
        for t in candidates {
            let v = try value(t)
            if v < best { best = v; theta = t }
        }
        return (theta, best.isFinite ? best : nil, converged)
    }

    /// The root of h(rho) = w1 dF/dw1 at w1 = e^rho (increasing: F is convex in w1), bracketed
    /// by unit steps from rho = 0 within [smallestLogScale, extendedLogScaleRange.upperBound].
    /// `gradientAxis` on the coarse derivative to 1e-8 first, then on the fine one from a
    /// bracket of +-1e-4 around that root; the fine search alone when the bracket does not hold.
    /// A coarse root pinned at a bound of the range is confirmed by the fine derivative's sign
    /// at that bound alone (the fine search when it differs): h is increasing (the searches'
    /// premise), so that sign is the one the fine search would find at each of its steps towards
    /// the bound. (Its steps cost most there: on complement(3) with exclusive means 0 and tau 0.2,
    /// l_2 trades, the working rule's kink events at w1 = 0.05-0.001 took 1.7-4 s an
    /// evaluation, 12 s of a 14 s optimum pinned at the face.)
    func warmAxis(fine: (Double) throws -> Double, coarse: ((Double) throws -> Double)?, from start: Double? = nil) throws
        -> (logScale: Double, pinnedLow: Bool, pinnedHigh: Bool, converged: Bool)
    {
        if let coarse, let c = try? gradientAxis(coarse, from: start, tolerance: 1e-8), c.converged {
            var seen: [Double: Double] = [:]
            func h(_ rho: Double) throws -> Double { try axisSlope(fine, rho, &seen) }
            if c.pinnedLow || c.pinnedHigh {
                let bound = c.pinnedLow ? smallestLogScale : extendedLogScaleRange.upperBound
                let atBound = try h(bound)
                if c.pinnedLow && atBound > 0 { return (bound, true, false, true) }
                if c.pinnedHigh && atBound < 0 { return (bound, false, true, true) }
                return try gradientAxis(fine, from: start)
            }
            let lo = c.logScale - 1e-4, hi = c.logScale + 1e-4
            if lo >= smallestLogScale, hi <= extendedLogScaleRange.upperBound, try h(lo) < 0, try h(hi) > 0 {
                var failure: Error? = nil
                let root = try RootFinder.brent(in: lo, hi, absoluteTolerance: 1e-13, relativeTolerance: 1e-13) { x in
                    do { return try h(x) } catch { failure = error; return 0 }
                }
                if let failure { throw failure }
                return (root.location, false, false, root.converged)
            }
        }
        return try gradientAxis(fine, from: start)
    }

    /// h(rho) = w1 dF/dw1 at w1 = e^rho (`d1` is dF/dw1), the axis searches' root function; a
    /// rho asked before is answered from `seen` (Brent evaluates a bracket's ends again).
    func axisSlope(_ d1: (Double) throws -> Double, _ rho: Double, _ seen: inout [Double: Double]) rethrows -> Double {
        if let known = seen[rho] { return known }
        let value = exp(rho) * (try d1(exp(rho)))
        seen[rho] = value
        return value
    }

    /// The root of h(rho) = w1 dF/dw1 at w1 = e^rho (increasing in rho, F convex in w1),
    /// bracketed by unit steps from rho = 0 within [smallestLogScale,
    /// extendedLogScaleRange.upperBound] (from a warm `start`: steps 0.25, 0.5, then 1), then
    /// Brent to `tolerance`; a root beyond the range is reported pinned at its end.
    func gradientAxis(_ d1: (Double) throws -> Double, from start: Double? = nil, tolerance: Double = 1e-13) throws
        -> (logScale: Double, pinnedLow: Bool, pinnedHigh: Bool, converged: Bool)
    {
        var seen: [Double: Double] = [:]
        func h(_ rho: Double) throws -> Double { try axisSlope(d1, rho, &seen) }
        let lowest = smallestLogScale, highest = extendedLogScaleRange.upperBound
        var lo = start ?? 0.0, hi = lo
        var step = start == nil ? 1.0 : 0.25
        var hLo = try h(lo), hHi = hLo
        if hLo < 0 {
            while hHi < 0 {
                lo = hi; hLo = hHi
                if hi >= highest { return (highest, false, true, true) }
                hi = min(hi + step, highest)
                step = min(2 * step, 1)
                hHi = try h(hi)
            }
        } else {
            while hLo > 0 {
                hi = lo; hHi = hLo
                if lo <= lowest { return (lowest, true, false, true) }
                lo = max(lo - step, lowest)
                step = min(2 * step, 1)
                hLo = try h(lo)
            }
        }
        if hLo == 0 { return (lo, false, false, true) }
        var failure: Error? = nil
        let root = try RootFinder.brent(in: lo, hi, absoluteTolerance: tolerance, relativeTolerance: tolerance) { x in
            do { return try h(x) } catch { failure = error; return 0 }
        }
        if let failure { throw failure }
        return (root.location, false, false, root.converged)
    }

    /// Damped Newton on (w1, w2), w1 > 0, w2 >= 0 (as `newton` for l_inf).
    /// The interior Newton of the symmetric optimisers (l_2 and l_inf fast paths): a coarse
    /// stage on secant (BFGS) Hessians, one evaluation a step instead of three, until a step is
    /// below 1e-4 of ||w||; a Hessian differenced on the coarse rule at its end (two coarse
    /// evaluations, against two working ones) starts the fine stage on `f`. Without `coarse` (or
    /// when its stage fails) the fine stage starts at `start`.
    ///
    /// `evaluatesRoundingSteps` (`DampedNewton`): false leaves a last step at F's rounding
    /// (~1e-8 |w|) untaken, since an evaluation cannot judge it (the point stands, converged);
    /// where an evaluation is cheap against the whole, true takes it and pins w to ~1e-10.
    func warmNewton(
        _ f: (Double, Double) throws -> (value: Double, g1: Double, g2: Double),
        coarse: ((Double, Double) throws -> (value: Double, g1: Double, g2: Double))?, start: (Double, Double),
        maxIterations: Int = 60, evaluatesRoundingSteps: Bool, stallWindow: Int? = nil, faceStreak: Int? = nil
    ) throws -> (w1: Double, w2: Double, value: Double, converged: Bool, iterations: Int, step: Double, towardsFace: Bool) {
        var begin = start
        var warmHessian: [Double]? = nil
        if let coarse, let warm = try? newton2(coarse, start: start, maxIterations: 30, stopBelow: 1e-4, secantUpdates: true, stallWindow: stallWindow,
                                               boundStreak: faceStreak.map { (0, $0) }),
           warm.w1 > 0, warm.w2 > 0, warm.value.isFinite {
            begin = (warm.w1, warm.w2)
            let size = (warm.w1 * warm.w1 + warm.w2 * warm.w2).squareRoot()
            warmHessian = try? DampedNewton.differencedHessian(at: [warm.w1, warm.w2], gradient: warm.gradient, step: 1e-6 * max(size, 1e-3)) { p in
                let v = try coarse(p[0], p[1])
                return [v.g1, v.g2]
            }
        }
        let r = try newton2(f, start: begin, maxIterations: maxIterations, hessian: warmHessian, evaluatesRoundingSteps: evaluatesRoundingSteps,
                            stallWindow: stallWindow, boundStreak: faceStreak.map { (0, $0) })
        return (r.w1, r.w2, r.value, r.converged, r.iterations, r.step, r.headingForBound == 0)
    }

    func newton2(
        _ f: (Double, Double) throws -> (value: Double, g1: Double, g2: Double), start: (Double, Double), maxIterations: Int = 60,
        stopBelow: Double? = nil, hessian: [Double]? = nil, secantUpdates: Bool = false, evaluatesRoundingSteps: Bool = true, stallWindow: Int? = nil,
        boundStreak: (index: Int, iterations: Int)? = nil
    ) throws -> (w1: Double, w2: Double, value: Double, converged: Bool, iterations: Int, step: Double, gradient: [Double], headingForBound: Int?) {
        var x = [start.0, start.1]
        let result = try DampedNewton.minimize(start: x, maxIterations: maxIterations, lowerBounds: [0, 0], stopBelow: stopBelow, hessian: hessian,
                                               evaluatesRoundingSteps: evaluatesRoundingSteps, secantUpdates: secantUpdates, stallWindow: stallWindow,
                                               boundStreak: boundStreak) { p in
            let v = try f(p[0], p[1])
            return (v.value, [v.g1, v.g2])
        }
        x = result.argument
        return (x[0], x[1], result.value, result.converged, result.iterations, result.step, result.gradient, result.headingForBound)
    }
}

/// Damped Newton for a smooth convex function with an exact gradient: Hessian by forward
/// differences of the gradient (step 1e-6 |x|), Cholesky (shifted towards a gradient step, or
/// saddle-free, when not positive definite), Armijo backtracking, points kept strictly above
/// optional lower bounds. Stops when the Newton step is below 1e-10 |x| or, after an accepted
/// step, the Newton decrement g'H^-1 g / 2 (F - F* for the quadratic model) is at rounding level.
///
/// Two savings that do not move the minimiser beyond the stopping rule: after an accepted step
/// below 1e-3 |x| the next iteration reuses the Hessian (taken that close, its relative error is
/// ~1e-3, so each step still gains three digits, and the step is still the Newton step to
/// within 1e-3 for the stopping tests; a reused Hessian that stops contracting the steps by 4 is
/// differenced afresh); a step below 1e-10 |x| (or `stopBelow`'s size) is not taken, and a step
/// below 1e-7 |x| whose predicted decrease is at F's rounding is taken without a line search,
/// which could not judge it (it cost up to 15 evaluations there); such steps go on while they
/// contract, so that a flat F's minimiser is still located to the 1e-10 step.
public enum DampedNewton {
    public struct Result: Sendable {
        public var argument: [Double]
        public var value: Double
        public var gradient: [Double]
        public var decrement: Double
        public var iterations: Int
        public var step: Double
        public var converged: Bool
        /// The coordinate whose lower bound cut the steps `boundStreak` times in a row, when the
        /// run stopped for that (NOT converged).
        public var headingForBound: Int? = nil
        /// The last positive definite Hessian at `argument` (nil when there is none): a
        /// continuation's first (`hessian:`), as a finer rule's run from a coarser one's point.
        public var hessian: [Double]? = nil
        /// When the run returned for a stall (`stallWindow`): how far F fell over the window,
        /// relative to 1 + |F| (a rule's noise floor: about its error; a slow descent: more).
        public var windowGain: Double? = nil
    }

    /// - Parameter stopBelow: return (as converged) once a Newton step is below this fraction
    ///   of |x|: a warm start for a more accurate f.
    /// - Parameter hessian: a Hessian for the first iteration (the warm start's, from a less
    ///   accurate f at the same point): used as the reused one is, then differenced afresh
    ///   after a step above 1e-3 |x|.
    /// - Parameter evaluatesRoundingSteps: false: a step whose predicted decrease is at F's
    ///   rounding, from a positive definite Hessian, is not evaluated (the point stands,
    ///   converged). Such an evaluation cannot judge the step, and where f is dear at points a
    ///   rounding step away (the full-W line paths: it puts dust on a symmetric start's zero
    ///   entries) it is the dearest of the run. A larger step whose predicted decrease is below
    ///   10 times F's rounding, from a differenced Hessian, is taken with one evaluation and no
    ///   line search; with `secantUpdates` and a `stallWindow`, a line search stops halving
    ///   where its trial's predicted decrease falls below that (a stall).
    /// - Parameter secantUpdates: after an accepted step the next Hessian is the BFGS update of
    ///   this one (one evaluation a step instead of n + 1; superlinear, not quadratic, so for a
    ///   warm start's stage), differenced afresh when the curvature condition fails.
    /// - Parameter stallWindow: return (NOT converged) when the gradient's largest entry has not
    ///   halved over this many iterations, or when two line searches in a row gained no more than
    ///   F's rounding: Newton minimising a rule's error or crawling along a kink (the caller
    ///   decides what to do from there).
    /// - Parameter stallGain: with `stallWindow`, a window counts as a stall only when F fell by
    ///   at most this fraction of 1 + |F| over it: a nonconvex F (trades) descends for many
    ///   iterations before its gradient halves, while a Newton minimising a rule's error gains
    ///   about that error. A window where F fell by under a millionth of it stalls even when
    ///   the gradient halved, unless it fell 100-fold: at a rule's noise floor the gradient's
    ///   jitter halves it by chance, while a converging Newton's falls by orders.
    /// - Parameter patientAt: where it is false at x, `stallGain` does not apply there (a point
    ///   beside a kink, where the gradient stalls while Newton crawls along it).
    /// - Parameter boundStreak: return (NOT converged, `headingForBound` set) when the steps were
    ///   cut at coordinate `index`'s lower bound `iterations` times in a row: Newton heading for
    ///   a bound halves its distance each step and crawls there (the caller settles the bound's
    ///   face).
    /// - Parameter decrementBelow: return (as converged) once the Newton decrement from a
    ///   positive definite Hessian is below this: for an f whose gradient has an error floor
    ///   above F's rounding, where the decrement test at rounding is never met.
    /// - Parameter stallBelow: return NOT converged, as a stall that gained nothing (`windowGain`
    ///   0), once the decrement from a positive definite Hessian (a secant model's too) is below
    ///   this: where the caller certifies a stalled point with a Hessian of its own, and the
    ///   steps from here to the rule's noise floor would only cost evaluations. With secant
    ///   updates and a `stallWindow`, a line search also stops halving (the same stall) once its
    ///   trial's predicted decrease is below this, where that is above F's sums' rounding.
    /// - Parameter interpolates: a rejected trial is followed by the one `cubicCut` places
    ///   (within [0.1, 0.5] of it) instead of its half: where evaluations are dear and a secant
    ///   model's steps overshoot (the full-W runs on lines, bench/ANALYSIS.md stop 73).
    /// - Parameter saddleFree: where the Hessian is not positive definite and its negative
    ///   curvature is mild (`mildSaddleMetric`), true steps on it with its eigenvalues replaced
    ///   by their magnitudes: Newton's step along every positive direction, and a descent along
    ///   a negative one as far as its curvature's magnitude allows. Otherwise (and with false)
    ///   the Hessian is shifted by the sum of its diagonal's magnitudes, which damps every
    ///   direction by the largest curvature: a safe crawl beside a kink, but a gradient descent
    ///   of ~1/trace steps out of a smooth saddle (a random 3-class model's full-W l_2 trades:1
    ///   run from the symmetric optimum: 120 steps at 0.98 of the one before).
    public static func minimize(
        start: [Double], maxIterations: Int, lowerBounds: [Double]? = nil, stopBelow: Double? = nil, hessian initial: [Double]? = nil,
        evaluatesRoundingSteps: Bool = true, secantUpdates: Bool = false, stallWindow: Int? = nil, stallGain: Double? = nil, patientAt: (([Double]) -> Bool)? = nil,
        decrementBelow: Double? = nil, stallBelow: Double? = nil, boundStreak: (index: Int, iterations: Int)? = nil, saddleFree: Bool = false,
        interpolates: Bool = false, _ f: ([Double]) throws -> (value: Double, gradient: [Double])
    ) throws -> Result {
        let n = start.count
        var x = start
        var current = try f(x)
        var lastStep = Double.infinity
        // The last step taken at F's rounding (see below).
        var roundingStep = Double.infinity
        var decrement = Double.infinity
        var reusable: [Double]? = initial
        var gradientNorms: [Double] = []
        var values: [Double] = []
        var roundingGains = 0
        var cuts = (bound: -1, count: 0)
        // The last positive definite Hessian at x (differenced, reused or updated), for a run
        // that continues from x (`Result.hessian`).
        var carried: [Double]? = initial
        /// The result at x after `iterations`, with the carried Hessian.
        func finish(_ iterations: Int, step: Double, converged: Bool, windowGain: Double? = nil, headingForBound: Int? = nil) -> Result {
            var r = Result(argument: x, value: current.value, gradient: current.gradient, decrement: decrement, iterations: iterations, step: step, converged: converged)
            r.hessian = carried
            r.windowGain = windowGain
            r.headingForBound = headingForBound
            return r
        }
        for iteration in 1...maxIterations {
            let size = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            gradientNorms.append(current.gradient.maxMagnitude)
            values.append(current.value)
            if let window = stallWindow, gradientNorms.count > window {
                let halved = gradientNorms[gradientNorms.count - 1] <= 0.5 * gradientNorms[gradientNorms.count - 1 - window]
                let gain = (values[values.count - 1 - window] - current.value) / (1 + abs(current.value))
                let fell100 = gradientNorms[gradientNorms.count - 1] <= 0.01 * gradientNorms[gradientNorms.count - 1 - window]
                let gainHere = (patientAt.map { $0(x) } ?? true) ? stallGain : nil
                let stalled = gainHere.map { gain <= $0 && (!halved || (gain <= 1e-6 * $0 && !fell100)) } ?? !halved
                if stalled {
                    return finish(iteration, step: lastStep, converged: false, windowGain: gain)
                }
            }
            let h = 1e-6 * max(size, 1e-3)
            let reusedHessian = reusable != nil
            let hessian = try reusable ?? differencedHessian(at: x, gradient: current.gradient, step: h) { try f($0).gradient }
            var p = solve(hessian, current.gradient.map { -$0 }, n)
            let positiveDefinite = p != nil
            if p == nil, saddleFree, let metric = try? mildSaddleMetric(hessian, n) {
                p = solve(metric, current.gradient.map { -$0 }, n)
            }
            if p == nil {
                // Not positive definite here: shift towards a gradient step.
                var shifted = hessian
                let shift = (0..<n).reduce(0.0) { $0 + abs(hessian[$1 * n + $1]) } + 1e-12
                for i in 0..<n { shifted[i * n + i] += shift }
                p = solve(shifted, current.gradient.map { -$0 }, n)
                if p == nil {
                    // Still indefinite (off-diagonal terms dominate, as on trades' saddle-like
                    // slopes): a shift past every Gershgorin disc is positive definite.
                    let offDiagonal = (0..<n).reduce(0.0) { sum, i in sum + (0..<n).reduce(0.0) { $0 + (i == $1 ? 0 : abs(hessian[i * n + $1])) } }
                    for i in 0..<n { shifted[i * n + i] += offDiagonal + shift }
                    p = solve(shifted, current.gradient.map { -$0 }, n)
                }
            }
            carried = positiveDefinite ? hessian : nil
            guard var step = p else { break }
            let newtonStep = step.reduce(0) { $0 + $1 * $1 }.squareRoot()
            decrement = 0.5 * abs(step.dot(current.gradient))
            // Converged before stepping: the step is below 1e-10 |x| (or `stopBelow`'s size), or
            // the decrement below `decrementBelow`.
            if newtonStep <= 1e-10 * max(size, 1e-3) || (stopBelow.map { newtonStep <= $0 * max(size, 1e-3) } ?? false)
                || (positiveDefinite && decrementBelow.map { decrement <= $0 } ?? false) {
                return finish(iteration, step: newtonStep, converged: true)
            }
            if positiveDefinite, let stallBelow, decrement <= stallBelow {
                return finish(iteration, step: lastStep, converged: false, windowGain: 0)
            }
            var t = 1.0
            var cutBy = -1
            if let lowerBounds {
                for i in 0..<n where x[i] + step[i] <= lowerBounds[i] && step[i] < 0 {
                    let ti = 0.5 * (x[i] - lowerBounds[i]) / -step[i]
                    if ti < t { t = ti; cutBy = i }
                }
            }
            cuts = cutBy >= 0 && cutBy == cuts.bound ? (cutBy, cuts.count + 1) : (cutBy, cutBy >= 0 ? 1 : 0)
            // Within 1e-9 |x| of the bound and heading for it: there F's change along the
            // bound's coordinate is below rounding, so the line search halves a step F cannot
            // judge ~30 times (a crawl at w1 ~ 1e-10 that the streak, broken by uncut steps,
            // missed). The bound's face decides.
            let atBound = boundStreak.map { streak in
                lowerBounds.map { step[streak.index] < 0 && x[streak.index] - $0[streak.index] <= 1e-9 * max(size, 1e-3) } ?? false
            } ?? false
            if let streak = boundStreak, (cuts.bound == streak.index && cuts.count >= streak.iterations) || atBound {
                return finish(iteration, step: lastStep, converged: false, headingForBound: streak.index)
            }
            step = step.map { $0 * t }
            let noise = 1e-15 * (1 + abs(current.value))
            let roundingSized = decrement <= noise && newtonStep <= 1e-7 * max(size, 1e-3)
            // Where evaluations are dear, a differenced Hessian (not a secant update, which can
            // overstate the curvature: a random 3-class model's full-W l_inf trades:1 run then
            // claimed convergence at a point whose own Hessian's decrement was 2.5e-9) that
            // predicts a decrease below F's own rounding (sums of thousands of node terms, 10
            // `noise`) makes a step no line search can judge, whatever its size: it is taken as a
            // rounding step is, with one evaluation. (A random 3-class model's symmetric l_2
            // trades:1 optimum: decrement 2.1e-15 for a step of 2.3e-7 |x|, where F rose 6e-15 at
            // the Newton point; two line searches halved it about 20 times each, 15 of the run's
            // 20 s.)
            let belowSums = !evaluatesRoundingSteps && !secantUpdates && positiveDefinite && decrement <= 10 * noise
            if t == 1, roundingSized || belowSums {
                if roundingSized && !evaluatesRoundingSteps && positiveDefinite {
                    return finish(iteration, step: newtonStep, converged: true)
                }
                // The predicted decrease is at F's rounding, so a line search cannot judge the
                // step: the Newton point is taken (one evaluation) unless F rises there beyond
                // rounding. The gradient there judges the rest: the iteration goes on while
                // these steps contract (to the 1e-10 |x| step above: where F is flat, a step
                // of 1e-7 |x| from a rough Hessian leaves the minimiser that far away); a step
                // that does not contract, from a Hessian differenced here, is the gradient's
                // noise floor, and the search has converged.
                if newtonStep > 0.25 * roundingStep {
                    if reusedHessian { reusable = nil; continue }
                    return finish(iteration, step: newtonStep, converged: true)
                }
                let trial = zip(x, step).map { $0 + $1 }
                let next = try f(trial)
                // F's own rounding (sums of thousands of node terms) is several times `noise`,
                // so a rise within 10 noise, or a smaller gradient, does not refuse the step.
                func squaredNorm(_ g: [Double]) -> Double { g.reduce(0) { $0 + $1 * $1 } }
                guard next.value <= current.value + 10 * noise || squaredNorm(next.gradient) < squaredNorm(current.gradient) else {
                    return finish(iteration, step: newtonStep, converged: true)
                }
                x = trial; current = next
                roundingStep = newtonStep
                lastStep = newtonStep
                reusable = positiveDefinite ? hessian : nil
                continue
            }
            var accepted = false
            let from = current
            // Where evaluations are dear and a stall has a continuation (secant runs with a
            // `stallWindow`: the full W on lines, whose finer rule continues from a stall), the
            // halving stops once a trial's predicted decrease (its fraction of the Newton step
            // times g'H^-1 g) is below F's own rounding: F cannot judge it. The run stops there,
            // NOT converged, as a stall that gained nothing. (A random 3-class model's full-W l_2
            // trades:1 run on the wide v panels: line searches of 6-15 trials at decrements of
            // 1e-13, the wide rule's floor, and one of 33 at 6e-15: 17 s of its 57 s.) Or below
            // `stallBelow`, where the caller certifies a stall: r2 of bench/ANALYSIS.md stop 69
            // (l_2 trades:1, wide panels) spent 19 evaluations, 4.7 s, in line searches at
            // decrements of 1e-11 whose gradient (off by 1e-6) disagreed with its values.
            var fraction = t
            var unjudged = false
            let stallsUnjudged = !evaluatesRoundingSteps && secantUpdates && stallWindow != nil
            for _ in 0..<40 {
                if stallsUnjudged && fraction < t && fraction * 2 * decrement <= max(10 * noise, stallBelow ?? 0) {
                    unjudged = true
                    break
                }
                let trial = zip(x, step).map { $0 + $1 }
                let slope = step.dot(current.gradient)
                let next = try f(trial)
                if next.value <= current.value + 1e-4 * slope
                    || (next.value <= current.value && step.reduce(0) { $0 + abs($1) } < 1e-9 * size) {
                    x = trial; current = next
                    accepted = true
                    break
                }
                // With `interpolates`, the next trial is the minimiser of the cubic that matches F
                // and its slope at both ends of this one (the trial's gradient comes with its
                // value), kept within [0.1, 0.5] of it: never less than a halving.
                let cut = interpolates ? cubicCut(value: current.value, slope: slope, trialValue: next.value, trialSlope: step.dot(next.gradient)) : 0.5
                step = step.map { cut * $0 }
                fraction *= cut
            }
            // A Hessian is reused only while it contracts the steps: a step above a quarter of
            // the one before means a rough Hessian (a warm start's, from a coarser rule at large
            // margin scales), which would otherwise be kept for every step below 1e-3 |x| and
            // converge linearly; it is differenced afresh instead.
            let contracting = newtonStep <= 0.25 * lastStep
            lastStep = newtonStep
            reusable = accepted && newtonStep <= 1e-3 * max(size, 1e-3) && contracting ? hessian : nil
            if secantUpdates && accepted {
                reusable = bfgs(hessian, step: step, change: zip(current.gradient, from.gradient).map { $0 - $1 })
            }
            if accepted { carried = reusable }
            if accepted && decrement <= 1e-15 * (1 + abs(current.value)) && newtonStep <= 1e-7 * max(size, 1e-3) {
                return finish(iteration, step: lastStep, converged: true)
            }
            if !accepted {
                return finish(iteration, step: lastStep, converged: !unjudged && newtonStep <= 1e-7 * max(size, 1e-3), windowGain: unjudged ? 0 : nil)
            }
            // (A converging Newton reaches F's rounding through the rounding-step branch above,
            // without a line search.)
            roundingGains = from.value - current.value <= 1e-14 * (1 + abs(current.value)) ? roundingGains + 1 : 0
            if stallWindow != nil && roundingGains >= 2 {
                return finish(iteration, step: lastStep, converged: false, windowGain: 0)
            }
            // Where evaluations are dear (`evaluatesRoundingSteps` false): two steps in a row
            // gained only F's rounding, and the model from a positive definite Hessian predicts no
            // more (F - F* <= the decrement, at rounding): the steps are the gradient's noise along
            // a flat direction, which do not contract below the 1e-7 |x| of the rounding branch,
            // and F cannot judge them. Converged. (A random 3-class model's symmetric l_2 trades:1
            // optimum: decrement 1.15e-15, steps 1.24e-6 |x| at gradient 3.5e-9, each gaining
            // 3e-16 in 20 s, to the 60-iteration cap.) A differenced Hessian's full step with
            // such a decrement now takes the one-evaluation branch above; this rule is left for
            // secant updates and steps cut at a bound.
            if !evaluatesRoundingSteps && roundingGains >= 2 && positiveDefinite && decrement <= 1e-14 * (1 + abs(current.value)) {
                return finish(iteration, step: lastStep, converged: true)
            }
        }
        return finish(maxIterations, step: lastStep, converged: false)
    }

    /// The backtracking factor in [0.1, 0.5] from a rejected trial: the minimiser of the cubic
    /// matching F and its slope along the step at 0 (`value`, `slope` < 0) and at the trial
    /// (`trialValue`, `trialSlope`), as Nocedal and Wright's interpolating line search takes it
    /// (their (3.59)); the quadratic's from the three values where the cubic has no minimiser,
    /// and a halving where neither is finite.
    public static func cubicCut(value f0: Double, slope d0: Double, trialValue f1: Double, trialSlope d1: Double) -> Double {
        let bar = d0 + d1 - 3 * (f1 - f0)
        let discriminant = bar * bar - d0 * d1
        var s = Double.nan
        if discriminant >= 0 {
            let root = discriminant.squareRoot()
            s = 1 - (d1 + root - bar) / (d1 - d0 + 2 * root)
        }
        if !s.isFinite {
            s = -d0 / (2 * (f1 - f0 - d0))
        }
        guard s.isFinite else { return 0.5 }
        return min(max(s, 0.1), 0.5)
    }

    /// The Newton decrement g'H^-1 g / 2 (F - F* of the quadratic model) for a Hessian h that is
    /// positive definite (Cholesky), nil when it is not: the point is then not certified as a
    /// local minimum.
    public static func decrement(hessian h: [Double], gradient g: [Double]) -> Double? {
        guard h.count == g.count * g.count, let p = solve(h, g, g.count) else { return nil }
        return 0.5 * abs(zip(p, g).reduce(0) { $0 + $1.0 * $1.1 })
    }

    /// The saddle-free metric of an indefinite h (its eigenvalues replaced by their magnitudes,
    /// `BundleNewton.positiveDefinite`) where its negative curvature is mild: no larger than
    /// the median positive eigenvalue (the upper one of an even count), as at a smooth saddle
    /// (where a full-W run leaves the symmetric optimum: -0.008 against a median 0.025,
    /// largest 0.45). nil where it is an outlier: a Hessian differenced (or updated) across a
    /// kink carries the gradient's jump over the step, far beyond every smooth curvature, and
    /// there the shift's crawl lets the caller's kink machinery decide (a 4-class l_inf
    /// trades:1 run 1e-3 off a declined symmetric start: -1.47 against a median 0.03, where
    /// Newton with magnitudes oscillated across the kink, NOT converged; a 3-class l_2 run
    /// beside a point class's kink: -5.3 against 0.04, 4x slower with magnitudes).
    static func mildSaddleMetric(_ h: [Double], _ n: Int) throws -> [Double]? {
        let decomposition = try SymmetricEigen.decompose(h, n)
        let values = decomposition.values
        let positive = values.filter { $0 > 0 }
        guard let lowest = values.first, lowest < 0, !positive.isEmpty, -lowest <= positive[positive.count / 2] else { return nil }
        return BundleNewton.positiveDefinite(decomposition, n).metric
    }

    /// The BFGS update of the n x n Hessian h for the step s and the gradient change y, or nil
    /// when the curvature condition s'y > 0 (or s'hs > 0) fails.
    static func bfgs(_ h: [Double], step s: [Double], change y: [Double]) -> [Double]? {
        let n = s.count
        let hs = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + h[i * n + $1] * s[$1] } }
        let sy = zip(s, y).reduce(0) { $0 + $1.0 * $1.1 }
        let shs = zip(s, hs).reduce(0) { $0 + $1.0 * $1.1 }
        let scale = s.reduce(0) { $0 + $1 * $1 }.squareRoot() * y.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard sy > 1e-10 * scale, shs > 0 else { return nil }
        var out = h
        for i in 0..<n { for j in 0..<n { out[i * n + j] += y[i] * y[j] / sy - hs[i] * hs[j] / shs } }
        return out
    }

    /// The Hessian at x by forward differences (step h) of the gradient, symmetrised; g0 the
    /// gradient at x.
    static func differencedHessian(at x: [Double], gradient g0: [Double], step h: Double, _ gradient: ([Double]) throws -> [Double]) rethrows -> [Double] {
        let n = x.count
        var hessian = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var y = x
            y[j] += h
            let g = try gradient(y)
            for i in 0..<n { hessian[i * n + j] = (g[i] - g0[i]) / h }
        }
        symmetrize(&hessian, n)
        return hessian
    }

    /// Replaces the n x n matrix by its symmetric part (a differenced Hessian's two halves).
    static func symmetrize(_ a: inout [Double], _ n: Int) {
        for i in 0..<n { for j in 0..<i {
            let m = 0.5 * (a[i * n + j] + a[j * n + i])
            a[i * n + j] = m; a[j * n + i] = m
        } }
    }

    /// Solves A x = b (n x n, row-major) by Gaussian elimination with partial pivoting; nil when
    /// A is numerically singular.
    static func luSolve(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        var m = a, x = b
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(n, col + 1) where abs(m[r * n + col]) > abs(m[pivot * n + col]) { pivot = r }
            guard abs(m[pivot * n + col]) > 1e-300, m[pivot * n + col].isFinite else { return nil }
            if pivot != col {
                for c in 0..<n { m.swapAt(col * n + c, pivot * n + c) }
                x.swapAt(col, pivot)
            }
            let p = m[col * n + col]
            for r in (col + 1)..<max(n, col + 1) {
                let f = m[r * n + col] / p
                guard f != 0 else { continue }
                for c in col..<n { m[r * n + c] -= f * m[col * n + c] }
                x[r] -= f * x[col]
            }
        }
        for r in stride(from: n - 1, through: 0, by: -1) {
            var v = x[r]
            for c in (r + 1)..<max(n, r + 1) { v -= m[r * n + c] * x[c] }
            x[r] = v / m[r * n + r]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }

    /// Solves A x = b by Cholesky; nil when A is not (numerically) positive definite.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var s = a[j * n + j]
            for k in 0..<j { s -= l[j * n + k] * l[j * n + k] }
            guard s > 1e-14 * abs(a[j * n + j]), s > 0 else { return nil }
            let ljj = s.squareRoot()
            l[j * n + j] = ljj
            for i in (j + 1)..<max(j + 1, n) {
                var t = a[i * n + j]
                for k in 0..<j { t -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = t / ljj
            }
        }
        var y = b
        for i in 0..<n {
            for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
            y[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<max(i + 1, n) { y[i] -= l[k * n + i] * y[k] }
            y[i] /= l[i * n + i]
        }
        return y
    }
}

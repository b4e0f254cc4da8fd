import Foundation
import GSL

/// The fast optimiser of issue 12 for objectives with an exact value-and-gradient evaluator
/// (`PairObjective`: ce, ls and trades on complement(3) models under l_inf): derivative-based steps instead of
/// derivative-free searches, so an optimum costs tens of objective evaluations.
///
/// - free scale / weight decay: the axis optimum w1* (root of dF/dlog w1 on w2 = 0, bracketed
///   by unit steps in log w1, then Brent to 1e-13) and the exact one-sided derivative
///   dF/dw2(w1*, 0+). For ce and ls F is jointly convex (plus a convex penalty), so a
///   derivative >= 0 proves w2* = 0 (trades, not convex, also tries an interior start at the
///   angle 0.35); otherwise a damped Newton method on (w1, w2) (`warmNewton`: secant Hessians
///   on the coarse rule, then a Hessian differenced there starts the working rule's Newton),
///   stopped when the Newton step is below 1e-10 relative. The final estimate reuses the last
///   working-rule evaluation (`PairObjective.estimate`).
/// - fixed scale s: the root of dF/dtheta on [0, pi/2] (`arcMinimum`: sign scan on 9 angles,
///   then Brent); theta = 0 exactly when dF/dtheta(0+) >= 0.
extension SymmetricOptimizer {
    /// The fast evaluator for this setting, if there is one.
    var pairEvaluator: PairObjective? {
        guard method == .fast else { return nil }
        var e = PairObjective(model: model, threat: threat, objective: objective)
        e?.parallel = parallelEvaluation
        return e
    }

    /// F = R + penalty and its gradient.
    func fastValue(_ e: PairObjective, _ w1: Double, _ w2: Double, rule: GaussLegendre = .working) -> (value: Double, g1: Double, g2: Double) {
        penalised(w1, w2, e.evaluate(w1: w1, w2: w2, rule: rule))
    }

    /// F = R + penalty and its gradient from a pair evaluation.
    func penalised(_ w1: Double, _ w2: Double, _ r: PairObjective.Result) -> (value: Double, g1: Double, g2: Double) {
        penalised(w1, w2, (r.value, r.gradient.w1, r.gradient.w2))
    }

    /// `solve()` continued from the optimum at a neighbouring grid point (eps or model
    /// parameters nearby): on the fast path the free-scale axis search starts at its scale
    /// (steps 0.25, 0.5, then 1 in log w1 instead of unit steps from 0) and Newton at its point
    /// when it was interior. The result is the same root / minimiser to the solvers'
    /// tolerances (1e-13 in log scale, 1e-10 relative Newton steps); other paths ignore it.
    public func solve(continuingFrom previous: SymmetricOptimum?) throws -> SymmetricOptimum {
        guard let e = pairEvaluator, let previous, previous.w1 > 0, previous.w1.isFinite, previous.w2.isFinite else { return try solve() }
        return try solveFast(e, warmStart: previous)
    }

    func solveFast(_ e: PairObjective, warmStart: SymmetricOptimum? = nil) throws -> SymmetricOptimum {
        var notes: [String] = []
        var converged = true
        var w1 = 0.0, w2 = 0.0
        var derivative: Double? = nil
        // dF/dw1 at (0+, w2) when the optimum is on the face w1 = 0.
        var exclusiveDerivative: Estimate? = nil
        // w1 of the axis point where `derivative` is taken (the scale s, or the free-scale
        // axis optimum) and the working-rule evaluation there.
        var axisPoint = 0.0
        var axisWorking: PairObjective.Result? = nil
        var boundary = false
        // F at the returned point on the working rule, when an evaluation there is at hand.
        var finalValue: Double? = nil
        // The last working-rule evaluation: the final estimate reuses it at the returned point.
        var last: (w1: Double, w2: Double, r: PairObjective.Result)? = nil
        // The previous evaluation (either rule): the next one locates its breaks again from
        // there (`PairObjective.evaluate(continuing:)`).
        var previous: PairObjective.Result? = nil
        func working(_ w1: Double, _ w2: Double) -> (value: Double, g1: Double, g2: Double) {
            let r: PairObjective.Result
            if let last, last.w1 == w1, last.w2 == w2 { r = last.r } else {
                r = e.evaluate(w1: w1, w2: w2, continuing: previous)
                last = (w1, w2, r)
                previous = r
            }
            return penalised(w1, w2, r)
        }
        func coarse(_ w1: Double, _ w2: Double) -> (value: Double, g1: Double, g2: Double) {
            let r = e.evaluate(w1: w1, w2: w2, rule: .coarse, continuing: previous)
            previous = r
            return penalised(w1, w2, r)
        }
        switch scale {
        case .fixed(let s):
            func slope(_ theta: Double) -> Double {
                let f = working(s * cos(theta), s * sin(theta))
                return s * (-sin(theta) * f.g1 + cos(theta) * f.g2)
            }
            let atZero = working(s, 0).g2
            axisPoint = s
            axisWorking = last?.r
            let arc = try arcMinimum(atZero: atZero * s, slope: slope, value: { working(s * cos($0), s * sin($0)).value })
            var theta = arc.theta
            converged = converged && arc.converged
            finalValue = arc.value
            if theta == 0 { derivative = atZero }
            if theta < 1e-4 && derivative == nil { derivative = atZero }
            if let atFace = try settleArcEnd(&theta, converged: &converged, notes: &notes, exclusiveDerivative: &exclusiveDerivative,
                                             best: { arc.value ?? working(s * cos(arc.theta), s * sin(arc.theta)).value },
                                             derivative: { faceDerivative(e, w2: s, working) }, atFace: { working(0, s).value }) {
                finalValue = atFace
            }
            w1 = theta == .pi / 2 ? 0 : s * cos(theta)
            w2 = theta == 0 ? 0 : s * sin(theta)
            boundary = theta == 0
        case .free, .weightDecay, .centeredWeightDecay:
            let warmScale = warmStart.map { 0.5 * log($0.w1 * $0.w1 + $0.w2 * $0.w2) }
            let axisSearch = try fastAxis(e, from: warmScale.map { min(max($0, smallestLogScale), extendedLogScaleRange.upperBound) })
            let rho = axisSearch.logScale
            let pinnedLow = axisSearch.pinnedLow, pinnedHigh = axisSearch.pinnedHigh
            let lowest = smallestLogScale, highest = extendedLogScaleRange.upperBound
            converged = converged && axisSearch.converged
            let r0 = exp(rho)
            let axis = working(r0, 0)
            derivative = axis.g2
            axisPoint = r0
            axisWorking = last?.r
            w1 = r0; w2 = 0; boundary = true
            finalValue = axis.value
            // An axis pinned low (w1 -> 0) is left only where F falls into the family (dF/dw2 < 0):
            // towards the face w1 = 0 when the cross-class features alone do better.
            if (axis.g2 < 0 || !isConvex) && !pinnedHigh && (!pinnedLow || axis.g2 < 0) {
                var start = axis.g2 < 0 ? (r0, 1e-3 * r0) : (r0 * cos(0.35), r0 * sin(0.35))
                if let w = warmStart, !w.onBoundary, w.w1 > 0, w.w2 > 0, axis.g2 < 0 { start = (w.w1, w.w2) }
                // As the l_2 path: a coarse stage on secant Hessians, then the working rule, here
                // with the last step at F's rounding taken (w to ~1e-10; the final estimate
                // reuses that evaluation).
                let search = try offAxisSearch(working, coarse: coarse, start: start, axisPinnedLow: pinnedLow, evaluatesRoundingSteps: true) {
                    faceDerivative(e, w2: $0, working)
                }
                let chosen = search.point
                exclusiveDerivative = search.derivative
                if chosen.value < axis.value {
                    w1 = chosen.w1; w2 = chosen.w2; boundary = false
                    finalValue = chosen.value
                    notes += chosen.notes
                    if let failure = chosen.failure {
                        converged = false
                        notes.append(failure)
                    }
                    let rhoI = 0.5 * log(w1 * w1 + w2 * w2)
                    if rhoI >= highest - 1e-6 || rhoI <= lowest + 1e-6 {
                        converged = false
                        notes.append("optimal scale at the search limit e^\(rhoI >= highest - 1e-6 ? highest : lowest): a point on a search bound, not a minimiser")
                    }
                } else {
                    exclusiveDerivative = nil
                    if axis.g2 < 0 {
                        converged = false
                        notes.append("derivative at w2 = 0 is negative (\(axis.g2)) but Newton found no better interior point")
                    }
                }
            }
            if boundary && pinnedHigh {
                converged = false
                notes.append("the objective keeps decreasing as ||w|| grows (optimal scale on the axis w2 = 0 above e^\(highest)): a point on a search bound, not a minimiser")
            }
            if boundary && pinnedLow {
                converged = false
                notes.append("the optimal scale on the axis w2 = 0 is below the search limit e^\(lowest) (w1 -> 0): a point on a search bound, not a minimiser")
            }
        }
        let final = e.estimate(w1: w1, w2: w2, tolerance: tolerance, working: last.flatMap { $0.w1 == w1 && $0.w2 == w2 ? $0.r : nil })
        let objectiveOnly = final.result.value
        if final.errorBound > tolerance {
            converged = false
            notes.append("the objective's fixed rule and its verification rule differ by \(final.errorBound) > tolerance \(tolerance)")
        }
        // The derivative at w2 = 0 was taken on the working rule at (axis w1, 0): its error from
        // the verified estimate there (the final one when the optimum is that point; else the
        // verification rule added to the working-rule evaluation kept from the axis).
        let derivativeError = derivative.map { d in
            let verified = w2 == 0 && w1 == axisPoint
                ? final : e.estimate(w1: axisPoint, w2: 0, tolerance: tolerance, working: axisWorking)
            let estimate = pairDerivativeAtZero(verified, w1: axisPoint)
            return estimate.errorBound + abs(estimate.value - d)
        }
        return try optimum(w1: w1, w2: w2, value: finalValue ?? working(w1, w2).value, objectiveValue: objectiveOnly,
                           derivativeAtZero: derivative, derivativeError: derivativeError, onBoundary: boundary,
                           converged: converged, notes: notes, exclusiveDerivative: exclusiveDerivative,
                           objectiveError: final.errorBound)
    }

    /// dF/dw1 at (0+, w2) from `working` (F on the working rule), bounded by the verification
    /// rule's difference from it (`PairObjective.estimate`).
    func faceDerivative(_ e: PairObjective, w2: Double, _ working: (Double, Double) -> (value: Double, g1: Double, g2: Double)) -> Estimate {
        let d = working(0, w2).g1
        let verified = e.estimate(w1: 0, w2: w2, tolerance: tolerance)
        let error = verified.gradientError + abs(penalised(0, w2, verified.result).g1 - d)
        return Estimate(value: d, errorBound: error, converged: error.isFinite, method: .gaussLegendre2DGradient)
    }

    /// The optimal scale on the axis w2 = 0 (`gradientAxis`): the root on the coarse rule, then
    /// located on the working rule (`warmAxis`). `from`: a warm start (see
    /// `solve(continuingFrom:)`).
    func fastAxis(_ e: PairObjective, from start: Double? = nil) throws -> (logScale: Double, pinnedLow: Bool, pinnedHigh: Bool, converged: Bool) {
        try warmAxis(fine: { fastValue(e, $0, 0).g1 }, coarse: { fastValue(e, $0, 0, rule: .coarse).g1 }, from: start)
    }
}

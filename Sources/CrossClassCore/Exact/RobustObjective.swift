import Foundation
import GSL

/// The population robust objective R(W; eps) = E_x max_{||delta|| <= eps} loss(W (x + delta), y)
/// of a linear classifier (THEORY.md section 4.2), averaged over the uniform class prior.
///
/// Exactness: the inner maximum is exact (zonotope vertices for l_inf, a 1-D maximisation over
/// the ellipse boundary for l_2, dual norms for margin losses); the outer expectation over the
/// K - 1 clean margins is nested GSL quadrature for K <= 3 (absolute tolerance `tolerance`) and
/// randomised lattice QMC with a reported error beyond. `zero-one` is 1 - the exact robust
/// accuracy.
public struct RobustObjective: Sendable {
    public let model: DataModel
    public let threat: ThreatModel
    public let objective: Objective
    public var tolerance: Double
    /// `.fast` uses the reductions that fit the integrand (e.g. margin losses on complement(K)
    /// through the law of the minimum of i.i.d. margins); `.reference` keeps the general nested
    /// quadrature / QMC path that the fast one is tested against.
    public var method: ExactMethod = .fast
    /// Integrand evaluations one 2-D expectation may spend before it refuses with a
    /// NumericalError (the default is generous; tests lower it to reach the refusal quickly).
    public var evaluationBudget = GaussianExpectation.defaultEvaluationBudget
    /// Integrate a general W's fixed-rule lines (`LinearPairCE.parallel`), and the K >= 4 lattice
    /// rule's random shifts, on every core (same bits as one thread).
    public var parallel = false

    public init(model: DataModel, threat: ThreatModel, objective: Objective, tolerance: Double = 1e-10) {
        self.model = model
        self.threat = threat
        self.objective = objective
        self.tolerance = tolerance
    }

    /// R for the symmetric family W(w1, w2). On complement-structured models every class
    /// contributes the same amount, so only class 1 is integrated. `converged` means that the
    /// error bound is within `tolerance`, whichever path answered (a path's own stopping rule
    /// can accept a larger bound, e.g. at margin scales its panels or subdivisions cannot
    /// resolve).
    public func evaluate(w1: Double, w2: Double) throws -> Estimate {
        var e = try evaluateSymmetric(w1: w1, w2: w2)
        if !(e.errorBound <= tolerance) && e.converged && e.errorBound.isFinite && !e.method.isFixedRule {
            // The path's own rule accepted a bound above the tolerance (its error pieces add
            // up beyond it): once more at a tenth of the tolerance. (A fixed rule would give
            // the same answer again.)
            var tighter = self
            tighter.tolerance = tolerance / 10
            e = try tighter.evaluateSymmetric(w1: w1, w2: w2)
        }
        if !(e.errorBound <= tolerance) { e.converged = false }
        return e
    }

    func evaluateSymmetric(w1: Double, w2: Double) throws -> Estimate {
        if case .zeroOne = objective {
            let ra = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat)
            return Estimate(value: 1 - ra.value, errorBound: ra.errorBound, converged: ra.converged, method: ra.method)
        }
        if method == .fast, w1 >= 0, w2 >= 0, let pair = PairObjective(model: model, threat: threat, objective: objective),
           pair.isTractable(w1: w1, w2: w2) {
            let e = pair.estimate(w1: w1, w2: w2, tolerance: tolerance)
            return Self.fastEstimate(e)
        }
        if method == .fast, w1 >= 0, w2 >= 0, let l2 = L2PairObjective(model: model, threat: threat, objective: objective),
           let e = l2.valueEstimate(w1: w1, w2: w2, tolerance: tolerance) {
            return e
        }
        if method == .fast, w2 == 0, w1 > 0, model.classCount >= 4, let axis = AxisLabelSmoothing(model: model, threat: threat, objective: objective) {
            // ls on the axis: every margin the same Gaussian, the adversary's vertex exact.
            return try axis.value(w1: w1, tolerance: tolerance)
        }
        let classifier = LinearClassifier.symmetric(model: model, w1: w1, w2: w2)
        if method == .fast, let c = ComplementStructure(model: model) {
            let margins = ExchangeableMargins(structure: c, w1: w1, w2: w2, threat: threat)
            if objective.isMarginBased { return try margins.objective(objective, tolerance: tolerance) }
            if case .ce = objective, threat.norm == .linf {
                return try ExchangeableCrossEntropy(margins: margins).value(tolerance: tolerance)
            }
        }
        if let c = ComplementStructure(model: model) {
            // Every class contributes the same, and the K - 1 margins d_k = A + I_k are
            // exchangeable: Var(A) = w1^2 sE^2 + w2^2 tau^2, Var(I_k) = w2^2 sC^2 + w1^2 tau^2.
            let varA = w1 * w1 * c.sigmaE * c.sigmaE + w2 * w2 * c.tau * c.tau
            let varI = w2 * w2 * c.sigmaC * c.sigmaC + w1 * w1 * c.tau * c.tau
            return try classContribution(classifier, trueClass: 0, exchangeable: (varA + varI / 2, varI / 2))
        }
        return try evaluate(classifier)
    }

    /// R and its gradient in (w1, w2) for the symmetric family (w1, w2 >= 0; the w2-derivative at
    /// w2 = 0 is one-sided), where an exact gradient path exists (ce on complement(3) models
    /// under l_inf, fast method); nil otherwise. The error bound is that of the value.
    public func valueAndGradient(w1: Double, w2: Double) -> (estimate: Estimate, gradient: [Double], gradientError: Double)? {
        guard method == .fast, w1 >= 0, w2 >= 0, let pair = PairObjective(model: model, threat: threat, objective: objective),
              pair.isTractable(w1: w1, w2: w2) else { return nil }
        // The quartered pieces whatever the tolerance: the callers use the gradient, whose bound
        // the halved pieces' tolerance test does not look at.
        let e = pair.estimate(w1: w1, w2: w2)
        var estimate = Self.fastEstimate(e)
        estimate.converged = estimate.converged && e.errorBound <= tolerance
        return (estimate, [e.result.gradient.w1, e.result.gradient.w2], e.gradientError)
    }

    /// The one place the fast pair path's estimates are built (converged is decided against the
    /// tolerance by the callers).
    static func fastEstimate(_ e: (result: PairObjective.Result, errorBound: Double, gradientError: Double)) -> Estimate {
        Estimate(value: e.result.value, errorBound: e.errorBound, converged: e.errorBound.isFinite && e.result.value.isFinite, method: .gaussLegendre2D)
    }

    /// R for any linear classifier.
    public func evaluate(_ classifier: LinearClassifier) throws -> Estimate {
        if case .zeroOne = objective {
            let ra = try RobustAccuracy.general(model: model, classifier: classifier, threat: threat)
            return Estimate(value: 1 - ra.value, errorBound: ra.errorBound, converged: ra.converged, method: ra.method)
        }
        if let e = fixedRuleEstimate(classifier) { return e }
        var total = 0.0, error = 0.0
        var converged = true
        var method = Estimate.Method.point
        // Classes whose exchangeable margins have the same law (every class of pairwise(K) under
        // the symmetric family) are integrated once.
        var exchangeable: [ExchangeableMargins: Estimate] = [:]
        for y in 0..<model.classCount {
            let e = try classContribution(classifier, trueClass: y, known: &exchangeable)
            total += e.value
            error = max(error, e.errorBound)
            converged = converged && e.converged
            method = max(method, e.method)  // the least exact part, not the last class's
        }
        return Estimate(value: total / Double(model.classCount), errorBound: error, converged: converged, method: method)
    }

    /// ce, ls and trades of a general 3-class W on the full-W optimiser's fixed rules
    /// (`LinearPairCE`: seconds where the adaptive path takes minutes under l_2), when the fast
    /// method is asked, the rules handle W and their bound is within the tolerance; nil sends
    /// the caller to the adaptive path, which honours any tolerance. A bias shifts the margins,
    /// which these rules do not take: such a W goes to the adaptive path. `working`: the working
    /// rule's result at this W when the caller has it (an optimiser's last evaluation).
    func fixedRuleEstimate(_ classifier: LinearClassifier, working: (value: Double, gradient: Matrix, tail: Double)? = nil) -> Estimate? {
        guard method == .fast, classifier.weights.columns == model.dimension, (classifier.bias ?? []).allSatisfy({ $0 == 0 }),
              var engine = LinearPairCE(model: model, threat: threat, objective: objective) else { return nil }
        engine.parallel = parallel
        // The value alone is used: classes with a constant d1 - d2 (the axis w2 = 0 of a model
        // whose absent features are exactly zero) are integrated on their one line.
        engine.valueOnly = true
        guard let e = engine.estimate(classifier.weights, working: working), e.value.isFinite, e.errorBound <= tolerance else { return nil }
        return Estimate(value: e.value, errorBound: e.errorBound, converged: true,
                        method: threat.norm == .l2 ? .gaussLegendre2DL2 : .gaussLegendre2D)
    }

    /// E[max_delta loss | y].
    ///
    /// `exchangeable`: the caller guarantees that swapping two margins leaves the margin law, the
    /// perturbation set and the loss unchanged (the symmetric family on complement models), and
    /// gives the variances of their half-sum and half-difference (used for K = 3).
    public func classContribution(
        _ classifier: LinearClassifier, trueClass y: Int, exchangeable: (sum: Double, difference: Double)? = nil
    ) throws -> Estimate {
        var known: [ExchangeableMargins: Estimate] = [:]
        return try classContribution(classifier, trueClass: y, exchangeable: exchangeable, known: &known)
    }

    /// `classContribution`, with the estimates of exchangeable margin laws already integrated
    /// (`known`, updated here).
    func classContribution(
        _ classifier: LinearClassifier, trueClass y: Int, exchangeable: (sum: Double, difference: Double)? = nil,
        known: inout [ExchangeableMargins: Estimate]
    ) throws -> Estimate {
        let clean = RobustAccuracy.margins(model: model, classifier: classifier, threat: .none, trueClass: y)
        let m = clean.dimension
        let others = (0..<model.classCount).filter { $0 != y }
        let differences = others.map { o in (0..<model.dimension).map { classifier.weights[y, $0] - classifier.weights[o, $0] } }
        let penalties = differences.map { threat.eps * threat.norm.dual($0) }
        var engine = GaussianExpectation(tolerance: tolerance)
        engine.evaluationBudget = evaluationBudget
        if case .trades = objective { engine.scanCellWidth = GaussianExpectation.tradesScanCellWidth(tolerance: tolerance) }
        if threat.norm == .l2, m >= 3, !objective.isMarginBased {
            // The l_2 inner maximum of a smooth loss is a 1-D search over an ellipse's boundary
            // (m = 2; m = 1: a segment's two ends); for m >= 3 it is a search over a sphere,
            // which is not implemented.
            throw InputError("--norm l2 with \(objective) needs K <= 3 classes, got K = \(model.classCount): the worst case of a smooth loss over the l_2 ball is implemented for at most 2 margins; allowed: --norm linf, or the margin objectives worst-margin, hinge and zero-one")
        }
        // Exchangeable margins (pairwise(K) under the symmetric family, any K): the margin losses
        // through the law of their minimum, ce under l_inf by ExchangeableCrossEntropy, as on
        // complement(K); deterministic at any tolerance, where the lattice below has a floor.
        if method == .fast, m >= 3, let margins = ExchangeableMargins(law: clean, penalties: penalties),
           objective.isMarginBased || (objective == .ce && threat.norm == .linf && ExchangeableMargins.sharesWorstVertex(differences)) {
            if let e = known[margins] { return e }
            let e = objective.isMarginBased
                ? try margins.objective(objective, tolerance: tolerance)
                : try ExchangeableCrossEntropy(margins: margins).value(tolerance: tolerance)
            known[margins] = e
            return e
        }
        if m >= 3 {
            // K >= 4 on this general path: randomised lattice rules, whose error at their point
            // caps is known (`qmcAttainableTolerance`). A tighter tolerance is refused rather
            // than silently missed.
            let floor = GaussianExpectation.qmcAttainableTolerance(margins: m)
            guard tolerance >= floor else {
                throw InputError("tolerance \(tolerance) cannot be met for \(objective) with K = \(model.classCount) classes on this model or classifier: the expectation over \(m) margins is randomised lattice QMC, which reaches about \(floor); allowed: a tolerance >= \(floor) (ce under l_inf, worst-margin, hinge and zero-one are exact at any tolerance where the margins are exchangeable, as under the symmetric family on complement(K) and pairwise(K))")
            }
            engine.qmcTolerance = tolerance
        }
        let slope = differences.map { threat.norm.dual($0) }.max() ?? 1

        switch objective {
        case .zeroOne:
            preconditionFailure("handled by the callers")
        case .worstMargin:
            return try engine.expectation(mean: clean.mean, covariance: clean.covariance, exchangeable: m == 2 ? exchangeable : nil) { d, piece in
                var low = Double.infinity
                for k in 0..<m where d[k] - penalties[k] < low { low = d[k] - penalties[k]; piece = k }
                return -low
            }
        case .hinge(let kappa):
            return try engine.expectation(mean: clean.mean, covariance: clean.covariance, exchangeable: m == 2 ? exchangeable : nil) { d, piece in
                var low = Double.infinity
                for k in 0..<m where d[k] - penalties[k] < low { low = d[k] - penalties[k]; piece = k }
                if low >= kappa { piece = -1; return 0 }
                return kappa - low
            }
        case .ce, .ls, .trades:
            let set = try PerturbationSet(differences: differences, threat: threat)
            let inner = InnerMaximum(set: set, objective: objective, classes: model.classCount)
            // K = 4...6: the lattice's shifts on every core, each with its own scratch (same bits).
            if parallel, let e = try engine.parallelLatticeExpectation(
                mean: clean.mean, covariance: clean.covariance, growth: 1 + slope * threat.eps, constantPiece: inner.constantPiece,
                scope: { body in
                    try inner.withLoss { loss, _ in try withoutActuallyEscaping(loss) { try body($0) } }
                }
            ) {
                return e
            }
            return try inner.withLoss { loss, constantPiece in
                try engine.expectation(
                    mean: clean.mean, covariance: clean.covariance, growth: 1 + slope * threat.eps,
                    exchangeable: m == 2 ? exchangeable : nil, constantPiece: constantPiece
                ) { d, piece in
                    loss(d, &piece)
                }
            }
        }
    }
}

/// max over the perturbation set of the (ce, ls or trades) loss at clean margins d.
struct InnerMaximum {
    let set: PerturbationSet
    let objective: Objective
    let classes: Int

    /// True when the maximiser is always the one candidate vertex (the label is always 0).
    var constantPiece: Bool {
        guard set.ellipse == nil else { return false }
        if objective.isMonotone, set.lowestVertex != nil { return true }
        return set.vertexCount <= 1
    }

    /// Calls `body` with a function d -> max_Delta loss(d, Delta) that reuses scratch memory.
    /// It also writes the index of the maximising vertex (the integrand's "piece"; on the l_2
    /// ellipse the maximiser's eighth of the circle); the second argument of `body` is true when
    /// that index is always 0 (one candidate vertex), i.e. the loss has no kinks to locate.
    /// (On the ellipse the label was 0 until 2026-12-01: the adaptive plan then had no break
    /// points at trades' kinks, and at trades:6, W(3.116, 2.6), eps 0.3 under l_2 it was 2.1e-10
    /// off while reporting 6e-12; bench/reference/trades_l2_independent.py.)
    func withLoss<R>(_ body: ((UnsafePointer<Double>, inout Int) -> Double, Bool) throws -> R) rethrows -> R {
        let m = set.dimension
        // Scratch as raw memory owned by this call (captured arrays mutated in the integrand
        // cost a dynamic exclusivity check per access).
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 3 * max(m, 1))
        scratch.initialize(repeating: 0, count: 3 * max(m, 1))
        defer { scratch.deallocate() }
        let shifted = scratch, probabilities = scratch + max(m, 1), expD = scratch + 2 * max(m, 1)
        let alpha: Double
        let beta: Double
        switch objective {
        case .ls(let a): alpha = a; beta = 0
        case .trades(let b): alpha = 0; beta = b
        default: alpha = 0; beta = 0
        }
        let smoothing = alpha / Double(classes - 1)
        let isTrades: Bool
        if case .trades = objective { isTrades = true } else { isTrades = false }
        let lowest = objective.isMonotone ? set.lowestVertex : nil
        // Candidate shifts, their exp(-Delta_k) and sum_k Delta_k, precomputed once: the
        // integrand then needs m exponentials per point and one logarithm per vertex.
        let candidates: [Double] = lowest ?? set.vertices
        let count = m == 0 ? 0 : candidates.count / m
        let expV = candidates.map { exp(-$0) }
        let sums = (0..<count).map { v in (0..<m).reduce(0.0) { $0 + candidates[v * m + $1] } }
        let largest = candidates.map { -$0 }.max() ?? 0

        // The loss at d + Delta up to Delta-independent terms (stable slow path).
        func slowLoss(_ d: UnsafePointer<Double>, _ v: Int, _ cleanCE: Double) -> Double {
            let sh = shifted
            var linear = 0.0
            for k in 0..<m { sh[k] = d[k] + candidates[v * m + k]; linear += sh[k] }
            let ce = MarginLoss.ce(UnsafePointer(sh), m)
            if isTrades {
                var kl = ce - cleanCE
                for k in 0..<m { kl += probabilities[k] * candidates[v * m + k] }
                return max(0, kl)
            }
            return ce + smoothing * linear
        }
        let constantPiece = self.constantPiece
        return try candidates.withUnsafeBufferPointer { _ in
            try body({ d, piece in
                var cleanCE = 0.0
                var smallest = Double.infinity
                for k in 0..<m { smallest = min(smallest, d[k]) }
                if isTrades {
                    cleanCE = MarginLoss.ce(d, m)
                    // p_k = exp(-d_k) / (1 + sum_j exp(-d_j)) = exp(-d_k - cleanCE).
                    for k in 0..<m { probabilities[k] = exp(-d[k] - cleanCE) }
                }
                var best = -Double.infinity
                let noise = 1e-13 * (1 + abs(cleanCE) + abs(smallest))
                if let ellipse = set.ellipse {
                    (best, piece) = ellipseMaximum(ellipse, m) { delta in
                        let sh = shifted
                        var linear = 0.0
                        for k in 0..<m { sh[k] = d[k] + delta[k]; linear += sh[k] }
                        let ce = MarginLoss.ce(UnsafePointer(sh), m)
                        if isTrades {
                            var kl = ce - cleanCE
                            for k in 0..<m { kl += probabilities[k] * delta[k] }
                            return max(0, kl)
                        }
                        return ce + smoothing * linear
                    }
                } else if largest <= 350 && -smallest <= 350 {
                    // Fast path: exp(-d_k) and exp(-Delta_k) stay below e^350, so neither they
                    // nor their product overflow, and an underflowed exp(-d_k) only drops
                    // terms below e^-395.
                    var linearD = 0.0
                    for k in 0..<m { expD[k] = exp(-d[k]); linearD += d[k] }
                    for v in 0..<count {
                        var sum = 1.0
                        for k in 0..<m { sum += expD[k] * expV[v * m + k] }
                        let ce = log(sum)
                        let value: Double
                        if isTrades {
                            var kl = ce - cleanCE
                            for k in 0..<m { kl += probabilities[k] * candidates[v * m + k] }
                            value = max(0, kl)
                        } else {
                            value = ce + smoothing * (linearD + sums[v])
                        }
                        // A vertex only takes over when it is better beyond rounding noise, so
                        // that ties (exact by symmetry, or in flat regions) do not make the
                        // piece label flicker.
                        if value > best + noise { best = value; piece = v }
                    }
                } else {
                    for v in 0..<count {
                        let value = slowLoss(d, v, cleanCE)
                        if value > best + noise { best = value; piece = v }
                    }
                }
                return isTrades ? cleanCE + beta * best : best
            }, constantPiece)
        }
    }

    /// The scan's angles k h (h = 2 pi / 48) as cos and sin, computed once (each maximum took
    /// 96 trigonometric calls for them).
    static let scanCount = 48
    static let scanStep = 2 * Double.pi / Double(scanCount)
    static let scanCircle: [(c: Double, s: Double)] = (0..<scanCount).map { k in
        let t = Double(k) * scanStep
        return (cos(t), sin(t))
    }

    /// max over the ellipse boundary {B (cos t, sin t)} (m = 2): a 48-point scan, then Brent's
    /// method (to 1e-7 in angle; golden section to 1e-12 where the scan's values tie) around
    /// the two best local maxima of the scan; for m = 1 the better end of the segment [-B, B].
    func ellipseMaximum(_ b: [Double], _ m: Int, _ f: (UnsafePointer<Double>) -> Double) -> (value: Double, sector: Int) {
        if m == 1 {
            // K = 2: the set of margin shifts is the segment [-b, b], and a loss convex in the
            // shift peaks at an end.
            let ends = [b[0], -b[0]].map { delta in [delta].withUnsafeBufferPointer { f($0.baseAddress!) } }
            return ends[0] >= ends[1] ? (ends[0], 0) : (ends[1], 1)
        }
        precondition(m == 2, "the l2 inner maximum is implemented for K <= 3 (callers refuse K >= 4)")
        // delta in memory of this call's (a captured array written per evaluation cost a
        // dynamic exclusivity check each time).
        let delta = UnsafeMutablePointer<Double>.allocate(capacity: 2)
        defer { delta.deallocate() }
        func g(_ c: Double, _ s: Double) -> Double {
            delta[0] = b[0] * c
            delta[1] = b[2] * c + b[3] * s
            return f(delta)
        }
        func g(_ t: Double) -> Double { g(cos(t), sin(t)) }
        let n = Self.scanCircle.count
        let h = Self.scanStep
        let values = Self.scanCircle.map { g($0.c, $0.s) }
        var peaks = (0..<n).filter { values[$0] >= values[($0 + n - 1) % n] && values[$0] >= values[($0 + 1) % n] }
        peaks.sort { values[$0] > values[$1] }
        var best = values.max() ?? -.infinity
        var bestAngle = Double(values.firstIndex(of: best) ?? 0) * h
        for p in peaks.prefix(2) {
            var lo = Double(p - 1) * h, hi = Double(p + 1) * h
            // Brent (GSL) on -g from the scan's three values, in the angle measured from h
            // before the bracket: GSL's steps are at least sqrt(machine eps) |x| from its best
            // point, so |x| in [h, 3h] lets the bracket close to 1e-7 (a value error below
            // |g''| 1e-14 / 2, the parabola's point usually far closer), about 10 evaluations where
            // golden section to 1e-12 takes ~55 (the reference path's l_2 time was mostly
            // these). A tie with a neighbour (no strict bracket) or a stall: golden section.
            let offset = lo - h
            if let m = try? Minimizer1D.refine(
                lower: (h, -values[(p + n - 1) % n]), start: (2 * h, -values[p]), upper: (3 * h, -values[(p + 1) % n]),
                width: 1e-7, { -g($0 + offset) }), m.converged {
                if -m.value > best { best = -m.value; bestAngle = m.argument + offset }
                continue
            }
            let r = 0.618_033_988_749_894_848_2
            var x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo)
            var f1 = g(x1), f2 = g(x2)
            while hi - lo > 1e-12 {
                if f1 >= f2 {
                    hi = x2; x2 = x1; f2 = f1
                    x1 = hi - r * (hi - lo); f1 = g(x1)
                } else {
                    lo = x1; x1 = x2; f1 = f2
                    x2 = lo + r * (hi - lo); f2 = g(x2)
                }
            }
            if max(f1, f2) > best { best = max(f1, f2); bestAngle = f1 >= f2 ? x1 : x2 }
        }
        // The maximiser's sector of the circle (eighths) as the piece label: a jump between
        // peaks changes it, so the line and plane scans place the kinks and the points where
        // kink curves meet as break points.
        let sector = Int((bestAngle / (2 * Double.pi) * 8).rounded(.down))
        return (best, ((sector % 8) + 8) % 8)
    }
}


/// Which implementation of an exact quantity to use.
public enum ExactMethod: String, Sendable, Codable, CaseIterable {
    /// Closed forms and reductions that fit the integrand (the default).
    case fast
    /// The general adaptive path, kept as the reference the fast one is tested against.
    case reference
}

/// The K - 1 robust margins of one class under the symmetric family on complement(K):
/// m_k = A + I_k - p with one shared part A ~ N(mA, sA^2) (the class's own exclusive feature,
/// and its absent cross feature) and i.i.d. parts I_k ~ N(mI, sI^2), p = eps ||w_y - w_k||_*
/// the same for every k. Hence min_k m_k = A + mI - sI Z_(n) - p with Z_(n) the maximum of
/// n = K - 1 i.i.d. N(0, 1), independent of A: margin losses are one-dimensional integrals.
/// Any class whose clean margins have that law (`init(law:penalties:)`) is served the same way.
struct ExchangeableMargins: Hashable {
    let n: Int
    let mA: Double, sA: Double, mI: Double, sI: Double, penalty: Double

    /// The margins of a class whose clean margin law is exchangeable: equal means, equal
    /// variances, equal non-negative covariances (then d_k = A + I_k with A the shared part),
    /// and equal penalties, each to 1e-12 relative (pairwise(K) under the symmetric family:
    /// every two classes other than y share one absent pair feature, so the covariances are
    /// equal even with tau > 0). nil otherwise, or with fewer than 2 margins.
    init?(law: GaussianVector, penalties: [Double]) {
        let m = law.dimension
        guard m >= 2, penalties.count == m else { return nil }
        let variance = law.cov(0, 0), covariance = law.cov(0, 1)
        let meanTolerance = 1e-12 * (abs(law.mean[0]) + variance.squareRoot() + 1e-300)
        let covarianceTolerance = 1e-12 * abs(variance)
        let penaltyTolerance = 1e-12 * abs(penalties[0])
        for i in 0..<m {
            guard abs(law.mean[i] - law.mean[0]) <= meanTolerance, abs(penalties[i] - penalties[0]) <= penaltyTolerance,
                  abs(law.cov(i, i) - variance) <= covarianceTolerance else { return nil }
            for j in 0..<m where j != i {
                guard abs(law.cov(i, j) - covariance) <= covarianceTolerance else { return nil }
            }
        }
        guard covariance >= -covarianceTolerance, variance.isFinite else { return nil }
        let shared = min(max(covariance, 0), variance)
        n = m
        mA = law.mean[0]
        sA = shared.squareRoot()
        mI = 0
        sI = (variance - shared).squareRoot()
        penalty = penalties[0]
    }

    /// Whether one point of the l_inf ball lowers every margin by its whole penalty at once:
    /// every feature's differences w_y - w_k that are not 0 have one sign (then the adversary of
    /// a loss decreasing in every margin takes that point, as on complement(K)).
    static func sharesWorstVertex(_ differences: [[Double]]) -> Bool {
        guard let first = differences.first else { return false }
        return (0..<first.count).allSatisfy { f in
            let signs = Set(differences.compactMap { $0[f] == 0 ? nil : $0[f] > 0 })
            return signs.count <= 1
        }
    }

    init(structure c: ComplementStructure, w1: Double, w2: Double, threat: ThreatModel) {
        n = c.classes - 1
        mA = w1 * c.muE
        sA = (w1 * w1 * c.sigmaE * c.sigmaE + w2 * w2 * c.tau * c.tau).squareRoot()
        mI = w2 * c.muC
        sI = (w2 * w2 * c.sigmaC * c.sigmaC + w1 * w1 * c.tau * c.tau).squareRoot()
        penalty = threat.eps * c.dualNorm(w1: w1, w2: w2, norm: threat.norm)
    }

    /// E[(c - A)_+] for A ~ N(mA, sA^2).
    @inline(__always)
    func positivePart(_ c: Double) -> Double {
        if sA == 0 { return max(0, c - mA) }
        let t = (c - mA) / sA
        return (c - mA) * Normal.cdf(t) + sA * Normal.pdf(t)
    }

    func objective(_ objective: Objective, tolerance: Double) throws -> Estimate {
        switch objective {
        case .worstMargin:
            // -E[min_k m_k] = -(mA + mI - sI E[Z_(n)] - p).
            let m = try OrderStatistics.expectedMaximum(of: n)
            let value = -(mA + mI - sI * m.value - penalty)
            return Estimate(value: value, errorBound: sI * m.absoluteError + 1e-16 * abs(value), converged: m.converged, method: .closedFormOrderStatistic)
        case .hinge(let kappa):
            // E[(kappa - min m)_+] = E_U[ E_A[(kappa + p - mI - U - A)_+] ] with U = -sI Z_(n)
            // the centred minimum of the I_k; the inner expectation is closed form.
            let shift = kappa + penalty - mI
            if sI == 0 {
                return Estimate(value: positivePart(shift), errorBound: 1e-16, converged: true, method: .closedForm)
            }
            // Kink of the inner function (only when sA = 0): shift - sI z = mA.
            let kink = sA == 0 ? [(shift - mA) / sI] : []
            let q = try OrderStatistics.expectationOfMinimum(n, breakPoints: kink, tolerance: tolerance) { z in
                // z is the standardised minimum of the I_k: U = sI z.
                positivePart(shift - sI * z)
            }
            let growth = abs(shift) + sA + sI * OrderStatistics.cut + 1
            return Estimate(
                value: q.value, errorBound: q.absoluteError + 2 * Double(n) * Normal.upperTail(OrderStatistics.cut) * growth,
                converged: q.converged, method: .quadrature1DOrderStatistic)
        default:
            preconditionFailure("exchangeable margins serve the margin losses (zero-one goes through robust accuracy)")
        }
    }
}

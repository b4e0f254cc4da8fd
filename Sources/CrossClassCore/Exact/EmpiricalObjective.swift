import Foundation

/// The exact empirical robust objective of a linear classifier W (K x d, no bias) on a finite
/// labelled sample (THEORY.md section 8, "Squeezing the loss"):
///
///     R_n(W) = (1/n) sum_i max_{||delta||_p <= eps} loss(W (x_i + delta), y_i).
///
/// Exactness: the inner maximum is exact per sample. For `ce` (l_inf only) it is the maximum
/// over the vertices of the zonotope {W delta} computed by `PerturbationSet` / `InnerMaximum`
/// (the loss is convex in the logits, so a vertex of the box attains it). For the margin losses
/// (`worst-margin`, `hinge`) each robust margin is closed-form through the dual norm, for l_inf
/// and l_2. There is no quadrature: the value is a finite sum, exact to rounding.
///
/// Gradient (Danskin): the gradient of the loss at the maximising perturbation, with W's
/// dependence through delta* ignored. This is the gradient wherever the maximiser is unique,
/// which holds for almost every W; where it is not (e.g. a column of W that is constant across
/// classes, so the adversary is indifferent on that coordinate) the returned vector is still a
/// subgradient, because every loss here makes R_n convex in W (a maximum of convex functions).
public struct EmpiricalRobustObjective: Sendable {
    public let model: DataModel
    public let sample: LabelledSample
    public let threat: ThreatModel
    public let objective: Objective

    public init(model: DataModel, sample: LabelledSample, threat: ThreatModel, objective: Objective) throws {
        switch objective {
        case .ce:
            guard threat.norm == .linf else {
                throw InputError("the exact empirical ce objective supports --norm linf only; l2 is not implemented (use worst-margin or hinge for l2)")
            }
        case .worstMargin, .hinge: break
        default:
            throw InputError("objective '\(objective)' is not supported by the empirical robust objective: use ce, worst-margin or hinge")
        }
        guard sample.count > 0 else { throw InputError("the training sample is empty: it needs at least one point") }
        guard sample.inputs.columns == model.dimension, sample.inputs.rows == sample.count else {
            throw InputError("sample has \(sample.inputs.rows) x \(sample.inputs.columns) inputs; model '\(model.name)' needs \(sample.count) x \(model.dimension)")
        }
        if let bad = sample.labels.first(where: { $0 < 0 || $0 >= model.classCount }) {
            throw InputError("sample label \(bad) is not allowed: labels must lie in 0..<\(model.classCount)")
        }
        self.model = model
        self.sample = sample
        self.threat = threat
        self.objective = objective
    }

    public struct Evaluation: Sendable, Equatable {
        /// R_n(W).
        public var value: Double
        /// dR_n/dW (K x d): the Danskin gradient (a subgradient at ties).
        public var gradient: Matrix
        /// Per-sample inner maxima (their mean is `value`).
        public var sampleLosses: [Double]
    }

    /// R_n(W), its gradient and the per-sample losses.
    public func evaluate(_ weights: Matrix) throws -> Evaluation {
        var ignored: [ActivePiece]? = nil
        return try evaluate(weights, pieces: &ignored)
    }

    /// The maximising piece of one sample's inner maximum (ce): the input point x + delta* at the
    /// maximising box vertex and the softmax probabilities there. Its loss is a smooth convex
    /// function of W that equals the sample's inner maximum at these W (the certificate and the
    /// Newton polish of the fixed-scale optimum are built from these pieces).
    struct ActivePiece: Sendable {
        var input: [Double]
        var probabilities: [Double]
    }

    /// `evaluate`, also recording the active pieces (ce only) when `pieces` is non-nil.
    func evaluate(_ weights: Matrix, pieces: inout [ActivePiece]?) throws -> Evaluation {
        let k = model.classCount, d = model.dimension
        guard weights.rows == k, weights.columns == d else {
            throw InputError("weights have shape \(weights.rows) x \(weights.columns); the empirical objective needs \(k) x \(d)")
        }
        guard weights.storage.allSatisfy(\.isFinite) else {
            throw InputError("weights contain a non-finite entry: entries must be finite")
        }
        var gradient = Matrix(rows: k, columns: d)
        var losses = [Double](repeating: 0, count: sample.count)
        if pieces != nil { pieces = [ActivePiece](repeating: ActivePiece(input: [], probabilities: []), count: sample.count) }
        // Per-class set-up (differences, perturbation set) depends only on W and y.
        for y in 0..<k {
            let members = sample.labels.indices.filter { sample.labels[$0] == y }
            guard !members.isEmpty else { continue }
            let others = (0..<k).filter { $0 != y }
            let differences = others.map { o in (0..<d).map { weights[y, $0] - weights[o, $0] } }
            switch objective {
            case .ce:
                try ceContribution(y: y, others: others, differences: differences, members: members,
                                   weights: weights, gradient: &gradient, losses: &losses, pieces: &pieces)
            default:
                marginContribution(y: y, others: others, differences: differences, members: members,
                                   gradient: &gradient, losses: &losses)
            }
        }
        let n = Double(sample.count)
        let value = losses.reduce(0, +) / n
        gradient.storage = gradient.storage.map { $0 / n }
        guard value.isFinite, gradient.storage.allSatisfy(\.isFinite) else {
            throw NumericalError("the empirical robust objective is not finite (value \(value)) at these weights")
        }
        return Evaluation(value: value, gradient: gradient, sampleLosses: losses)
    }

    /// ce: exact inner maximum over the zonotope vertices; the input-space maximiser is
    /// recovered from the loss gradient h at the maximising vertex Delta*. A convex loss
    /// maximised at Delta* satisfies h . (u - Delta*) <= 0 on the whole set (convexity plus
    /// maximality), so Delta* maximises the linear functional h . Delta, which the box vertex
    /// delta_j = eps sign((D^T h)_j) attains. The recovery is checked (D delta* = Delta*).
    private func ceContribution(
        y: Int, others: [Int], differences: [[Double]], members: [Int], weights: Matrix,
        gradient: inout Matrix, losses: inout [Double], pieces: inout [ActivePiece]?
    ) throws {
        let k = model.classCount, d = model.dimension, m = k - 1
        let eps = threat.eps
        let set = try PerturbationSet(differences: differences, threat: threat)
        let inner = InnerMaximum(set: set, objective: .ce, classes: k)
        // The candidates InnerMaximum indexes its pieces by (see InnerMaximum.withLoss).
        let candidates = set.lowestVertex ?? set.vertices
        let scale = differences.flatMap { $0 }.maxMagnitude
        var clean = [Double](repeating: 0, count: m)
        var delta = [Double](repeating: 0, count: d)
        var logits = [Double](repeating: 0, count: k)
        try inner.withLoss { loss, _ in
            for i in members {
                let x = sample.inputs.row(i)
                for c in 0..<m {
                    var s = 0.0
                    for (j, xv) in zip(0..<d, x) { s += differences[c][j] * xv }
                    clean[c] = s
                }
                var piece = 0
                let value = clean.withUnsafeBufferPointer { loss($0.baseAddress!, &piece) }
                let vertex = m == 0 ? [] : Array(candidates[(piece * m)..<(piece * m + m)])
                // h_c = d ce / d Delta_c = -p_{others[c]} at the maximiser.
                let shifted = (0..<m).map { clean[$0] + vertex[$0] }
                let top = max(0, shifted.map { -$0 }.max() ?? 0)
                let z = exp(-top) + shifted.reduce(0) { $0 + exp(-$1 - top) }
                let p = shifted.map { exp(-$0 - top) / z }
                for j in 0..<d {
                    var s = 0.0
                    for c in 0..<m { s -= p[c] * differences[c][j] }
                    delta[j] = s > 0 ? eps : (s < 0 ? -eps : 0)
                }
                // The loss at the recovered box vertex is both the reported value and the point
                // of the gradient, so (value, gradient) is always an exact linear minorant of R_n
                // (the optimiser's certificate relies on it). It must equal the zonotope maximum:
                // exactly in general position; within 1e-6 relative where PerturbationSet merged
                // nearly parallel generators (its parallelism tolerance).
                for j in 0..<d { delta[j] += x[x.startIndex + j] }
                for kk in 0..<k {
                    var s = 0.0
                    for j in 0..<d { s += weights[kk, j] * delta[j] }
                    logits[kk] = s
                }
                let big = logits.max() ?? 0
                let atVertex = big + log(logits.reduce(0) { $0 + exp($1 - big) }) - logits[y]
                guard abs(atVertex - value) <= 1e-6 * (1 + abs(value) + eps * scale * Double(d)) else {
                    throw NumericalError("empirical ce: the maximising perturbation of sample \(i + 1) is not unique (tie between box vertices); the gradient is undefined there")
                }
                losses[i] = atVertex
                let zz = logits.reduce(0) { $0 + exp($1 - big) }
                if pieces != nil {
                    pieces![i] = ActivePiece(input: delta, probabilities: logits.map { exp($0 - big) / zz })
                }
                for kk in 0..<k {
                    let g = exp(logits[kk] - big) / zz - (kk == y ? 1 : 0)
                    for j in 0..<d { gradient[kk, j] += g * delta[j] }
                }
            }
        }
    }

    /// worst-margin / hinge: robust margins m_c = d_c - eps ||w_y - w_c||_*, closed form.
    private func marginContribution(
        y: Int, others: [Int], differences: [[Double]], members: [Int],
        gradient: inout Matrix, losses: inout [Double]
    ) {
        let d = model.dimension
        let eps = threat.eps
        let norms = differences.map { threat.norm.dual($0) }
        // d(eps ||u||_*)/du: eps sign(u) for l_inf, eps u / ||u|| for l_2 (0 at u = 0).
        let penaltyGradient: [[Double]] = differences.indices.map { c in
            differences[c].map { u in
                switch threat.norm {
                case .linf: return u > 0 ? eps : (u < 0 ? -eps : 0)
                case .l2: return norms[c] > 0 ? eps * u / norms[c] : 0
                }
            }
        }
        for i in members {
            let x = sample.inputs.row(i)
            var low = Double.infinity, worst = 0
            for c in differences.indices {
                var s = 0.0
                for (j, xv) in zip(0..<d, x) { s += differences[c][j] * xv }
                let margin = s - eps * norms[c]
                if margin < low { low = margin; worst = c }
            }
            let weight: Double
            switch objective {
            case .hinge(let kappa):
                losses[i] = max(0, kappa - low)
                weight = low < kappa ? 1 : 0
            default:
                losses[i] = -low
                weight = 1
            }
            guard weight != 0 else { continue }
            // loss = -m_worst: d/dw_y = -(x - g), d/dw_o = +(x - g).
            let o = others[worst]
            for (j, xv) in zip(0..<d, x) {
                let v = xv - penaltyGradient[worst][j]
                gradient[y, j] -= v
                gradient[o, j] += v
            }
        }
    }
}

// MARK: - Fixed-scale optimum and the empirical regularisation path

extension EmpiricalRobustObjective {
    /// The minimiser of R_n over centred W (rows summing to zero: every loss here ignores a
    /// vector added to all rows) with ||W||_F <= s.
    ///
    /// R_n is convex in W, so this is a convex problem and any point comes with a certified
    /// bound on its suboptimality: every evaluated point W_j with subgradient G_j gives the
    /// global minorant R_n(U) >= R_n(W_j) + <G_j, U - W_j>; a convex combination of them
    /// (weights lambda from the bundle subproblem), minimised over the ball, bounds min R_n from
    /// below by sum_j lambda_j (R_n(W_j) - <G_j, W_j>) - s ||sum_j lambda_j G_j||_F. Aggregating
    /// cuts certifies kinked optima (e.g. a cross-class or noise column exactly zero), where a
    /// single subgradient does not shrink. `converged` means that bound is at most `tolerance`.
    ///
    /// worst-margin / hinge: the problem is a second-order cone program, solved first by the
    /// interior point of EmpiricalMarginSolver.swift with its own certificate (a lower bound
    /// valid for any multipliers); the bundle continues from its point only if that does not
    /// close the gap.
    ///
    /// When the constraint is active (`onBoundary`) this is also the minimiser on the sphere
    /// ||W||_F = s; when it is not, R_n has an unconstrained minimiser of norm < s, and the
    /// path is flat from there on (the regularisation path in the Ivanov, ball-constrained sense).
    public struct FixedScaleOptimum: Sendable {
        public var scale: Double
        public var weights: Matrix
        public var value: Double
        /// Certified bound on value - min over the ball.
        public var suboptimalityBound: Double
        public var converged: Bool
        public var iterations: Int
        /// ||W||_F reached s (within 1e-6 relative).
        public var onBoundary: Bool
        /// The symmetric-family projection of the optimum (LinearClassifier.projectSymmetric).
        public var w1: Double
        public var w2: Double
        public var ratio: Double { w1 != 0 ? w2 / w1 : .nan }
        /// worst-margin / hinge: the multipliers of the interior point's certificate
        /// (`marginLowerBound(scale:multipliers:)` gives a bound at most value -
        /// suboptimalityBound from them); nil for ce or when the interior point gave none.
        public var marginMultipliers: MarginMultipliers? = nil
    }

    /// A proximal bundle method on the centred ball of radius s. Each step minimises the
    /// cutting-plane model max_j l_j(U) plus ||U - centre||^2 / (2t) over the ball, through its
    /// dual over the simplex of bundle weights (U(lambda) = P(centre - t G lambda) in closed
    /// form); the point is evaluated and becomes the centre if it achieves a tenth of the
    /// predicted decrease. Plain gradient steps stall at the kinks of R_n (where the interesting
    /// optima sit, with columns exactly zero); the bundle model captures the kink.
    /// - Parameters:
    ///   - start: initial weights (centred and projected); default: the centred class means.
    ///   - tolerance: required certified suboptimality.
    ///   - maxIterations: budget of evaluations; running out of it is reported as
    ///     `converged = false`.
    public func fixedScaleOptimum(
        scale s: Double, start: Matrix? = nil, tolerance: Double = 1e-6, maxIterations: Int = 2_000
    ) throws -> FixedScaleOptimum {
        guard s.isFinite, s > 0 else { throw InputError("scale s = \(s) is not allowed: it must be a finite number > 0") }
        guard tolerance.isFinite, tolerance > 0 else { throw InputError("tolerance = \(tolerance) is not allowed: it must be > 0") }
        let k = model.classCount, d = model.dimension
        let size = k * d
        var centre = Self.projectOntoCentredBall(start ?? classMeans(), radius: s)
        if centre.frobeniusNormSquared == 0 {
            // A zero start (e.g. identical class means) is a tie for every sample: nudge it.
            for j in 0..<d { centre[j % k, j] = 1; centre[(j + 1) % k, j] = -1 }
            centre = Self.projectOntoCentredBall(centre, radius: s)
        }
        var current = try evaluate(centre)
        // Bundle of linearisations l_j(U) = offsets[j] + <cuts[j], U>, all global minorants.
        var offsets: [Double] = [], cuts: [[Double]] = []
        func add(_ w: Matrix, _ e: Evaluation) {
            var dot = 0.0
            for (a, b) in zip(w.storage, e.gradient.storage) { dot += a * b }
            offsets.append(e.value - dot)
            cuts.append(e.gradient.storage)
        }
        add(centre, current)
        var lambda = [1.0]
        var lowerBound = -Double.infinity
        let gradientNorm = current.gradient.frobeniusNormSquared.squareRoot()
        var t = gradientNorm > 0 ? s / gradientNorm : 1
        var iterations = 0
        let maxBundle = 40
        // ce: after a short bundle phase (which identifies the columns that are exactly zero at
        // the optimum) an interior point on the epigraph of the pieces, a Newton polish and the
        // piece certificates (EmpiricalCertificate.swift) finish the job; their Newton steps
        // count against the same budget.
        let polishes = objective == .ce
        func finish() throws {
            guard polishes, iterations < maxIterations else { return }
            let columnNorms = (0..<d).map { j in (0..<k).reduce(0.0) { $0 + centre[$1, j] * centre[$1, j] }.squareRoot() }
            let norm = centre.frobeniusNormSquared.squareRoot()
            var tried: [Set<Int>] = []
            // An interior-point result: its steps count against the budget, and it (and, when
            // the optimum is on the sphere, its projection there: the barrier keeps the point
            // strictly inside) replaces the centre if it is lower.
            func adopt(_ weights: Matrix, steps: Int) {
                iterations += max(steps, 1)
                var points = [weights]
                let weightsNorm = weights.frobeniusNormSquared.squareRoot()
                if norm >= s * (1 - 1e-6), weightsNorm > 0 { points.append(weights.scaled(by: s / weightsNorm)) }
                for point in points {
                    guard let e = try? evaluate(point) else { continue }
                    if e.value < current.value {
                        centre = point
                        current = e
                        add(centre, current)
                        lambda.append(0)
                    }
                }
            }
            for threshold in [1e-3, 1e-2, 1e-5] {
                let zero = Set((0..<d).filter { columnNorms[$0] <= threshold * s })
                guard !tried.contains(zero), iterations < maxIterations else { continue }
                tried.append(zero)
                var start = centre
                for j in zero { for r in 0..<k { start[r, j] = 0 } }
                let startNorm = start.frobeniusNormSquared.squareRoot()
                if norm >= s * (1 - 1e-6), startNorm > 0 { start = start.scaled(by: s / startNorm) }
                // The epigraph interior point: any number of tied pieces per sample, its
                // multipliers the weights of the certificate (EmpiricalCertificate.swift).
                if let barrier = try? barrierPolish(
                    from: start, zeroColumns: zero, scale: s, tolerance: tolerance, maxSteps: maxIterations - iterations) {
                    adopt(barrier.weights, steps: barrier.steps)
                    let certificate = multiplierCertificate(at: barrier.weights, scale: s, pieces: barrier.pieces)
                    lowerBound = max(lowerBound, certificate.bound)
                    if current.value - lowerBound <= tolerance { return }
                    // The test of the zero-column guess: on a column the optimum keeps at zero
                    // some signs cancel the subgradient there. The columns whose residual
                    // accounts for the open gap (s ||g_j|| above a tenth of the tolerance) are
                    // released, started along -g_j, and the interior point is run again.
                    let g = certificate.subgradient
                    let residuals = zero.map { j in (j, (0..<k).reduce(0.0) { $0 + g[$1, j] * g[$1, j] }.squareRoot()) }
                    let released = Set(residuals.filter { s * $0.1 > 0.1 * tolerance }.map(\.0))
                    let reduced = zero.subtracting(released)
                    if !released.isEmpty, !tried.contains(reduced), iterations < maxIterations {
                        tried.append(reduced)
                        var restart = barrier.weights
                        var releasedNorm = 0.0
                        for j in released { for r in 0..<k { releasedNorm += g[r, j] * g[r, j] } }
                        releasedNorm = releasedNorm.squareRoot()
                        // A step of 1e-3 s along -g on the released columns (the others unchanged).
                        for j in released { for r in 0..<k { restart[r, j] = -1e-3 * s * g[r, j] / releasedNorm } }
                        let restartNorm = restart.frobeniusNormSquared.squareRoot()
                        if restartNorm > s { restart = restart.scaled(by: s / restartNorm) }
                        if let second = try? barrierPolish(
                            from: restart, zeroColumns: reduced, scale: s, tolerance: tolerance, maxSteps: maxIterations - iterations) {
                            adopt(second.weights, steps: second.steps)
                            lowerBound = max(lowerBound, multiplierLowerBound(at: second.weights, scale: s, pieces: second.pieces))
                            if current.value - lowerBound <= tolerance { return }
                        }
                    }
                }
                // A polish that meets a tie between box vertices (NumericalError from evaluate)
                // is skipped: the bundle's own certificate stands.
                guard let polished = try? newtonPolish(from: start, zeroColumns: zero, scale: s, maxSteps: min(60, maxIterations - iterations)) else {
                    iterations += 1
                    continue
                }
                iterations += max(polished.steps, 1)
                if let bound = try? pieceLowerBound(at: polished.weights, scale: s, target: tolerance) { lowerBound = max(lowerBound, bound) }
                if polished.value < current.value {
                    centre = polished.weights
                    current = try evaluate(centre)
                    add(centre, current)
                    lambda.append(0)
                }
                if current.value - lowerBound <= tolerance { return }
                // Optima on a tie between two vertices of some sample: Newton on the KKT system.
                for window in [1e-3, 1e-4, 1e-2] where iterations < maxIterations {
                    guard let kkt = try? kktPolish(from: start, zeroColumns: zero, scale: s, onSphere: norm >= s * (1 - 1e-6),
                                                   tieWindow: window, maxSteps: min(30, maxIterations - iterations)) else {
                        iterations += 1
                        continue
                    }
                    iterations += kkt.steps
                    guard let e = try? evaluate(kkt.weights) else { continue }
                    if let bound = try? pieceLowerBound(at: kkt.weights, scale: s, target: tolerance, ties: kkt.ties) {
                        lowerBound = max(lowerBound, bound)
                    }
                    if e.value < current.value {
                        centre = kkt.weights
                        current = e
                        add(centre, current)
                        lambda.append(0)
                    }
                    if current.value - lowerBound <= tolerance { return }
                }
            }
        }
        // worst-margin / hinge: the interior point on their second-order cone formulation and
        // its multiplier certificate (EmpiricalMarginSolver.swift) give the optimum; the bundle
        // below is the fallback (it continues from that point, with at least a quarter of the
        // budget) when the certificate does not close.
        var marginMultipliers: MarginMultipliers? = nil
        if marginKappa != nil {
            if let solution = try? marginInteriorPoint(
                from: centre, scale: s, tolerance: tolerance, maxSteps: max(1, maxIterations - maxIterations / 4)) {
                iterations += max(solution.steps, 1)
                lowerBound = max(lowerBound, solution.bound)
                marginMultipliers = solution.multipliers
                if solution.value < current.value {
                    centre = solution.weights
                    current = try evaluate(centre)
                    add(centre, current)
                    lambda.append(0)
                }
            } else {
                iterations += 1
            }
        }
        var polishAt = [40, 200]
        while current.value - lowerBound > tolerance && iterations < maxIterations {
            if polishes, let next = polishAt.first, iterations >= next {
                polishAt.removeFirst()
                try finish()
                if current.value - lowerBound <= tolerance || iterations >= maxIterations { break }
            }
            iterations += 1
            // Dual of the prox subproblem: maximise q(lambda) on the simplex by accelerated
            // projected gradient ascent, dq/dlambda_j = l_j(U(lambda)), computed in lambda-space
            // through the Gram matrix of the cuts (U is centre - t G lambda scaled into the ball).
            let count = offsets.count
            var gram = [Double](repeating: 0, count: count * count)
            for j in 0..<count {
                for l in 0...j {
                    let v = zip(cuts[j], cuts[l]).reduce(0) { $0 + $1.0 * $1.1 }
                    gram[j * count + l] = v; gram[l * count + j] = v
                }
            }
            let toCentre = cuts.map { zip($0, centre.storage).reduce(0) { $0 + $1.0 * $1.1 } }
            let centreNorm2 = centre.frobeniusNormSquared
            // Largest eigenvalue of the Gram matrix by power iteration (a Lipschitz bound).
            var vector = [Double](repeating: 1 / Double(count).squareRoot(), count: count)
            var top = 0.0
            for _ in 0..<50 {
                var next = [Double](repeating: 0, count: count)
                for j in 0..<count { for l in 0..<count { next[j] += gram[j * count + l] * vector[l] } }
                let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 0 else { break }
                top = norm
                vector = next.map { $0 / norm }
            }
            let stepSize = 1 / max(1.05 * t * top, 1e-300)
            func dualGradient(_ lambda: [Double]) -> [Double] {
                var q = [Double](repeating: 0, count: count)
                for j in 0..<count { for l in 0..<count where lambda[l] != 0 { q[j] += gram[j * count + l] * lambda[l] } }
                var b = 0.0, quad = 0.0
                for j in 0..<count { b += toCentre[j] * lambda[j]; quad += q[j] * lambda[j] }
                let norm = max(centreNorm2 - 2 * t * b + t * t * quad, 0).squareRoot()
                let alpha = norm > s ? s / norm : 1
                return (0..<count).map { offsets[$0] + alpha * (toCentre[$0] - t * q[$0]) }
            }
            var previous = lambda
            for iteration in 0..<500 {
                let momentum = Double(iteration) / Double(iteration + 3)
                let y = (0..<count).map { lambda[$0] + momentum * (lambda[$0] - previous[$0]) }
                let g = dualGradient(y)
                let next = Self.projectOntoSimplex((0..<count).map { y[$0] + stepSize * g[$0] })
                let change = zip(next, lambda).reduce(0) { max($0, abs($1.0 - $1.1)) }
                previous = lambda
                lambda = next
                if change < 1e-13 { break }
            }
            func point(_ lambda: [Double]) -> (u: Matrix, aggregate: [Double]) {
                var aggregate = [Double](repeating: 0, count: size)
                for j in 0..<count where lambda[j] != 0 { for q in 0..<size { aggregate[q] += lambda[j] * cuts[j][q] } }
                var u = centre
                for q in 0..<size { u.storage[q] -= t * aggregate[q] }
                return (Self.projectOntoCentredBall(u, radius: s), aggregate)
            }
            let (candidate, aggregate) = point(lambda)
            // Certificate from the aggregate minorant minimised over the ball.
            var aggregateOffset = 0.0
            for j in 0..<count { aggregateOffset += lambda[j] * offsets[j] }
            let aggregateNorm = aggregate.reduce(0) { $0 + $1 * $1 }.squareRoot()
            lowerBound = max(lowerBound, aggregateOffset - s * aggregateNorm)
            if current.value - lowerBound <= tolerance { break }
            var model = -Double.infinity
            for j in 0..<count { model = max(model, offsets[j] + zip(cuts[j], candidate.storage).reduce(0) { $0 + $1.0 * $1.1 }) }
            let predicted = current.value - model
            let trial = try evaluate(candidate)
            // Keep the active cuts, the aggregate cut and the new one.
            var keptOffsets: [Double] = [aggregateOffset], keptCuts: [[Double]] = [aggregate], keptLambda: [Double] = [0]
            let active = (0..<count).filter { lambda[$0] > 1e-12 }.sorted { lambda[$0] > lambda[$1] }.prefix(maxBundle - 2)
            for j in active { keptOffsets.append(offsets[j]); keptCuts.append(cuts[j]); keptLambda.append(lambda[j]) }
            offsets = keptOffsets; cuts = keptCuts
            add(candidate, trial)
            keptLambda.append(0)
            let total = keptLambda.reduce(0, +)
            lambda = total > 0 ? keptLambda.map { $0 / total } : keptLambda.indices.map { $0 == 0 ? 1 : 0 }
            if predicted > 0 && current.value - trial.value >= 0.1 * predicted {
                centre = candidate
                current = trial
                t = min(t * 1.5, 1e6 * max(t, 1))
            } else {
                t = max(t * 0.7, 1e-12)
            }
        }
        if current.value - lowerBound > tolerance { try finish() }
        let gap = current.value - lowerBound
        guard current.value.isFinite else {
            throw NumericalError("the empirical fixed-scale optimum at s = \(s) produced a non-finite value")
        }
        let normW = centre.frobeniusNormSquared.squareRoot()
        let projection = LinearClassifier(weights: centre).projectSymmetric(model: model)
        return FixedScaleOptimum(
            scale: s, weights: centre, value: current.value, suboptimalityBound: gap.isFinite ? max(gap, 0) : .infinity,
            converged: gap.isFinite && gap <= tolerance, iterations: iterations,
            onBoundary: normW >= s * (1 - 1e-6), w1: projection.w1, w2: projection.w2, marginMultipliers: marginMultipliers)
    }

    /// Euclidean projection onto the probability simplex (sort-based).
    static func projectOntoSimplex(_ v: [Double]) -> [Double] {
        let sorted = v.sorted(by: >)
        var cumulative = 0.0, theta = 0.0
        for (i, value) in sorted.enumerated() {
            cumulative += value
            let candidate = (cumulative - 1) / Double(i + 1)
            if value - candidate > 0 { theta = candidate }
        }
        return v.map { max($0 - theta, 0) }
    }

    /// The empirical regularisation path: the fixed-scale optimum at each scale (in the given
    /// order), each warm-started from the previous optimum (rescaled when it was on its sphere).
    public func path(scales: [Double], tolerance: Double = 1e-6, maxIterations: Int = 2_000) throws -> [FixedScaleOptimum] {
        var out: [FixedScaleOptimum] = []
        var start: Matrix? = nil
        for s in scales {
            let point = try fixedScaleOptimum(scale: s, start: start, tolerance: tolerance, maxIterations: maxIterations)
            out.append(point)
            // An interior optimum is also optimal on every larger ball: start there.
            let norm = point.weights.frobeniusNormSquared.squareRoot()
            start = !point.onBoundary ? point.weights : (norm > 0 ? point.weights.scaled(by: s / norm) : nil)
        }
        return out
    }

    /// Centred class means (a data-driven starting direction).
    func classMeans() -> Matrix {
        let k = model.classCount, d = model.dimension
        var w = Matrix(rows: k, columns: d)
        var counts = [Double](repeating: 0, count: k)
        for i in 0..<sample.count {
            let y = sample.labels[i]
            counts[y] += 1
            for (j, xv) in zip(0..<d, sample.inputs.row(i)) { w[y, j] += xv }
        }
        for y in 0..<k where counts[y] > 0 { for j in 0..<d { w[y, j] /= counts[y] } }
        return w
    }

    /// Removes the common row (column means) and scales into the ball of radius s.
    public static func projectOntoCentredBall(_ w: Matrix, radius s: Double) -> Matrix {
        var out = w
        let k = w.rows
        for j in 0..<w.columns {
            var mean = 0.0
            for r in 0..<k { mean += w[r, j] }
            mean /= Double(k)
            for r in 0..<k { out[r, j] -= mean }
        }
        let norm = out.frobeniusNormSquared.squareRoot()
        return norm > s ? out.scaled(by: s / norm) : out
    }
}

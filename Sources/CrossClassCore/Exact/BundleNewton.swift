import Foundation
import GSL

/// A proximal bundle method with a Newton metric, for a convex F with kinks where they are not
/// known in advance (after Lukšan and Vlček's bundle-Newton; one metric at a time, the piece
/// Hessian refreshed as the centre moves).
///
/// Newton stalls where several kinks of R meet (a full W under l_inf whose optimum ties the
/// adversary's vertices of a featureless class, a tie of a column, a class whose margins
/// coincide): the gradient jumps there, and a quadratic model of one side overshoots the
/// other. The bundle keeps the points evaluated, (y_i, F_i, g_i), and models F about the centre
/// x by the cutting planes with a quadratic term:
///
///     phi(d) = max_i [F(x) - e_i + g_i . d] + d'Hd / 2,  e_i = F(x) - F_i - g_i . (x - y_i) >= 0,
///
/// the e_i the linearisation errors (>= 0 for a convex F). Its minimum is at d = -H^-1 g_lambda,
/// g_lambda = sum lambda_i g_i with lambda the minimiser over the simplex of
/// g_lambda' H^-1 g_lambda / 2 + sum lambda_i e_i, and that minimum, the decrement delta, is
/// F(x) - min phi: the Newton decrement where there is one plane (F - F* of the quadratic
/// model), and of the model with the kink in it where the planes of both sides of a kink are in
/// the bundle (their one-sided gradients at x itself: the linearised max is then exact, and the
/// step is the sequential quadratic programming step along the kink). A step that realises a
/// tenth of delta moves the centre (serious); otherwise its plane joins the bundle (null).
/// delta depends on the metric (a stiff H hides a gradient left in its stiff directions), so it
/// stops (converged) only when the gap, a bound on F(x) - F* from strong convexity that uses
/// only H's smallest eigenvalue, is within the tolerance as well.
public enum BundleNewton {
    public struct Result: Sendable {
        public var argument: [Double]
        public var value: Double
        /// The aggregate gradient of the certificate: a convex combination of the planes'
        /// gradients, an e-subgradient of F at the centre (e the aggregate linearisation error).
        public var aggregateGradient: [Double]
        /// delta: F(x) - min of the cutting-plane model with the quadratic term.
        public var decrement: Double
        /// The bound on F(x) - F* for an F strongly convex with modulus mu near x:
        /// (a + sqrt(a^2 + e))^2, a = |g| / sqrt(2 mu), from the e-subgradient g (`aggregateGradient`).
        public var gap: Double
        /// mu: the smallest eigenvalue of the piece Hessian at the last refresh.
        public var modulus: Double
        /// Evaluations of f for the steps, and for the Hessians.
        public var evaluations: Int
        public var hessianEvaluations: Int
        public var seriousSteps: Int
        /// The planes with lambda_i > 0 in the model's minimum: the pieces of F that meet at the point.
        public var activePlanes: Int
        /// Why it stopped.
        public var stop: Stop
        /// delta and the gap both within the tolerance.
        public var converged: Bool { stop == .converged }
    }

    public enum Stop: Sendable, Equatable {
        /// delta and the gap within the tolerance.
        case converged
        /// `maxEvaluations` spent.
        case budget
        /// F fell by less than a tenth of the tolerance over the last `progressWindow` evaluations.
        case noProgress
        /// A step below F's rounding.
        case rounding
        /// F or its gradient not finite at a step.
        case notFinite

        /// Why, in an optimum's notes.
        public var reason: String {
            switch self {
            case .converged: return "converged"
            case .budget: return "its budget"
            case .noProgress: return "R fell by less than a tenth of the tolerance over its last \(BundleNewton.progressWindow) steps"
            case .rounding: return "a step at F's rounding"
            case .notFinite: return "R or its gradient not finite at a step"
            }
        }
    }

    /// The evaluations over which F must fall by a tenth of the tolerance (`minimize`'s default).
    public static let progressWindow = 200

    /// Whether the bundle has stopped making progress: `centreValues[e]` F at the centre after e
    /// evaluations, fallen by less than `floor` over the last `window` of them. (Not its gap: on
    /// q1 of bench/ANALYSIS.md stop 74 the gap stayed near 5e-7 over the first 300 evaluations,
    /// its modulus refreshed with the metric, while F fell 4e-7, and then closed.)
    public static func stalled(centreValues: [Double], window: Int, floor: Double) -> Bool {
        let e = centreValues.count - 1
        return e >= window && !(centreValues[e - window] - centreValues[e] >= floor)
    }

    /// - Parameters:
    ///   - start, value, gradient: the centre to start from, F and a (one-sided) gradient there.
    ///   - tolerance: the decrement and the gap at which to stop.
    ///   - maxEvaluations: evaluations of f for steps (the Hessians' are counted apart).
    ///   - progressWindow: it stops sooner where F has fallen by less than a tenth of the
    ///     tolerance over this many evaluations. A bundle can close its gap only linearly, where
    ///     F's curvature is nearly singular beside a kink (ce under l_inf on q1 of
    ///     bench/ANALYSIS.md stop 74: 1040 evaluations of 5 ms to a gap of 1e-10, NOT converged
    ///     at the old budget of 200), so the budget is for progress, not a fixed count.
    ///   - step: the differencing step of the piece Hessians (`pieceHessian`).
    ///   - f: F and its gradient (one side's on a kink).
    public static func minimize(
        start: [Double], value: Double, gradient: [Double], tolerance: Double, maxEvaluations: Int = 2000, progressWindow: Int = BundleNewton.progressWindow, step h: Double,
        _ f: ([Double]) throws -> (value: Double, gradient: [Double])
    ) throws -> Result {
        let n = start.count
        precondition(gradient.count == n && n >= 1)
        var hessianEvaluations = 0
        /// The metric and its modulus at x: the piece Hessian, its eigenvalues' magnitudes.
        func metricAt(_ x: [Double]) throws -> (metric: [Double], smallest: Double) {
            hessianEvaluations += 3 * n
            return try positiveDefinite(pieceHessian(at: x, step: h) { try f($0).gradient }, n)
        }
        var (metric, modulus) = try metricAt(start)
        var metricPoint = start
        var bundle: [(point: [Double], value: Double, gradient: [Double])] = [(start, value, gradient)]
        var centre = (point: start, value: value)
        var evaluations = 0, serious = 0
        // F at the centre after each number of evaluations.
        var centreValues: [Double] = []
        // The metric's scale: H / tau. Doubled after a serious step that gains more than 1.5
        // times the model's decrease (H too stiff along the path), halved back towards 1 after a
        // null step.
        var tau = 1.0
        let maxBundle = 2 * n + 4
        func gram(_ vectors: [[Double]], _ scaled: [[Double]], _ factor: Double) -> [Double] {
            let m = vectors.count
            var q = [Double](repeating: 0, count: m * m)
            for i in 0..<m { for j in 0...i {
                let v = factor * vectors[i].dot(scaled[j])
                q[i * m + j] = v; q[j * m + i] = v
            } }
            return q
        }
        while true {
            let errors = bundle.map { max(0, centre.value - $0.value - $0.gradient.dot(zip(centre.point, $0.point).map { $0 - $1 })) }
            let gradients = bundle.map(\.gradient)
            // The model's minimum at this centre.
            let scaled = try gradients.map { g -> [Double] in
                guard let s = DampedNewton.solve(metric, g, n) else { throw GSLError(code: GSLError.singular, context: "bundle metric") }
                return s
            }
            let lambda = simplexQuadratic(gram(gradients, scaled, tau), errors)
            var step = [Double](repeating: 0, count: n), modelGradient = [Double](repeating: 0, count: n)
            var modelError = 0.0
            for i in bundle.indices where lambda[i] > 0 {
                for k in 0..<n { modelGradient[k] += lambda[i] * gradients[i][k]; step[k] -= tau * lambda[i] * scaled[i][k] }
                modelError += lambda[i] * errors[i]
            }
            let decrement = modelError + 0.5 * max(0, -modelGradient.dot(step))
            // The certificate: lambda minimising e + |g|^2 / (2 mu) (the gap's two terms, with
            // the identity metric the modulus bounds).
            let certificate = simplexQuadratic(gram(gradients, gradients, 1 / modulus), errors)
            var aggregate = [Double](repeating: 0, count: n), error = 0.0
            for i in bundle.indices where certificate[i] > 0 {
                for k in 0..<n { aggregate[k] += certificate[i] * gradients[i][k] }
                error += certificate[i] * errors[i]
            }
            let a = aggregate.dot(aggregate).squareRoot() / (2 * modulus).squareRoot()
            let gap = (a + (a * a + error).squareRoot()) * (a + (a * a + error).squareRoot())
            func result(_ stop: Stop) -> Result {
                Result(argument: centre.point, value: centre.value, aggregateGradient: aggregate, decrement: decrement, gap: gap,
                       modulus: modulus, evaluations: evaluations, hessianEvaluations: hessianEvaluations, seriousSteps: serious,
                       activePlanes: lambda.filter { $0 > 0 }.count, stop: stop)
            }
            if decrement <= tolerance && gap <= tolerance { return result(.converged) }
            centreValues.append(centre.value)
            if evaluations >= maxEvaluations { return result(.budget) }
            if stalled(centreValues: centreValues, window: progressWindow, floor: 0.1 * tolerance) { return result(.noProgress) }
            let y = zip(centre.point, step).map { $0 + $1 }
            // A step below F's rounding: evaluating it cannot improve the model.
            if zip(y, centre.point).allSatisfy({ $0 == $1 }) { return result(.rounding) }
            let r = try f(y)
            evaluations += 1
            guard r.value.isFinite, r.gradient.allSatisfy(\.isFinite) else { return result(.notFinite) }
            bundle.append((y, r.value, r.gradient))
            let gain = (centre.value - r.value) / decrement
            if gain >= 0.1 {
                centre = (y, r.value)
                serious += 1
                if gain > 1.5 { tau = min(2 * tau, 1e8) }
                // A fresh metric once the centre has moved 1e-3 |x| from the last one's point.
                let size = max(y.dot(y).squareRoot(), 1e-300)
                let moved = zip(y, metricPoint).map { $0 - $1 }
                if moved.dot(moved).squareRoot() > 1e-3 * size {
                    (metric, modulus) = try metricAt(y)
                    metricPoint = y
                    tau = 1
                }
            } else {
                tau = max(1, tau / 2)
            }
            if bundle.count > maxBundle {
                // Drop the plane of least use: unused in the last model, largest error.
                let unused = bundle.indices.dropLast().filter { bundle[$0].point != centre.point && lambda[$0] == 0 }
                if let worst = unused.max(by: { errors[$0] < errors[$1] }) {
                    bundle.remove(at: worst)
                } else if let oldest = bundle.indices.first(where: { bundle[$0].point != centre.point }) {
                    bundle.remove(at: oldest)
                }
            }
        }
    }

    /// The Hessian of the smooth piece each coordinate ray from x enters: column j from the
    /// gradient's changes over [h, 2h] and [2h, 3h] along e_j, the smaller of the two. On a kink
    /// through x the ray stays in one piece, and a change over a step that starts off x cancels
    /// the gradient's jump there (a difference from x itself carries jump / h); a ray that
    /// crosses a kink near x crosses in at most one of the two intervals, whose change is the
    /// larger. Symmetrised.
    public static func pieceHessian(at x: [Double], step h: Double, _ gradient: ([Double]) throws -> [Double]) rethrows -> [Double] {
        let n = x.count
        var hessian = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            let g = try (1...3).map { k -> [Double] in var y = x; y[j] += Double(k) * h; return try gradient(y) }
            let near = (0..<n).map { (g[1][$0] - g[0][$0]) / h }, far = (0..<n).map { (g[2][$0] - g[1][$0]) / h }
            let column = near.reduce(0) { $0 + $1 * $1 } <= far.reduce(0) { $0 + $1 * $1 } ? near : far
            for i in 0..<n { hessian[i * n + j] = column[i] }
        }
        DampedNewton.symmetrize(&hessian, n)
        return hessian
    }

    /// H with its eigenvalues replaced by their magnitudes, floored at 1e-8 of the largest: a
    /// Hessian differenced across a kink carries the gradient's jump over the step, a
    /// symmetrised rank-one term with one negative eigenvalue; its magnitude keeps the model
    /// stiff across the kink (where the planes model it) and leaves the other directions as
    /// they are, where a shift towards the identity would stiffen them all.
    static func positiveDefinite(_ h: [Double], _ n: Int) throws -> (metric: [Double], smallest: Double) {
        positiveDefinite(try SymmetricEigen.decompose(h, n), n)
    }

    /// `positiveDefinite` from H's eigen-decomposition (a caller that inspected it first).
    static func positiveDefinite(_ decomposition: (values: [Double], vectors: [[Double]]), _ n: Int) -> (metric: [Double], smallest: Double) {
        let (values, vectors) = decomposition
        let top = max(values.map(abs).max() ?? 0, 1e-300)
        var m = [Double](repeating: 0, count: n * n)
        for (value, v) in zip(values, vectors) {
            let magnitude = max(abs(value), 1e-8 * top)
            for i in 0..<n { for j in 0..<n { m[i * n + j] += magnitude * v[i] * v[j] } }
        }
        return (m, max(values.map(abs).min() ?? 0, 1e-8 * top))
    }

    /// The minimiser over the simplex {lambda >= 0, sum lambda = 1} of lambda'Q lambda / 2 +
    /// e . lambda, Q (m x m, row-major) positive semidefinite: a primal active-set method. On
    /// the support S, the equality-constrained minimiser solves [Q_SS 1; 1' 0] [lambda; -theta]
    /// = [-e_S; 1] (a ridge of 1e-13 of Q's largest diagonal keeps it nonsingular where the
    /// gradients in S are affinely dependent); a negative component steps back to the boundary
    /// and leaves S; the index outside S with the smallest (Q lambda + e)_i below theta enters.
    public static func simplexQuadratic(_ q: [Double], _ e: [Double]) -> [Double] {
        let m = e.count
        precondition(q.count == m * m && m >= 1)
        let largest = (0..<m).reduce(0.0) { max($0, q[$1 * m + $1]) }
        let ridge = 1e-13 * max(largest, 1e-300)
        let first = (0..<m).min { 0.5 * q[$0 * m + $0] + e[$0] < 0.5 * q[$1 * m + $1] + e[$1] }!
        var lambda = [Double](repeating: 0, count: m)
        lambda[first] = 1
        var support = [first]
        let scale = max(largest, e.maxMagnitude, 1e-300)
        for _ in 0..<(10 * m + 10) {
            // The equality-constrained minimiser on the support, stepping back while it leaves the simplex.
            for _ in 0..<(m + 1) {
                guard let target = supportSolve(q, e, support, ridge: ridge) else { return lambda }
                if target.allSatisfy({ $0 > 0 }) {
                    for (k, i) in support.enumerated() { lambda[i] = target[k] }
                    break
                }
                var t = 1.0
                for (k, i) in support.enumerated() where target[k] <= 0 {
                    t = min(t, lambda[i] / (lambda[i] - target[k]))
                }
                for (k, i) in support.enumerated() { lambda[i] += t * (target[k] - lambda[i]) }
                let leaving = support.filter { lambda[$0] <= 1e-15 }
                for i in leaving { lambda[i] = 0 }
                support.removeAll { leaving.contains($0) }
                let total = support.reduce(0.0) { $0 + lambda[$1] }
                for i in support { lambda[i] /= total }
            }
            let slope = (0..<m).map { i in e[i] + (0..<m).reduce(0.0) { $0 + q[i * m + $1] * lambda[$1] } }
            let theta = support.reduce(0.0) { $0 + lambda[$1] * slope[$1] }
            guard let entering = (0..<m).filter({ !support.contains($0) }).min(by: { slope[$0] < slope[$1] }),
                  slope[entering] < theta - 1e-14 * scale else { return lambda }
            support.append(entering)
        }
        return lambda
    }

    /// The support's equality-constrained minimiser (nil when its system is singular).
    static func supportSolve(_ q: [Double], _ e: [Double], _ support: [Int], ridge: Double) -> [Double]? {
        let m = e.count, s = support.count, n = s + 1
        var a = [Double](repeating: 0, count: n * n), b = [Double](repeating: 0, count: n)
        for (k, i) in support.enumerated() {
            for (l, j) in support.enumerated() { a[k * n + l] = q[i * m + j] }
            a[k * n + k] += ridge
            a[k * n + s] = 1; a[s * n + k] = 1
            b[k] = -e[i]
        }
        b[s] = 1
        guard let x = DampedNewton.luSolve(a, b, size: n) else { return nil }
        return Array(x.prefix(s))
    }
}

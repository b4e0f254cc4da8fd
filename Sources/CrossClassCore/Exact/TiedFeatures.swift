import Foundation

/// Features held tied in the full-W Newton under l_inf.
///
/// Under l_inf the adversary's shift of a pair's margins is eps sum_f |n . D_f| at the loss's
/// normal n, which is not differentiable in W where a whole column D_f vanishes: where
/// feature f's weights are equal in every class. A feature in every class (or in none) starts
/// tied at the symmetric optimum, and the optimum often keeps it tied (an uninformative
/// feature); a Newton method straddling that kink stalls (a 3-class model with one feature in
/// every class: 60 iterations, decrement 5.7e-8, NOT converged). So such features are held
/// tied (their free entries exactly 0, where R restricted to the others is smooth) and the tie
/// is certified afterwards.
///
/// Certificate. At a point x with the tied columns zero, R's one-sided derivative along a
/// change u of feature f's free entries (rows 0 and 1 against the last row) is g_f . u + N_f(u):
/// g_f is the gradient there (the maximising vertex takes delta_f = 0 on a zero column) and
/// N_f(u) = sum_y E[lambda_y eps |n_y . D_f(u)|] is convex, even and positively homogeneous,
/// the support function of a convex set S_f = -S_f. N_f(u) = s_f(u) . u, where s_f(u), the limit
/// of the gradient's change along u, is an exposed point of S_f. So 0 is in R's
/// subdifferential in feature f (g_f + S_f) iff g_f lies in S_f. The columns enter the vertex
/// separately, so the features are decided independently and one evaluation serves them all.
/// The polygon of the points +-s_f(u_i) found so far lies inside S_f; g_f inside it (by more than
/// the error) certifies the tie. Otherwise the polygon's edge nearest g_f gives the next
/// direction nu, where s_f(nu) . nu = N_f(nu) is exact: g_f . nu above it (by more than the
/// error) means R decreases along -nu, and the tie is not optimal.
public enum TiedFeatures {
    public enum Verdict: Equatable, Sendable {
        /// g_f inside the polygon by `slack` (in gradient units).
        case optimal(slack: Double)
        /// R's one-sided derivative along this change of the feature's free entries is negative.
        case descent(direction: [Double])
        /// Neither within the rounds allowed.
        case undecided
    }

    /// The features whose free entries (rows 0 and 1 of x, row 2 the reference) are all zero.
    public static func features(of x: [Double], columns d: Int) -> [Int] {
        (0..<d).filter { f in x[f] == 0 && x[d + f] == 0 }
    }

    /// Decides each tied feature at x. `gradient`: the working rule's free gradient at x (the
    /// same rule `gradientAt` uses, so that their difference is the kink's term);
    /// `error`: the error of such a difference. nil when an evaluation is declined.
    public static func certify(
        at x: [Double], gradient g: [Double], tied: [Int], columns d: Int, error: Double, maxRounds: Int = 12,
        gradientAt: ([Double]) -> [Double]?
    ) -> [Int: Verdict]? {
        let size = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
        // The step along u: the gradient's change is s_f(u) + H h u, so h is small against |x|,
        // and far above the 1e-13 |D| at which the vertex geometry takes an entry as zero.
        let h = 1e-7 * max(size, 1e-3)
        var points: [Int: [(Double, Double)]] = [:]
        var verdicts: [Int: Verdict] = [:]
        let initial = (0..<3).map { Double($0) * Double.pi / 3 }.map { (cos($0), sin($0)) }
        for round in 0..<maxRounds {
            var directions: [Int: (Double, Double)] = [:]
            for f in tied where verdicts[f] == nil {
                if round < initial.count { directions[f] = initial[round]; continue }
                let gf = (g[f], g[d + f])
                guard let (slack, normal) = nearestEdge(of: points[f] ?? [], to: gf) else {
                    // A degenerate polygon: a direction orthogonal to its points.
                    let p = points[f]?.first ?? (1, 0)
                    let n = (p.0 * p.0 + p.1 * p.1).squareRoot()
                    directions[f] = n > 0 ? (-p.1 / n, p.0 / n) : (0, 1)
                    continue
                }
                if slack > error { verdicts[f] = .optimal(slack: slack); continue }
                directions[f] = normal
            }
            if directions.isEmpty { break }
            var y = x
            for (f, u) in directions { y[f] += h * u.0; y[d + f] += h * u.1 }
            guard let gy = gradientAt(y) else { return nil }
            for (f, u) in directions {
                // The gradient's jump along u: s_f(u), up to H h u.
                let exposed = (gy[f] - g[f], gy[d + f] - g[d + f])
                points[f, default: []].append(exposed)
                points[f, default: []].append((-exposed.0, -exposed.1))
                // N_f(u) = s_f(u) . u exactly: g_f . u beyond it is a descent direction -u.
                let support = exposed.0 * u.0 + exposed.1 * u.1
                if g[f] * u.0 + g[d + f] * u.1 > support + error {
                    verdicts[f] = .descent(direction: [-u.0, -u.1])
                }
            }
        }
        for f in tied where verdicts[f] == nil {
            if let (slack, _) = nearestEdge(of: points[f] ?? [], to: (g[f], g[d + f])), slack > error {
                verdicts[f] = .optimal(slack: slack)
            } else {
                verdicts[f] = .undecided
            }
        }
        return verdicts
    }

    /// Whether every tied feature's tie is certified (`verdicts` nil: an evaluation declined),
    /// and the note that says so or names each feature's verdict.
    static func summary(_ verdicts: [Int: Verdict]?, tied: [Int], error: Double) -> (certified: Bool, note: String) {
        let slacks = tied.compactMap { f -> Double? in if case .optimal(let s) = verdicts?[f] { return s } else { return nil } }
        if slacks.count == tied.count {
            return (true, "feature\(tied.count == 1 ? "" : "s") \(tied.map(String.init).joined(separator: ", ")) held tied (equal weights in every class, a kink of the l_inf shift): the tie is certified optimal at the point found, the gradient inside the kink's subdifferential by \(slacks.min() ?? 0) (error \(error))")
        }
        let reasons = tied.map { f -> String in
            switch verdicts?[f] {
            case .descent(let u): return "feature \(f): R decreases along (\(u[0]), \(u[1]))"
            case .optimal(let s): return "feature \(f): optimal by \(s)"
            default: return "feature \(f): undecided"
            }
        }
        return (false, "the tie of the features equal in every class is not certified (\(reasons.joined(separator: "; ")))")
    }

    /// The edge of the convex hull of `points` nearest the point p inside it: its slack (the
    /// distance from p to the edge's line, negative outside) and outward unit normal, the
    /// smallest slack over the edges; nil when the hull is not two-dimensional.
    static func nearestEdge(of points: [(Double, Double)], to p: (Double, Double)) -> (slack: Double, normal: (Double, Double))? {
        let hull = convexHull(points)
        guard hull.count >= 3 else { return nil }
        var best: (slack: Double, normal: (Double, Double))? = nil
        for i in hull.indices {
            let a = hull[i], b = hull[(i + 1) % hull.count]
            let ex = b.0 - a.0, ey = b.1 - a.1
            let length = (ex * ex + ey * ey).squareRoot()
            guard length > 0 else { continue }
            // Counter-clockwise hull: the outward normal is the edge turned clockwise.
            let normal = (ey / length, -ex / length)
            let slack = normal.0 * (a.0 - p.0) + normal.1 * (a.1 - p.1)
            if best == nil || slack < best!.slack { best = (slack, normal) }
        }
        return best
    }

    /// Andrew's monotone chain: the hull's vertices counter-clockwise, collinear points dropped.
    static func convexHull(_ points: [(Double, Double)]) -> [(Double, Double)] {
        let sorted = points.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        guard sorted.count >= 3 else { return sorted }
        func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
            (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
        }
        var lower: [(Double, Double)] = []
        for p in sorted {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], p) <= 0 { lower.removeLast() }
            lower.append(p)
        }
        var upper: [(Double, Double)] = []
        for p in sorted.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], p) <= 0 { upper.removeLast() }
            upper.append(p)
        }
        return Array(lower.dropLast() + upper.dropLast())
    }
}

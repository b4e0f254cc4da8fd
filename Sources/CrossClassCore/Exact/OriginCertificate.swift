import Foundation

/// The robust objective at W = 0, to first order, in closed form.
///
/// Along W = t V (t -> 0+), every logit is t times a bounded linear function of x + delta, so
///
///     F(t V) = log K + t D(V) + O(t^2),
///     D(V) = (1/K) sum_y [ c (vbar - v_y) . m_y + c_eps eps ||vbar - v_y||_* ],
///
/// with m_y class y's mean, vbar the mean row and ||.||_* the dual norm (l_1 under l_inf, l_2
/// under l_2). ce: c = c_eps = 1 (the adversary's first-order gain is eps ||vbar - v_y||_*). ls:
/// c = c_eps = 1 - alpha K / (K - 1) (the smoothed target removes that share of the mean logit).
/// trades: c = 1, c_eps = 0 (its KL term is O(t^2)). Only the class means enter, not sigma.
///
/// For a convex objective (ce, ls), F(tV) >= F(0) + t D(V): D >= 0 in every direction of a cone
/// makes W = 0 a minimiser over that cone, exactly. Over the full W (rows free), D >= 0 for
/// every V exactly when the class means fit in one eps-ball of the threat's norm (every class
/// can be moved to a common point), a closed form as well.
public struct OriginDerivative: Sendable {
    public let model: DataModel
    public let threat: ThreatModel
    /// c and c_eps above.
    let meanFactor: Double
    let adversaryFactor: Double
    /// m_y, the class means (the only part of the model D depends on).
    let means: [[Double]]

    /// nil for objectives without a log K value at W = 0 (the margin objectives).
    public init?(model: DataModel, threat: ThreatModel, objective: Objective) {
        self.model = model
        self.threat = threat
        means = (0..<model.classCount).map { model.mean(ofClass: $0) }
        let k = Double(model.classCount)
        switch objective {
        case .ce: meanFactor = 1; adversaryFactor = 1
        case .ls(let alpha): meanFactor = 1 - alpha * k / (k - 1); adversaryFactor = meanFactor
        case .trades: meanFactor = 1; adversaryFactor = 0
        default: return nil
        }
    }

    /// F(0) for ce, ls and trades: every logit is 0.
    public var valueAtOrigin: Double { log(Double(model.classCount)) }

    /// One direction's rows as u_y = vbar - v_y, the only way V enters D.
    func centredRows(_ v: Matrix) -> [[Double]] {
        var mean = [Double](repeating: 0, count: v.columns)
        for r in 0..<v.rows { for f in 0..<v.columns { mean[f] += v[r, f] / Double(v.rows) } }
        return (0..<v.rows).map { r in (0..<v.columns).map { mean[$0] - v[r, $0] } }
    }

    /// D along u(lambda) = a + lambda delta (per class), with its one-sided derivatives in
    /// lambda and a bound on its rounding error.
    struct Line {
        var a: [[Double]]
        var delta: [[Double]]
    }

    func evaluate(_ line: Line, at lambda: Double) -> (value: Double, right: Double, left: Double, rounding: Double) {
        var value = 0.0, right = 0.0, left = 0.0, magnitude = 0.0
        let e = adversaryFactor * threat.eps
        for (y, m) in means.enumerated() {
            let u = zip(line.a[y], line.delta[y]).map { $0 + lambda * $1 }
            let du = line.delta[y]
            for f in u.indices {
                value += meanFactor * u[f] * m[f]
                right += meanFactor * du[f] * m[f]
                left += meanFactor * du[f] * m[f]
                magnitude += abs(meanFactor * u[f] * m[f])
            }
            guard e != 0 else { continue }
            switch threat.norm {
            case .linf:
                // |u_f| has slope sign(u_f) du_f, and +-|du_f| at a zero.
                // (An entry within rounding of 0 is at its kink: a root computed as -a / delta.)
                for f in u.indices {
                    value += e * abs(u[f])
                    magnitude += e * abs(u[f])
                    let atKink = abs(u[f]) <= 4 * Double.ulpOfOne * (abs(line.a[y][f]) + abs(lambda * du[f]))
                    let s = u[f] > 0 ? du[f] : -du[f]
                    right += e * (atKink ? abs(du[f]) : s)
                    left += e * (atKink ? -abs(du[f]) : s)
                }
            case .l2:
                let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let slopeNorm = du.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let size = line.a[y].reduce(0) { $0 + $1 * $1 }.squareRoot() + abs(lambda) * slopeNorm
                value += e * norm
                magnitude += e * norm
                let atKink = norm <= 4 * Double.ulpOfOne * size
                let s = atKink ? 0 : u.dot(du) / norm
                right += e * (atKink ? slopeNorm : s)
                left += e * (atKink ? -slopeNorm : s)
            }
        }
        let k = Double(model.classCount)
        return (value / k, right / k, left / k, 64 * Double.ulpOfOne * magnitude / k)
    }

    /// D(V): the one-sided derivative of F at W = 0 along W = t V (closed form; V has the
    /// model's K x d shape).
    public func directional(_ v: Matrix) -> Double {
        let a = centredRows(v)
        return evaluate(Line(a: a, delta: a.map { $0.map { _ in 0 } }), at: 0).value
    }

    /// D over the symmetric family's quadrant, W(cos theta, sin theta) up to positive scale:
    /// along the segment (1 - lambda) W(1, 0) + lambda W(0, 1), lambda in [0, 1] (D is
    /// positively homogeneous, so its sign on the segment is its sign on the quadrant).
    public struct FamilyBound: Sendable, Equatable {
        /// The smallest D found on the segment, at `lambda`.
        public var minimum: Double
        public var lambda: Double
        /// A lower bound on D over the whole segment (D is convex: tangents from below).
        public var lowerBound: Double
        /// A bound on the rounding error of these numbers.
        public var rounding: Double
        /// D >= 0 beyond rounding on the whole quadrant.
        public var nonNegative: Bool { lowerBound > rounding }
        /// D < 0 beyond rounding somewhere: W = 0 is not a minimiser.
        public var negative: Bool { minimum < -rounding }
    }

    public func familyBound() -> FamilyBound {
        let a = centredRows(LinearClassifier.symmetric(model: model, w1: 1, w2: 0).weights)
        let b = centredRows(LinearClassifier.symmetric(model: model, w1: 0, w2: 1).weights)
        let line = Line(a: a, delta: zip(b, a).map { zip($0, $1).map { $0 - $1 } })
        if b.allSatisfy({ $0.allSatisfy { $0 == 0 } }) {
            // w2 cancels from every margin (each cross-class feature is in every class): F is
            // constant along W(0, 1), so every direction of the family is the axis's up to that,
            // and D(1 - l, l) = (1 - l) D(1, 0). The axis alone decides.
            let e = evaluate(line, at: 0)
            return FamilyBound(minimum: e.value, lambda: 0, lowerBound: e.value, rounding: e.rounding)
        }
        // Candidates: the ends, every kink (an entry, or under l_2 a whole u_y, vanishing
        // inside the segment) and the minimiser of D.
        var candidates: [Double] = [0, 1]
        for y in a.indices {
            switch threat.norm {
            case .linf:
                for f in a[y].indices where line.delta[y][f] != 0 {
                    let root = -a[y][f] / line.delta[y][f]
                    if root > 0 && root < 1 { candidates.append(root) }
                }
            case .l2:
                let dd = line.delta[y].reduce(0) { $0 + $1 * $1 }
                guard dd > 0 else { continue }
                let root = -a[y].dot(line.delta[y]) / dd
                let closest = zip(a[y], line.delta[y]).map { $0 + root * $1 }.maxMagnitude
                let size = a[y].maxMagnitude + line.delta[y].maxMagnitude
                if root > 0 && root < 1 && closest <= 1e-14 * size { candidates.append(root) }
            }
        }
        // D is convex: its minimiser is where the one-sided slopes change sign, found by
        // bisection on them (exact to the last bit; under l_inf it is one of the kinks above).
        var lo = 0.0, hi = 1.0
        if evaluate(line, at: lo).right < 0 && evaluate(line, at: hi).left > 0 {
            while hi - lo > 2 * Double.ulpOfOne {
                let mid = 0.5 * (lo + hi)
                let e = evaluate(line, at: mid)
                if e.right < 0 { lo = mid } else if e.left > 0 { hi = mid } else { lo = mid; hi = mid; break }
            }
            candidates += [lo, hi]
        }
        var best = FamilyBound(minimum: .infinity, lambda: 0, lowerBound: -.infinity, rounding: 0)
        for lambda in candidates {
            let e = evaluate(line, at: lambda)
            // Convexity: D(l) >= D(l0) + D'_+(l0)(l - l0) right of l0, D'_-(l0)(l - l0) left of it.
            let lower = e.value + min(0, e.right * (1 - lambda)) + min(0, -e.left * lambda)
            best.rounding = max(best.rounding, e.rounding)
            if e.value < best.minimum { best.minimum = e.value; best.lambda = lambda }
            best.lowerBound = max(best.lowerBound, lower)
        }
        return best
    }

    /// The full-W criterion for ce and ls: the radius of the smallest ball of the threat's norm
    /// that holds every class mean. W = 0 minimises over the full W when it is <= eps (then
    /// every u with sum_y u_y = 0 has sum_y u_y . m_y >= -eps sum_y ||u_y||_*), and a direction
    /// of descent exists when it is > eps (duality).
    public func meanRadius() -> (radius: Double, rounding: Double) {
        let size = means.flatMap { $0 }.maxMagnitude
        switch threat.norm {
        case .linf:
            var radius = 0.0
            for f in 0..<model.dimension {
                let column = means.map { $0[f] }
                radius = max(radius, 0.5 * (column.max()! - column.min()!))
            }
            return (radius, 4 * Double.ulpOfOne * size)
        case .l2:
            return (SmallestEnclosingBall.radius(of: means), 1e-12 * (size + 1e-300))
        }
    }
}

/// The smallest Euclidean ball holding a few points (the class means): over every subset of
/// affinely independent points, the ball with them on its surface and its centre in their
/// affine hull; the smallest such ball that holds every point. Exact up to rounding; the cost
/// is 2^K small solves, meant for K <= 12.
enum SmallestEnclosingBall {
    static func radius(of points: [[Double]]) -> Double {
        let n = points.count
        precondition(n >= 1 && n <= 12)
        let scale = points.flatMap { $0 }.maxMagnitude
        var best = Double.infinity
        for mask in 1..<(1 << n) {
            let chosen = (0..<n).filter { mask & (1 << $0) != 0 }
            guard let (centre, r) = circumscribed(chosen.map { points[$0] }) else { continue }
            guard r < best else { continue }
            let holdsAll = points.allSatisfy { p in
                zip(p, centre).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() <= r + 1e-12 * (scale + r)
            }
            if holdsAll { best = r }
        }
        return best
    }

    /// The centre c = p0 + sum_i x_i (p_i - p0) equidistant from every point (Gram system
    /// G x = b, G_ij = e_i . e_j, b_i = |e_i|^2 / 2, by Cholesky); nil when the points are
    /// affinely dependent (G singular).
    static func circumscribed(_ p: [[Double]]) -> (centre: [Double], radius: Double)? {
        let m = p.count - 1
        if m == 0 { return (p[0], 0) }
        let e = (1...m).map { i in zip(p[i], p[0]).map { $0 - $1 } }
        let gram = (0..<m).flatMap { i in (0..<m).map { j in e[i].dot(e[j]) } }
        guard let x = DampedNewton.solve(gram, (0..<m).map { 0.5 * e[$0].dot(e[$0]) }, m) else { return nil }
        var offset = [Double](repeating: 0, count: p[0].count)
        for i in 0..<m { for f in offset.indices { offset[f] += x[i] * e[i][f] } }
        return (zip(p[0], offset).map { $0 + $1 }, offset.dot(offset).squareRoot())
    }
}

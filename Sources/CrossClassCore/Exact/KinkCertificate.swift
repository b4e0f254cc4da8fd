import Foundation

/// Whether a point where R has a kink is a local minimum along the kinked directions.
///
/// At x, R's one-sided derivative along a direction z of an n-dimensional subspace H is
/// D(z) = lim_{t -> 0+} (R(x + t z) - R(x)) / t, convex and positively homogeneous in z: the
/// support function of a convex set T (R's subdifferential at x, projected on H). The gradient
/// a small step along z, projected on H, is T's exposed point p(z), and D(z) = p(z) . z exactly.
/// So x is a strict local minimum along H (first order) iff 0 lies inside T, and T contains the
/// hull of the points p(z_i) found.
///
/// Cutting planes: the hull's facet nearest 0 (by its signed distance from 0, negative when 0
/// is outside) gives the next direction z, its outward normal. D(z) below -error is a descent
/// direction. Otherwise p(z) joins the hull and pushes that facet out. The hull containing the
/// ball of radius `error` about 0 certifies: R rises at rate >= the slack along every unit z.
/// Unlike `TiedFeatures` (one feature's 2-D kink, separate from the others' and symmetric), the
/// kink here may couple every direction of H (a tie of the adversary's vertices), and T need
/// not be symmetric.
public enum KinkCertificate {
    public enum Verdict: Equatable, Sendable {
        /// R rises at least at `slack` along every unit direction of H orthogonal to `flat` (nil
        /// when every direction is flat), and has no first-order kink along `flat` (unit
        /// directions, coordinates in H, orthonormal): |D| <= the error both ways there, so the
        /// second order decides them (`FullOptimizer.subspaceSolve` checks the curvature).
        case optimal(slack: Double?, flat: [[Double]])
        /// R's one-sided derivative along this unit direction (coordinates in H) is this negative
        /// rate.
        case descent(direction: [Double], rate: Double)
        /// Neither within the rounds allowed.
        case undecided(slack: Double?)
    }

    /// The largest dimension certified (the hull's facets are enumerated).
    public static let maxDimension = 8

    /// - Parameters:
    ///   - n: H's dimension (1...`maxDimension`).
    ///   - error: the error of an exposed point's coordinates (gradient units).
    ///   - exposedPoint: for a unit z (coordinates in H), the direction u actually probed (a
    ///     unit vector near z: an evaluator may move off a direction where its problem is
    ///     degenerate) and p(u); nil when declined. Any exposed point serves the hull, and
    ///     D(u) = p(u) . u is judged along u.
    /// - Returns: nil when an evaluation is declined.
    ///
    /// A direction z with |D(z)| and |D(-z)| both within the error is flat: T is flat along it
    /// (R is smooth there to first order, as along a symmetry-breaking direction that keeps a
    /// tie), so no hull certifies it. It is set aside and the rest certified in z's orthogonal
    /// complement, on the points projected there (a projection of an exposed point of T is
    /// one of T's projection).
    public static func certify(dimension n: Int, error: Double, maxRounds: Int = 24,
                               exposedPoint: ([Double]) -> (direction: [Double], point: [Double])?) -> Verdict? {
        precondition(n >= 1 && n <= maxDimension)
        let coordinates = WeightSymmetry.coordinates
        // The subspace still to certify (orthonormal, coordinates in H) and the flat directions.
        var subspace = (0..<n).map { i -> [Double] in var e = [Double](repeating: 0, count: n); e[i] = 1; return e }
        var flat: [[Double]] = []
        var points: [[Double]] = []
        var hull = Hull(dimension: n)
        func rebuild() {
            hull = Hull(dimension: max(subspace.count, 1))
            guard !subspace.isEmpty else { return }
            for p in points { hull.add(coordinates(p, subspace)) }
        }
        /// The direction probed u, p(u) and D(u).
        func probe(_ z: [Double]) -> (direction: [Double], point: [Double], rate: Double)?? {
            guard let e = exposedPoint(z) else { return .some(nil) }
            return .some((e.direction, e.point, e.point.dot(e.direction)))
        }
        // The start: +-e_i.
        for i in 0..<n {
            for sign in [1.0, -1.0] {
                var z = [Double](repeating: 0, count: n)
                z[i] = sign
                guard let result = probe(z), let (u, p, rate) = result else { return nil }
                if rate < -error { return .descent(direction: u, rate: rate) }
                points.append(p)
            }
        }
        rebuild()
        for _ in 0..<maxRounds {
            guard !subspace.isEmpty else { return .optimal(slack: nil, flat: flat) }
            guard let facet = hull.nearestFacet() else { return .undecided(slack: nil) }
            if facet.slack > error { return .optimal(slack: facet.slack, flat: flat) }
            // The facet's normal in H.
            let z = WeightSymmetry.combination(facet.normal, of: subspace)
            guard let result = probe(z), let (u, p, rate) = result else { return nil }
            if rate < -error { return .descent(direction: u, rate: rate) }
            points.append(p)
            if rate <= error {
                let minus = z.map { -$0 }
                guard let back = probe(minus), let (v, q, backRate) = back else { return nil }
                if backRate < -error { return .descent(direction: v, rate: backRate) }
                points.append(q)
                if backRate <= error {
                    flat.append(z)
                    subspace = WeightSymmetry.orthonormal(subspace, against: flat)
                    rebuild()
                    continue
                }
                hull.add(coordinates(q, subspace))
            }
            hull.add(coordinates(p, subspace))
        }
        guard !subspace.isEmpty else { return .optimal(slack: nil, flat: flat) }
        if let facet = hull.nearestFacet(), facet.slack > error { return .optimal(slack: facet.slack, flat: flat) }
        return .undecided(slack: hull.nearestFacet()?.slack)
    }

    /// The convex hull of points in R^n by its facets, kept as points are added (a new point
    /// keeps the facets it lies below and adds those through it and n - 1 earlier points).
    struct Hull {
        let n: Int
        var points: [[Double]] = []
        /// Outward unit normal a and offset c: a . p <= c for every point, equality on n of them.
        var facets: [(normal: [Double], offset: Double)] = []

        init(dimension: Int) { n = dimension }

        var tolerance: Double { 1e-12 * max(points.reduce(0) { max($0, $1.maxMagnitude) }, 1e-300) }

        mutating func add(_ p: [Double]) {
            let old = points
            points.append(p)
            guard points.count >= n else { return }
            facets = facets.filter { zip($0.normal, p).reduce(0) { $0 + $1.0 * $1.1 } <= $0.offset + tolerance }
            // Every (n - 1)-subset of the old points with p.
            var chosen: [Int] = []
            func visit(_ from: Int) {
                if chosen.count == n - 1 {
                    addFacet(through: chosen.map { old[$0] } + [p])
                    return
                }
                guard from < old.count else { return }
                for i in from..<old.count {
                    chosen.append(i)
                    visit(i + 1)
                    chosen.removeLast()
                }
            }
            visit(0)
        }

        /// The hyperplane through n points, if they span one and every point lies on one side.
        /// Both orientations while every point lies on it (a hull not yet n-dimensional): a
        /// later point removes the one it lies above.
        mutating func addFacet(through face: [[Double]]) {
            guard let a = Self.normal(through: face) else { return }
            let c = zip(a, face[0]).reduce(0) { $0 + $1.0 * $1.1 }
            let t = tolerance
            let products = points.map { zip(a, $0).reduce(0) { $0 + $1.0 * $1.1 } }
            if products.allSatisfy({ $0 <= c + t }) { facets.append((a, c)) }
            if products.allSatisfy({ $0 >= c - t }) { facets.append((a.map { -$0 }, -c)) }
        }

        /// The facet with the smallest offset (0's distance inside it, negative outside); nil
        /// when the hull has no facet yet.
        func nearestFacet() -> (slack: Double, normal: [Double])? {
            facets.min(by: { $0.offset < $1.offset }).map { ($0.offset, $0.normal) }
        }

        /// A unit vector orthogonal to face[i] - face[0] (i >= 1), by Gaussian elimination with
        /// partial pivoting; nil when they do not span n - 1 dimensions.
        static func normal(through face: [[Double]]) -> [Double]? {
            let n = face[0].count
            var rows = (1..<face.count).map { i in zip(face[i], face[0]).map { $0 - $1 } }
            let scale = rows.reduce(0.0) { max($0, $1.maxMagnitude) }
            var pivotColumns: [Int] = []
            var r = 0
            for c in 0..<n where r < rows.count {
                guard let p = (r..<rows.count).max(by: { abs(rows[$0][c]) < abs(rows[$1][c]) }), abs(rows[p][c]) > 1e-12 * scale else { continue }
                rows.swapAt(r, p)
                for i in 0..<rows.count where i != r {
                    let factor = rows[i][c] / rows[r][c]
                    if factor != 0 { for j in 0..<n { rows[i][j] -= factor * rows[r][j] } }
                }
                pivotColumns.append(c)
                r += 1
            }
            guard pivotColumns.count == n - 1, let free = (0..<n).first(where: { !pivotColumns.contains($0) }) else { return nil }
            // Reduced rows: x_pivot = -row[free] / row[pivot] with x_free = 1.
            var a = [Double](repeating: 0, count: n)
            a[free] = 1
            for (i, c) in pivotColumns.enumerated() { a[c] = -rows[i][free] / rows[i][c] }
            let length = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return a.map { $0 / length }
        }
    }
}

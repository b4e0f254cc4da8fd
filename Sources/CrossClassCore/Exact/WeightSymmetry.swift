import Foundation

/// The symmetries of a model that fix a weight matrix, and the subspace of weights they fix.
///
/// A symmetry is a permutation pi of the classes with a permutation rho of the features that
/// maps the model onto itself: class pi(k)'s mean and variance at feature rho(f) are class k's at
/// f. R is then invariant under W -> W', W'[pi(k)][rho(f)] = W[k][f]. At a W every such map fixes
/// (the symmetric family's optimum, for the maps of its membership), the loss of a class whose
/// two other classes the map exchanges can tie the adversary's best shifts exactly, a kink of R
/// in the directions that break the symmetry and a smooth function along those that keep it
/// (`FullOptimizer.subspaceSolve`).
///
/// Coordinates are the full-W optimiser's free entries x: rows 0..K-2 of W minus its last row,
/// row-major (R depends on W only through those differences). `fixed` is an orthonormal basis of
/// the x fixed by every symmetry found and with the held columns zero; `complement` one of its
/// orthogonal complement.
public struct WeightSymmetry: Sendable {
    /// (class permutation, feature permutation) pairs, without the identity: for each class
    /// permutation, one feature permutation (equal columns matched in order).
    public let maps: [(classes: [Int], features: [Int])]
    public let fixed: [[Double]]
    public let complement: [[Double]]

    /// nil when no symmetry but the identity fixes `x`.
    /// - Parameters:
    ///   - x: free entries ((K - 1) d).
    ///   - heldColumns: features whose free entries are held at 0 too (tied features).
    public init?(model: DataModel, x: [Double], heldColumns: [Int] = []) {
        let k = model.classCount, d = model.dimension
        precondition(x.count == (k - 1) * d)
        let means = (0..<k).map { model.mean(ofClass: $0) }, variances = (0..<k).map { model.variance(ofClass: $0) }
        // W's columns centred over the classes: a map fixes x iff it maps W to W plus a common
        // row (a shift of each column), i.e. fixes the centred columns (centring commutes with
        // permuting the classes).
        var w = [[Double]](repeating: [Double](repeating: 0, count: d), count: k)
        for r in 0..<(k - 1) { for f in 0..<d { w[r][f] = x[r * d + f] } }
        for f in 0..<d {
            let mean = (0..<k).reduce(0.0) { $0 + w[$1][f] } / Double(k)
            for r in 0..<k { w[r][f] -= mean }
        }
        let size = x.maxMagnitude
        func matches(_ pi: [Int], _ f: Int, _ g: Int) -> Bool {
            for c in 0..<k {
                if means[pi[c]][g] != means[c][f] || variances[pi[c]][g] != variances[c][f] { return false }
                if abs(w[pi[c]][g] - w[c][f]) > 1e-12 * size { return false }
            }
            return true
        }
        // Feature f goes to the first unused f' whose column (mean, variance, weight of every
        // class, the classes permuted) equals f's: equal columns are interchangeable, so a
        // matching exists iff this one succeeds.
        func featureMap(_ pi: [Int]) -> [Int]? {
            var used = [Bool](repeating: false, count: d), rho = [Int](repeating: 0, count: d)
            for f in 0..<d {
                guard let target = (0..<d).first(where: { !used[$0] && matches(pi, f, $0) }) else { return nil }
                used[target] = true
                rho[f] = target
            }
            return rho
        }
        var found: [(classes: [Int], features: [Int])] = []
        for pi in Self.permutations(k) where pi != Array(0..<k) {
            if let rho = featureMap(pi) { found.append((pi, rho)) }
        }
        guard !found.isEmpty else { return nil }
        maps = found
        let n = (k - 1) * d
        // Constraints: (A_g - I) x = 0 for every map g, and the held columns' entries.
        var constraints: [[Double]] = []
        for g in found {
            let action = Self.action(g, classes: k, features: d)
            for i in 0..<n {
                var row = action[i]
                row[i] -= 1
                constraints.append(row)
            }
        }
        for f in heldColumns { for r in 0..<(k - 1) { var e = [Double](repeating: 0, count: n); e[r * d + f] = 1; constraints.append(e) } }
        complement = Self.orthonormal(constraints, against: [])
        let units = (0..<n).map { i -> [Double] in var e = [Double](repeating: 0, count: n); e[i] = 1; return e }
        fixed = Self.orthonormal(units, against: complement)
    }

    /// The map's matrix on the free entries: x' = A x (row i: x'_i's coefficients).
    public static func action(_ g: (classes: [Int], features: [Int]), classes k: Int, features d: Int) -> [[Double]] {
        let n = (k - 1) * d
        var columns: [[Double]] = []
        for j in 0..<n {
            // W from the unit x e_j (last row 0), mapped, then reduced again.
            var w = [[Double]](repeating: [Double](repeating: 0, count: d), count: k)
            w[j / d][j % d] = 1
            var mapped = w
            for c in 0..<k { for f in 0..<d { mapped[g.classes[c]][g.features[f]] = w[c][f] } }
            var column = [Double](repeating: 0, count: n)
            for r in 0..<(k - 1) { for f in 0..<d { column[r * d + f] = mapped[r][f] - mapped[k - 1][f] } }
            columns.append(column)
        }
        return (0..<n).map { i in columns.map { $0[i] } }
    }


    /// v's coordinates in an orthonormal basis (its projection on the span).
    static func coordinates(_ v: [Double], in basis: [[Double]]) -> [Double] { basis.map { $0.dot(v) } }

    /// x + sum_j c_j basis_j (x: zero when nil), term by term in j (zero coefficients skipped).
    static func combination(_ c: [Double], of basis: [[Double]], plus x: [Double]? = nil) -> [Double] {
        var out = x ?? [Double](repeating: 0, count: basis.first?.count ?? 0)
        for (j, b) in basis.enumerated() where c[j] != 0 { for i in out.indices { out[i] += c[j] * b[i] } }
        return out
    }

    /// v / |v|.
    static func unit(_ v: [Double]) -> [Double] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    /// An orthonormal basis of span(vectors) orthogonal to `basis` (orthonormal), by modified
    /// Gram-Schmidt twice over; vectors dependent to 1e-9 are dropped.
    static func orthonormal(_ vectors: [[Double]], against basis: [[Double]]) -> [[Double]] {
        var out: [[Double]] = []
        for v in vectors {
            var u = v
            let length = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard length > 0 else { continue }
            for _ in 0..<2 {
                for b in basis + out {
                    let c = zip(u, b).reduce(0) { $0 + $1.0 * $1.1 }
                    for i in u.indices { u[i] -= c * b[i] }
                }
            }
            let rest = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard rest > 1e-9 * length else { continue }
            out.append(u.map { $0 / rest })
        }
        return out
    }

    static func permutations(_ k: Int) -> [[Int]] {
        guard k > 1 else { return [[0]] }
        return permutations(k - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(k - 1, at: i); return q } }
    }
}

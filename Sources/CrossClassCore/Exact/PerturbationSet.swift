import Foundation
import GSL

/// The set of margin shifts Delta = (w_y - w_k) . delta (k != y) an adversary can reach with
/// ||delta|| <= eps: a zonotope for l_inf, an ellipsoid for l_2.
///
/// Every non-margin loss here is convex in the logits, so its maximum over the set is attained
/// at a vertex of the zonotope (l_inf) or on the boundary of the ellipse (l_2).
struct PerturbationSet {
    /// m = K - 1.
    let dimension: Int
    /// l_inf: candidate maximisers, flattened (count x m). For m = 2 exactly the polygon's
    /// vertices in counter-clockwise order; for m >= 3 every sign combination of the merged
    /// generators (a superset of the vertices, all inside the set).
    let vertices: [Double]
    var vertexCount: Int { dimension == 0 ? 0 : vertices.count / dimension }
    /// l_2: lower-triangular factor B (m x m) with B B^T = eps^2 D D^T; the set is {B t : |t| <= 1}.
    let ellipse: [Double]?

    /// Largest number of merged generators for which all 2^n sign patterns are enumerated.
    static let maxGenerators = 16

    /// - Parameter differences: m rows of length d, row k = w_y - w_k.
    init(differences: [[Double]], threat: ThreatModel) throws {
        let m = differences.count
        dimension = m
        let d = differences.first?.count ?? 0
        let eps = threat.eps
        switch threat.norm {
        case .l2:
            var gram = [Double](repeating: 0, count: m * m)
            for i in 0..<m {
                for j in 0...i {
                    var s = 0.0
                    for f in 0..<d { s += differences[i][f] * differences[j][f] }
                    gram[i * m + j] = s * eps * eps
                    gram[j * m + i] = s * eps * eps
                }
            }
            ellipse = Self.cholesky(gram, m)
            vertices = []
        case .linf:
            ellipse = nil
            // Generators g_f = eps * column f of D; merge parallel ones (their segments add).
            var merged: [[Double]] = []
            let scale = differences.flatMap { $0 }.maxMagnitude * max(eps, 1e-300)
            for f in 0..<d {
                var g = (0..<m).map { eps * differences[$0][f] }
                guard g.contains(where: { abs($0) > 1e-15 * scale }) else { continue }
                // Canonical orientation: first non-zero component positive.
                if let first = g.first(where: { abs($0) > 1e-15 * scale }), first < 0 { g = g.map { -$0 } }
                if let i = merged.firstIndex(where: { Self.parallel($0, g, tolerance: 1e-12) }) {
                    for c in 0..<m { merged[i][c] += g[c] }
                } else {
                    merged.append(g)
                }
            }
            if m == 2 {
                vertices = Self.polygonVertices(merged)
            } else {
                guard merged.count <= Self.maxGenerators else {
                    throw InputError("the exact l_inf inner maximum needs at most \(Self.maxGenerators) distinct perturbation directions for K > 3; this classifier has \(merged.count)")
                }
                var out: [Double] = []
                let n = merged.count
                out.reserveCapacity((1 << n) * m)
                for mask in 0..<(1 << n) {
                    for c in 0..<m {
                        var s = 0.0
                        for i in 0..<n { s += (mask >> i) & 1 == 1 ? merged[i][c] : -merged[i][c] }
                        out.append(s)
                    }
                }
                if n == 0 { out = [Double](repeating: 0, count: m) }
                vertices = out
            }
        }
    }

    static func parallel(_ a: [Double], _ b: [Double], tolerance: Double) -> Bool {
        // |a x b| <= tol |a| |b| in every coordinate pair, and same orientation.
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        return dot > 0 && abs(dot * dot - na * nb) <= tolerance * na * nb
    }

    /// Vertices of the 2-D zonotope sum_i [-1, 1] g_i: with generators sorted by angle in
    /// [0, pi), P_j = sum_{i <= j} g_i - sum_{i > j} g_i (j = 0..n) and -P_j (j = 1..n-1).
    static func polygonVertices(_ generators: [[Double]]) -> [Double] {
        if generators.isEmpty { return [0, 0] }
        let sorted = generators.sorted { atan2($0[1], $0[0]) < atan2($1[1], $1[0]) }
        let n = sorted.count
        var p = [0.0, 0.0]
        for g in sorted { p[0] -= g[0]; p[1] -= g[1] }
        var chain: [[Double]] = [p]
        for g in sorted {
            p[0] += 2 * g[0]; p[1] += 2 * g[1]
            chain.append(p)
        }
        var out: [Double] = []
        for v in chain { out += v }
        if n >= 2 { for j in 1..<n { out += [-chain[j][0], -chain[j][1]] } }
        return out
    }

    static func cholesky(_ a: [Double], _ m: Int) -> [Double] {
        var l = [Double](repeating: 0, count: m * m)
        let scale = (0..<m).map { a[$0 * m + $0] }.max() ?? 0
        for j in 0..<m {
            var s = a[j * m + j]
            for k in 0..<j { s -= l[j * m + k] * l[j * m + k] }
            let ljj = s > 1e-14 * scale ? s.squareRoot() : 0
            l[j * m + j] = ljj
            for i in (j + 1)..<max(j + 1, m) {
                var t = a[i * m + j]
                for k in 0..<j { t -= l[i * m + k] * l[j * m + k] }
                l[i * m + j] = ljj > 0 ? t / ljj : 0
            }
        }
        return l
    }

    /// The vertex that is componentwise lowest, if one exists (then every non-increasing loss
    /// is maximised there).
    var lowestVertex: [Double]? {
        guard ellipse == nil, vertexCount > 0 else { return nil }
        let m = dimension
        var low = [Double](repeating: .infinity, count: m)
        for v in 0..<vertexCount { for c in 0..<m { low[c] = min(low[c], vertices[v * m + c]) } }
        for v in 0..<vertexCount {
            var ok = true
            for c in 0..<m where vertices[v * m + c] > low[c] + 1e-12 * (abs(low[c]) + 1) { ok = false; break }
            if ok { return Array(vertices[(v * m)..<(v * m + m)]) }
        }
        return nil
    }
}

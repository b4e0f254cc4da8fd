import Foundation

/// The paper's attribution metric (THEORY.md section 6).
///
/// For a model f = W g(x), the attribution of class i is A_i = mean over (adversarial) samples of
/// class i of g(x) * W[i] (elementwise), normalised to unit l2 norm; C[i, j] = A_i . A_j (cosine
/// similarity) and CAS = sum over i != j of max(C[i, j], 0).
public struct Attribution: Sendable, Equatable, Codable {
    /// K x K cosine similarities (row-major).
    public var correlation: [Double]
    public var classes: Int
    /// Class-wise attribution score.
    public var cas: Double
    /// Mean of C[i, j] over i != j (signed; CAS clips negative similarities to 0, which hides
    /// the trend when, as with few classes, all of them are negative).
    public var meanOffDiagonal: Double

    public subscript(_ i: Int, _ j: Int) -> Double { correlation[i * classes + j] }

    /// - Parameters:
    ///   - features: n x F feature matrix g(x) (row-major).
    ///   - labels: n class indices.
    ///   - head: K x F last-layer weights.
    public init(features: [Double], labels: [Int], head: Matrix) {
        let k = head.rows, f = head.columns, n = labels.count
        precondition(features.count == n * f)
        var a = [Double](repeating: 0, count: k * f)
        var counts = [Int](repeating: 0, count: k)
        for s in 0..<n {
            let y = labels[s]
            counts[y] += 1
            for j in 0..<f { a[y * f + j] += features[s * f + j] * head[y, j] }
        }
        for i in 0..<k {
            var norm = 0.0
            for j in 0..<f { a[i * f + j] /= Double(max(counts[i], 1)); norm += a[i * f + j] * a[i * f + j] }
            norm = norm.squareRoot()
            if norm > 0 { for j in 0..<f { a[i * f + j] /= norm } }
        }
        var c = [Double](repeating: 0, count: k * k)
        var cas = 0.0
        for i in 0..<k {
            for j in 0..<k {
                var dot = 0.0
                for t in 0..<f { dot += a[i * f + t] * a[j * f + t] }
                c[i * k + j] = dot
                if i != j { cas += max(dot, 0) }
            }
        }
        self.correlation = c
        self.classes = k
        self.cas = cas
        var off = 0.0
        for i in 0..<k { for j in 0..<k where i != j { off += c[i * k + j] } }
        self.meanOffDiagonal = off / Double(k * (k - 1))
    }
}

import Foundation

/// Which representative of the head's gauge class the attribution is computed with.
///
/// Softmax outputs do not change when one vector c is added to every row of the head (W of a
/// linear model, V of a two-layer one), but A_i = mean g(x) * (W[i] + c) does, so C and CAS are
/// functions of the head *and* a convention (THEORY.md section 6).
public enum AttributionGauge: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The head as it is (the paper's official code).
    case raw
    /// Rows minus their mean, so that sum_k W[k] = 0: the representative that zero
    /// initialisation and weight decay leave behind for a softmax head (the gradient of a
    /// softmax loss with respect to the rows sums to zero), and the only one that is a function
    /// of the classifier alone.
    case centred

    public var description: String { rawValue }

    public static func parse(_ text: String) throws -> AttributionGauge {
        switch text.lowercased() {
        case "raw": return .raw
        case "centred", "centered": return .centred
        default: throw InputError("--gauge '\(text)' is unknown: use raw or centred")
        }
    }

    /// The head in this gauge.
    public func apply(_ head: Matrix) -> Matrix {
        switch self {
        case .raw: return head
        case .centred:
            var out = head
            for j in 0..<head.columns {
                var mean = 0.0
                for i in 0..<head.rows { mean += head[i, j] }
                mean /= Double(head.rows)
                for i in 0..<head.rows { out[i, j] = head[i, j] - mean }
            }
            return out
        }
    }
}

/// Which inputs the class means of the attribution are taken over.
public enum AttributionSamples: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Clean inputs x.
    case natural
    /// Worst-case inputs x + delta*(x) (the paper: PGD-20 test samples).
    case adversarial

    public var description: String { rawValue }

    public static func parse(_ text: String) throws -> AttributionSamples {
        switch text.lowercased() {
        case "natural", "clean": return .natural
        case "adversarial", "adv": return .adversarial
        default: throw InputError("--samples '\(text)' is unknown: use adversarial or natural")
        }
    }
}

/// The paper's attribution metric (THEORY.md section 6).
///
/// For a model f = W g(x), the attribution of class i is A_i = mean over (adversarial) samples of
/// class i of g(x) * W[i] (elementwise), normalised to unit l2 norm; C[i, j] = A_i . A_j (cosine
/// similarity) and CAS = sum over i != j of max(C[i, j], 0). W is taken in `gauge`.
public struct Attribution: Sendable, Equatable, Codable {
    /// K x K cosine similarities (row-major).
    public var correlation: [Double]
    public var classes: Int
    /// Class-wise attribution score.
    public var cas: Double
    /// Mean of C[i, j] over i != j (signed; CAS clips negative similarities to 0, which hides
    /// the trend when, as with few classes, all of them are negative).
    public var meanOffDiagonal: Double
    public var gauge: AttributionGauge

    public subscript(_ i: Int, _ j: Int) -> Double { correlation[i * classes + j] }

    /// From samples.
    /// - Parameters:
    ///   - features: n x F feature matrix g(x) (row-major).
    ///   - labels: n class indices.
    ///   - head: K x F last-layer weights (as stored; `gauge` is applied here).
    public init(features: [Double], labels: [Int], head: Matrix, gauge: AttributionGauge) {
        let k = head.rows, f = head.columns, n = labels.count
        precondition(features.count == n * f)
        var sums = [[Double]](repeating: [Double](repeating: 0, count: f), count: k)
        var counts = [Int](repeating: 0, count: k)
        for s in 0..<n {
            let y = labels[s]
            counts[y] += 1
            for j in 0..<f { sums[y][j] += features[s * f + j] }
        }
        let means = (0..<k).map { i in sums[i].map { $0 / Double(max(counts[i], 1)) } }
        self.init(classMeans: means, head: head, gauge: gauge)
    }

    /// From the class means E[g(x') | y = i] (exact or sampled); row i of `classMeans` has F entries.
    public init(classMeans: [[Double]], head: Matrix, gauge: AttributionGauge) {
        let k = head.rows, f = head.columns
        precondition(classMeans.count == k && classMeans.allSatisfy { $0.count == f })
        let w = gauge.apply(head)
        var a = [Double](repeating: 0, count: k * f)
        for i in 0..<k {
            var norm = 0.0
            for j in 0..<f { a[i * f + j] = classMeans[i][j] * w[i, j]; norm += a[i * f + j] * a[i * f + j] }
            norm = norm.squareRoot()
            // A zero attribution has no direction: its similarities are reported as 0.
            if norm > 0 { for j in 0..<f { a[i * f + j] /= norm } }
        }
        var c = [Double](repeating: 0, count: k * k)
        var cas = 0.0, off = 0.0
        for i in 0..<k {
            for j in 0..<k {
                var dot = 0.0
                for t in 0..<f { dot += a[i * f + t] * a[j * f + t] }
                c[i * k + j] = dot
                if i != j { cas += max(dot, 0); off += dot }
            }
        }
        self.correlation = c
        self.classes = k
        self.cas = cas
        self.meanOffDiagonal = off / Double(k * (k - 1))
        self.gauge = gauge
    }
}

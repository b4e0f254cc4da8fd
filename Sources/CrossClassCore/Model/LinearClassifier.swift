import Foundation

/// f(x) = W x + b with W of shape K x d.
public struct LinearClassifier: Sendable, Equatable, Codable {
    public var weights: Matrix
    public var bias: [Double]?

    public init(weights: Matrix, bias: [Double]? = nil) {
        precondition(bias == nil || bias!.count == weights.rows)
        self.weights = weights
        self.bias = bias
    }

    public var classCount: Int { weights.rows }
    public var dimension: Int { weights.columns }

    /// The symmetric family W(w1, w2) (THEORY.md section 2): w1 on a class's exclusive features,
    /// w2 on the cross-class features it carries, 0 elsewhere (noise dims included).
    public static func symmetric(model: DataModel, w1: Double, w2: Double) -> LinearClassifier {
        var w = Matrix(rows: model.classCount, columns: model.dimension)
        for f in 0..<model.featureCount {
            let kind = model.kind(ofFeature: f)
            for k in 0..<model.classCount where model.membership[k][f] {
                w[k, f] = kind == .exclusive ? w1 : w2
            }
        }
        return LinearClassifier(weights: w)
    }

    /// Checks that this classifier fits `model` and has finite entries.
    public func validate(for model: DataModel) throws {
        guard weights.rows == model.classCount, weights.columns == model.dimension else {
            throw InputError(
                "weights have shape \(weights.rows) x \(weights.columns); model '\(model.name)' needs \(model.classCount) x \(model.dimension) (classes x (features + noise dims))")
        }
        // The range of --w1/--w2 (ParameterRange.finite): beyond it squared norms overflow.
        for (i, v) in weights.storage.enumerated() where !ParameterRange.finite.contains(v) {
            throw InputError("weights[\(i / weights.columns + 1)][\(i % weights.columns + 1)] = \(v) is not allowed: entries must be finite numbers in \(ParameterRange.finite.text)")
        }
        if let bias {
            for (i, v) in bias.enumerated() where !ParameterRange.finite.contains(v) {
                throw InputError("bias[\(i + 1)] = \(v) is not allowed: entries must be finite numbers in \(ParameterRange.finite.text)")
            }
        }
    }

    /// Projection onto the symmetric family through the class-difference vectors.
    ///
    /// Softmax ignores a vector added to every row of W, so raw rows are not identifiable; the
    /// differences w_y - w_k are. For the symmetric family, (w_y - w_k)[f] is +w1 on y's
    /// exclusive features, -w1 on k's, and +/-w2 on cross features carried by exactly one of
    /// y and k. The least-squares fit of all K(K-1) difference vectors to that pattern gives
    /// (w1, w2); on an exact member of the family it returns the family's parameters.
    public func projectSymmetric(model: DataModel) -> (w1: Double, w2: Double) {
        var num1 = 0.0, den1 = 0.0, num2 = 0.0, den2 = 0.0
        let k = model.classCount
        for y in 0..<k {
            for o in 0..<k where o != y {
                for f in 0..<model.featureCount {
                    let diff = weights[y, f] - weights[o, f]
                    let inY = model.membership[y][f], inO = model.membership[o][f]
                    switch model.kind(ofFeature: f) {
                    case .exclusive:
                        if inY { num1 += diff; den1 += 1 } else if inO { num1 -= diff; den1 += 1 }
                    case .crossClass:
                        if inY && !inO { num2 += diff; den2 += 1 } else if inO && !inY { num2 -= diff; den2 += 1 }
                    case .unused: break
                    }
                }
            }
        }
        return (den1 > 0 ? num1 / den1 : 0, den2 > 0 ? num2 / den2 : 0)
    }
}

import GSL

/// A labelled sample: one row of `x` per label.
public struct LabelledSample: Sendable, Equatable {
    /// Class indices in 0..<K.
    public var labels: [Int]
    /// n x d inputs.
    public var inputs: Matrix
    public var count: Int { labels.count }
}

/// Draws labelled points from a `DataModel` with a seeded GSL generator.
///
/// The draw order is fixed (label, then coordinates in order), so the same seed gives the same
/// sample on every run.
public struct Sampler {
    public let model: DataModel

    public init(model: DataModel) { self.model = model }

    /// n points with labels drawn uniformly from the K classes.
    public func sample(count n: Int, random: RandomSource) -> LabelledSample {
        let labels = (0..<n).map { _ in random.integer(below: model.classCount) }
        return draw(labels: labels, random: random)
    }

    /// `perClass` points of every class, in a random order.
    public func balancedSample(perClass: Int, random: RandomSource) -> LabelledSample {
        let k = model.classCount
        let order = random.permutation(perClass * k)
        let labels = order.map { $0 % k }
        return draw(labels: labels, random: random)
    }

    /// Inputs for the given labels.
    public func draw(labels: [Int], random: RandomSource) -> LabelledSample {
        let d = model.dimension
        let f = model.featureCount
        var x = Matrix(rows: labels.count, columns: d)
        x.storage.withUnsafeMutableBufferPointer { buffer in
            for (i, y) in labels.enumerated() {
                let base = i * d
                let member = model.membership[y]
                for j in 0..<f {
                    if member[j] {
                        buffer[base + j] = model.mu[j] + random.gaussian(sigma: model.sigma[j])
                    } else if model.tau > 0 {
                        buffer[base + j] = random.gaussian(sigma: model.tau)
                    }
                }
                for j in f..<d {
                    buffer[base + j] = random.gaussian(sigma: model.noiseSigma)
                }
            }
        }
        return LabelledSample(labels: labels, inputs: x)
    }
}

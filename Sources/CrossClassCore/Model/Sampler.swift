import GSL

/// A labelled sample: one row of `x` per label.
public struct LabelledSample: Sendable, Equatable {
    /// Class indices in 0..<K.
    public var labels: [Int]
    /// n x d inputs.
    public var inputs: Matrix
    public var count: Int { labels.count }

    public init(labels: [Int], inputs: Matrix) {
        self.labels = labels
        self.inputs = inputs
    }
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

    /// Streams labelled points one at a time in constant memory (`ccsim sample`): with
    /// `perClass`, exactly that many of every class in a uniformly random order (each next
    /// label drawn with probability proportional to the points its class still needs);
    /// otherwise `total` points with uniform labels. The draw order is label, then coordinates.
    public func stream(total: Int?, perClass: Int?, random: RandomSource, _ emit: (Int, UnsafeBufferPointer<Double>) throws -> Void) rethrows {
        let k = model.classCount
        var remaining = [Int](repeating: perClass ?? 0, count: k)
        var left = perClass.map { $0 * k } ?? total ?? 0
        var x = [Double](repeating: 0, count: model.dimension)
        while left > 0 {
            let y: Int
            if perClass != nil {
                var u = random.integer(below: left)
                var c = 0
                while u >= remaining[c] { u -= remaining[c]; c += 1 }
                remaining[c] -= 1
                y = c
            } else {
                y = random.integer(below: k)
            }
            left -= 1
            x.withUnsafeMutableBufferPointer { fill(label: y, into: $0, random: random) }
            try x.withUnsafeBufferPointer { try emit(y, $0) }
        }
    }

    /// Draws the coordinates of one point of class y into `buffer` (length d).
    func fill(label y: Int, into buffer: UnsafeMutableBufferPointer<Double>, random: RandomSource) {
        let member = model.membership[y]
        let f = model.featureCount
        for j in 0..<f {
            if member[j] {
                buffer[j] = model.mu[j] + random.gaussian(sigma: model.sigma[j])
            } else if model.tau > 0 {
                buffer[j] = random.gaussian(sigma: model.tau)
            } else {
                buffer[j] = 0
            }
        }
        for j in f..<model.dimension { buffer[j] = random.gaussian(sigma: model.noiseSigma) }
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

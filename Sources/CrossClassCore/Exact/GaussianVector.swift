/// A multivariate normal vector N(mean, covariance) of small dimension.
public struct GaussianVector: Sendable, Equatable {
    public var mean: [Double]
    /// Row-major n x n covariance.
    public var covariance: [Double]

    public init(mean: [Double], covariance: [Double]) {
        precondition(covariance.count == mean.count * mean.count)
        self.mean = mean
        self.covariance = covariance
    }

    public var dimension: Int { mean.count }

    @inline(__always)
    public func cov(_ i: Int, _ j: Int) -> Double { covariance[i * mean.count + j] }

    /// The sub-vector on `indices`.
    public func restricted(to indices: [Int]) -> GaussianVector {
        GaussianVector(
            mean: indices.map { mean[$0] },
            covariance: indices.flatMap { i in indices.map { j in cov(i, j) } })
    }
}

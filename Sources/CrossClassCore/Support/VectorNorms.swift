extension Sequence where Element == Double {
    /// The largest magnitude (the max-norm; 0 for an empty sequence): the size of a gradient or a
    /// step in the optimisers' stopping, stall and kink tests.
    var maxMagnitude: Double { reduce(0) { Swift.max($0, abs($1)) } }
}

extension Array where Element == Double {
    /// The inner product with `other` over their common length, summed in index order (every
    /// caller's sums were in that order, so their bits are unchanged): a step's slope along a
    /// gradient, a margin's mean and variance, a Gram matrix's entries.
    func dot(_ other: [Double]) -> Double {
        var sum = 0.0
        for i in 0..<Swift.min(count, other.count) { sum += self[i] * other[i] }
        return sum
    }
}

extension Sequence where Element == Double {
    /// The largest magnitude (the max-norm; 0 for an empty sequence): the size of a gradient or a
    /// step in the optimisers' stopping, stall and kink tests.
    var maxMagnitude: Double { reduce(0) { Swift.max($0, abs($1)) } }
}

extension Array where Element == Double {
    /// The inner product with `other` (summed in index order, as the optimisers' slopes and
    /// decrements always were): a step's slope along a gradient.
    func dot(_ other: [Double]) -> Double { zip(self, other).reduce(0) { $0 + $1.0 * $1.1 } }
}

extension Sequence where Element == Double {
    /// The largest magnitude (the max-norm; 0 for an empty sequence): the size of a gradient or a
    /// step in the optimisers' stopping, stall and kink tests.
    var maxMagnitude: Double { reduce(0) { Swift.max($0, abs($1)) } }
}

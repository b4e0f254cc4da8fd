/// One class's pair problem in `LinearPairCE`: the law of x given the class y and the rows
/// D_y = (w_y - w_o1, w_y - w_o2) over the two other classes in increasing order. Class y's share
/// of R is a function of these inputs alone.
struct PairProblem {
    let mean: [Double]
    let variance: [Double]
    let rows: [[Double]]
}

/// Class y's pair problem is class `source`'s with the features permuted (feature f of the
/// source is feature `feature[f]` of y) and, when `swapped`, its two rows exchanged, with the
/// inputs equal bit for bit. The adversary's sets (box, ball) are invariant under a coordinate
/// permutation and ce, ls and trades are symmetric in the two other classes, so y's share equals
/// the source's and its gradient (and Hessian) in D_y is the source's rearranged. At a symmetric
/// W of a class-symmetric model (paper3's family, the start of the full-W optimum) classes 1 and
/// 2 are class 0's, so one class is integrated instead of three.
struct ClassCorrespondence {
    let source: Int
    let feature: [Int]
    let swapped: Bool

    /// The permutation taking `a` onto `b` (rows exchanged when `swapped`), or nil when there is
    /// none with exactly equal entries. Greedy over equal tuples: any pairing of equal tuples is
    /// as good as another, so a failure means no correspondence.
    static func find(from a: PairProblem, to b: PairProblem, swapped: Bool) -> [Int]? {
        let d = a.mean.count
        guard b.mean.count == d else { return nil }
        let (b0, b1) = swapped ? (b.rows[1], b.rows[0]) : (b.rows[0], b.rows[1])
        var used = [Bool](repeating: false, count: d)
        var feature = [Int](repeating: 0, count: d)
        for f in 0..<d {
            // The same feature first, so an identity is found as one.
            let order = [f] + (0..<d).filter { $0 != f }
            guard let g = order.first(where: { g in
                !used[g] && b.mean[g] == a.mean[f] && b.variance[g] == a.variance[f]
                    && b0[g] == a.rows[0][f] && b1[g] == a.rows[1][f]
            }) else { return nil }
            used[g] = true
            feature[f] = g
        }
        return feature
    }

    /// For every class, the first earlier class it corresponds to (nil: integrate it).
    static func map(_ problems: [PairProblem]) -> [ClassCorrespondence?] {
        var out: [ClassCorrespondence?] = []
        for y in problems.indices {
            var found: ClassCorrespondence? = nil
            search: for j in 0..<y where out[j] == nil {
                for swapped in [false, true] {
                    if let f = find(from: problems[j], to: problems[y], swapped: swapped) {
                        found = ClassCorrespondence(source: j, feature: f, swapped: swapped)
                        break search
                    }
                }
            }
            out.append(found)
        }
        return out
    }

    /// A non-trivial map of a problem onto itself with the rows exchanged (paper3's class 0 under
    /// swapping classes 1 and 2 with their features), or nil.
    static func selfSwap(_ p: PairProblem) -> ClassCorrespondence? {
        find(from: p, to: p, swapped: true).map { ClassCorrespondence(source: 0, feature: $0, swapped: true) }
    }

    /// Index of the entry (row k, feature f) of the source in y's flattened (row-major 2 x d) rows.
    func target(_ k: Int, _ f: Int) -> Int {
        (swapped ? 1 - k : k) * feature.count + feature[f]
    }

    /// y's gradient in D_y from the source's.
    func gradient(_ g: [[Double]]) -> [[Double]] {
        let d = feature.count
        var out = [[Double]](repeating: [Double](repeating: 0, count: d), count: 2)
        for k in 0..<2 { for f in 0..<d { out[swapped ? 1 - k : k][feature[f]] = g[k][f] } }
        return out
    }

    /// y's Hessian in D_y (row-major over the 2 d entries) from the source's.
    func hessian(_ h: [Double]) -> [Double] {
        let n = 2 * feature.count, d = feature.count
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            let ti = target(i / d, i % d)
            for j in 0..<n { out[ti * n + target(j / d, j % d)] = h[i * n + j] }
        }
        return out
    }
}

import Foundation

// The certified fixed-scale optimum of the empirical margin losses (`worst-margin`, `hinge`):
// an interior point on their second-order cone formulation and a lower bound valid for any
// multipliers.
//
// Formulation. With D_yc = w_y - w_c and the robust margins m_ic = D_{y_i c} . x_i -
// eps ||D_{y_i c}||_* (dual norm: l1 for l_inf, l2 for l2), the per-sample losses are
//     worst-margin: f_i = max_c (-m_ic),      hinge: f_i = max(0, max_c (kappa - m_ic)),
// and R_n = mean_i f_i is minimised over centred W (rows summing to 0) with ||W||_F <= s. In
// the Helmert coordinates z of centred W (an isometry, `ReducedCoordinates`) with one variable
// v per unordered class pair p = (a < b) and coordinate j (l_inf: v_pj >= |(D_p)_j|) or per pair
// (l2: v_p >= ||D_p||_2, a second-order cone), it is the convex program
//     minimise (1/n) sum_i t_i  subject to
//       t_i >= kappa - D_{y_i c} . x_i + eps N_p   (every c != y_i; N_p = sum_j v_pj or v_p;
//                                                  kappa = 0 for worst-margin),
//       t_i >= 0 (hinge only),  the pair constraints,  ||z||^2 <= s^2.
// At any feasible point N_p >= ||D_p||_*, so (1/n) sum t_i >= R_n(W); at the optimum equality.
// The log barrier (1/n) sum t - mu sum log(slacks) is minimised by Newton steps, t eliminated
// per sample by its Schur complement (written as a sum of positive terms, so the large
// multipliers of the active constraints do not cancel), mu cut by 5 after each centring.
//
// Certificate (valid for ANY multipliers, whatever the interior point achieved). For alpha_ic
// >= 0 with sum_c alpha_ic = 1 (worst-margin) or <= 1 (hinge; the rest on the 0 piece) and any
// r_ic in the unit ball of the primal norm (box for l_inf, l2 ball for l2), Hoelder gives
// ||D||_* >= r_ic . D, so for every U
//     f_i(U) >= sum_c alpha_ic (kappa - m_ic(U)) >= sum_c alpha_ic (kappa - D_{y_i c}(U) . x_i
//               + eps r_ic . D_{y_i c}(U)),
// which is linear in U: R_n(U) >= A + <G, U> with A = (1/n) sum alpha_ic kappa and G = (1/n)
// sum alpha_ic (e_{y_i} - e_c) (x) (-x_i + eps r_ic). The minimum over the ball is A - s ||G||_F
// (G's rows sum to zero, so it is centred; ||G|| >= ||centred part|| keeps this valid under
// rounding too). The multipliers come from the barrier: alpha_ic = n mu / slack_ic (the
// central path's multipliers, summing to 1 - n mu / t_i per sample), clipped and rescaled onto
// their set; r = D_p / v_p per pair (for l_inf this is (g+ - g-) / (g+ + g-) with g+- = mu /
// (v -+ D), the pair constraints' multipliers; for l2 the cone's u / v), sign-flipped for the
// ordered pair. At the optimum the KKT conditions make the bound exact, so the gap
// R_n(W) - bound (R_n evaluated exactly) certifies W.

extension EmpiricalRobustObjective {
    /// Multipliers of the margin-loss certificate (`marginLowerBound`). Any values are allowed:
    /// the bound clips them onto their sets first.
    public struct MarginMultipliers: Sendable, Equatable {
        /// alpha[i][c]: the weight of class c's margin in sample i's loss (n x K; the entry
        /// of the sample's own label is ignored).
        public var alpha: [[Double]]
        /// directions[y * K + c]: r for D_yc = w_y - w_c (d entries each; y == c ignored).
        public var directions: [[Double]]

        public init(alpha: [[Double]], directions: [[Double]]) {
            self.alpha = alpha
            self.directions = directions
        }
    }

    /// The margin loss's kappa (0 for worst-margin), nil for the other losses.
    var marginKappa: Double? {
        switch objective {
        case .worstMargin: return 0
        case .hinge(let kappa): return kappa
        default: return nil
        }
    }

    /// A certified lower bound on min over centred ||U||_F <= s of R_n (worst-margin or hinge):
    /// A - s ||G||_F from the multipliers clipped onto their sets (alpha: non-negative, summing
    /// to 1 per sample for worst-margin, at most 1 for hinge; r: into the unit box for l_inf,
    /// the unit l2 ball for l2). Valid for any input (see the file header); -infinity when a
    /// multiplier is not finite or the shapes do not fit.
    public func marginLowerBound(scale s: Double, multipliers: MarginMultipliers) -> Double {
        marginCertificate(scale: s, multipliers: multipliers).bound
    }

    /// `marginLowerBound` and its aggregate slope G (K x d).
    func marginCertificate(scale s: Double, multipliers: MarginMultipliers) -> (bound: Double, slope: Matrix) {
        let minorant = marginMinorant(multipliers: multipliers)
        let bound = minorant.offset - s * minorant.slope.frobeniusNormSquared.squareRoot()
        return (bound.isFinite ? bound : -.infinity, minorant.slope)
    }

    /// The global linear minorant behind `marginLowerBound`: R_n(U) >= offset + <slope, U> for
    /// every U (K x d), with offset = A and slope = G of the file header, from the multipliers
    /// clipped onto their sets. (-infinity, 0) when the shapes do not fit or the loss is not a
    /// margin loss.
    public func marginMinorant(multipliers: MarginMultipliers) -> (offset: Double, slope: Matrix) {
        let k = model.classCount, d = model.dimension, n = sample.count
        let eps = threat.eps
        var g = Matrix(rows: k, columns: d)
        guard let kappa = marginKappa, multipliers.alpha.count == n, multipliers.directions.count == k * k,
              multipliers.alpha.allSatisfy({ $0.count == k }),
              multipliers.directions.enumerated().allSatisfy({ $0.offset / k == $0.offset % k || $0.element.count == d })
        else { return (-.infinity, g) }
        // r clipped into the unit ball of the primal norm.
        var directions = multipliers.directions
        for (index, r) in directions.enumerated() where index / k != index % k {
            switch threat.norm {
            case .linf: directions[index] = r.map { $0.isNaN ? 0 : min(1, max(-1, $0)) }
            case .l2:
                let clean = r.map { $0.isNaN ? 0 : $0 }
                let norm = clean.reduce(0) { $0 + $1 * $1 }.squareRoot()
                directions[index] = norm > 1 ? clean.map { $0 / norm } : clean
                if !norm.isFinite { directions[index] = [Double](repeating: 0, count: d) }
            }
        }
        var offset = 0.0
        for i in 0..<n {
            let y = sample.labels[i]
            let others = (0..<k).filter { $0 != y }
            guard !others.isEmpty else { continue }
            var alpha = others.map { c -> Double in
                let a = multipliers.alpha[i][c]
                return a.isNaN ? 0 : max(0, min(a, .greatestFiniteMagnitude))
            }
            let total = alpha.reduce(0, +)
            if marginIsWorst {
                alpha = total > 0 ? alpha.map { $0 / total } : alpha.map { _ in 1 / Double(others.count) }
            } else if total > 1 {
                alpha = alpha.map { $0 / total }
            }
            let x = sample.inputs.row(i)
            for (c, a) in zip(others, alpha) where a > 0 {
                offset += a * kappa
                let r = directions[y * k + c]
                for (j, xv) in zip(0..<d, x) {
                    let v = a * (-xv + eps * r[j])
                    g[y, j] += v
                    g[c, j] -= v
                }
            }
        }
        g.storage = g.storage.map { $0 / Double(n) }
        guard g.storage.allSatisfy(\.isFinite), (offset / Double(n)).isFinite else { return (-.infinity, Matrix(rows: k, columns: d)) }
        return (offset / Double(n), g)
    }

    private var marginIsWorst: Bool { objective == .worstMargin }

    /// The interior point's result: its best point (the barrier point or its projection on
    /// the sphere, whichever is lower), that point's exact value, the best certified bound and
    /// its multipliers, and the Newton steps taken.
    struct MarginInteriorPoint {
        var weights: Matrix
        var value: Double
        var bound: Double
        var multipliers: MarginMultipliers?
        var steps: Int
    }

    /// Log-barrier interior point for the margin losses' fixed-scale optimum (the SOCP of the
    /// file header), from `start` (scaled strictly inside the ball). Stops when the exact gap
    /// value - bound is at most tolerance / 2, when mu is far below what the tolerance needs, or
    /// after `maxSteps` Newton steps; what it returns is valid either way (the value is exact at
    /// the returned weights, the bound valid for its multipliers).
    func marginInteriorPoint(from start: Matrix, scale s: Double, tolerance: Double, maxSteps: Int) throws -> MarginInteriorPoint? {
        guard let kappa = marginKappa, maxSteps > 0 else { return nil }
        let k = model.classCount, d = model.dimension, n = sample.count
        guard k >= 2 else { return nil }
        let eps = threat.eps
        let isHinge = !marginIsWorst
        let linf = threat.norm == .linf
        let coordinates = ReducedCoordinates(classes: k, dimension: d, zeroColumns: [])
        let basis = coordinates.basis
        let m = coordinates.count
        // Unordered pairs a < b: D_p = w_a - w_b = sum_c beta_p[c] z_c (per coordinate).
        var pairs: [(a: Int, b: Int)] = []
        var pairOf = [[Int]](repeating: [Int](repeating: -1, count: k), count: k)
        for a in 0..<k { for b in (a + 1)..<max(k, a + 1) { pairOf[a][b] = pairs.count; pairOf[b][a] = pairs.count; pairs.append((a, b)) } }
        let pairCount = pairs.count
        let beta = pairs.map { p in (0..<(k - 1)).map { basis[p.a][$0] - basis[p.b][$0] } }
        let vCount = linf ? pairCount * d : pairCount
        let size = m + vCount
        func vIndex(_ p: Int, _ j: Int) -> Int { linf ? m + p * d + j : m + p }
        // Sample constraints: slack_ic = t_i + a_ic . y - kappa, y = (z, v).
        var rows: [[Double]] = []      // a_ic, n * (K - 1) of them, sample-major
        var rowSample: [Int] = []
        for i in 0..<n {
            let yi = sample.labels[i]
            let x = Array(sample.inputs.row(i))
            for c in 0..<k where c != yi {
                let p = pairOf[yi][c]
                let sign: Double = yi == pairs[p].a ? 1 : -1
                var a = [Double](repeating: 0, count: size)
                for cc in 0..<(k - 1) { for j in 0..<d { a[cc * d + j] = sign * beta[p][cc] * x[j] } }
                if linf { for j in 0..<d { a[vIndex(p, j)] = -eps } } else { a[vIndex(p, 0)] = -eps }
                rows.append(a)
                rowSample.append(i)
            }
        }
        let perSample = k - 1
        func differences(_ y: [Double]) -> [[Double]] {
            (0..<pairCount).map { p in (0..<d).map { j in (0..<(k - 1)).reduce(0.0) { $0 + beta[p][$1] * y[$1 * d + j] } } }
        }
        // All slacks, in the order: samples (n (K - 1)), hinge t_i, pairs (l_inf: 2 per (p, j),
        // l2: the cone's v^2 - ||D||^2 and v), ball. nil if one is not positive.
        func slacks(_ t: [Double], _ y: [Double]) -> [Double]? {
            var out: [Double] = []
            out.reserveCapacity(rows.count + n + 2 * vCount + 1)
            for (r, a) in rows.enumerated() { out.append(t[rowSample[r]] + a.dot(y) - kappa) }
            if isHinge { out.append(contentsOf: t) }
            let dd = differences(y)
            for p in 0..<pairCount {
                if linf {
                    for j in 0..<d { let v = y[vIndex(p, j)]; out.append(v - dd[p][j]); out.append(v + dd[p][j]) }
                } else {
                    let v = y[vIndex(p, 0)]
                    out.append(v * v - dd[p].reduce(0) { $0 + $1 * $1 }); out.append(v)
                }
            }
            out.append(s * s - (0..<m).reduce(0.0) { $0 + y[$1] * y[$1] })
            guard out.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
            return out
        }
        func barrier(_ t: [Double], _ y: [Double], _ mu: Double) -> (value: Double, slacks: [Double])? {
            guard let sl = slacks(t, y) else { return nil }
            var value = t.reduce(0, +) / Double(n)
            var logs = 0.0
            for (q, v) in sl.enumerated() {
                // The l2 cone's second slack (v > 0) only keeps the right branch: no barrier term.
                if !linf, q >= rows.count + (isHinge ? n : 0), q < rows.count + (isHinge ? n : 0) + 2 * pairCount,
                   (q - rows.count - (isHinge ? n : 0)) % 2 == 1 { continue }
                logs += log(v)
            }
            value -= mu * logs
            return (value, sl)
        }
        // Strictly feasible start.
        var z = coordinates.of(Self.projectOntoCentredBall(start, radius: s))
        let startNorm = z.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if startNorm > 0.9 * s { z = z.map { $0 * 0.9 * s / startNorm } }
        var y = z + [Double](repeating: 0, count: vCount)
        let startDifferences = differences(y)
        let typical = max(startDifferences.flatMap { $0 }.maxMagnitude, 1e-3 * s, 1e-12)
        for p in 0..<pairCount {
            if linf {
                for j in 0..<d { y[vIndex(p, j)] = abs(startDifferences[p][j]) + typical }
            } else {
                y[vIndex(p, 0)] = startDifferences[p].reduce(0) { $0 + $1 * $1 }.squareRoot() + typical
            }
        }
        let startValue = try evaluate(coordinates.weights(z)).value
        let constraintCount = Double(rows.count + (isHinge ? n : 0) + (linf ? 2 * vCount : 2 * pairCount) + 1)
        var mu = max(1 + abs(startValue), 1e-3) / constraintCount
        var t = [Double](repeating: isHinge ? 0 : -Double.infinity, count: n)
        for (r, a) in rows.enumerated() { t[rowSample[r]] = max(t[rowSample[r]], kappa - a.dot(y)) }
        t = t.map { $0 + Double(n) * mu }

        var best = MarginInteriorPoint(weights: coordinates.weights(z), value: startValue, bound: -.infinity, multipliers: nil, steps: 0)
        var steps = 0
        let floor = 1e-4 * tolerance / constraintCount
        // A Newton step may shrink any slack at most 4-fold, and mu is cut 5-fold after each
        // centring: with 10-fold cuts the first steps after a cut drove the ball's slack to
        // ~1e-3 of its central value at n = 300, and Newton then crawled back (3 % a step, the
        // 60-step centring limit hit every time); with 5-fold cuts no solve of `compare
        // --n-train 100 --noise-dims 5` (eps 0.3, 0.42) needs more than ~115 steps.
        let boundaryFraction = 0.25
        let cut = 0.2
        // The Newton step of the barrier at (t, y) with slacks sl: (dt, dy) and the decrement
        // -(g . step) (= step^T H step).
        func newtonStep(_ t: [Double], _ y: [Double], _ sl: [Double], _ mu: Double) -> (dt: [Double], dy: [Double], decrement: Double)? {
            var schur = [Double](repeating: 0, count: size * size)
            var gy = [Double](repeating: 0, count: size)
            var gt = [Double](repeating: 1 / Double(n), count: n)
            var ht = [Double](repeating: 0, count: n)
            var cross = [[Double]](repeating: [Double](repeating: 0, count: size), count: n)
            // weight u u^T added on u's non-zero entries only (the sample rows touch the z and
            // one pair's v, the pair rows K entries).
            var support = [Int](repeating: 0, count: size)
            func addOuter(_ u: [Double], _ weight: Double) {
                var count = 0
                for r in 0..<size where u[r] != 0 { support[count] = r; count += 1 }
                schur.withUnsafeMutableBufferPointer { h in
                    for a in 0..<count {
                        let r = support[a]
                        let v = weight * u[r]
                        let base = r * size
                        for b in 0..<count { h[base + support[b]] += v * u[support[b]] }
                    }
                }
            }
            // Samples: t_i eliminated. Its block is h_i = sum_c w_c + w_0 (w = mu / slack^2,
            // w_0 the hinge's t_i >= 0), coupled to y by sum_c w_c a_c; the Schur complement
            // sum_c w_c a_c a_c^T - (sum w_c a_c)(sum w_c a_c)^T / h_i equals
            // sum_{c < c'} w_c w_c' / h_i (a_c - a_c')(a_c - a_c')^T + sum_c w_c w_0 / h_i a_c a_c^T.
            for i in 0..<n {
                let base = i * perSample
                let w = (0..<perSample).map { mu / (sl[base + $0] * sl[base + $0]) }
                let w0 = isHinge ? mu / (t[i] * t[i]) : 0
                ht[i] = w.reduce(0, +) + w0
                for c in 0..<perSample {
                    let a = rows[base + c]
                    let first = mu / sl[base + c]
                    gt[i] -= first
                    for q in 0..<size where a[q] != 0 { gy[q] -= first * a[q]; cross[i][q] += w[c] * a[q] }
                    if w0 > 0 { addOuter(a, w[c] * w0 / ht[i]) }
                    for c2 in (c + 1)..<max(perSample, c + 1) {
                        let difference = zip(a, rows[base + c2]).map { $0.0 - $0.1 }
                        addOuter(difference, w[c] * w[c2] / ht[i])
                    }
                }
                if isHinge { gt[i] -= mu / t[i] }
            }
            // Pairs.
            let dd = differences(y)
            var offset = rows.count + (isHinge ? n : 0)
            for p in 0..<pairCount {
                if linf {
                    for j in 0..<d {
                        for sign in [-1.0, 1.0] {   // slack v + sign D
                            let slack = sl[offset]; offset += 1
                            var u = [Double](repeating: 0, count: size)
                            u[vIndex(p, j)] = 1
                            for cc in 0..<(k - 1) { u[cc * d + j] = sign * beta[p][cc] }
                            for q in 0..<size where u[q] != 0 { gy[q] -= mu / slack * u[q] }
                            addOuter(u, mu / (slack * slack))
                        }
                    }
                } else {
                    let cone = sl[offset]; offset += 2
                    let v = y[vIndex(p, 0)]
                    // c = v^2 - ||D||^2: gradient 2 v e_v - 2 M^T D, Hessian 2 e_v e_v^T - 2 M^T M.
                    var u = [Double](repeating: 0, count: size)
                    u[vIndex(p, 0)] = 2 * v
                    for cc in 0..<(k - 1) { for j in 0..<d { u[cc * d + j] = -2 * beta[p][cc] * dd[p][j] } }
                    for q in 0..<size where u[q] != 0 { gy[q] -= mu / cone * u[q] }
                    addOuter(u, mu / (cone * cone))
                    let e = vIndex(p, 0)
                    schur[e * size + e] -= 2 * mu / cone
                    for j in 0..<d {
                        for c1 in 0..<(k - 1) {
                            for c2 in 0..<(k - 1) { schur[(c1 * d + j) * size + c2 * d + j] += 2 * mu / cone * beta[p][c1] * beta[p][c2] }
                        }
                    }
                }
            }
            // Ball: -mu log(s^2 - ||z||^2).
            let q = sl[sl.count - 1]
            for r in 0..<m {
                gy[r] += 2 * mu * y[r] / q
                schur[r * size + r] += 2 * mu / q
                for c in 0..<m { schur[r * size + c] += 4 * mu * y[r] * y[c] / (q * q) }
            }
            var rhs = gy.map { -$0 }
            for i in 0..<n { for qq in 0..<size where cross[i][qq] != 0 { rhs[qq] += cross[i][qq] * gt[i] / ht[i] } }
            let trace = (0..<size).reduce(0.0) { $0 + schur[$1 * size + $1] }
            for r in 0..<size { schur[r * size + r] += 1e-15 * max(trace / Double(size), 1e-300) }
            guard let solution = Self.choleskySolve(schur, [rhs], size: size) else { return nil }
            let dy = solution[0]
            let dt = (0..<n).map { i in -(gt[i] + cross[i].dot(dy)) / ht[i] }
            let decrement = -(gy.dot(dy) + gt.dot(dt))
            guard decrement.isFinite, dy.allSatisfy(\.isFinite), dt.allSatisfy(\.isFinite) else { return nil }
            return (dt, dy, decrement)
        }
        outer: while true {
            guard var current = barrier(t, y, mu) else { return nil }
            for _ in 0..<60 {
                guard steps < maxSteps else { break outer }
                steps += 1
                guard let newton = newtonStep(t, y, current.slacks, mu) else { break outer }
                let (dt, dy, decrement) = newton
                if decrement <= 1e-6 * mu { break }
                var alpha = 1.0, moved = false
                for _ in 0..<60 {
                    let ty = zip(y, dy).map { $0.0 + alpha * $0.1 }
                    let tt = zip(t, dt).map { $0.0 + alpha * $0.1 }
                    if let trial = barrier(tt, ty, mu), trial.value <= current.value - 0.25 * alpha * decrement,
                       zip(trial.slacks, current.slacks).allSatisfy({ $0.0 >= boundaryFraction * $0.1 }) {
                        y = ty; t = tt; current = trial; moved = true
                        break
                    }
                    alpha /= 2
                }
                if !moved { break }
            }
            // The certificate at this (approximately) central point, once the central-path gap
            // mu * constraints is near the tolerance.
            if mu * constraintCount <= tolerance {
                let sl = current.slacks
                // Two sets of multipliers, both valid whatever they are: the central path's
                // mu / slack, and the same corrected by the Newton step at this point,
                // mu / slack (1 - dslack / slack). The second satisfies the stationarity in t
                // and v exactly (the Newton equations are linear in the linear constraints'
                // multipliers), so it does not carry the centring error (which makes mu / slack
                // off by a relative ~ Newton decrement, 1e-4 at the end of a centring).
                let newton = newtonStep(t, y, sl, mu)
                var candidates: [MarginMultipliers] = []
                for corrected in newton == nil ? [false] : [false, true] {
                    var slackChange = [Double](repeating: 0, count: sl.count)
                    if corrected, let (dt, dy, _) = newton {
                        for (r, a) in rows.enumerated() { slackChange[r] = dt[rowSample[r]] + a.dot(dy) }
                        let dd = differences(dy)
                        var offset = rows.count + (isHinge ? n : 0)
                        if linf {
                            for p in 0..<pairCount {
                                for j in 0..<d {
                                    slackChange[offset] = dy[vIndex(p, j)] - dd[p][j]
                                    slackChange[offset + 1] = dy[vIndex(p, j)] + dd[p][j]
                                    offset += 2
                                }
                            }
                        }
                    }
                    func multiplier(_ q: Int) -> Double { mu / sl[q] * (1 - slackChange[q] / sl[q]) }
                    var alpha = [[Double]](repeating: [Double](repeating: 0, count: k), count: n)
                    for r in rows.indices {
                        let i = rowSample[r], yi = sample.labels[i]
                        let c = r % perSample < yi ? r % perSample : r % perSample + 1
                        alpha[i][c] = Double(n) * multiplier(r)
                    }
                    let dd = differences(y)
                    var directions = [[Double]](repeating: [], count: k * k)
                    let pairOffset = rows.count + (isHinge ? n : 0)
                    for (p, pair) in pairs.enumerated() {
                        var r: [Double]
                        if linf {
                            // (g+ - g-) / (g+ + g-), g+ the multiplier of v >= D, g- of v >= -D.
                            r = (0..<d).map { j in
                                let plus = multiplier(pairOffset + 2 * (p * d + j)), minus = multiplier(pairOffset + 2 * (p * d + j) + 1)
                                return plus + minus > 0 ? (plus - minus) / (plus + minus) : 0
                            }
                        } else if corrected, let (_, dy, _) = newton {
                            // The cone's dual vector -mu (grad b + Hess b step), b = -log(v^2 - ||D||^2),
                            // in (v, D): r = -lambda_D / lambda_v.
                            let v = y[vIndex(p, 0)], dv = dy[vIndex(p, 0)], dD = differences(dy)[p]
                            let cone = sl[pairOffset + 2 * p]
                            let vD = zip(dd[p], dD).reduce(0) { $0 + $1.0 * $1.1 }
                            let lambdaV = mu * (2 * v / cone - (-2 / cone + 4 * v * v / (cone * cone)) * dv + 4 * v * vD / (cone * cone))
                            r = (0..<d).map { j in
                                let lambdaD = -mu * (2 * dd[p][j] / cone - 4 * v * dd[p][j] * dv / (cone * cone)
                                                     + 2 * dD[j] / cone + 4 * dd[p][j] * vD / (cone * cone))
                                return lambdaV > 0 ? -lambdaD / lambdaV : 0
                            }
                        } else {
                            r = dd[p].map { $0 / y[vIndex(p, 0)] }
                        }
                        directions[pair.a * k + pair.b] = r
                        directions[pair.b * k + pair.a] = r.map { -$0 }
                    }
                    candidates.append(MarginMultipliers(alpha: alpha, directions: directions))
                }
                for multipliers in candidates {
                    let bound = marginLowerBound(scale: s, multipliers: multipliers)
                    if bound > best.bound { best.bound = bound; best.multipliers = multipliers }
                }
                let point = coordinates.weights(Array(y[0..<m]))
                let norm = point.frobeniusNormSquared.squareRoot()
                for candidate in [point] + (norm > 0 ? [point.scaled(by: s / norm)] : []) {
                    if let e = try? evaluate(candidate), e.value < best.value { best.weights = candidate; best.value = e.value }
                }
                if best.value - best.bound <= 0.5 * tolerance { break }
            }
            if mu <= floor { break }
            mu = max(mu * cut, floor)
        }
        best.steps = steps
        return best
    }
}

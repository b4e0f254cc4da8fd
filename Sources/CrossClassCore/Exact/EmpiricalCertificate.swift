import Foundation

// The certified finish of the empirical ce fixed-scale optimum: a Newton polish on the smooth
// structure the bundle method identifies, and a lower bound built from the exact pieces of the
// inner maxima at the polished point.
//
// Why it certifies: R_n(W) = (1/n) sum_i max_sigma phi_{i,sigma}(W), each phi_{i,sigma}(W) =
// ce(W (x_i + eps sigma), y_i) smooth and convex in W (sigma a box vertex). Any piece's
// linearisation at W is a global minorant of its sample's term, and so is any convex combination
// of them; minimised over the ball ||U||_F <= s it bounds min R_n from below (weak duality; at
// the optimum some combination makes the bound exact, by the KKT conditions). Where a column of W
// is exactly zero, every sign of that coordinate gives the same value, so the combination may use
// any sign in [-1, 1] there: this is what certifies optima with columns exactly zero (noise or
// cross-class features dropped), which a single subgradient cannot.
//
// Three finishes, tried in this order: the log-barrier interior point on the epigraph of the
// candidate pieces (any number of tied pieces per sample; its multipliers are the certificate's
// weights, `multiplierLowerBound`), then the Newton polish with the piece certificate, then
// Newton on the KKT system of two-piece ties (the older finishes, kept as fallbacks). The
// columns fixed at zero are a guess from the bundle point; the barrier's certificate tests it
// (`multiplierCertificate`: a column the optimum keeps at zero has signs that cancel the
// subgradient there), and the columns it rejects are released and the barrier run again.

/// The centred W (rows summing to 0) whose `zeroColumns` are exactly zero, in coordinates:
/// z[c * free.count + a] is the coefficient of the Helmert basis vector c in free column a. The
/// map is an isometry (||z|| = ||W||_F), which is why the finishes work in z.
struct ReducedCoordinates {
    let classes: Int, dimension: Int
    let free: [Int]
    let basis: [[Double]]
    var count: Int { (classes - 1) * free.count }

    init(classes: Int, dimension: Int, zeroColumns: Set<Int>) {
        self.classes = classes
        self.dimension = dimension
        free = (0..<dimension).filter { !zeroColumns.contains($0) }
        basis = EmpiricalRobustObjective.centredBasis(classes)
    }

    func weights(_ z: [Double]) -> Matrix {
        var w = Matrix(rows: classes, columns: dimension)
        for (a, j) in free.enumerated() {
            for r in 0..<classes {
                var v = 0.0
                for c in 0..<(classes - 1) { v += basis[r][c] * z[c * free.count + a] }
                w[r, j] = v
            }
        }
        return w
    }

    /// One piece of the inner maximum (the ce loss of label `y` at input `u`, a box vertex) at
    /// `w`: its value, its gradient in z, and the factors of its Hessian in z, which is
    /// t (x) (uf uf^T) with t the (K-1) x (K-1) softmax covariance in the basis and uf the input
    /// on the free columns.
    typealias Piece = (value: Double, gradient: [Double], t: [Double], uf: [Double])

    func piece(input u: [Double], label y: Int, weights w: Matrix) -> Piece {
        let k = classes, f = free.count
        let logits = (0..<k).map { r in free.reduce(0.0) { $0 + w[r, $1] * u[$1] } }
        let top = logits.max()!
        let total = logits.reduce(0) { $0 + exp($1 - top) }
        let p = logits.map { exp($0 - top) / total }
        let uf = free.map { u[$0] }
        var g = [Double](repeating: 0, count: count)
        for c in 0..<(k - 1) {
            let coefficient = (0..<k).reduce(0.0) { $0 + basis[$1][c] * (p[$1] - ($1 == y ? 1 : 0)) }
            for a in 0..<f { g[c * f + a] = coefficient * uf[a] }
        }
        var tt = [Double](repeating: 0, count: (k - 1) * (k - 1))
        for c in 0..<(k - 1) {
            for e in 0..<(k - 1) {
                var v = 0.0, bp = 0.0, ep = 0.0
                for r in 0..<k { v += basis[r][c] * p[r] * basis[r][e]; bp += basis[r][c] * p[r]; ep += basis[r][e] * p[r] }
                tt[c * (k - 1) + e] = v - bp * ep
            }
        }
        return (top + log(total) - logits[y], g, tt, uf)
    }

    /// The coordinates of `w`'s centred part on the free columns (its zero columns dropped).
    func of(_ w: Matrix) -> [Double] {
        var z = [Double](repeating: 0, count: count)
        for (a, j) in free.enumerated() {
            for c in 0..<(classes - 1) { z[c * free.count + a] = (0..<classes).reduce(0.0) { $0 + basis[$1][c] * w[$1, j] } }
        }
        return z
    }
}

extension EmpiricalRobustObjective {
    /// An orthonormal basis (K x (K-1), Helmert) of the centred vectors {v : sum v = 0}.
    static func centredBasis(_ k: Int) -> [[Double]] {
        var basis = [[Double]](repeating: [Double](repeating: 0, count: k - 1), count: k)
        for c in 0..<(k - 1) {
            let norm = (Double(c + 1) * Double(c + 2)).squareRoot()
            for r in 0...c { basis[r][c] = 1 / norm }
            basis[c + 1][c] = -Double(c + 1) / norm
        }
        return basis
    }

    /// Solves A x = b for a symmetric positive definite A (n x n, row-major) by Cholesky; nil when
    /// A is not numerically positive definite.
    static func choleskySolve(_ a: [Double], _ b: [[Double]], size n: Int) -> [[Double]]? {
        var l = a
        for j in 0..<n {
            var diagonal = l[j * n + j]
            for p in 0..<j { diagonal -= l[j * n + p] * l[j * n + p] }
            guard diagonal > 0, diagonal.isFinite else { return nil }
            let root = diagonal.squareRoot()
            l[j * n + j] = root
            for i in (j + 1)..<max(n, j + 1) {
                var v = l[i * n + j]
                for p in 0..<j { v -= l[i * n + p] * l[j * n + p] }
                l[i * n + j] = v / root
            }
        }
        return b.map { rhs in
            var y = rhs
            for i in 0..<n {
                for p in 0..<i { y[i] -= l[i * n + p] * y[p] }
                y[i] /= l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {
                for p in (i + 1)..<max(n, i + 1) { y[i] -= l[p * n + i] * y[p] }
                y[i] /= l[i * n + i]
            }
            return y
        }
    }

    /// Newton's method for R_n (ce) restricted to the centred W whose `zeroColumns` are exactly
    /// zero, on the sphere ||W||_F = s (or inside the ball when the unconstrained Newton step
    /// stays inside). The model is the active pieces' Hessian; every step is accepted on the
    /// exact objective only, so the result is never worse than the (zeroed) start.
    func newtonPolish(from start: Matrix, zeroColumns: Set<Int>, scale s: Double, maxSteps: Int = 60) throws -> (weights: Matrix, value: Double, steps: Int) {
        let k = model.classCount, d = model.dimension, n = Double(sample.count)
        let coordinates = ReducedCoordinates(classes: k, dimension: d, zeroColumns: zeroColumns)
        let free = coordinates.free, basis = coordinates.basis, m = coordinates.count
        guard m > 0 else { return (start, try evaluate(start).value, 0) }
        func weights(_ z: [Double]) -> Matrix { coordinates.weights(z) }
        // Reduced coordinates of the start (its zeroed columns dropped), scaled into the ball.
        var z = coordinates.of(start)
        var norm = z.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else { return (start, try evaluate(start).value, 0) }
        if norm > s { z = z.map { $0 * s / norm }; norm = s }
        var pieces: [ActivePiece]? = []
        var current = try evaluate(weights(z), pieces: &pieces)
        var onSphere = norm >= s * (1 - 1e-9)
        var steps = 0
        for _ in 0..<maxSteps {
            steps += 1
            var gz = [Double](repeating: 0, count: m)
            for (a, j) in free.enumerated() {
                for c in 0..<(k - 1) { gz[c * free.count + a] = (0..<k).reduce(0.0) { $0 + basis[$1][c] * current.gradient[$1, j] } }
            }
            var hessian = [Double](repeating: 0, count: m * m)
            for piece in pieces! {
                let p = piece.probabilities
                // T = B^T (diag p - p p^T) B.
                var t = [Double](repeating: 0, count: (k - 1) * (k - 1))
                for c in 0..<(k - 1) {
                    for e in 0..<(k - 1) {
                        var v = 0.0, bp = 0.0, ep = 0.0
                        for r in 0..<k { v += basis[r][c] * p[r] * basis[r][e]; bp += basis[r][c] * p[r]; ep += basis[r][e] * p[r] }
                        t[c * (k - 1) + e] = (v - bp * ep) / n
                    }
                }
                let u = free.map { piece.input[$0] }
                for c in 0..<(k - 1) {
                    for e in 0..<(k - 1) where t[c * (k - 1) + e] != 0 {
                        let tv = t[c * (k - 1) + e]
                        for a in 0..<free.count {
                            let row = (c * free.count + a) * m + e * free.count
                            let ua = tv * u[a]
                            for b in 0..<free.count { hessian[row + b] += ua * u[b] }
                        }
                    }
                }
            }
            let trace = (0..<m).reduce(0.0) { $0 + hessian[$1 * m + $1] }
            let ridge = 1e-13 * max(trace / Double(m), 1e-300)
            var direction: [Double]
            var predicted: Double
            let radial = z.reduce(0) { $0 + $1 * $1 }
            let nu = -zip(gz, z).reduce(0) { $0 + $1.0 * $1.1 } / radial
            if !onSphere {
                var a = hessian
                for i in 0..<m { a[i * m + i] += ridge }
                guard let x = Self.choleskySolve(a, [gz], size: m) else { break }
                direction = x[0].map { -$0 }
                predicted = -0.5 * zip(gz, direction).reduce(0) { $0 + $1.0 * $1.1 }
            } else {
                // Tangent Newton step on the sphere: (H + nu I) d = -r + kappa z with z . d = 0.
                guard nu > -ridge else {
                    // The gradient points outward: the minimiser over the ball may be inside.
                    onSphere = false
                    continue
                }
                let r = zip(gz, z).map { $0.0 + nu * $0.1 }
                var a = hessian
                for i in 0..<m { a[i * m + i] += max(nu, 0) + ridge }
                guard let x = Self.choleskySolve(a, [r, z], size: m) else { break }
                let kappa = zip(z, x[0]).reduce(0) { $0 + $1.0 * $1.1 } / zip(z, x[1]).reduce(0) { $0 + $1.0 * $1.1 }
                direction = zip(x[0], x[1]).map { -$0.0 + kappa * $0.1 }
                predicted = -0.5 * zip(r, direction).reduce(0) { $0 + $1.0 * $1.1 }
            }
            guard predicted.isFinite, predicted > 1e-17 * (1 + abs(current.value)) else { break }
            var step = 1.0
            var accepted = false
            for _ in 0..<30 {
                var trial = zip(z, direction).map { $0.0 + step * $0.1 }
                let trialNorm = trial.reduce(0) { $0 + $1 * $1 }.squareRoot()
                var trialOnSphere = onSphere
                if onSphere || trialNorm > s {
                    trial = trial.map { $0 * s / trialNorm }
                    trialOnSphere = true
                }
                var trialPieces: [ActivePiece]? = []
                guard let e = try? evaluate(weights(trial), pieces: &trialPieces) else { step /= 2; continue }
                if e.value < current.value {
                    z = trial; current = e; pieces = trialPieces; onSphere = trialOnSphere
                    accepted = true
                    break
                }
                step /= 2
            }
            if !accepted { break }
        }
        return (weights(z), current.value, steps)
    }

    /// A certified lower bound on min over ||U||_F <= s of R_n (ce), from the active pieces at W
    /// and their single-coordinate flips, with free signs on W's exactly-zero columns. The
    /// combination weights are chosen by accelerated projected gradient on the (smoothed) gap;
    /// the bound returned is evaluated exactly at the weights found, so it is valid whatever
    /// the inner optimisation achieved.
    /// - Parameter ties: per sample, a second piece (its input point) and its weight, e.g. the
    ///   multipliers of `kktPolish`: the combination starts from them.
    func pieceLowerBound(at w: Matrix, scale s: Double, target: Double, iterations: Int = 500,
                         ties: [Int: (input: [Double], weight: Double)] = [:]) throws -> Double {
        let k = model.classCount, d = model.dimension, count = sample.count, n = Double(count)
        let eps = threat.eps
        var recorded: [ActivePiece]? = []
        let evaluation = try evaluate(w, pieces: &recorded)
        let pieces = recorded!
        let zero = (0..<d).filter { j in (0..<k).allSatisfy { w[$0, j] == 0 } }
        // Candidates per sample: value shortfall, a = p - e_y, input (zero columns: x itself).
        struct Candidate { var shortfall: Double; var a: [Double]; var u: [Double] }
        var candidates: [[Candidate]] = []
        var xZero: [[Double]] = []
        for i in 0..<count {
            let y = sample.labels[i]
            let x = Array(sample.inputs.row(i))
            let piece = pieces[i]
            var u = piece.input
            for j in zero { u[j] = x[j] }
            var list = [Candidate(shortfall: 0, a: (0..<k).map { piece.probabilities[$0] - ($0 == y ? 1 : 0) }, u: u)]
            let logits = (0..<k).map { r in (0..<d).reduce(0.0) { $0 + w[r, $1] * piece.input[$1] } }
            // Pieces one or two coordinates away (adjacent vertices, and the next ones: optima
            // can sit on a tie between two vertices of one sample's zonotope).
            let movable = (0..<d).filter { !zero.contains($0) && piece.input[$0] != x[$0] }
            var flips: [[Int]] = movable.map { [$0] }
            for (a, j) in movable.enumerated() { for l in movable[(a + 1)...] { flips.append([j, l]) } }
            for flip in flips {
                var flipped = logits
                for j in flip {
                    let shift = piece.input[j] - x[j]
                    for r in 0..<k { flipped[r] -= 2 * shift * w[r, j] }
                }
                let top = flipped.max()!
                let total = flipped.reduce(0) { $0 + exp($1 - top) }
                let value = top + log(total) - flipped[y]
                let shortfall = evaluation.sampleLosses[i] - value
                // Only near-ties can help the bound (a weight on a piece costs its shortfall).
                guard shortfall <= max(target, 1e-9) * (1 + abs(evaluation.sampleLosses[i])) else { continue }
                var v = u
                for j in flip { v[j] = 2 * x[j] - piece.input[j] }
                list.append(Candidate(shortfall: max(shortfall, 0), a: (0..<k).map { exp(flipped[$0] - top) / total - ($0 == y ? 1 : 0) }, u: v))
            }
            candidates.append(list)
            xZero.append(zero.map { x[$0] })
        }
        // Variables: lambda_i (simplex over the candidates), tau_i in [-1, 1]^|zero| (main piece).
        let z = zero.count
        var lambda = candidates.map { c in [1.0] + [Double](repeating: 0, count: c.count - 1) }
        let nonZero = (0..<d).filter { !zero.contains($0) }
        for (i, tie) in ties where i < count {
            if let c = candidates[i].indices.dropFirst().first(where: { c in nonZero.allSatisfy { candidates[i][c].u[$0] == tie.input[$0] } }) {
                lambda[i][0] = 1 - tie.weight
                lambda[i][c] = tie.weight
            }
        }
        var tau = [[Double]](repeating: [Double](repeating: 0, count: z), count: count)
        func aggregate(_ lambda: [[Double]], _ tau: [[Double]]) -> (g: Matrix, linear: Double) {
            var g = Matrix(rows: k, columns: d)
            var linear = 0.0
            for i in 0..<count {
                for (c, cand) in candidates[i].enumerated() where lambda[i][c] != 0 {
                    let l = lambda[i][c]
                    linear += l * cand.shortfall
                    for r in 0..<k where cand.a[r] != 0 {
                        let f = l * cand.a[r] / n
                        for j in 0..<d { g[r, j] += f * cand.u[j] }
                        if c == 0 { for (q, j) in zero.enumerated() { g[r, j] += f * eps * tau[i][q] } }
                    }
                }
            }
            return (g, linear / n)
        }
        let smoothing = max(target, 1e-15) / (10 * s)
        func gap(_ lambda: [[Double]], _ tau: [[Double]], smoothed: Bool) -> (value: Double, g: Matrix) {
            let (g, linear) = aggregate(lambda, tau)
            let inner = zip(g.storage, w.storage).reduce(0) { $0 + $1.0 * $1.1 }
            let norm2 = g.frobeniusNormSquared
            let norm = smoothed ? (norm2 + smoothing * smoothing).squareRoot() : norm2.squareRoot()
            return (linear + inner + s * norm, g)
        }
        func gradient(_ lambda: [[Double]], _ tau: [[Double]], _ g: Matrix) -> (dl: [[Double]], dt: [[Double]]) {
            let norm = (g.frobeniusNormSquared + smoothing * smoothing).squareRoot()
            var mm = w
            for q in mm.storage.indices { mm.storage[q] += s * g.storage[q] / norm }
            var dl = lambda, dt = tau
            for i in 0..<count {
                for (c, cand) in candidates[i].enumerated() {
                    var v = cand.shortfall
                    for r in 0..<k where cand.a[r] != 0 {
                        var dot = 0.0
                        for j in 0..<d { dot += mm[r, j] * cand.u[j] }
                        if c == 0 { for (q, j) in zero.enumerated() { dot += mm[r, j] * eps * tau[i][q] } }
                        v += cand.a[r] * dot
                    }
                    dl[i][c] = v / n
                }
                for (q, j) in zero.enumerated() {
                    dt[i][q] = lambda[i][0] * eps * (0..<k).reduce(0.0) { $0 + candidates[i][0].a[$1] * mm[$1, j] } / n
                }
            }
            return (dl, dt)
        }
        func project(_ lambda: [[Double]], _ tau: [[Double]]) -> ([[Double]], [[Double]]) {
            (lambda.map { $0.count == 1 ? [1] : Self.projectOntoSimplex($0) }, tau.map { $0.map { min(1, max(-1, $0)) } })
        }
        // W is zero on the zero columns, so tau enters the gap only through ||g_Z||: for fixed
        // lambda the best signs solve a box-constrained least-squares problem per zero column,
        // min over tau in [-1, 1]^n of ||b_q + sum_i c_i tau_iq||^2 (c_i = lambda_i0 eps a_i / n),
        // solved by accelerated projected gradient (its step from the Lipschitz bound).
        func fitSigns(_ lambda: [[Double]], _ tau: inout [[Double]]) {
            guard z > 0 else { return }
            var noSigns = tau
            for i in 0..<count { for q in 0..<z { noSigns[i][q] = 0 } }
            let base = aggregate(lambda, noSigns).g
            let c = (0..<count).map { i in candidates[i][0].a.map { lambda[i][0] * eps * $0 / n } }
            let lipschitz = max(2 * c.reduce(0.0) { $0 + $1.reduce(0) { $0 + $1 * $1 } }, 1e-300)
            for (q, j) in zero.enumerated() {
                var x = tau.map { $0[q] }
                var y = x, previous = x
                var momentum = 1.0
                func residual(_ t: [Double]) -> [Double] {
                    (0..<k).map { r in base[r, j] + (0..<count).reduce(0.0) { $0 + c[$1][r] * t[$1] } }
                }
                var bestNorm = residual(x).reduce(0) { $0 + $1 * $1 }
                var bestX = x
                var stalled = 0
                for _ in 0..<2_000 {
                    let e = residual(y)
                    previous = x
                    x = (0..<count).map { i in min(1, max(-1, y[i] - 2 * (0..<k).reduce(0.0) { $0 + c[i][$1] * e[$1] } / lipschitz)) }
                    let norm = residual(x).reduce(0) { $0 + $1 * $1 }
                    if norm < bestNorm * (1 - 1e-9) { stalled = 0 } else { stalled += 1 }
                    if norm < bestNorm { bestNorm = norm; bestX = x } else { momentum = 1 }
                    if stalled > 50 { break }
                    let next = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
                    y = (0..<count).map { min(1, max(-1, x[$0] + (momentum - 1) / next * (x[$0] - previous[$0]))) }
                    momentum = next
                    if bestNorm <= 1e-34 { break }
                }
                for i in 0..<count { tau[i][q] = bestX[i] }
            }
        }
        fitSigns(lambda, &tau)
        var best = gap(lambda, tau, smoothed: false).value
        if best > target, candidates.contains(where: { $0.count > 1 }) {
            var (yl, yt) = (lambda, tau)
            var previous = (lambda, tau)
            var lipschitz = 1.0
            var momentum = 1.0
            var last = gap(lambda, tau, smoothed: true).value
            for _ in 0..<iterations {
                let (fy, gy) = gap(yl, yt, smoothed: true)
                let (dl, dt) = gradient(yl, yt, gy)
                var next: ([[Double]], [[Double]]) = (yl, yt)
                var fnext = fy
                for _ in 0..<60 {
                    let step = 1 / lipschitz
                    next = project(zip(yl, dl).map { zip($0.0, $0.1).map { $0.0 - step * $0.1 } },
                                   zip(yt, dt).map { zip($0.0, $0.1).map { $0.0 - step * $0.1 } })
                    fnext = gap(next.0, next.1, smoothed: true).value
                    var change = 0.0, linear = 0.0
                    for i in 0..<count {
                        for c in yl[i].indices { let v = next.0[i][c] - yl[i][c]; change += v * v; linear += dl[i][c] * v }
                        for q in 0..<z { let v = next.1[i][q] - yt[i][q]; change += v * v; linear += dt[i][q] * v }
                    }
                    if fnext <= fy + linear + 0.5 * lipschitz * change + 1e-15 * abs(fy) { break }
                    lipschitz *= 2
                }
                // Restart the momentum when the objective goes up.
                if fnext > last {
                    momentum = 1
                    (yl, yt) = previous
                    continue
                }
                let nextMomentum = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
                let beta = (momentum - 1) / nextMomentum
                momentum = nextMomentum
                yl = zip(next.0, previous.0).map { zip($0.0, $0.1).map { $0.0 + beta * ($0.0 - $0.1) } }
                yt = zip(next.1, previous.1).map { zip($0.0, $0.1).map { $0.0 + beta * ($0.0 - $0.1) } }
                (yl, yt) = project(yl, yt)
                previous = next
                lipschitz = max(lipschitz / 1.5, 1e-12)
                var signs = next.1
                fitSigns(next.0, &signs)
                let exact = min(gap(next.0, next.1, smoothed: false).value, gap(next.0, signs, smoothed: false).value)
                best = min(best, exact)
                if best <= target / 4 || abs(last - fnext) <= 1e-16 * (1 + abs(fnext)) { last = fnext; break }
                last = fnext
            }
        }
        return evaluation.value - best
    }
}

// MARK: - Newton on the KKT system with ties between vertices

extension EmpiricalRobustObjective {
    /// Newton's method on the KKT system of R_n (ce) restricted to W with `zeroColumns` exactly
    /// zero, where some samples sit on a tie between two pieces (box vertices): with the pieces
    /// fixed (each sample's maximiser at the start, and for a tied sample the runner-up within
    /// `tieWindow`), solve  grad F + sum_t mu_t grad(phi_tb - phi_ta) / n + nu W = 0,
    /// phi_tb = phi_ta for every tie, and ||W||_F = s (when `onSphere`). The optimum of a max of
    /// smooth pieces often sits on such a tie; plain Newton on the max zig-zags across it.
    /// Returns the point with its ties' weights (mu, for the certificate), or nil when the
    /// iteration fails.
    func kktPolish(from start: Matrix, zeroColumns: Set<Int>, scale s: Double, onSphere: Bool, tieWindow: Double, maxSteps: Int = 30)
        throws -> (weights: Matrix, ties: [Int: (input: [Double], weight: Double)], steps: Int)?
    {
        let k = model.classCount, d = model.dimension, count = sample.count, n = Double(count)
        let coordinates = ReducedCoordinates(classes: k, dimension: d, zeroColumns: zeroColumns)
        let free = coordinates.free, f = free.count, m = coordinates.count
        guard m > 0 else { return nil }
        func weights(_ z: [Double]) -> Matrix { coordinates.weights(z) }
        var z = coordinates.of(start)
        // The pieces: each sample's maximiser at the start; ties: the runner-up (one or two
        // coordinates flipped) within the window.
        var recorded: [ActivePiece]? = []
        let evaluation = try evaluate(weights(z), pieces: &recorded)
        let w0 = weights(z)
        var main: [[Double]] = []
        var ties: [(sample: Int, input: [Double])] = []
        for i in 0..<count {
            let y = sample.labels[i], x = Array(sample.inputs.row(i))
            let input = recorded![i].input
            main.append(input)
            let logits = (0..<k).map { r in (0..<d).reduce(0.0) { $0 + w0[r, $1] * input[$1] } }
            let movable = free.filter { input[$0] != x[$0] }
            var flips: [[Int]] = movable.map { [$0] }
            for (a, j) in movable.enumerated() { for l in movable[(a + 1)...] { flips.append([j, l]) } }
            var best: (Double, [Int])? = nil
            for flip in flips {
                var z2 = logits
                for j in flip { for r in 0..<k { z2[r] -= 2 * (input[j] - x[j]) * w0[r, j] } }
                let top = z2.max()!
                let value = top + log(z2.reduce(0) { $0 + exp($1 - top) }) - z2[y]
                let shortfall = evaluation.sampleLosses[i] - value
                if shortfall <= tieWindow, shortfall < (best?.0 ?? .infinity) { best = (shortfall, flip) }
            }
            if let (_, flip) = best {
                var v = input
                for j in flip { v[j] = 2 * x[j] - input[j] }
                ties.append((i, v))
            }
        }
        guard !ties.isEmpty else { return nil }
        let t = ties.count
        let size = m + t + (onSphere ? 1 : 0)
        var mu = [Double](repeating: 0.5, count: t)
        var nu = 0.0
        // Per piece: value, gradient (reduced), Hessian contribution (reduced).
        func piece(_ u: [Double], _ y: Int, _ z: [Double]) -> ReducedCoordinates.Piece {
            coordinates.piece(input: u, label: y, weights: weights(z))
        }
        func addHessian(_ h: inout [Double], _ tt: [Double], _ uf: [Double], _ weight: Double) {
            for c in 0..<(k - 1) {
                for e in 0..<(k - 1) {
                    let tv = weight * tt[c * (k - 1) + e]
                    guard tv != 0 else { continue }
                    for a in 0..<f {
                        let row = (c * f + a) * size + e * f
                        let ua = tv * uf[a]
                        for b in 0..<f { h[row + b] += ua * uf[b] }
                    }
                }
            }
        }
        var steps = 0
        var residualNorm = Double.infinity
        for _ in 0..<maxSteps {
            steps += 1
            var matrix = [Double](repeating: 0, count: size * size)
            var rhs = [Double](repeating: 0, count: size)
            var gradient = [Double](repeating: 0, count: m)
            var tieIndex = [Int: Int]()
            for (q, tie) in ties.enumerated() { tieIndex[tie.sample] = q }
            for i in 0..<count {
                let y = sample.labels[i]
                let a = piece(main[i], y, z)
                if let q = tieIndex[i] {
                    let b = piece(ties[q].input, y, z)
                    for r in 0..<m { gradient[r] += ((1 - mu[q]) * a.gradient[r] + mu[q] * b.gradient[r]) / n }
                    addHessian(&matrix, a.t, a.uf, (1 - mu[q]) / n)
                    addHessian(&matrix, b.t, b.uf, mu[q] / n)
                    for r in 0..<m {
                        let v = (b.gradient[r] - a.gradient[r]) / n
                        matrix[(m + q) * size + r] = v
                        matrix[r * size + m + q] = v
                    }
                    rhs[m + q] = -(b.value - a.value) / n
                } else {
                    for r in 0..<m { gradient[r] += a.gradient[r] / n }
                    addHessian(&matrix, a.t, a.uf, 1 / n)
                }
            }
            if onSphere {
                for r in 0..<m {
                    gradient[r] += nu * z[r]
                    matrix[r * size + r] += nu
                    matrix[(size - 1) * size + r] = z[r]
                    matrix[r * size + size - 1] = z[r]
                }
                rhs[size - 1] = -(z.reduce(0) { $0 + $1 * $1 } - s * s) / 2
            }
            for r in 0..<m { rhs[r] = -gradient[r] }
            let residual = rhs.reduce(0) { $0 + $1 * $1 }.squareRoot()
            residualNorm = residual
            if residual <= 1e-15 { break }
            guard let step = DampedNewton.luSolve(matrix, rhs, size: size) else { return nil }
            for r in 0..<m { z[r] += step[r] }
            for q in 0..<t { mu[q] += step[m + q] }
            if onSphere { nu += step[size - 1] }
        }
        guard residualNorm.isFinite, mu.allSatisfy({ (-1e-9...(1 + 1e-9)).contains($0) }) else { return nil }
        if !onSphere, z.reduce(0, { $0 + $1 * $1 }).squareRoot() > s { return nil }
        var out: [Int: (input: [Double], weight: Double)] = [:]
        for (q, tie) in ties.enumerated() { out[tie.sample] = (tie.input, min(1, max(0, mu[q]))) }
        return (weights(z), out, steps)
    }
}

// MARK: - Interior point on the epigraph of the identified pieces

// Why: at the regeneration size (paper3, 5 noise coordinates, 20 per class, ||W||_F up to ~9)
// the optimum puts many samples on ties of three or more box vertices at once, and several
// samples on ties simultaneously; the two-piece KKT Newton above cannot represent that active
// set and its guessed multipliers leave the piece certificate loose. The epigraph form
//     min sum_i t_i  s.t.  phi_l(W) <= t_{i(l)} for every candidate piece l of sample i,
//                          ||W||_F^2 <= s^2,
// solved by a primal log-barrier method, needs no guess of the active set: its multipliers
// lambda_l = mu / (t_i - phi_l) lie on each sample's simplex for any number of tied pieces, and
// they are the weights of the certificate (a convex combination of the pieces' linearisations,
// minimised over the ball), evaluated exactly at the end by `multiplierLowerBound`.

extension EmpiricalRobustObjective {
    /// Candidate maximisers of sample i's inner maximum near w, as input points x + eps sigma
    /// with sigma a sign pattern on the `free` coordinates (x itself on the others). K = 3: every
    /// vertex of the 2-D zonotope {W delta} (generators sorted by angle: 2f patterns), so no tie
    /// is missed whatever its pieces' distance on the polygon. Otherwise: the maximiser and its
    /// one- and two-coordinate flips.
    func candidateInputs(sample i: Int, weights w: Matrix, free: [Int], maximiser: [Double]) -> [[Double]] {
        let k = model.classCount, eps = threat.eps
        let y = sample.labels[i], x = Array(sample.inputs.row(i))
        var base = x
        if k == 3 {
            let others = (0..<k).filter { $0 != y }
            // Generators oriented into the half-plane of angles [0, pi), then sorted by angle.
            var generators: [(angle: Double, j: Int, orientation: Double)] = []
            for j in free {
                let g0 = w[y, j] - w[others[0], j], g1 = w[y, j] - w[others[1], j]
                guard g0 != 0 || g1 != 0 else { continue }
                var angle = atan2(g1, g0), orientation = 1.0
                if angle < 0 || angle >= Double.pi { angle = angle < 0 ? angle + .pi : angle - .pi; orientation = -1 }
                generators.append((angle, j, orientation))
            }
            generators.sort { $0.angle < $1.angle || ($0.angle == $1.angle && $0.j < $1.j) }
            let f = generators.count
            var out: [[Double]] = []
            for cut in 0...f {
                for sign in (cut == 0 || cut == f) ? [1.0] : [1.0, -1.0] {
                    var u = base
                    for (position, g) in generators.enumerated() {
                        u[g.j] = x[g.j] + eps * sign * g.orientation * (position < cut ? 1 : -1)
                    }
                    out.append(u)
                }
            }
            return out
        }
        for j in free { base[j] = maximiser[j] }
        var out = [base]
        let movable = free.filter { maximiser[$0] != x[$0] }
        for (a, j) in movable.enumerated() {
            var u = base
            u[j] = 2 * x[j] - base[j]
            out.append(u)
            for l in movable[(a + 1)...] {
                var v = u
                v[l] = 2 * x[l] - base[l]
                out.append(v)
            }
        }
        return out
    }

    /// Log-barrier interior point on the epigraph problem above, restricted to centred W whose
    /// `zeroColumns` are exactly zero, with each sample's candidate pieces those of
    /// `candidateInputs` within `window` of its maximum (re-collected at the barrier solution,
    /// up to three rounds, when a piece outside the set turns out to be the maximiser).
    /// Returns the point, the pieces with their multipliers (on each sample's simplex), and the
    /// Newton steps taken; nil when no strictly feasible progress was possible.
    func barrierPolish(from start: Matrix, zeroColumns: Set<Int>, scale s: Double, tolerance: Double, maxSteps: Int, window: Double = 0.05)
        throws -> (weights: Matrix, pieces: [[(input: [Double], weight: Double)]], steps: Int)?
    {
        let k = model.classCount, d = model.dimension, count = sample.count
        let coordinates = ReducedCoordinates(classes: k, dimension: d, zeroColumns: zeroColumns)
        let free = coordinates.free, f = free.count, m = coordinates.count
        guard m > 0, maxSteps > 0 else { return nil }
        func weights(_ z: [Double]) -> Matrix { coordinates.weights(z) }
        var z = coordinates.of(start)
        let startNorm = z.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard startNorm > 0 else { return nil }
        // Strictly inside the ball (the barrier needs it).
        if startNorm > 0.999 * s { z = z.map { $0 * 0.999 * s / startNorm } }
        // Per piece: value, reduced gradient, logit Hessian T = B^T (diag p - p p^T) B, free inputs.
        func piece(_ u: [Double], _ y: Int, _ w: Matrix) -> ReducedCoordinates.Piece {
            coordinates.piece(input: u, label: y, weights: w)
        }
        // Candidate pieces per sample, keyed by their free-coordinate inputs.
        var sets = [[[Double]]](repeating: [], count: count)
        func collect(_ z: [Double], window: Double) throws -> Bool {
            let w = weights(z)
            var recorded: [ActivePiece]? = []
            _ = try evaluate(w, pieces: &recorded)
            var added = false
            for i in 0..<count {
                let y = sample.labels[i]
                var candidates = candidateInputs(sample: i, weights: w, free: free, maximiser: recorded![i].input)
                candidates.append(recorded![i].input)
                let values = candidates.map { piece($0, y, w).value }
                let top = values.max()!
                let known = Set(sets[i].map { u in free.map { u[$0] } })
                for (u, v) in zip(candidates, values) where v >= top - window {
                    let key = free.map { u[$0] }
                    if !known.contains(key), !sets[i].contains(where: { o in free.map { o[$0] } == key }) {
                        var clean = Array(sample.inputs.row(i))
                        for j in free { clean[j] = u[j] }
                        sets[i].append(clean)
                        added = true
                    }
                }
            }
            return added
        }
        _ = try collect(z, window: 0.5)
        var steps = 0
        // The barrier value and its slacks (the ball's first, then every piece's in order).
        func barrierWithSlacks(_ z: [Double], _ t: [Double], _ mu: Double) -> (value: Double, slacks: [Double])? {
            let w = weights(z)
            let q = (s * s - z.reduce(0) { $0 + $1 * $1 }) / 2
            guard q > 0 else { return nil }
            var value = t.reduce(0, +) - mu * log(q)
            var slacks = [q]
            for i in 0..<count {
                for u in sets[i] {
                    let slack = t[i] - piece(u, sample.labels[i], w).value
                    guard slack > 0 else { return nil }
                    value -= mu * log(slack)
                    slacks.append(slack)
                }
            }
            return (value, slacks)
        }
        func barrier(_ z: [Double], _ t: [Double], _ mu: Double) -> Double? { barrierWithSlacks(z, t, mu)?.value }
        // t strictly above every piece (by mu: the central path's slack of a single piece).
        func lift(_ t: inout [Double], _ mu: Double) {
            let w = weights(z)
            for i in 0..<count {
                let top = sets[i].map { piece($0, sample.labels[i], w).value }.max()!
                t[i] = max(t[i], top + max(mu, 1e-12 * (1 + abs(top))))
            }
        }
        func weighted(_ t: [Double], _ mu: Double) -> [[(input: [Double], weight: Double)]] {
            barrierWeights(sets, weights(z), t, mu, free: free)
        }
        var t = [Double](repeating: -Double.infinity, count: count)
        var mu = 1e-2
        lift(&t, 1e-1)
        // Central path down to mu * (pieces) / n well below the tolerance (the duality gap of a
        // central point is mu per constraint).
        var recollections = 0
        // A Newton step may at most halve any slack (the ball's or a piece's). Without this rule
        // the first steps after a cut of mu drove the ball's slack q to ~1e-6 of its central
        // value, and Newton then crawled back (q growing by a few per cent a step, the budget
        // gone before the certificate closed: the eps 0.42 regeneration cases of the tests).
        let boundaryFraction = 0.5
        outer: while true {
            guard let centre = barrierWithSlacks(z, t, mu) else { return nil }
            var current = centre.value, currentSlacks = centre.slacks
            for _ in 0..<50 {
                guard steps < maxSteps else { break outer }
                steps += 1
                let w = weights(z)
                // Newton on the barrier; t eliminated (its block is diagonal).
                var hzz = [Double](repeating: 0, count: m * m)
                var gz = [Double](repeating: 0, count: m)
                var gt = [Double](repeating: 1, count: count)
                var dt = [Double](repeating: 0, count: count)
                var cross = [[Double]](repeating: [Double](repeating: 0, count: m), count: count)
                for i in 0..<count {
                    for u in sets[i] {
                        let pc = piece(u, sample.labels[i], w)
                        let slack = t[i] - pc.value
                        let first = mu / slack, second = mu / (slack * slack)
                        gt[i] -= first
                        dt[i] += second
                        for r in 0..<m {
                            gz[r] += first * pc.gradient[r]
                            cross[i][r] -= second * pc.gradient[r]
                            guard pc.gradient[r] != 0 else { continue }
                            let v = second * pc.gradient[r]
                            for c in 0..<m { hzz[r * m + c] += v * pc.gradient[c] }
                        }
                        for c in 0..<(k - 1) {
                            for e in 0..<(k - 1) {
                                let tv = first * pc.t[c * (k - 1) + e]
                                guard tv != 0 else { continue }
                                for a in 0..<f {
                                    let row = (c * f + a) * m + e * f
                                    let ua = tv * pc.uf[a]
                                    for b in 0..<f { hzz[row + b] += ua * pc.uf[b] }
                                }
                            }
                        }
                    }
                }
                let q = (s * s - z.reduce(0) { $0 + $1 * $1 }) / 2
                for r in 0..<m {
                    gz[r] += mu * z[r] / q
                    hzz[r * m + r] += mu / q
                    for c in 0..<m { hzz[r * m + c] += mu * z[r] * z[c] / (q * q) }
                }
                // Schur complement: (Hzz - sum_i c_i c_i^T / D_i) dz = -gz + sum_i c_i gt_i / D_i.
                var rhs = gz.map { -$0 }
                for i in 0..<count {
                    let c = cross[i], di = dt[i]
                    for r in 0..<m {
                        rhs[r] += c[r] * gt[i] / di
                        guard c[r] != 0 else { continue }
                        let v = c[r] / di
                        for cc in 0..<m { hzz[r * m + cc] -= v * c[cc] }
                    }
                }
                let trace = (0..<m).reduce(0.0) { $0 + hzz[$1 * m + $1] }
                for r in 0..<m { hzz[r * m + r] += 1e-14 * max(trace / Double(m), 1e-300) }
                guard let solution = Self.choleskySolve(hzz, [rhs], size: m) else { break outer }
                let stepZ = solution[0]
                let stepT = (0..<count).map { i in -(gt[i] + zip(cross[i], stepZ).reduce(0) { $0 + $1.0 * $1.1 }) / dt[i] }
                let decrement = -(zip(gz, stepZ).reduce(0) { $0 + $1.0 * $1.1 } + zip(gt, stepT).reduce(0) { $0 + $1.0 * $1.1 })
                if decrement <= 1e-3 * mu { break }
                var alpha = 1.0
                var moved = false
                for _ in 0..<60 {
                    let tz = zip(z, stepZ).map { $0.0 + alpha * $0.1 }
                    let tt = zip(t, stepT).map { $0.0 + alpha * $0.1 }
                    if let trial = barrierWithSlacks(tz, tt, mu), trial.value <= current - 0.25 * alpha * decrement,
                       zip(trial.slacks, currentSlacks).allSatisfy({ $0.0 >= boundaryFraction * $0.1 }) {
                        z = tz; t = tt; current = trial.value; currentSlacks = trial.slacks; moved = true
                        break
                    }
                    alpha /= 2
                }
                if !moved { break }
            }
            // A maximiser outside the set at this central point: add it, stay at this mu.
            if recollections < 20, try collect(z, window: 1e-2) {
                recollections += 1
                lift(&t, mu)
                continue
            }
            let pieceCount = Double(sets.reduce(0) { $0 + $1.count })
            let target = 1e-3 * tolerance * Double(count) / pieceCount
            if mu <= target { break }
            // Stop as soon as the exact certificate closes (the central-path gap mu * pieces / n
            // is an estimate only; the certificate is what counts).
            if mu * pieceCount / Double(count) <= tolerance, let value = try? evaluate(weights(z)).value,
               value - multiplierLowerBound(at: weights(z), scale: s, pieces: weighted(t, mu)) <= 0.5 * tolerance { break }
            mu = max(mu * 0.1, target)
        }
        guard steps > 0 else { return nil }
        return (weights(z), weighted(t, mu), steps)
    }

    /// The barrier multipliers mu / (t_i - phi_l) of the pieces at (w, t), scaled onto each
    /// sample's simplex (on the central path they already sum to one).
    private func barrierWeights(_ sets: [[[Double]]], _ w: Matrix, _ t: [Double], _ mu: Double, free: [Int]) -> [[(input: [Double], weight: Double)]] {
        let k = model.classCount
        var out: [[(input: [Double], weight: Double)]] = []
        for i in 0..<sample.count {
            let y = sample.labels[i]
            let raw = sets[i].map { u -> Double in
                let logits = (0..<k).map { r in free.reduce(0.0) { $0 + w[r, $1] * u[$1] } }
                let top = logits.max()!
                let value = top + log(logits.reduce(0) { $0 + exp($1 - top) }) - logits[y]
                return mu / max(t[i] - value, 1e-300)
            }
            let sum = raw.reduce(0, +)
            out.append(zip(sets[i], raw).map { ($0.0, sum > 0 ? $0.1 / sum : 1 / Double(raw.count)) })
        }
        return out
    }

    /// The certified lower bound on min over ||U||_F <= s of R_n (ce) from given pieces with
    /// weights on each sample's simplex: (1/n) sum_i sum_l lambda_l [phi_l(W) + <grad phi_l(W),
    /// U - W>] minimised over the ball, i.e. (1/n) sum lambda_l (phi_l - <grad phi_l, W>) -
    /// s ||g||_F. On W's exactly-zero columns each piece may use any sign tau in [-1, 1] (a box
    /// point, whose piece has the same value at W), chosen to shrink ||g||_F. Valid for any
    /// weights: every term is an exact minorant of its sample's inner maximum.
    func multiplierLowerBound(at w: Matrix, scale s: Double, pieces: [[(input: [Double], weight: Double)]]) -> Double {
        multiplierCertificate(at: w, scale: s, pieces: pieces).bound
    }

    /// `multiplierLowerBound` and the aggregate subgradient g it minimises over the ball (on
    /// W's zero columns: the residual left by the best signs). A zero column whose residual no
    /// sign removes is one the optimum does not keep at zero: -g there is a descent direction.
    func multiplierCertificate(at w: Matrix, scale s: Double, pieces: [[(input: [Double], weight: Double)]]) -> (bound: Double, subgradient: Matrix) {
        let k = model.classCount, d = model.dimension, count = sample.count, n = Double(count)
        let eps = threat.eps
        let zero = (0..<d).filter { j in (0..<k).allSatisfy { w[$0, j] == 0 } }
        var g = Matrix(rows: k, columns: d)
        var offset = 0.0
        var signCoefficients: [[Double]] = []
        for i in 0..<min(count, pieces.count) {
            let y = sample.labels[i], x = Array(sample.inputs.row(i))
            for (input, weight) in pieces[i] where weight > 0 {
                var u = input
                for j in zero { u[j] = x[j] }
                let logits = (0..<k).map { r in (0..<d).reduce(0.0) { $0 + w[r, $1] * u[$1] } }
                let top = logits.max()!
                let total = logits.reduce(0) { $0 + exp($1 - top) }
                let a = (0..<k).map { exp(logits[$0] - top) / total - ($0 == y ? 1 : 0) }
                let value = top + log(total) - logits[y]
                // phi - <a (x) u, W> = phi - a . logits (the zero columns add nothing).
                offset += weight * (value - zip(a, logits).reduce(0) { $0 + $1.0 * $1.1 })
                for r in 0..<k { for j in 0..<d { g[r, j] += weight * a[r] * u[j] / n } }
                if !zero.isEmpty { signCoefficients.append(a.map { weight * eps * $0 / n }) }
            }
        }
        // Per zero column, min over tau in [-1, 1]^L of ||g_j + sum_l c_l tau_l||^2 (accelerated
        // projected gradient; any tau it ends at is valid).
        let lipschitz = max(2 * signCoefficients.reduce(0.0) { $0 + $1.reduce(0) { $0 + $1 * $1 } }, 1e-300)
        for j in zero {
            let c = signCoefficients
            let base = (0..<k).map { g[$0, j] }
            func residual(_ tau: [Double]) -> [Double] {
                var e = base
                for (l, cl) in c.enumerated() where tau[l] != 0 { for r in 0..<k { e[r] += cl[r] * tau[l] } }
                return e
            }
            var x = [Double](repeating: 0, count: c.count), y = x, previous = x
            var bestX = x, bestNorm = base.reduce(0) { $0 + $1 * $1 }
            var momentum = 1.0, stalled = 0
            for _ in 0..<1_000 {
                let e = residual(y)
                previous = x
                x = (0..<c.count).map { l in min(1, max(-1, y[l] - 2 * (0..<k).reduce(0.0) { $0 + c[l][$1] * e[$1] } / lipschitz)) }
                let norm = residual(x).reduce(0) { $0 + $1 * $1 }
                if norm < bestNorm * (1 - 1e-9) { stalled = 0 } else { stalled += 1 }
                if norm < bestNorm { bestNorm = norm; bestX = x } else { momentum = 1 }
                if stalled > 50 || bestNorm <= 1e-34 { break }
                let next = (1 + (1 + 4 * momentum * momentum).squareRoot()) / 2
                y = (0..<c.count).map { min(1, max(-1, x[$0] + (momentum - 1) / next * (x[$0] - previous[$0]))) }
                momentum = next
            }
            let e = residual(bestX)
            for r in 0..<k { g[r, j] = e[r] }
        }
        return (offset / n - s * g.frobeniusNormSquared.squareRoot(), g)
    }
}

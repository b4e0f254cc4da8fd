import Foundation
import GSL

/// Genz's method for multivariate normal orthant probabilities (Genz 1992; Genz & Bretz 2009):
/// separation of variables after a Cholesky factorisation with the Gibson-Glasbey-Elston
/// variable ordering, integrated by a randomised Richtmyer lattice rule with the baker's
/// periodisation. The error bound is 3.5 standard errors over `randomisations` independent
/// random shifts; points are doubled until it meets `tolerance` or `maxPoints` is reached.
///
/// Deterministic for a fixed seed. Singular covariances are handled: a coordinate whose
/// conditional variance vanishes becomes an indicator.
struct GenzQMC {
    var tolerance: Double
    var maxPoints: Int
    var seed: UInt64
    var randomisations = 12

    func positive(_ x: GaussianVector) throws -> Estimate {
        let n = x.dimension
        let (mean, chol) = try orderedCholesky(x)
        let primes: [Double] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
                                73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151]
        let dims = max(n - 1, 1)
        var generators = (0..<dims).map { i -> Double in
            let p = i < primes.count ? primes[i] : Double(2 * i + 1) + 0.5
            let r = p.squareRoot()
            return r - r.rounded(.down)
        }
        generators = generators.map { $0 == 0 ? 0.5 : $0 }
        let random = RandomSource(seed: seed)
        let shifts = (0..<randomisations).map { _ in (0..<dims).map { _ in random.uniform() } }
        var points = 1 << 10
        var estimate = 0.0, error = Double.infinity
        var w = [Double](repeating: 0, count: dims)
        var y = [Double](repeating: 0, count: n)
        while true {
            var sums = [Double](repeating: 0, count: randomisations)
            for r in 0..<randomisations {
                var total = 0.0
                for k in 1...points {
                    for i in 0..<dims {
                        var u = Double(k) * generators[i] + shifts[r][i]
                        u -= u.rounded(.down)
                        w[i] = abs(2 * u - 1)  // baker's transform
                    }
                    total += sample(mean: mean, chol: chol, w: w, y: &y)
                }
                sums[r] = total / Double(points)
            }
            estimate = sums.reduce(0, +) / Double(randomisations)
            let variance = sums.reduce(0) { $0 + ($1 - estimate) * ($1 - estimate) }
                / Double(randomisations * (randomisations - 1))
            error = 3.5 * variance.squareRoot()
            if error <= tolerance || points * 2 > maxPoints { break }
            points *= 2
        }
        return Estimate(value: min(1, max(0, estimate)), errorBound: error, converged: error <= tolerance, method: .genzQMC)
    }

    /// One integrand value: product of conditional probabilities along the ordering.
    @inline(__always)
    private func sample(mean: [Double], chol: [[Double]], w: [Double], y: inout [Double]) -> Double {
        let n = mean.count
        var product = 1.0
        for i in 0..<n {
            var s = mean[i]
            for j in 0..<i { s += chol[i][j] * y[j] }
            let lii = chol[i][i]
            if lii == 0 {
                // Deterministic given the previous coordinates.
                if s <= 0 { return 0 }
                y[i] = 0
                continue
            }
            let a = -s / lii
            let q = Normal.upperTail(a)
            product *= q
            if product == 0 { return 0 }
            if i < n - 1 {
                let tail = (1 - w[i]) * q
                y[i] = tail <= 0 ? a : -Normal.quantile(tail)
                if !y[i].isFinite { y[i] = a }
            }
        }
        return product
    }

    /// Cholesky factor with Gibson-Glasbey-Elston ordering (most restrictive variable first),
    /// returning the permuted mean and lower-triangular factor.
    private func orderedCholesky(_ x: GaussianVector) throws -> ([Double], [[Double]]) {
        let n = x.dimension
        var sigma = (0..<n).map { i in (0..<n).map { j in x.cov(i, j) } }
        var mean = x.mean
        var chol = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        var expected = [Double](repeating: 0, count: n)
        let scale = (0..<n).map { sigma[$0][$0] }.max() ?? 1
        let tiny = 1e-13 * scale
        for i in 0..<n {
            // Choose the remaining variable with the smallest conditional probability.
            var best = i, bestP = Double.infinity
            for j in i..<n {
                var v = sigma[j][j]
                var s = mean[j]
                for k in 0..<i { v -= chol[j][k] * chol[j][k]; s += chol[j][k] * expected[k] }
                let p = v > tiny ? Normal.upperTail(-s / v.squareRoot()) : (s > 0 ? 1 : 0)
                if p < bestP { bestP = p; best = j }
            }
            if best != i {
                sigma.swapAt(i, best)
                for r in 0..<n { sigma[r].swapAt(i, best) }
                mean.swapAt(i, best)
                chol.swapAt(i, best)
            }
            var v = sigma[i][i]
            for k in 0..<i { v -= chol[i][k] * chol[i][k] }
            if v <= tiny {
                chol[i][i] = 0
                for j in (i + 1)..<max(i + 1, n) { chol[j][i] = 0 }
                var s = mean[i]
                for k in 0..<i { s += chol[i][k] * expected[k] }
                expected[i] = 0
                continue
            }
            let lii = v.squareRoot()
            chol[i][i] = lii
            for j in (i + 1)..<max(i + 1, n) {
                var c = sigma[j][i]
                for k in 0..<i { c -= chol[j][k] * chol[i][k] }
                chol[j][i] = c / lii
            }
            var s = mean[i]
            for k in 0..<i { s += chol[i][k] * expected[k] }
            let a = -s / lii
            let q = Normal.upperTail(a)
            // Mean of a standard normal truncated to (a, inf).
            expected[i] = q > 1e-300 ? Normal.pdf(a) / q : a
        }
        return (mean, chol)
    }
}

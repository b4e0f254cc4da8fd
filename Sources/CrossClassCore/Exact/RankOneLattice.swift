import Foundation

/// A rank-1 lattice rule {k z / N mod 1 : k = 0..<N} in `dimension` dimensions, with a
/// Korobov generator z = (1, a, a^2, ...) mod N chosen among odd a by the worst-case error
/// of the Korobov space of smoothness 2 (the figure of merit P_2 with weights 1 / j^2 for
/// coordinate j). Two dimensions use the Fibonacci lattice (N a Fibonacci number, z = (1, the
/// Fibonacci number before it)), the best rank-1 lattice there.
///
/// Lattice rules integrate smooth periodic functions at a rate near N^-2 (for P_2-good
/// generators); `PeriodisingTransform` makes the integrands periodic.
struct RankOneLattice {
    let points: Int
    let generator: [Int]

    /// The lattice of about `size` points (the nearest Fibonacci number at or above it in two
    /// dimensions; `size` itself, a power of 2, otherwise).
    init(size: Int, dimension: Int) {
        precondition(dimension >= 2 && size >= 2)
        if dimension == 2 {
            var previous = 1, current = 2
            while current < size { (previous, current) = (current, previous + current) }
            points = current
            generator = [1, previous]
            return
        }
        points = size
        generator = Self.korobov(points: size, dimension: dimension)
    }

    /// The generator's components for Korobov parameter a.
    static func powers(_ a: Int, points n: Int, dimension: Int) -> [Int] {
        var z = [1]
        while z.count < dimension { z.append(z[z.count - 1] * a % n) }
        return z
    }

    /// P_2 with product weights 1 / j^2: the worst-case squared error of the rule in the
    /// weighted Korobov space of smoothness 2 (B_2(x) = x^2 - x + 1/6 is its kernel's sum).
    static func figureOfMerit(_ z: [Int], points n: Int) -> Double {
        var total = 0.0
        let twoPiSquared = 2 * Double.pi * Double.pi
        for k in 0..<n {
            var product = 1.0
            for (j, zj) in z.enumerated() {
                let x = Double(k * zj % n) / Double(n)
                product *= 1 + twoPiSquared / Double((j + 1) * (j + 1)) * (x * x - x + 1.0 / 6.0)
            }
            total += product
        }
        return total / Double(n) - 1
    }

    /// The best Korobov parameter among up to 128 odd candidates spread over [3, N/2]
    /// (deterministic: the same N and dimension give the same generator).
    static func korobov(points n: Int, dimension: Int) -> [Int] {
        let candidates = 128
        var best: (merit: Double, z: [Int])? = nil
        var tried = Set<Int>()
        for i in 0..<candidates {
            var a = 3 + (n / 2 - 3) * i / candidates
            if a % 2 == 0 { a += 1 }
            guard a < n, tried.insert(a).inserted else { continue }
            let z = powers(a, points: n, dimension: dimension)
            // A repeated component puts the points on a lower-dimensional set.
            guard Set(z).count == z.count else { continue }
            let merit = figureOfMerit(z, points: n)
            if best == nil || merit < best!.merit { best = (merit, z) }
        }
        return best?.z ?? powers(1, points: n, dimension: dimension)
    }
}

/// Sidi's degree-2 periodising transform u -> psi(u) = u - sin(2 pi u) / (2 pi) with weight
/// psi'(u) = 1 - cos(2 pi u): int_0^1 f(u) du = int_0^1 f(psi(u)) psi'(u) du, and the right-hand
/// integrand vanishes with its first derivative at 0 and 1, so it is smooth across the period
/// (what a lattice rule needs for its fast rate).
enum PeriodisingTransform {
    @inline(__always)
    static func apply(_ u: Double) -> (value: Double, weight: Double) {
        let angle = 2 * Double.pi * u
        return (u - sin(angle) / (2 * Double.pi), 1 - cos(angle))
    }
}

import CrossClass
import Foundation
import GSL

/// Where the committed reference fixtures live.
enum Fixtures {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data)
    }
}

/// Independent Monte Carlo estimates, used only to cross-check the exact code paths.
enum MonteCarlo {
    struct Estimate {
        var mean: Double
        var standardError: Double
        func zScore(_ exact: Double) -> Double {
            abs(mean - exact) / max(standardError, 1e-12)
        }
    }

    /// Fraction of sampled points whose every robust margin is positive, evaluated point by
    /// point from the definition (no Gaussian algebra).
    static func robustAccuracy(
        model: DataModel, classifier: LinearClassifier, threat: ThreatModel, n: Int, seed: UInt64
    ) -> Estimate {
        let sample = Sampler(model: model).sample(count: n, random: RandomSource(seed: seed))
        let k = model.classCount, d = model.dimension
        let w = classifier.weights
        // Precompute eps * ||w_y - w_o||_* for every ordered pair.
        var penalty = [Double](repeating: 0, count: k * k)
        for y in 0..<k {
            for o in 0..<k where o != y {
                let diff = (0..<d).map { w[y, $0] - w[o, $0] }
                penalty[y * k + o] = threat.eps * threat.norm.dual(diff)
            }
        }
        var correct = 0
        for i in 0..<n {
            let y = sample.labels[i]
            let x = sample.inputs.row(i)
            var ok = true
            for o in 0..<k where o != y {
                var margin = 0.0
                for (j, xv) in x.enumerated() { margin += (w[y, j] - w[o, j]) * xv }
                if let b = classifier.bias { margin += b[y] - b[o] }
                if margin - penalty[y * k + o] <= 0 { ok = false; break }
            }
            if ok { correct += 1 }
        }
        let p = Double(correct) / Double(n)
        return Estimate(mean: p, standardError: max(p * (1 - p), 1.0 / Double(n)).squareRoot() / Double(n).squareRoot())
    }
}

/// Deterministic pseudo-random numbers for building test configurations.
struct TestRandom {
    let source: RandomSource
    init(seed: UInt64) { source = RandomSource(seed: seed) }
    func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * source.uniform() }
    func gaussian() -> Double { source.gaussian() }
}

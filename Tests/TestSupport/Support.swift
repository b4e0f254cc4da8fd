import CrossClassCore
import Foundation
import GSL
import Testing

/// Where the committed reference fixtures live, and their typed contents. A fixture that lost a
/// field or changed a type fails to decode, naming the field, instead of crashing on `as!`.
package enum Fixtures {
    package static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    package static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }

    /// `{"cases": [...]}`, the shape of every reference file.
    package struct Cases<Case: Decodable>: Decodable {
        package var cases: [Case]
    }

    package static func cases<Case: Decodable>(_ name: String, of type: Case.Type) throws -> [Case] {
        try load(name, as: Cases<Case>.self).cases
    }

    /// How a reference case constrains the scale: `{"kind": "fixed", "s": 5}`,
    /// `{"kind": "weight_decay", "lambda": 0.01}` or `{"kind": "free"}`.
    package struct Scale: Decodable {
        package var kind: String
        package var s: Double?
        package var lambda: Double?

        package func mode() throws -> ScaleMode {
            switch kind {
            case "fixed": return .fixed(try #require(s, "fixed scale without s"))
            case "weight_decay": return .weightDecay(try #require(lambda, "weight decay without lambda"))
            case "free": return .free
            default: throw InputError("fixture scale kind '\(kind)' (allowed: fixed, weight_decay, free)")
            }
        }
    }

    /// objective_reference.json, optimum_reference.json and threshold_reference.json (paper3).
    package struct Paper3Case: Decodable {
        package var id: String
        package var objective: String
        package var param: Double?
        package var norm: String
        package var mu: Double
        package var sigma: Double
        package var eps: Double?
        package var scale: Scale?
        package var w1: Double?
        package var w2: Double?
        package var value: Double?
        package var absErrorEstimate: Double?
        package var tolerance: Double?
        package var w2IsZero: Bool?
        package var eps0: Double?

        package func parsedObjective() throws -> Objective {
            try Objective.parse(param.map { "\(objective):\($0)" } ?? objective)
        }
        package func model() throws -> DataModel { try DataModel.paper3(mu: mu, sigma: sigma) }
        package func threat() throws -> ThreatModel { try ThreatModel(norm: Norm.parse(norm), eps: try #require(eps, "\(id): no eps")) }
        package func scaleMode() throws -> ScaleMode { try scale?.mode() ?? .free }
    }

    /// robust_accuracy_reference.json.
    package struct RobustAccuracyCase: Decodable {
        package var id: String
        package var preset: String?
        package var membership: [[Int]]
        package var mu: [Double]
        package var sigma: [Double]
        package var tau: Double
        package var noiseDims: Int
        package var noiseSigma: Double
        package var W: [[Double]]
        package var bias: [Double]?
        package var w1: Double?
        package var w2: Double?
        package var norm: String
        package var eps: Double
        package var robustAccuracy: Double
        package var naturalAccuracy: Double
        package var absErrorEstimate: Double?

        package enum CodingKeys: String, CodingKey {
            case id, preset, membership, mu, sigma, tau, noiseDims, noiseSigma, W = "W", bias, w1, w2, norm, eps,
                 robustAccuracy, naturalAccuracy, absErrorEstimate
        }
    }

    /// complement_ce_reference.json.
    package struct ComplementCECase: Decodable {
        package var classes: Int
        package var mu: Double
        package var sigma: Double
        /// exchangeable_ce_reference.json has tau too (Tests/Fixtures/scripts/exchangeable_ce_reference.py).
        package var tau: Double?
        package var eps: Double
        package var w1: Double
        package var w2: Double
        package var value: Double
    }

    /// complement_smooth_reference.json (bench/reference/complement_smooth_reference.py).
    package struct ComplementSmoothCase: Decodable {
        package var classes: Int
        package var mu: Double
        package var sigma: Double
        package var eps: Double
        package var w1: Double
        package var w2: Double
        package var objective: String
        package var value: Double
        package var standardError: Double
    }

    /// expected_max_reference.json.
    package struct ExpectedMaximumCase: Decodable {
        package var n: Int
        package var expectedMax: Double
        /// E[Z_(i:n)] for i = 1...n, ascending.
        package var orderStatistics: [Double]
    }

    /// attribution_reference.json.
    package struct AttributionCase: Decodable {
        package struct Values: Decodable {
            package var correlation: [[Double]]
            package var correlationSe: [[Double]]?
            package var cas: Double
            package var casSe: Double?
            package var meanCrossSimilarity: Double
            package var meanCrossSimilaritySe: Double?
        }
        package var name: String
        package var membership: [[Bool]]
        package var mu: Double
        package var sigma: Double
        package var eps: Double
        package var objective: String
        package var weights: [[Double]]
        package var samplesPerClass: Int
        package var adversarialMeans: [[Double]]
        package var adversarialMeansSe: [[Double]]
        /// samples kind ("adversarial", "natural") -> gauge ("raw", "centred") -> values.
        package var attribution: [String: [String: Values]]
    }
}

/// The one closeness check of the suite: |actual - expected| <= tolerance, reporting both
/// values and the difference. NaN on either side, or a NaN / negative tolerance, fails.
@discardableResult
package func expectClose(
    _ actual: Double, _ expected: Double, tolerance: Double, _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    let difference = abs(actual - expected)
    let ok = tolerance >= 0 && difference <= tolerance
    if !ok {
        let label = what()
        Issue.record(
            "\(label.isEmpty ? "" : label + ": ")actual \(actual), expected \(expected), |difference| \(difference) > tolerance \(tolerance)",
            sourceLocation: sourceLocation)
    }
    return ok
}

/// Independent Monte Carlo estimates, used only to cross-check the exact code paths.
package enum MonteCarlo {
    package struct Estimate {
        package var mean: Double
        package var standardError: Double
        package init(mean: Double, standardError: Double) {
            self.mean = mean; self.standardError = standardError
        }
        package func zScore(_ exact: Double) -> Double {
            abs(mean - exact) / max(standardError, 1e-12)
        }
    }

    /// Fraction of sampled points whose every robust margin is positive, evaluated point by
    /// point from the definition (no Gaussian algebra).
    package static func robustAccuracy(
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
package struct TestRandom {
    package let source: RandomSource
    package init(seed: UInt64) { source = RandomSource(seed: seed) }
    package func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * source.uniform() }
    package func gaussian() -> Double { source.gaussian() }
}

/// Checks too long for the 3-minute suite (minutes of quadrature, 100k-input fuzzing) run in full
/// only with CCSIM_SLOW_TESTS=1 (scripts/slow-tests); the suite keeps a smaller version of each.
package enum SlowTier {
    package static var enabled: Bool { ProcessInfo.processInfo.environment["CCSIM_SLOW_TESTS"] == "1" }
}

/// An exact gradient against central differences of the values: the largest
/// |(F(W + h e_i) - F(W - h e_i)) / 2h - gradient_i| over the storage `entries` of W. `value`
/// returns nil where the evaluator declines (the check then fails through `#require`).
package func centralDifferenceError(
    _ w: Matrix, gradient: Matrix, entries: [Int], step h: Double,
    sourceLocation: SourceLocation = #_sourceLocation, _ value: (Matrix) -> Double?
) throws -> Double {
    var worst = 0.0
    for i in entries {
        var plus = w, minus = w
        plus.storage[i] += h; minus.storage[i] -= h
        let a = try #require(value(plus), sourceLocation: sourceLocation), b = try #require(value(minus), sourceLocation: sourceLocation)
        worst = max(worst, abs((a - b) / (2 * h) - gradient.storage[i]))
    }
    return worst
}

extension DataModel {
    /// complement(3)'s membership (`DataModel.complement`) with one mean on the exclusive
    /// features and another on the cross-class ones, and one sigma: the models the tests of the
    /// face w1 = 0, of W = 0 and of the l_2 trades kinks are built on.
    package static func complementThree(name: String, exclusiveMean: Double, crossMean: Double, sigma: Double, tau: Double = 0) throws -> DataModel {
        try DataModel(name: name, membership: try DataModel.complement(classes: 3).membership,
                      mu: [exclusiveMean, exclusiveMean, exclusiveMean, crossMean, crossMean, crossMean],
                      sigma: [Double](repeating: sigma, count: 6), tau: tau)
    }
}

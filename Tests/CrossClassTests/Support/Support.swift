import CrossClass
import Foundation
import GSL
import Testing

/// Where the committed reference fixtures live, and their typed contents. A fixture that lost a
/// field or changed a type fails to decode, naming the field, instead of crashing on `as!`.
enum Fixtures {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }

    /// `{"cases": [...]}`, the shape of every reference file.
    struct Cases<Case: Decodable>: Decodable {
        var cases: [Case]
    }

    static func cases<Case: Decodable>(_ name: String, of type: Case.Type) throws -> [Case] {
        try load(name, as: Cases<Case>.self).cases
    }

    /// How a reference case constrains the scale: `{"kind": "fixed", "s": 5}`,
    /// `{"kind": "weight_decay", "lambda": 0.01}` or `{"kind": "free"}`.
    struct Scale: Decodable {
        var kind: String
        var s: Double?
        var lambda: Double?

        func mode() throws -> ScaleMode {
            switch kind {
            case "fixed": return .fixed(try #require(s, "fixed scale without s"))
            case "weight_decay": return .weightDecay(try #require(lambda, "weight decay without lambda"))
            case "free": return .free
            default: throw InputError("fixture scale kind '\(kind)' (allowed: fixed, weight_decay, free)")
            }
        }
    }

    /// objective_reference.json, optimum_reference.json and threshold_reference.json (paper3).
    struct Paper3Case: Decodable {
        var id: String
        var objective: String
        var param: Double?
        var norm: String
        var mu: Double
        var sigma: Double
        var eps: Double?
        var scale: Scale?
        var w1: Double?
        var w2: Double?
        var value: Double?
        var absErrorEstimate: Double?
        var tolerance: Double?
        var w2IsZero: Bool?
        var eps0: Double?

        func parsedObjective() throws -> Objective {
            try Objective.parse(param.map { "\(objective):\($0)" } ?? objective)
        }
        func model() throws -> DataModel { try DataModel.paper3(mu: mu, sigma: sigma) }
        func threat() throws -> ThreatModel { try ThreatModel(norm: Norm.parse(norm), eps: try #require(eps, "\(id): no eps")) }
        func scaleMode() throws -> ScaleMode { try scale?.mode() ?? .free }
    }

    /// robust_accuracy_reference.json.
    struct RobustAccuracyCase: Decodable {
        var id: String
        var preset: String?
        var membership: [[Int]]
        var mu: [Double]
        var sigma: [Double]
        var tau: Double
        var noiseDims: Int
        var noiseSigma: Double
        var W: [[Double]]
        var bias: [Double]?
        var w1: Double?
        var w2: Double?
        var norm: String
        var eps: Double
        var robustAccuracy: Double
        var naturalAccuracy: Double
        var absErrorEstimate: Double?

        enum CodingKeys: String, CodingKey {
            case id, preset, membership, mu, sigma, tau, noiseDims, noiseSigma, W = "W", bias, w1, w2, norm, eps,
                 robustAccuracy, naturalAccuracy, absErrorEstimate
        }
    }

    /// complement_ce_reference.json.
    struct ComplementCECase: Decodable {
        var classes: Int
        var mu: Double
        var sigma: Double
        var eps: Double
        var w1: Double
        var w2: Double
        var value: Double
    }

    /// expected_max_reference.json.
    struct ExpectedMaximumCase: Decodable {
        var n: Int
        var expectedMax: Double
    }

    /// attribution_reference.json.
    struct AttributionCase: Decodable {
        struct Values: Decodable {
            var correlation: [[Double]]
            var correlationSe: [[Double]]?
            var cas: Double
            var casSe: Double?
            var meanCrossSimilarity: Double
            var meanCrossSimilaritySe: Double?
        }
        var name: String
        var membership: [[Bool]]
        var mu: Double
        var sigma: Double
        var eps: Double
        var objective: String
        var weights: [[Double]]
        var samplesPerClass: Int
        var adversarialMeans: [[Double]]
        var adversarialMeansSe: [[Double]]
        /// samples kind ("adversarial", "natural") -> gauge ("raw", "centred") -> values.
        var attribution: [String: [String: Values]]
    }
}

/// The one closeness check of the suite: |actual - expected| <= tolerance, reporting both
/// values and the difference. NaN on either side, or a NaN / negative tolerance, fails.
@discardableResult
func expectClose(
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

/// Checks too long for the 3-minute suite (minutes of quadrature, 100k-input fuzzing) run in full
/// only with CCSIM_SLOW_TESTS=1 (scripts/slow-tests); the suite keeps a smaller version of each.
enum SlowTier {
    static var enabled: Bool { ProcessInfo.processInfo.environment["CCSIM_SLOW_TESTS"] == "1" }
}

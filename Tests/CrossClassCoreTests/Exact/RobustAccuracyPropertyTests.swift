import CrossClassCore
import Foundation
import PropertyBased
import TestSupport
import Testing

/// Properties every robust accuracy must have, on randomly generated configurations.
@Suite("Robust accuracy properties")
struct RobustAccuracyPropertyTests {
    static func randomClassifier(_ model: DataModel, _ seed: Int, _ w2: Double) -> LinearClassifier {
        let r = TestRandom(seed: UInt64(seed))
        var w = LinearClassifier.symmetric(model: model, w1: 1, w2: w2).weights
        for i in 0..<w.storage.count { w.storage[i] += 0.3 * r.gaussian() }
        return LinearClassifier(weights: w, bias: (0..<model.classCount).map { _ in 0.1 * r.gaussian() })
    }

    @Test("RA is a probability and does not increase with eps")
    func boundedAndMonotone() async throws {
        await propertyCheck(
            count: 40,
            input: Gen.double(in: 0.2...1.5), Gen.double(in: 0...2), Gen.int(in: 0...10_000), Gen.double(in: 0...0.6)
        ) { sigma, w2, seed, eps in
            let model = try DataModel.paper3(mu: 1, sigma: sigma)
            let classifier = Self.randomClassifier(model, seed, w2)
            for norm in Norm.allCases {
                let a = try RobustAccuracy.general(model: model, classifier: classifier, threat: ThreatModel(norm: norm, eps: eps))
                let b = try RobustAccuracy.general(model: model, classifier: classifier, threat: ThreatModel(norm: norm, eps: eps + 0.05))
                #expect(a.value >= 0 && a.value <= 1)
                #expect(b.value <= a.value + a.errorBound + b.errorBound)
                let s = try RobustAccuracy.symmetric(model: model, w1: 1, w2: w2, threat: ThreatModel(norm: norm, eps: eps))
                #expect(s.value >= 0 && s.value <= 1)
            }
        }
    }

    @Test("RA is invariant to scaling W (and b) by c > 0")
    func scaleInvariance() async throws {
        await propertyCheck(
            count: 40,
            input: Gen.double(in: 0.01...100), Gen.double(in: 0...2), Gen.int(in: 0...10_000), Gen.double(in: 0...0.45)
        ) { c, w2, seed, eps in
            let model = try DataModel.complement(classes: 4, mu: 1, sigma: 0.6)
            let classifier = Self.randomClassifier(model, seed, w2)
            let scaled = LinearClassifier(weights: classifier.weights.scaled(by: c), bias: classifier.bias!.map { $0 * c })
            let threat = try ThreatModel(norm: .linf, eps: eps)
            let a = try RobustAccuracy.general(model: model, classifier: classifier, threat: threat)
            let b = try RobustAccuracy.general(model: model, classifier: scaled, threat: threat)
            #expect(abs(a.value - b.value) <= a.errorBound + b.errorBound + 1e-12)
            let s1 = try RobustAccuracy.symmetric(model: model, w1: 1, w2: w2, threat: threat)
            let s2 = try RobustAccuracy.symmetric(model: model, w1: c, w2: c * w2, threat: threat)
            #expect(abs(s1.value - s2.value) <= 1e-11)
        }
    }

    @Test("RA is invariant to relabelling the classes")
    func relabelling() async throws {
        await propertyCheck(
            count: 30,
            input: Gen.int(in: 0...10_000), Gen.double(in: 0...1.5), Gen.double(in: 0...0.45)
        ) { seed, w2, eps in
            let model = try DataModel.paper3(mu: 1, sigma: 0.5)
            let classifier = Self.randomClassifier(model, seed, w2)
            let perm = [2, 0, 1]  // new class i is old class perm[i]
            let relabelledModel = try DataModel(
                name: "relabelled", membership: perm.map { model.membership[$0] }, mu: model.mu, sigma: model.sigma)
            var w = Matrix(rows: 3, columns: model.dimension)
            for i in 0..<3 { for f in 0..<model.dimension { w[i, f] = classifier.weights[perm[i], f] } }
            let relabelled = LinearClassifier(weights: w, bias: perm.map { classifier.bias![$0] })
            for norm in Norm.allCases {
                let threat = try ThreatModel(norm: norm, eps: eps)
                let a = try RobustAccuracy.perClass(model: model, classifier: classifier, threat: threat)
                let b = try RobustAccuracy.perClass(model: relabelledModel, classifier: relabelled, threat: threat)
                #expect(abs(RobustAccuracy.average(a).value - RobustAccuracy.average(b).value) <= 1e-12)
                #expect(abs(a[perm[0]].value - b[0].value) <= 1e-12)
            }
        }
    }
}

import CrossClassCore
import Foundation
import GSL
import TestSupport
import XCTest

/// The exact empirical robust objective, its Danskin gradient and its fixed-scale optimum,
/// checked against brute force over every box vertex, finite differences, random restarts and
/// the exact population objective.
final class EmpiricalObjectiveTests: XCTestCase {
    /// paper3 (mu 1, sigma 0.5) with extra pure-noise coordinates.
    func model(noise: Int) throws -> DataModel {
        try DataModel.paper3(mu: 1, sigma: 0.5).with(noiseDimensions: noise, noiseSigma: 0.5)
    }

    func randomWeights(_ k: Int, _ d: Int, _ random: RandomSource, sigma: Double = 1) -> Matrix {
        Matrix(rows: k, columns: d, storage: (0..<(k * d)).map { _ in random.gaussian(sigma: sigma) })
    }

    /// log sum_k exp(z_k) - z_y and its logit gradient, from the definition.
    func crossEntropy(_ z: [Double], _ y: Int) -> (Double, [Double]) {
        let top = z.max()!
        let s = z.reduce(0) { $0 + exp($1 - top) }
        return (top + log(s) - z[y], z.indices.map { exp(z[$0] - top) / s - ($0 == y ? 1 : 0) })
    }

    /// Brute force: every one of the 2^d box vertices for every sample.
    func bruteForceCE(_ w: Matrix, _ sample: LabelledSample, eps: Double) -> (Double, Matrix) {
        let k = w.rows, d = w.columns
        var total = 0.0
        var gradient = Matrix(rows: k, columns: d)
        for i in 0..<sample.count {
            let x = Array(sample.inputs.row(i))
            var best = -Double.infinity
            var bestPoint: [Double] = []
            var bestLogitGradient: [Double] = []
            for mask in 0..<(1 << d) {
                let point = (0..<d).map { x[$0] + ((mask >> $0) & 1 == 1 ? eps : -eps) }
                let z = (0..<k).map { r in (0..<d).reduce(0.0) { $0 + w[r, $1] * point[$1] } }
                let (loss, g) = crossEntropy(z, sample.labels[i])
                if loss > best { best = loss; bestPoint = point; bestLogitGradient = g }
            }
            total += best
            for r in 0..<k { for j in 0..<d { gradient[r, j] += bestLogitGradient[r] * bestPoint[j] } }
        }
        let n = Double(sample.count)
        return (total / n, gradient.scaled(by: 1 / n))
    }

    func testCEValueAndGradientMatchBruteForceOverAllBoxVertices() throws {
        let m = try model(noise: 2)
        let random = RandomSource(seed: 11)
        let sample = Sampler(model: m).balancedSample(perClass: 7, random: random)
        for eps in [0.1, 0.3, 0.45] {
            let objective = try EmpiricalRobustObjective(
                model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: eps), objective: .ce)
            for _ in 0..<3 {
                let w = randomWeights(3, m.dimension, random)
                let exact = try objective.evaluate(w)
                let (value, gradient) = bruteForceCE(w, sample, eps: eps)
                XCTAssertEqual(exact.value, value, accuracy: 1e-12 * (1 + value), "eps \(eps)")
                for t in gradient.storage.indices {
                    XCTAssertEqual(exact.gradient.storage[t], gradient.storage[t], accuracy: 1e-10, "eps \(eps) entry \(t)")
                }
                XCTAssertEqual(exact.sampleLosses.reduce(0, +) / Double(sample.count), exact.value, accuracy: 1e-14)
            }
        }
    }

    func testWorstMarginAndHingeMatchBruteForceOverAllBoxVertices() throws {
        let m = try model(noise: 2)
        let random = RandomSource(seed: 12)
        let sample = Sampler(model: m).balancedSample(perClass: 7, random: random)
        let eps = 0.3
        let w = randomWeights(3, m.dimension, random)
        let d = m.dimension
        // max over vertices of -min_k (w_y - w_k).(x + delta), from the definition.
        var worst = [Double]()
        for i in 0..<sample.count {
            let x = Array(sample.inputs.row(i)), y = sample.labels[i]
            var best = -Double.infinity
            for mask in 0..<(1 << d) {
                let point = (0..<d).map { x[$0] + ((mask >> $0) & 1 == 1 ? eps : -eps) }
                for o in 0..<3 where o != y {
                    let margin = (0..<d).reduce(0.0) { $0 + (w[y, $1] - w[o, $1]) * point[$1] }
                    best = max(best, -margin)
                }
            }
            worst.append(best)
        }
        let threat = try ThreatModel(norm: .linf, eps: eps)
        let margin = try EmpiricalRobustObjective(model: m, sample: sample, threat: threat, objective: .worstMargin).evaluate(w)
        XCTAssertEqual(margin.value, worst.reduce(0, +) / Double(worst.count), accuracy: 1e-12)
        let kappa = 2.0
        let hinge = try EmpiricalRobustObjective(model: m, sample: sample, threat: threat, objective: .hinge(kappa: kappa)).evaluate(w)
        XCTAssertEqual(hinge.value, worst.map { max(0, kappa + $0) }.reduce(0, +) / Double(worst.count), accuracy: 1e-12)
    }

    /// Central differences of the value against the Danskin gradient, at random W (where the
    /// maximiser is unique with probability one).
    func testGradientMatchesFiniteDifferences() throws {
        let m = try model(noise: 3)
        let random = RandomSource(seed: 13)
        let sample = Sampler(model: m).balancedSample(perClass: 8, random: random)
        let cases: [(Objective, Norm)] = [(.ce, .linf), (.worstMargin, .linf), (.hinge(kappa: 1), .linf), (.worstMargin, .l2), (.hinge(kappa: 1), .l2)]
        for (loss, norm) in cases {
            let objective = try EmpiricalRobustObjective(
                model: m, sample: sample, threat: try ThreatModel(norm: norm, eps: 0.25), objective: loss)
            let w = randomWeights(3, m.dimension, random)
            let exact = try objective.evaluate(w)
            let h = 1e-6
            var worstError = 0.0
            for t in w.storage.indices {
                var plus = w, minus = w
                plus.storage[t] += h
                minus.storage[t] -= h
                let numeric = (try objective.evaluate(plus).value - objective.evaluate(minus).value) / (2 * h)
                worstError = max(worstError, abs(numeric - exact.gradient.storage[t]))
            }
            XCTAssertLessThan(worstError, 1e-6, "\(loss) \(norm)")
        }
    }

    /// The gradient of a softmax loss is centred (rows sum to zero): the optimiser relies on it.
    func testGradientRowsSumToZero() throws {
        let m = try model(noise: 1)
        let random = RandomSource(seed: 14)
        let sample = Sampler(model: m).balancedSample(perClass: 5, random: random)
        let objective = try EmpiricalRobustObjective(model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: 0.2), objective: .ce)
        let g = try objective.evaluate(randomWeights(3, m.dimension, random)).gradient
        for j in 0..<m.dimension { XCTAssertEqual(g[0, j] + g[1, j] + g[2, j], 0, accuracy: 1e-13) }
    }

    /// The certified optimum at ||W||_F <= s is not beaten by 20 random centred W on the sphere
    /// ||W||_F = s, nor by short descents from two of them. Below the worst-margin threshold
    /// (eps 0.2) the optimum is on the sphere and certified to 1e-6; above it (eps 0.42) this
    /// small sample has an interior optimum, certified to 1e-4.
    func testFixedScaleOptimumIsNotBeatenByRandomRestarts() throws {
        let m = try model(noise: 2)
        let random = RandomSource(seed: 15)
        let sample = Sampler(model: m).balancedSample(perClass: 7, random: random)
        for (eps, tolerance) in [(0.2, 1e-6), (0.42, 1e-4)] {
            let objective = try EmpiricalRobustObjective(
                model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: eps), objective: .ce)
            let s = 3.0
            let optimum = try objective.fixedScaleOptimum(scale: s, tolerance: tolerance)
            XCTAssertTrue(optimum.converged, "eps \(eps): bound \(optimum.suboptimalityBound) after \(optimum.iterations)")
            XCTAssertLessThanOrEqual(optimum.suboptimalityBound, tolerance)
            XCTAssertEqual(try objective.evaluate(optimum.weights).value, optimum.value, accuracy: 1e-14)
            XCTAssertLessThanOrEqual(optimum.weights.frobeniusNormSquared.squareRoot(), s * (1 + 1e-12))
            for column in 0..<m.dimension {
                XCTAssertEqual((0..<3).reduce(0.0) { $0 + optimum.weights[$1, column] }, 0, accuracy: 1e-12)
            }
            for restart in 0..<20 {
                var w = EmpiricalRobustObjective.projectOntoCentredBall(randomWeights(3, m.dimension, random), radius: 1e9)
                w = w.scaled(by: s / w.frobeniusNormSquared.squareRoot())
                XCTAssertGreaterThanOrEqual(try objective.evaluate(w).value, optimum.value - optimum.suboptimalityBound)
                if restart < 2 {
                    let restarted = try objective.fixedScaleOptimum(scale: s, start: w, tolerance: 1e-3, maxIterations: 30)
                    XCTAssertGreaterThanOrEqual(restarted.value, optimum.value - optimum.suboptimalityBound)
                }
            }
        }
    }

    /// The path over nested balls: optimal values cannot increase with s, every point is
    /// certified, and the symmetric projection is read from the optimum.
    func testPathValuesDoNotIncreaseWithScale() throws {
        let m = try model(noise: 1)
        let sample = Sampler(model: m).balancedSample(perClass: 6, random: RandomSource(seed: 19))
        let objective = try EmpiricalRobustObjective(
            model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: 0.2), objective: .ce)
        let path = try objective.path(scales: [0.5, 1, 2, 4], tolerance: 1e-5)
        XCTAssertEqual(path.map(\.scale), [0.5, 1, 2, 4])
        for (a, b) in zip(path, path.dropFirst()) {
            XCTAssertLessThanOrEqual(b.value, a.value + a.suboptimalityBound)
        }
        for p in path {
            XCTAssertTrue(p.converged, "s \(p.scale): bound \(p.suboptimalityBound)")
            let projection = LinearClassifier(weights: p.weights).projectSymmetric(model: m)
            XCTAssertEqual(p.w1, projection.w1)
            XCTAssertEqual(p.w2, projection.w2)
        }
    }

    /// An iteration budget too small to certify the optimum is reported as not converged.
    func testIterationCapIsNotConverged() throws {
        let m = try model(noise: 2)
        let sample = Sampler(model: m).balancedSample(perClass: 7, random: RandomSource(seed: 16))
        let objective = try EmpiricalRobustObjective(
            model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: 0.2), objective: .ce)
        let capped = try objective.fixedScaleOptimum(scale: 3, tolerance: 1e-9, maxIterations: 2)
        XCTAssertFalse(capped.converged)
        XCTAssertGreaterThan(capped.suboptimalityBound, 1e-9)
    }

    /// With n = 2000 per class, the empirical objective of a symmetric W is the exact
    /// population objective within 4 standard errors (ce and worst-margin).
    func testEmpiricalObjectiveApproachesPopulationObjective() throws {
        let m = try DataModel.paper3(mu: 1, sigma: 0.5)
        let sample = Sampler(model: m).balancedSample(perClass: 2000, random: RandomSource(seed: 17))
        let threat = try ThreatModel(norm: .linf, eps: 0.2)
        for loss in [Objective.ce, .worstMargin] {
            let (w1, w2) = (1.5, 0.6)
            let w = LinearClassifier.symmetric(model: m, w1: w1, w2: w2).weights
            let empirical = try EmpiricalRobustObjective(model: m, sample: sample, threat: threat, objective: loss).evaluate(w)
            let population = try RobustObjective(model: m, threat: threat, objective: loss).evaluate(w1: w1, w2: w2)
            let n = Double(sample.count)
            let mean = empirical.value
            let variance = empirical.sampleLosses.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            let se = (variance / n).squareRoot()
            XCTAssertLessThan(abs(mean - population.value), 4 * se, "\(loss): empirical \(mean) population \(population.value) se \(se)")
            XCTAssertGreaterThan(se, 0)
        }
    }

    func testRejectsUnsupportedInput() throws {
        let m = try model(noise: 0)
        let sample = Sampler(model: m).balancedSample(perClass: 2, random: RandomSource(seed: 18))
        XCTAssertThrowsError(try EmpiricalRobustObjective(model: m, sample: sample, threat: try ThreatModel(norm: .l2, eps: 0.1), objective: .ce)) {
            XCTAssertTrue($0 is InputError)
        }
        XCTAssertThrowsError(try EmpiricalRobustObjective(model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: 0.1), objective: .zeroOne)) {
            XCTAssertTrue($0 is InputError)
        }
        let objective = try EmpiricalRobustObjective(model: m, sample: sample, threat: try ThreatModel(norm: .linf, eps: 0.1), objective: .ce)
        XCTAssertThrowsError(try objective.evaluate(Matrix(rows: 3, columns: 5))) { XCTAssertTrue($0 is InputError) }
        XCTAssertThrowsError(try objective.fixedScaleOptimum(scale: 0)) { XCTAssertTrue($0 is InputError) }
    }
}

/// The certified empirical optimum against independent reference optima (scipy SLSQP on the
/// epigraph form with a brute-force inner maximum over all 128 box vertices; the sample is part
/// of the fixture), made by Tests/Fixtures/scripts/empirical_optimum_reference.py.
final class EmpiricalOptimumReferenceTests: XCTestCase {
    struct Reference: Decodable {
        struct Case: Decodable {
            var eps: Double
            var scale: Double
            var value: Double
            var weights: [[Double]]
        }
        var labels: [Int]
        var inputs: [[Double]]
        var cases: [Case]
    }

    func testCertifiedOptimumMatchesScipyReference() throws {
        let reference = try Fixtures.load("empirical_optimum_reference.json", as: Reference.self)
        let model = try DataModel.paper3(mu: 1, sigma: 0.5).with(noiseDimensions: 1, noiseSigma: 0.5)
        let sample = LabelledSample(labels: reference.labels, inputs: Matrix(reference.inputs))
        XCTAssertEqual(reference.cases.count, 4)
        for c in reference.cases {
            let objective = try EmpiricalRobustObjective(
                model: model, sample: sample, threat: try ThreatModel(norm: .linf, eps: c.eps), objective: .ce)
            let tolerance = 1e-8
            let optimum = try objective.fixedScaleOptimum(scale: c.scale, tolerance: tolerance)
            XCTAssertTrue(optimum.converged, "eps \(c.eps) s \(c.scale): bound \(optimum.suboptimalityBound) after \(optimum.iterations)")
            // Both are minimisers: the values agree within the certified bound (plus SLSQP's
            // own accuracy), and the reference point is no better than the certified lower bound.
            XCTAssertEqual(optimum.value, c.value, accuracy: optimum.suboptimalityBound + 1e-9, "eps \(c.eps) s \(c.scale)")
            let referenceValue = try objective.evaluate(Matrix(c.weights)).value
            XCTAssertEqual(referenceValue, c.value, accuracy: 1e-12, "the fixture's weights evaluate to its value")
            XCTAssertGreaterThanOrEqual(referenceValue, optimum.value - optimum.suboptimalityBound - 1e-12)
            // The minimiser itself: entrywise within 2e-3 (the objective is flat to second order, so
            // SLSQP's 1e-15 in value leaves its weights accurate to about 1e-4 only).
            for (a, b) in zip(optimum.weights.storage, Matrix(c.weights).storage) {
                XCTAssertEqual(a, b, accuracy: 2e-3, "eps \(c.eps) s \(c.scale)")
            }
        }
    }
}

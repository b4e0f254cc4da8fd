import CrossClassCore
import Foundation
import GSL
import TestSupport
import XCTest

/// The certified empirical ce optimum where samples sit on ties: the regeneration size of
/// `ccsim compare --n-train 20 --noise-dims 5` (several samples tied at once; the older
/// finishes left every epoch uncertified) and an independent scipy reference with a tie of
/// three vertices.
final class EmpiricalCertificateTests: XCTestCase {
    /// Per sample, the distinct pieces (box vertices told apart by their signs on W's non-zero
    /// columns) that attain the inner maximum within `tolerance`: their number, and the largest
    /// number of coordinates in which two of them differ. Brute force over all 2^d vertices.
    static func tiedPieces(_ w: Matrix, _ sample: LabelledSample, eps: Double, tolerance: Double) -> [(count: Int, spread: Int)] {
        let k = w.rows, d = w.columns
        let nonZero = (0..<d).filter { j in (0..<k).contains { w[$0, j] != 0 } }
        return (0..<sample.count).map { i in
            let x = Array(sample.inputs.row(i)), y = sample.labels[i]
            var best: [[Bool]: Double] = [:]
            for mask in 0..<(1 << d) {
                let point = (0..<d).map { x[$0] + ((mask >> $0) & 1 == 1 ? eps : -eps) }
                let z = (0..<k).map { r in (0..<d).reduce(0.0) { $0 + w[r, $1] * point[$1] } }
                let top = z.max()!
                let value = top + log(z.reduce(0) { $0 + exp($1 - top) }) - z[y]
                let key = nonZero.map { (mask >> $0) & 1 == 1 }
                best[key] = max(best[key] ?? -.infinity, value)
            }
            let top = best.values.max()!
            let tied = best.filter { $0.value >= top - tolerance }.map(\.key)
            var spread = 0
            for a in tied { for b in tied { spread = max(spread, zip(a, b).filter { $0 != $1 }.count) } }
            return (tied.count, spread)
        }
    }

    /// The training set of seed `seed` of `ccsim compare --model paper3 --n-train 20
    /// --noise-dims 5` (paper3 mu 1 sigma 0.5, noise sigma 1; the data stream draws the 200
    /// test points per class first, then the training set).
    static func regenerationSample(seed: UInt64) throws -> (DataModel, LabelledSample) {
        let model = try DataModel.paper3().with(noiseDimensions: 5, noiseSigma: 1)
        let random = RandomSource(seed: seed)
        let sampler = Sampler(model: model)
        _ = sampler.balancedSample(perClass: 200, random: random)
        return (model, sampler.balancedSample(perClass: 20, random: random))
    }

    /// Cases the two-piece finish left uncertified (gap above 1e-5 after its 400 evaluations)
    /// in the regenerated finite-n trajectories: (eps, seed, ||W||_F of the trained run at that epoch).
    static let regenerationCases: [(eps: Double, seed: UInt64, scale: Double)] = [
        (0.3, 4, 8.148308655297768), (0.42, 3, 4.692232162788631),
    ]

    func testRegenerationSizeOptimaAreCertifiedWithSeveralTiedSamples() throws {
        for c in Self.regenerationCases {
            let (model, sample) = try Self.regenerationSample(seed: c.seed)
            // The same training set as the run (its first point, as exported from it).
            XCTAssertEqual(sample.labels[0], 0)
            XCTAssertEqual(sample.inputs[0, 4], c.seed == 4 ? 1.0537079643037786 : 1.5181981479876794, accuracy: 1e-15)
            let objective = try EmpiricalRobustObjective(
                model: model, sample: sample, threat: try ThreatModel(norm: .linf, eps: c.eps), objective: .ce)
            // compare's settings: tolerance 1e-5 within 400 evaluations.
            let optimum = try objective.fixedScaleOptimum(scale: c.scale, tolerance: 1e-5, maxIterations: 400)
            XCTAssertTrue(optimum.converged, "eps \(c.eps) seed \(c.seed) s \(c.scale): bound \(optimum.suboptimalityBound)")
            XCTAssertLessThanOrEqual(optimum.suboptimalityBound, 1e-5)
            // The reported value is the exact objective at the reported weights, inside the ball.
            XCTAssertEqual(try objective.evaluate(optimum.weights).value, optimum.value, accuracy: 1e-15)
            XCTAssertLessThanOrEqual(optimum.weights.frobeniusNormSquared.squareRoot(), c.scale * (1 + 1e-12))
            // The structure the older finishes had to guess from the bundle point: several
            // samples on ties of two vertices at once (their KKT Newton fixes that active set at
            // its start, here far from the optimum: seed 4 starts on the sphere s = 8.15, the
            // optimum is interior, norm 6.20). The barrier needs no guess of the active set.
            let ties = Self.tiedPieces(optimum.weights, sample, eps: c.eps, tolerance: 1e-6)
            XCTAssertGreaterThanOrEqual(ties.filter { $0.count >= 2 }.count, 2, "eps \(c.eps) seed \(c.seed): \(ties)")
        }
    }

    /// eps 0.42, seed 1, epoch 1 of the regeneration (s = ||W||_F of the trained run, no warm
    /// start at the first epoch). The committed run reported 0.946924 uncertified (gap 1.1e-3);
    /// re-solving without the finish's guess that the 5 noise columns are exactly zero found
    /// 0.946418, which suggested the guess was wrong. It was not: the barrier's Newton steps
    /// crawled (its ball slack driven to ~1e-6 of the central value after a cut of mu) and ran
    /// out of budget. With the fraction-to-boundary rule the optimum with those columns zero is
    /// certified, below both earlier values.
    func testRegenerationEpochOneOptimumIsCertifiedBelowTheUnguessedValue() throws {
        let eps = 0.42, scale = 1.2807770654330919, tolerance = 1e-5
        let (model, sample) = try Self.regenerationSample(seed: 1)
        let objective = try EmpiricalRobustObjective(
            model: model, sample: sample, threat: try ThreatModel(norm: .linf, eps: eps), objective: .ce)
        let optimum = try objective.fixedScaleOptimum(scale: scale, tolerance: tolerance, maxIterations: 400)
        XCTAssertTrue(optimum.converged, "bound \(optimum.suboptimalityBound) after \(optimum.iterations)")
        XCTAssertLessThanOrEqual(optimum.suboptimalityBound, tolerance)
        XCTAssertLessThanOrEqual(optimum.value, 0.946418 + tolerance)
        XCTAssertEqual(try objective.evaluate(optimum.weights).value, optimum.value, accuracy: 1e-15)
        XCTAssertLessThanOrEqual(optimum.weights.frobeniusNormSquared.squareRoot(), scale * (1 + 1e-12))
        XCTAssertLessThan(optimum.value, 0.946418 - 1e-5)
        // The certificate closes with the noise columns exactly zero (free signs there).
        for j in 6..<11 { for r in 0..<3 { XCTAssertEqual(optimum.weights[r, j], 0) } }
        // The certified lower bound value - bound is below the objective at any feasible W:
        // random centred W in the ball (on the sphere, inside it, and near the optimum).
        let lower = optimum.value - optimum.suboptimalityBound
        let random = RandomSource(seed: 20261130)
        for trial in 0..<200 {
            var w = Matrix(rows: 3, columns: model.dimension)
            for q in w.storage.indices { w.storage[q] = random.gaussian() }
            if trial % 2 == 1 {
                for q in w.storage.indices { w.storage[q] = optimum.weights.storage[q] + 1e-2 * w.storage[q] }
            }
            var u = EmpiricalRobustObjective.projectOntoCentredBall(w, radius: scale)
            let norm = u.frobeniusNormSquared.squareRoot()
            u = u.scaled(by: (trial % 3 == 0 ? random.uniform() : 1) * scale / norm)
            XCTAssertGreaterThanOrEqual(try objective.evaluate(u).value, lower, "trial \(trial)")
        }
    }

    struct Reference: Decodable {
        struct Case: Decodable {
            var eps: Double
            var scale: Double
            var value: Double
            var weights: [[Double]]
            var tiedPiecesPerSample: [Int]
        }
        var labels: [Int]
        var inputs: [[Double]]
        var cases: [Case]
    }

    func testTieOfThreeOptimumMatchesScipyReference() throws {
        let reference = try Fixtures.load("empirical_optimum_ties_reference.json", as: Reference.self)
        let model = try DataModel.paper3(mu: 1, sigma: 0.5).with(noiseDimensions: 1, noiseSigma: 0.5)
        let sample = LabelledSample(labels: reference.labels, inputs: Matrix(reference.inputs))
        XCTAssertEqual(reference.cases.count, 1)
        for c in reference.cases {
            XCTAssertGreaterThanOrEqual(c.tiedPiecesPerSample.max() ?? 0, 3, "the fixture is a tie-of-three case")
            let objective = try EmpiricalRobustObjective(
                model: model, sample: sample, threat: try ThreatModel(norm: .linf, eps: c.eps), objective: .ce)
            let tolerance = 1e-8
            let optimum = try objective.fixedScaleOptimum(scale: c.scale, tolerance: tolerance)
            XCTAssertTrue(optimum.converged, "eps \(c.eps) s \(c.scale): bound \(optimum.suboptimalityBound) after \(optimum.iterations)")
            XCTAssertEqual(optimum.value, c.value, accuracy: optimum.suboptimalityBound + 1e-9)
            let referenceValue = try objective.evaluate(Matrix(c.weights)).value
            XCTAssertEqual(referenceValue, c.value, accuracy: 1e-12, "the fixture's weights evaluate to its value")
            XCTAssertGreaterThanOrEqual(referenceValue, optimum.value - optimum.suboptimalityBound - 1e-12)
            for (a, b) in zip(optimum.weights.storage, Matrix(c.weights).storage) {
                XCTAssertEqual(a, b, accuracy: 2e-3, "eps \(c.eps) s \(c.scale)")
            }
            // Our optimum has the tie of three too (brute force over the 128 box vertices).
            let ties = Self.tiedPieces(optimum.weights, sample, eps: c.eps, tolerance: 1e-7).map(\.count)
            XCTAssertEqual(ties.max(), c.tiedPiecesPerSample.max(), "tied pieces per sample \(ties) vs the reference's \(c.tiedPiecesPerSample)")
        }
    }
}

import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Judged dynamics")
struct DynamicsTests {
    /// A short population-AT run of a bias-free linear model from W = 0 (compare's recipe, smaller).
    static func configuration(eps: Double) throws -> TrainingConfiguration {
        var c = TrainingConfiguration(model: try DataModel.paper3(), eps: eps)
        c.useBias = false
        c.trainPerClass = nil
        c.stepsPerEpoch = 12
        c.batchSize = 64
        c.epochs = 3
        c.learningRate = 0.5
        c.schedule = .cosine
        c.weightDecay = 0
        c.zeroInitialisation = true
        c.testPerClass = 60
        c.trainEvaluationSize = 60
        c.attack = AttackConfiguration(norm: .linf, eps: eps, steps: 5)
        c.evaluationAttack = AttackConfiguration(norm: .linf, eps: eps, steps: 5)
        return c
    }

    @Test("a mis-specified comparison (exact path at the wrong eps) is reported outside the band at every epoch")
    func misSpecifiedFails() throws {
        let c = try Self.configuration(eps: 0.1)
        let wrong = try Comparison.judgedTrajectory(c, objective: .ce, seeds: 3, exactThreat: ThreatModel(norm: .linf, eps: 0.3), tolerance: 1e-8)
        #expect(wrong.epochs.count == 3)
        #expect(wrong.epochs.allSatisfy { !$0.inside }, "bands: \(wrong.epochs.map { [$0.bandLow, $0.bandHigh] })")
        #expect(wrong.fractionInside == 0 && !wrong.withinTolerance)
        // The same runs against the right eps deviate far less (the band is about the runs, not
        // a constant): every seed's |deviation| is smaller than against the wrong path.
        let right = try Comparison.judgedTrajectory(c, objective: .ce, seeds: 3, tolerance: 1e-8)
        for (a, b) in zip(right.epochs, wrong.epochs) {
            #expect(a.scale == b.scale && a.ratio == b.ratio)
            #expect(max(abs(a.bandLow), abs(a.bandHigh)) < min(abs(b.bandLow), abs(b.bandHigh)))
            #expect(a.exactCASAtScale >= 0 && a.cas >= 0)
        }
        #expect(throws: InputError.self) { try Comparison.judgedTrajectory(c, objective: .ce, seeds: 1) }
    }

    @Test("streamed epochs (onEpoch, onPoint) are the kept ones, in order, with the same verdicts; the results then hold none")
    func streamingEqualsKept() throws {
        var c = try Self.configuration(eps: 0.2)
        c.epochs = 11
        c.stepsPerEpoch = 3
        var streamed: [JudgedTrajectory.Epoch] = []
        let s = try Comparison.judgedTrajectory(c, objective: .ce, seeds: 2, tolerance: 1e-8, onEpoch: { streamed.append($0) })
        let k = try Comparison.judgedTrajectory(c, objective: .ce, seeds: 2, tolerance: 1e-8)
        #expect(s.epochs.isEmpty && streamed == k.epochs && streamed.count == 11)
        #expect(s.fractionInside == k.fractionInside && s.withinTolerance == k.withinTolerance)
        // Chunks of 3 compared epochs (the default is 32): the 8 compared epochs cross two chunk
        // boundaries and end in a partial chunk, as a long run does with the default.
        var points: [CrossClassCore.ComparisonResult.Point] = []
        var exactRatios: Set<Double> = []
        let a = try Comparison.run(c, objective: .ce, scale: .free, chunk: 3, onPoint: { points.append($0); exactRatios.insert($1) })
        let b = try Comparison.run(c, objective: .ce, scale: .free)
        #expect(a.points.isEmpty && points == b.points && points.count == 11 - b.burnIn && points.count > 6)
        #expect(exactRatios == [b.exactRatio] && a.last == b.points.last)
        #expect(a.trainedRatio == b.trainedRatio && a.tolerance == b.tolerance && a.trajectoryError == b.trajectoryError)
    }

    @Test("a linear softmax head trained from W = 0 stays centred: raw and centred CAS agree every epoch; the exact CAS is logged on request")
    func zeroInitialisationIsCentred() throws {
        var c = try Self.configuration(eps: 0.1)
        c.epochs = 2
        c.weightDecay = 5e-3
        c.loss = .ls(alpha: 0.2)
        let trainer = try Trainer(c)
        trainer.logsExactAttribution = true
        let result = try trainer.run()
        let head = result.network.head
        for f in 0..<head.columns {
            let sum = (0..<head.rows).reduce(0.0) { $0 + head[$1, f] }
            #expect(abs(sum) < 1e-12 * max(1, result.network.weightNorm))
        }
        for log in result.logs {
            #expect(abs(log.cas - log.casCentred) < 1e-9 && abs(log.meanCrossSimilarity - log.meanCrossSimilarityCentred) < 1e-9)
            let exactRaw = try #require(log.exactCAS), exactCentred = try #require(log.exactCASCentred)
            #expect(abs(exactRaw - exactCentred) < 1e-9)
        }
        // A uniformly initialised head is not centred, and the gauges then differ.
        c.zeroInitialisation = false
        c.epochs = 1
        let uniform = try Trainer(c).run().logs[0]
        #expect(abs(uniform.meanCrossSimilarity - uniform.meanCrossSimilarityCentred) > 1e-6)
    }
}

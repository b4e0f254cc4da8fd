import CrossClass
import Foundation
import GSL
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
}

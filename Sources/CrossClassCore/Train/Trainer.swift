import Foundation
import GSL

/// Everything that defines a training run (written to the manifest and the checkpoint).
public struct TrainingConfiguration: Sendable, Codable, Equatable {
    public var model: DataModel
    public var architecture: Network.Architecture = .linear
    public var width: Int = 64
    public var useBias: Bool = true
    public var loss: TrainingLoss = .ce
    public var attack: AttackConfiguration
    public var evaluationAttack: AttackConfiguration
    public var epochs: Int = 100
    public var batchSize: Int = 128
    public var learningRate: Double = 0.1
    public var schedule: Schedule = .step
    public var optimizer: Optimizer.Kind = .sgd
    public var momentum: Double = 0.9
    public var weightDecay: Double = 5e-4
    /// Training samples per class; nil means population training (fresh samples every step).
    public var trainPerClass: Int? = 1000
    public var testPerClass: Int = 1000
    /// Steps per epoch in population mode.
    public var stepsPerEpoch: Int = 50
    /// Training points on which train accuracies are measured each epoch.
    public var trainEvaluationSize: Int = 2000
    public var seed: UInt64 = 1
    /// Start a linear model at W = 0 (else PyTorch-style uniform initialisation).
    public var zeroInitialisation: Bool = false

    public init(model: DataModel, eps: Double, norm: Norm = .linf) {
        self.model = model
        attack = AttackConfiguration(norm: norm, eps: eps, steps: 10)
        evaluationAttack = AttackConfiguration(norm: norm, eps: eps, steps: 20)
    }

    public func validate() throws {
        try attack.validate()
        try evaluationAttack.validate()
        guard (1...100_000).contains(epochs) else { throw InputError("--epochs \(epochs) is not allowed: it must be in 1...100000") }
        guard (1...1_000_000).contains(batchSize) else { throw InputError("--batch \(batchSize) is not allowed: it must be in 1...1000000") }
        guard learningRate.isFinite, learningRate > 0 else { throw InputError("--lr \(learningRate) is not allowed: it must be > 0") }
        guard momentum.isFinite, (0..<1).contains(momentum) else { throw InputError("--momentum \(momentum) is not allowed: it must be in [0, 1)") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw InputError("--weight-decay \(weightDecay) is not allowed: it must be >= 0") }
        if let n = trainPerClass, !(1...10_000_000).contains(n) { throw InputError("--n-train \(n) is not allowed: it must be in 1...10000000") }
        guard (1...10_000_000).contains(testPerClass) else { throw InputError("--n-test \(testPerClass) is not allowed: it must be in 1...10000000") }
        guard (1...1_000_000).contains(stepsPerEpoch) else { throw InputError("--steps-per-epoch \(stepsPerEpoch) is not allowed") }
        if architecture == .twoLayer, !(1...100_000).contains(width) { throw InputError("--width \(width) is not allowed: it must be in 1...100000") }
    }
}

/// One epoch's log line.
public struct EpochLog: Sendable, Codable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    public var weightNorm: Double
    /// Projection of a linear model onto the symmetric family (through class differences).
    public var w1: Double?
    public var w2: Double?
    public var ratio: Double?
    public var trainRobustLoss: Double
    public var trainNaturalAccuracy: Double
    public var trainRobustAccuracy: Double
    public var testNaturalAccuracy: Double
    /// Exact for a linear model, PGD for a two-layer model.
    public var testRobustAccuracy: Double
    public var testRobustAccuracyPGD: Double
    /// Attribution on the PGD test samples, raw gauge (the head as it is, the paper's code).
    public var cas: Double
    /// Mean off-diagonal attribution similarity (signed), raw gauge.
    public var meanCrossSimilarity: Double
    public var correlation: [Double]
    /// The same on the same samples, centred gauge (head rows minus their mean).
    public var casCentred: Double
    public var meanCrossSimilarityCentred: Double
    public var correlationCentred: [Double]
    /// Linear models with `Trainer.logsExactAttribution`: the exact population CAS of the same
    /// W (ce worst-case samples, l_inf), raw and centred gauge; nil otherwise (two-layer, l2,
    /// or K >= 4 without a common worst-case vertex).
    public var exactCAS: Double?
    public var exactCASCentred: Double?
}

/// A resumable snapshot of a run.
public struct Checkpoint: Sendable, Codable, Equatable {
    public var format = "ccsim-checkpoint-1"
    public var configuration: TrainingConfiguration
    public var network: Network
    public var optimizer: Optimizer
    /// Epochs completed.
    public var epoch: Int
    public var logs: [EpochLog]
    public var bestEpoch: Int?
    public var bestNetwork: Network?
    public var randomState: [UInt8]
    public var attackRandomState: [UInt8]
    public var teacher: Network?

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }

    public static func read(from path: String) throws -> Checkpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError("checkpoint '\(path)' does not exist or cannot be read")
        }
        do {
            let c = try JSONDecoder().decode(Checkpoint.self, from: data)
            guard c.format == "ccsim-checkpoint-1" else { throw InputError("checkpoint '\(path)' has format '\(c.format)'; expected ccsim-checkpoint-1") }
            return c
        } catch let e as InputError { throw e } catch {
            throw InputError("checkpoint '\(path)' is malformed: \(DecodingErrorText.oneLine(error))")
        }
    }
}

/// The result of a run: per-epoch logs and the best-vs-last summary.
public struct TrainingResult: Sendable {
    /// Every epoch's log (empty when the trainer did not keep them: `Trainer.keepsLogs`).
    public var logs: [EpochLog]
    public var bestEpoch: Int
    public var network: Network
    public var bestNetwork: Network
    public var best: EpochLog
    public var last: EpochLog
}

/// Adversarial training (PGD-AT / TRADES / LS / KD) of a linear or two-layer model on a data
/// model, with exact test robust accuracy for linear models and the attribution metric.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public private(set) var network: Network
    var optimizer: Optimizer
    let random: RandomSource
    let attackRandom: RandomSource
    let train: LabelledSample?
    package let test: LabelledSample
    let trainEvaluation: LabelledSample
    public let teacher: Network?
    public private(set) var logs: [EpochLog] = []
    /// Epochs completed (also when `logs` is not kept).
    public private(set) var completedEpochs = 0
    public private(set) var bestEpoch: Int?
    public private(set) var bestLog: EpochLog?
    public private(set) var lastLog: EpochLog?
    /// Keep every epoch's log in `logs` (and so in checkpoints and the result). A run that
    /// streams its logs and writes no checkpoint turns this off: its memory then does not grow
    /// with the number of epochs.
    public var keepsLogs = true
    public private(set) var bestNetwork: Network?
    let workspace: Workspace
    let sampler: Sampler
    /// Log the exact population CAS of a linear model's W every epoch (EpochLog.exactCAS):
    /// a closed form for W with a common worst-case vertex, K = 3 quadrature (about a second
    /// in a release build) otherwise. Off by default; a logging choice, not part of the run's
    /// configuration.
    public var logsExactAttribution = false

    /// - Parameter teacher: the KD teacher (required for the kd loss).
    public init(_ configuration: TrainingConfiguration, teacher: Network? = nil, resume: Checkpoint? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        let model = configuration.model
        sampler = Sampler(model: model)
        // Data come from their own stream, so the data sets are the same whatever the
        // optimiser or attack settings.
        let dataRandom = RandomSource(seed: configuration.seed)
        test = sampler.balancedSample(perClass: configuration.testPerClass, random: dataRandom)
        if let n = configuration.trainPerClass {
            let t = sampler.balancedSample(perClass: n, random: dataRandom)
            train = t
            let m = min(configuration.trainEvaluationSize, t.count)
            trainEvaluation = LabelledSample(labels: Array(t.labels[0..<m]), inputs: Matrix(rows: m, columns: model.dimension, storage: Array(t.inputs.storage[0..<(m * model.dimension)])))
        } else {
            train = nil
            trainEvaluation = sampler.balancedSample(
                perClass: max(1, configuration.trainEvaluationSize / model.classCount), random: dataRandom)
        }
        random = RandomSource(seed: configuration.seed &+ 0x5EED)
        attackRandom = RandomSource(seed: configuration.seed &+ 0xA77AC)
        var net = Network(
            architecture: configuration.architecture, inputs: model.dimension,
            hidden: configuration.width, classes: model.classCount, useBias: configuration.useBias)
        net.initialise(random: random, zeroLinear: configuration.zeroInitialisation)
        if case .kd = configuration.loss {
            guard let teacher else { throw InputError("the kd loss needs a teacher (--teacher FILE or --teacher-epochs N)") }
            guard teacher.inputs == model.dimension, teacher.classes == model.classCount else {
                throw InputError("the teacher has \(teacher.inputs) inputs and \(teacher.classes) classes; the model needs \(model.dimension) and \(model.classCount)")
            }
        }
        self.teacher = teacher
        network = net
        optimizer = Optimizer(kind: configuration.optimizer, parameters: net.parameters.count,
                              momentum: configuration.momentum, weightDecay: configuration.weightDecay)
        workspace = Workspace(network: net, batch: max(configuration.batchSize, configuration.testPerClass * model.classCount, trainEvaluation.count, train?.count ?? 0))
        if let c = resume {
            guard c.configuration == configuration else {
                throw InputError("the checkpoint was written by a different configuration; resume with the same flags")
            }
            network = c.network
            optimizer = c.optimizer
            logs = c.logs
            completedEpochs = c.logs.count
            bestEpoch = c.bestEpoch
            bestLog = c.bestEpoch.flatMap { $0 >= 1 && $0 <= c.logs.count ? c.logs[$0 - 1] : nil }
            lastLog = c.logs.last
            bestNetwork = c.bestNetwork
            random.state = c.randomState
            attackRandom.state = c.attackRandomState
        }
    }

    /// Runs the remaining epochs. `onEpoch` sees every log and a checkpoint after it.
    public func run(onEpoch: ((EpochLog, Checkpoint) throws -> Void)? = nil) throws -> TrainingResult {
        let c = configuration
        while completedEpochs < c.epochs {
            let epoch = completedEpochs + 1
            let lr = c.schedule.rate(base: c.learningRate, epoch: epoch - 1, epochs: c.epochs)
            let robustLoss = try trainEpoch(lr: lr)
            let log = try evaluate(epoch: epoch, lr: lr, trainRobustLoss: robustLoss)
            completedEpochs = epoch
            if keepsLogs { logs.append(log) }
            lastLog = log
            if bestLog == nil || log.testRobustAccuracy > bestLog!.testRobustAccuracy {
                bestEpoch = epoch
                bestLog = log
                bestNetwork = network
            }
            try onEpoch?(log, checkpoint())
        }
        return TrainingResult(logs: logs, bestEpoch: bestEpoch!, network: network, bestNetwork: bestNetwork!,
                              best: bestLog!, last: lastLog!)
    }

    public func checkpoint() -> Checkpoint {
        Checkpoint(configuration: configuration, network: network, optimizer: optimizer, epoch: completedEpochs, logs: logs,
                   bestEpoch: bestEpoch, bestNetwork: bestNetwork, randomState: random.state,
                   attackRandomState: attackRandom.state, teacher: teacher)
    }

    // MARK: Training

    /// One pass over the training set (or `stepsPerEpoch` population steps) at rate `lr`,
    /// without the per-epoch evaluation that `run` adds; returns the mean training loss.
    /// Not logged: `run` remains the way to train (the benchmark times this alone).
    public func trainEpoch(lr: Double) throws -> Double {
        let c = configuration
        let d = network.inputs
        var totalLoss = 0.0, count = 0
        if let train {
            let order = random.permutation(train.count)
            var start = 0
            while start < order.count {
                let idx = Array(order[start..<min(start + c.batchSize, order.count)])
                var xb = [Double](repeating: 0, count: idx.count * d)
                // Row gather by memcpy (the indexed loop with its bounds checks was visible in
                // a linear-model profile).
                train.inputs.storage.withUnsafeBufferPointer { src in
                    xb.withUnsafeMutableBufferPointer { dst in
                        for (r, i) in idx.enumerated() {
                            precondition((i + 1) * d <= src.count)
                            (dst.baseAddress! + r * d).update(from: src.baseAddress! + i * d, count: d)
                        }
                    }
                }
                let yb = idx.map { train.labels[$0] }
                totalLoss += step(inputs: xb, labels: yb, lr: lr)
                count += idx.count
                start += c.batchSize
            }
        } else {
            for _ in 0..<c.stepsPerEpoch {
                let batch = sampler.sample(count: c.batchSize, random: random)
                totalLoss += step(inputs: batch.inputs.storage, labels: batch.labels, lr: lr)
                count += c.batchSize
            }
        }
        let mean = totalLoss / Double(max(count, 1))
        guard mean.isFinite, network.parameters.allSatisfy({ $0.isFinite }) else {
            throw NumericalError("training diverged (loss \(mean)); lower --lr")
        }
        return mean
    }

    /// One optimiser step on a batch; returns the summed per-sample training loss.
    func step(inputs xb: [Double], labels yb: [Int], lr: Double) -> Double {
        let n = yb.count, k = network.classes
        var teacherLogits: [Double]? = nil
        if let teacher, case .kd = configuration.loss {
            xb.withUnsafeBufferPointer { teacher.forward($0.baseAddress!, count: n, workspace) }
            teacherLogits = Array(workspace.logits[0..<(n * k)])
        }
        let adv = BatchObjective.adversarial(
            network: network, loss: configuration.loss, attack: configuration.attack, inputs: xb, labels: yb,
            teacherLogits: teacherLogits, workspace: workspace, random: attackRandom)
        var (losses, gradient) = BatchObjective.evaluate(
            network: network, loss: configuration.loss, clean: xb, adversarial: adv, labels: yb,
            teacherLogits: teacherLogits, workspace: workspace)
        optimizer.step(&network, gradient: &gradient, lr: lr)
        return losses.reduce(0, +)
    }

    // MARK: Evaluation

    /// Fraction of rows whose arg-max logit is the label (ties count as errors).
    func accuracy(_ x: [Double], _ labels: [Int]) -> Double {
        let n = labels.count, k = network.classes
        x.withUnsafeBufferPointer { network.forward($0.baseAddress!, count: n, workspace) }
        var correct = 0
        for i in 0..<n {
            let y = labels[i]
            var ok = true
            for c in 0..<k where c != y && workspace.logits[i * k + c] >= workspace.logits[i * k + y] { ok = false; break }
            if ok { correct += 1 }
        }
        return Double(correct) / Double(max(n, 1))
    }

    /// PGD adversarial inputs against cross-entropy with the hard labels.
    func adversarial(_ data: LabelledSample, attack: AttackConfiguration) -> [Double] {
        let q = BatchLoss.targets(.ce, labels: data.labels[...], k: network.classes, teacherLogits: nil)
        return PGD(attack).attack(network: network, inputs: data.inputs.storage, count: data.count, objective: .softTargets(q),
                                  workspace: workspace, random: attackRandom).inputs
    }

    func evaluate(epoch: Int, lr: Double, trainRobustLoss: Double) throws -> EpochLog {
        let c = configuration
        let trainNatural = accuracy(trainEvaluation.inputs.storage, trainEvaluation.labels)
        let trainRobust = accuracy(adversarial(trainEvaluation, attack: c.attack), trainEvaluation.labels)
        let testAdv = adversarial(test, attack: c.evaluationAttack)
        let testPGD = accuracy(testAdv, test.labels)
        var testNatural = accuracy(test.inputs.storage, test.labels)
        var testRobust = testPGD
        var w1: Double? = nil, w2: Double? = nil, ratio: Double? = nil
        if let linear = network.linearClassifier {
            // Exact population accuracies for a linear model.
            let threat = try ThreatModel(norm: c.evaluationAttack.norm, eps: c.evaluationAttack.eps)
            testRobust = try RobustAccuracy.general(model: c.model, classifier: linear, threat: threat).value
            testNatural = try RobustAccuracy.general(model: c.model, classifier: linear, threat: .none).value
            let p = linear.projectSymmetric(model: c.model)
            w1 = p.w1; w2 = p.w2; ratio = p.w1 != 0 ? p.w2 / p.w1 : nil
        }
        let features = testAdv.withUnsafeBufferPointer { network.features($0.baseAddress!, count: test.count, workspace) }
        let attribution = Attribution(features: features, labels: test.labels, head: network.head, gauge: .raw)
        let centred = Attribution(features: features, labels: test.labels, head: network.head, gauge: .centred)
        var exactRaw: Double? = nil, exactCentred: Double? = nil
        if let linear = network.linearClassifier, c.evaluationAttack.norm == .linf, logsExactAttribution {
            let exact = try ExactAttribution(model: c.model, threat: ThreatModel(norm: .linf, eps: c.evaluationAttack.eps))
            // Refusals (InputError: K >= 4 without a common vertex) leave the fields empty.
            do {
                let means = try exact.classMeans(linear, samples: .adversarial)
                exactRaw = Attribution(classMeans: means.means, head: linear.weights, gauge: .raw).cas
                exactCentred = Attribution(classMeans: means.means, head: linear.weights, gauge: .centred).cas
            } catch is InputError {}
        }
        return EpochLog(
            epoch: epoch, learningRate: lr, weightNorm: network.weightNorm, w1: w1, w2: w2, ratio: ratio,
            trainRobustLoss: trainRobustLoss, trainNaturalAccuracy: trainNatural, trainRobustAccuracy: trainRobust,
            testNaturalAccuracy: testNatural, testRobustAccuracy: testRobust, testRobustAccuracyPGD: testPGD,
            cas: attribution.cas, meanCrossSimilarity: attribution.meanOffDiagonal, correlation: attribution.correlation,
            casCentred: centred.cas, meanCrossSimilarityCentred: centred.meanOffDiagonal, correlationCentred: centred.correlation,
            exactCAS: exactRaw, exactCASCentred: exactCentred)
    }
}

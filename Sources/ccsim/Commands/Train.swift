import ArgumentParser
import CrossClass
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Adversarial training (PGD-AT, LS, KD, TRADES, hinge) of a linear or two-layer model, logged per epoch to CSV.",
        discussion: """
            Columns: epoch, lr, weight_norm, w1, w2, ratio (linear: projection onto the symmetric family \
            through class differences), train_robust_loss, train_natural_acc, train_robust_acc, \
            test_natural_acc, test_robust_acc (exact for linear, PGD for two-layer), test_robust_acc_pgd, cas, \
            mean_cross_similarity (mean off-diagonal C, signed; both in the raw gauge: the head as it is), \
            cas_centred, mean_cross_similarity_centred (head rows minus their mean; softmax cannot tell the two apart). \
            The attribution matrix C goes to FILE_attribution.csv. The run ends with best (by test robust \
            accuracy) vs last. Defaults are the official code's: \(TrainingDefaults.summary).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "linear or two-layer.")
    var arch: Network.Architecture = .linear

    @Option(help: ArgumentHelp("Hidden width of the two-layer model.".withDefault(64)), transform: FlagValue.count(1...100_000))
    var width: Int = 64

    @Option(help: ArgumentHelp("Training loss: ce, ls[:alpha], kd, trades[:beta], hinge[:kappa] (optionally @wd=LAMBDA, the same as --weight-decay).",
                               valueName: "spec"), transform: FlagValue.training)
    var objective: TrainingSpec = .exact(ObjectiveSpec(.ce))

    @OptionGroup var threat: ThreatOptions

    @Option(help: "Perturbation radius.", transform: FlagValue.radius)
    var eps: Double

    @Option(help: ArgumentHelp("Epochs.".withDefault(TrainingDefaults.epochs)), transform: FlagValue.count(1...100_000))
    var epochs: Int = TrainingDefaults.epochs

    @Option(help: "Batch size (default \(TrainingDefaults.batchSize)).", transform: FlagValue.count(1...1_000_000))
    var batch: Int?

    @Option(help: "Learning rate (default \(TrainingDefaults.learningRate)).", transform: FlagValue.positive)
    var lr: Double?

    @Option(help: "SGD momentum in [0, 1) (default \(TrainingDefaults.momentum)).", transform: FlagValue.finite)
    var momentum: Double?

    @Option(name: .customLong("weight-decay"), help: "Weight decay, not applied to biases (default \(TrainingDefaults.weightDecay)).",
            transform: FlagValue.finite)
    var weightDecay: Double?

    @Option(help: "Learning-rate schedule: constant, step (/10 at 50% and 75%), cosine (default \(TrainingDefaults.schedule.rawValue)).")
    var schedule: Schedule?

    @Option(help: "Optimiser: sgd or adam.")
    var optimizer: Optimizer.Kind = .sgd

    @Option(name: .customLong("n-train"), help: ArgumentHelp("Training samples per class.".withDefault(TrainingDefaults.trainPerClass)), transform: FlagValue.count(1...10_000_000))
    var nTrain: Int = TrainingDefaults.trainPerClass

    @Option(name: .customLong("n-test"), help: ArgumentHelp("Test samples per class.".withDefault(TrainingDefaults.testPerClass)), transform: FlagValue.count(1...10_000_000))
    var nTest: Int = TrainingDefaults.testPerClass

    @Flag(help: "Fresh samples every step instead of a fixed training set.")
    var population = false

    @Option(name: .customLong("steps-per-epoch"), help: ArgumentHelp("Steps per epoch with --population.".withDefault(TrainingDefaults.stepsPerEpoch)), transform: FlagValue.count(1...1_000_000))
    var stepsPerEpoch: Int = TrainingDefaults.stepsPerEpoch

    @Option(name: .customLong("pgd-steps"), help: "PGD steps for training (default \(TrainingDefaults.pgdSteps)).", transform: FlagValue.count(0...10_000))
    var pgdSteps: Int?

    @Option(name: .customLong("pgd-step-size"), help: "PGD step size (default eps/4).", transform: FlagValue.positive)
    var pgdStepSize: Double?

    @Option(name: .customLong("pgd-restarts"), help: ArgumentHelp("PGD restarts.".withDefault(1)), transform: FlagValue.count(1...1000))
    var pgdRestarts: Int = 1

    @Flag(name: .customLong("no-random-start"), help: "Start PGD at the clean input.")
    var noRandomStart = false

    @Flag(name: .customLong("pgd-best"), help: "Use the best PGD iterate instead of the last.")
    var pgdBest = false

    @Flag(help: "FGSM training (one step of size eps, no random start).")
    var fgsm = false

    @Option(name: .customLong("eval-pgd-steps"), help: "PGD steps for evaluation and the attribution metric (default \(TrainingDefaults.evaluationPGDSteps)).",
            transform: FlagValue.count(0...10_000))
    var evalPgdSteps: Int?

    @Flag(name: .customLong("paper-defaults"), help: "Insist on the official code's settings (the defaults): refuse any flag that changes them.")
    var paperDefaults = false

    @Flag(name: .customLong("no-bias"), help: "No bias terms.")
    var noBias = false

    @Flag(name: .customLong("zero-init"), help: "Start a linear model at W = 0.")
    var zeroInit = false

    @Option(help: "KD teacher checkpoint (its final network).")
    var teacher: String?

    @Option(name: .customLong("teacher-epochs"), help: "Train a natural (eps = 0) teacher for N epochs first (kd).", transform: FlagValue.count(1...100_000))
    var teacherEpochs: Int?

    @Option(help: "KD temperature (default 4; kd only).", transform: FlagValue.positive)
    var temperature: Double?

    @Option(name: .customLong("kd-weight"), help: "KD weight on the teacher's soft labels (rest on the hard label), in [0, 1] (default 0.9; kd only).",
            transform: FlagValue.unitInterval)
    var kdWeight: Double?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Per-epoch CSV (a JSON manifest FILE.manifest.json is written beside it).", transform: FlagValue.file)
    var out: OutputTarget

    @Option(name: .customLong("attribution-out"), help: "CSV of the attribution matrix per epoch (default: OUT with _attribution).",
            transform: FlagValue.file)
    var attributionOut: OutputTarget?

    @Option(help: "Write a resumable checkpoint here after every epoch.", transform: FlagValue.plainFile)
    var checkpoint: OutputTarget?

    @Option(help: "Resume from this checkpoint (same flags as the interrupted run).")
    var resume: String?

    var attributionTarget: OutputTarget {
        get throws { try attributionOut ?? OutputTarget(TrainingReport.attributionPath(out.path), flag: "--out (its _attribution file)") }
    }

    /// Names for messages: the flags the targets came from.
    var namedOutputs: [OutputTarget] {
        get throws {
            var list = [try OutputTarget(out.path, flag: "--out"), try attributionOut.map { try OutputTarget($0.path, flag: "--attribution-out") }
                ?? attributionTarget]
            if let checkpoint { list.append(try OutputTarget(checkpoint.path, flag: "--checkpoint", allowStandardOutput: false, hasManifest: false)) }
            return list
        }
    }

    mutating func validate() throws {
        if paperDefaults {
            for (given, flag) in [(batch != nil, "--batch"), (lr != nil, "--lr"), (momentum != nil, "--momentum"), (weightDecay != nil, "--weight-decay"),
                                  (schedule != nil, "--schedule"), (pgdSteps != nil, "--pgd-steps"), (pgdStepSize != nil, "--pgd-step-size"),
                                  (evalPgdSteps != nil, "--eval-pgd-steps"), (fgsm, "--fgsm"), (noRandomStart, "--no-random-start")] where given {
                throw InputError("\(flag) conflicts with --paper-defaults, which insists on the official code's value; drop one of them")
            }
        }
        let (loss, specDecay) = try objective.trainingLoss(temperature: temperature ?? 4, kdWeight: kdWeight ?? 0.9)
        if specDecay != nil, weightDecay != nil {
            throw InputError("--weight-decay and @wd= in --objective set the same thing: give one")
        }
        if case .kd = loss {
            guard (teacher == nil) != (teacherEpochs == nil) else {
                throw InputError("--objective kd needs one of --teacher FILE and --teacher-epochs N")
            }
        } else if teacher != nil || teacherEpochs != nil || temperature != nil || kdWeight != nil {
            throw InputError("--teacher, --teacher-epochs, --temperature and --kd-weight apply to --objective kd only")
        }
        try OutputTarget.requireDistinct(try namedOutputs)
    }

    func makeConfiguration() throws -> TrainingConfiguration {
        let model = try modelOptions.load()
        let (loss, specDecay) = try objective.trainingLoss(temperature: temperature ?? 4, kdWeight: kdWeight ?? 0.9)
        var c = TrainingConfiguration(model: model, eps: eps, norm: threat.norm)
        c.architecture = arch
        c.width = width
        c.useBias = !noBias
        c.loss = loss
        c.epochs = epochs
        c.batchSize = batch ?? TrainingDefaults.batchSize
        c.learningRate = lr ?? TrainingDefaults.learningRate
        c.momentum = momentum ?? TrainingDefaults.momentum
        c.weightDecay = weightDecay ?? specDecay ?? TrainingDefaults.weightDecay
        c.schedule = schedule ?? TrainingDefaults.schedule
        c.optimizer = optimizer
        c.trainPerClass = population ? nil : nTrain
        c.testPerClass = nTest
        c.stepsPerEpoch = stepsPerEpoch
        c.seed = seed
        c.zeroInitialisation = zeroInit
        if fgsm {
            c.attack = .fgsm(norm: threat.norm, eps: eps)
        } else {
            c.attack = AttackConfiguration(norm: threat.norm, eps: eps, steps: pgdSteps ?? TrainingDefaults.pgdSteps, stepSize: pgdStepSize,
                                           randomStart: !noRandomStart, restarts: pgdRestarts, keepBest: pgdBest)
        }
        c.evaluationAttack = AttackConfiguration(norm: threat.norm, eps: eps, steps: evalPgdSteps ?? TrainingDefaults.evaluationPGDSteps,
                                                 stepSize: eps / 4, randomStart: true)
        try c.validate()
        return c
    }

    func run() throws {
        let c = try makeConfiguration()
        let matrixTarget = try attributionTarget
        let resumeFrom = try resume.map { try Checkpoint.read(from: $0) }
        let teacherSource: TeacherSource? = teacher.map { .checkpoint($0) } ?? teacherEpochs.map { .natural(epochs: $0) }
        var teacherNetwork = resumeFrom?.teacher
        if teacherNetwork == nil, let teacherSource {
            teacherNetwork = try teacherSource.network(for: c) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        }
        let trainer = try Trainer(c, teacher: teacherNetwork, resume: resumeFrom)
        // Without checkpoints nothing needs the earlier epochs: the logs go straight to the
        // files, and memory does not grow with --epochs.
        trainer.keepsLogs = checkpoint != nil
        let streams = try StreamedCSV([(out, TrainingReport.header), (matrixTarget, TrainingReport.attributionHeader)])
        func emit(_ log: EpochLog) throws {
            try TrainingReport.checkFinite(log)
            try streams.append(TrainingReport.row(log), to: 0)
            for row in TrainingReport.attributionRows(log, classes: c.model.classCount) { try streams.append(row, to: 1) }
        }
        // A resumed run writes the epochs its checkpoint already holds first.
        for log in resumeFrom?.logs ?? [] { try emit(log) }
        let progress = Progress(total: c.epochs, label: "train")
        let result = try trainer.run { log, snapshot in
            try emit(log)
            progress.report(log.epoch, c.epochs)
            if let checkpoint { try snapshot.write(to: checkpoint.path) }
        }
        var config = try TrainingReport.configurationJSON(c)
        config["model_flags"] = .object(modelOptions.specification.manifestJSON)
        if let teacherSource { config["teacher"] = .string(teacherSource.description) }
        let summary = TrainingReport.summary(result)
        try streams.commit(command: "train", configuration: config, notes: [[summary], []])
        print(summary)
    }
}

extension Network.Architecture: ExpressibleByArgument {}
extension Schedule: ExpressibleByArgument {}
extension Optimizer.Kind: ExpressibleByArgument {}

import ArgumentParser
import CrossClass
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Adversarial training (PGD-AT, LS, KD, TRADES) of a linear or two-layer model, logged per epoch to CSV.",
        discussion: """
            Columns: epoch, lr, weight_norm, w1, w2, ratio (linear: projection onto the symmetric family \
            through class differences), train_robust_loss, train_natural_acc, train_robust_acc, \
            test_natural_acc, test_robust_acc (exact for linear, PGD for two-layer), test_robust_acc_pgd, cas, \
            mean_cross_similarity (mean off-diagonal C, signed). \
            The attribution matrix C goes to FILE_attribution.csv. The run ends with best (by test robust \
            accuracy) vs last.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "linear or two-layer.")
    var arch: String = "linear"

    @Option(help: "Hidden width of the two-layer model.")
    var width: Int = 64

    @Option(help: "Training loss: ce, ls[:alpha], kd, trades[:beta].")
    var objective: String = "ce"

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Perturbation radius.")
    var eps: Double

    @Option(help: "Epochs.")
    var epochs: Int = 100

    @Option(help: "Batch size.")
    var batch: Int?

    @Option(help: "Learning rate.")
    var lr: Double?

    @Option(help: "SGD momentum.")
    var momentum: Double?

    @Option(name: .customLong("weight-decay"), help: "Weight decay (not applied to biases).")
    var weightDecay: Double?

    @Option(help: "Learning-rate schedule: constant, step (/10 at 50% and 75%), cosine.")
    var schedule: String?

    @Option(help: "Optimiser: sgd or adam.")
    var optimizer: String = "sgd"

    @Option(name: .customLong("n-train"), help: "Training samples per class.")
    var nTrain: Int = 1000

    @Option(name: .customLong("n-test"), help: "Test samples per class.")
    var nTest: Int = 1000

    @Flag(help: "Fresh samples every step instead of a fixed training set.")
    var population = false

    @Option(name: .customLong("steps-per-epoch"), help: "Steps per epoch with --population.")
    var stepsPerEpoch: Int = 50

    @Option(name: .customLong("pgd-steps"), help: "PGD steps for training.")
    var pgdSteps: Int?

    @Option(name: .customLong("pgd-step-size"), help: "PGD step size (default eps/4).")
    var pgdStepSize: Double?

    @Option(name: .customLong("pgd-restarts"), help: "PGD restarts.")
    var pgdRestarts: Int = 1

    @Flag(name: .customLong("no-random-start"), help: "Start PGD at the clean input.")
    var noRandomStart = false

    @Flag(name: .customLong("pgd-best"), help: "Use the best PGD iterate instead of the last.")
    var pgdBest = false

    @Flag(help: "FGSM training (one step of size eps, no random start).")
    var fgsm = false

    @Option(name: .customLong("eval-pgd-steps"), help: "PGD steps for evaluation and the attribution metric.")
    var evalPgdSteps: Int?

    @Flag(name: .customLong("paper-defaults"), help: "The official code's choices: PGD-10 (random start, step eps/4) for training, PGD-20 for evaluation, SGD lr 0.1 momentum 0.9 wd 5e-4, batch 128, step schedule.")
    var paperDefaults = false

    @Flag(name: .customLong("no-bias"), help: "No bias terms.")
    var noBias = false

    @Flag(name: .customLong("zero-init"), help: "Start a linear model at W = 0.")
    var zeroInit = false

    @Option(help: "KD teacher checkpoint (its final network).")
    var teacher: String?

    @Option(name: .customLong("teacher-epochs"), help: "Train a natural (eps = 0) teacher for N epochs first (kd).")
    var teacherEpochs: Int?

    @Option(help: "KD temperature.")
    var temperature: Double = 4

    @Option(name: .customLong("kd-weight"), help: "KD weight on the teacher's soft labels (rest on the hard label).")
    var kdWeight: Double = 0.9

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Per-epoch CSV (a JSON manifest is written beside it).")
    var out: String

    @Option(name: .customLong("attribution-out"), help: "CSV of the attribution matrix per epoch (default: OUT with _attribution).")
    var attributionOut: String?

    @Option(help: "Write a resumable checkpoint here after every epoch.")
    var checkpoint: String?

    @Option(help: "Resume from this checkpoint (same flags as the interrupted run).")
    var resume: String?

    func makeConfiguration() throws -> TrainingConfiguration {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        let threatNorm = try Norm.parse(norm)
        var c = TrainingConfiguration(model: model, eps: eps, norm: threatNorm)
        guard let a = Network.Architecture(rawValue: arch) else { throw InputError("--arch '\(arch)' is unknown: use linear or two-layer") }
        c.architecture = a
        c.width = width
        c.useBias = !noBias
        c.loss = try TrainingLoss.parse(objective, temperature: temperature, kdWeight: kdWeight)
        c.epochs = epochs
        if paperDefaults {
            for (given, flag) in [(batch != nil, "--batch"), (lr != nil, "--lr"), (momentum != nil, "--momentum"), (weightDecay != nil, "--weight-decay"),
                                  (schedule != nil, "--schedule"), (pgdSteps != nil, "--pgd-steps"), (pgdStepSize != nil, "--pgd-step-size"),
                                  (evalPgdSteps != nil, "--eval-pgd-steps"), (fgsm, "--fgsm"), (noRandomStart, "--no-random-start")] where given {
                throw InputError("\(flag) conflicts with --paper-defaults, which fixes it; drop one of them")
            }
        }
        c.batchSize = batch ?? 128
        c.learningRate = lr ?? 0.1
        c.momentum = momentum ?? 0.9
        c.weightDecay = weightDecay ?? 5e-4
        guard let sched = Schedule(rawValue: schedule ?? "step") else { throw InputError("--schedule '\(schedule!)' is unknown: use constant, step or cosine") }
        c.schedule = sched
        guard let opt = Optimizer.Kind(rawValue: optimizer) else { throw InputError("--optimizer '\(optimizer)' is unknown: use sgd or adam") }
        c.optimizer = opt
        c.trainPerClass = population ? nil : nTrain
        c.testPerClass = nTest
        c.stepsPerEpoch = stepsPerEpoch
        c.seed = seed
        c.zeroInitialisation = zeroInit
        if fgsm {
            c.attack = .fgsm(norm: threatNorm, eps: eps)
        } else {
            c.attack = AttackConfiguration(norm: threatNorm, eps: eps, steps: pgdSteps ?? 10, stepSize: pgdStepSize, randomStart: !noRandomStart, restarts: pgdRestarts, keepBest: pgdBest)
        }
        c.evaluationAttack = AttackConfiguration(norm: threatNorm, eps: eps, steps: evalPgdSteps ?? 20, stepSize: eps / 4, randomStart: true)
        try c.validate()
        return c
    }

    func run() throws {
        let c = try makeConfiguration()
        let matrixPath = attributionOut ?? Self.attributionPath(out)
        try Emit.checkWritable(out)
        try Emit.checkWritable(matrixPath)
        if let checkpoint {
            try Emit.checkWritable(checkpoint)
            let taken = [out, matrixPath, Manifest.path(for: out), Manifest.path(for: matrixPath)]
            if taken.contains(where: { URL(fileURLWithPath: $0).standardized == URL(fileURLWithPath: checkpoint).standardized }) {
                throw InputError("--checkpoint '\(checkpoint)' would be overwritten by an output or its manifest (\(Manifest.path(for: out))); choose another name")
            }
        }
        let resumeFrom = try resume.map { try Checkpoint.read(from: $0) }
        var teacherNetwork = resumeFrom?.teacher
        if teacherNetwork == nil, case .kd = c.loss {
            if let teacher {
                teacherNetwork = try Checkpoint.read(from: teacher).network
            } else if let n = teacherEpochs {
                var tc = c
                tc.loss = .ce
                tc.epochs = n
                tc.attack = AttackConfiguration(norm: c.attack.norm, eps: 0, steps: 0, randomStart: false)
                FileHandle.standardError.write(Data("training a natural teacher for \(n) epochs\n".utf8))
                let taught = try Trainer(tc).run()
                teacherNetwork = taught.network
                FileHandle.standardError.write(Data("teacher: test natural accuracy \(Self.fmt(taught.last.testNaturalAccuracy))\n".utf8))
            } else {
                throw InputError("--objective kd needs --teacher FILE or --teacher-epochs N")
            }
        }
        let trainer = try Trainer(c, teacher: teacherNetwork, resume: resumeFrom)
        let progress = Progress(total: c.epochs, label: "train")
        let result = try trainer.run { log, snapshot in
            progress.report(log.epoch, c.epochs)
            if let checkpoint { try snapshot.write(to: checkpoint) }
        }
        let (table, matrix) = Self.tables(result.logs, classes: c.model.classCount)
        var config = try Self.configurationJSON(c)
        config["model_flags"] = .object(modelOptions.json)
        if case .kd = c.loss {
            config["teacher"] = teacher.map { .string($0) } ?? .string("natural (eps = 0) ce training for \(teacherEpochs ?? 0) epochs, same data and seed")
        }
        let summary = Self.summary(result)
        try Emit.csv(matrix, to: matrixPath, command: "train", configuration: config)
        try Emit.csv(table, to: out, command: "train", configuration: config, notes: [summary])
        print(summary)
    }

    static func attributionPath(_ out: String) -> String {
        let ns = out as NSString
        return ns.pathExtension.lowercased() == "csv" ? ns.deletingPathExtension + "_attribution.csv" : out + "_attribution.csv"
    }

    static func tables(_ logs: [EpochLog], classes k: Int) -> (CSVTable, CSVTable) {
        var table = CSVTable(header: [
            "epoch", "lr", "weight_norm", "w1", "w2", "ratio", "train_robust_loss", "train_natural_acc", "train_robust_acc",
            "test_natural_acc", "test_robust_acc", "test_robust_acc_pgd", "cas", "mean_cross_similarity",
        ])
        var matrix = CSVTable(header: ["epoch", "i", "j", "c"])
        for l in logs {
            table.append([.int(l.epoch), .double(l.learningRate), .double(l.weightNorm), .optionalDouble(l.w1), .optionalDouble(l.w2),
                          .optionalDouble(l.ratio), .double(l.trainRobustLoss), .double(l.trainNaturalAccuracy), .double(l.trainRobustAccuracy),
                          .double(l.testNaturalAccuracy), .double(l.testRobustAccuracy), .double(l.testRobustAccuracyPGD), .double(l.cas), .double(l.meanCrossSimilarity)])
            for i in 0..<k { for j in 0..<k { matrix.append([.int(l.epoch), .int(i + 1), .int(j + 1), .double(l.correlation[i * k + j])]) } }
        }
        return (table, matrix)
    }

    static func summary(_ r: TrainingResult) -> String {
        let b = r.best, l = r.last
        return "best epoch \(b.epoch): test robust acc \(fmt(b.testRobustAccuracy)), CAS \(fmt(b.cas)), mean cross similarity \(fmt(b.meanCrossSimilarity)); last epoch \(l.epoch): test robust acc \(fmt(l.testRobustAccuracy)), CAS \(fmt(l.cas)), mean cross similarity \(fmt(l.meanCrossSimilarity)); CAS change best -> last \(fmt(l.cas - b.cas))"
    }

    static func fmt(_ x: Double) -> String { String(format: "%.4f", x) }

    static func configurationJSON(_ c: TrainingConfiguration) throws -> [String: JSONValue] {
        let data = try JSONEncoder().encode(c)
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let o) = value else { return [:] }
        return o
    }
}

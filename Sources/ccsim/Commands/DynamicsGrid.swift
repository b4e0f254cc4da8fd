import ArgumentParser
import CrossClass
import Foundation

struct DynamicsGridCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dynamics-grid",
        abstract: "Two-layer AT on a finite training set over eps x noise dims x n x width x objectives x seeds: per-epoch CAS (both gauges, adversarial and natural samples) and robust train/test metrics.",
        discussion: """
            One row per (eps, noise dims, n, width, objective, seed, epoch): eps, noise_dims, n_train, width, objective, seed, \
            epoch, weight_norm, train_robust_loss, train_natural_acc, train_robust_acc, test_natural_acc, test_robust_acc (PGD), \
            cas (raw gauge, PGD test samples), cas_centred, mean_cross_similarity (raw), mean_cross_similarity_centred, and \
            the same four on the clean test samples (cas_natural, ...). --noise-dims-grid, --n-train and --width take comma \
            lists (grid axes). Unless sharded, OUT_verdict.csv (with a manifest) holds the paper's dynamics claim per \
            (eps, noise dims, n, width, objective, samples, gauge) as formalised here: with b the epoch of the best \
            mean test robust accuracy, every seed lower at the last epoch than at b (robust overfitting), every seed's \
            CAS higher at b than at epoch 1 (learns) and lower at the last epoch than at b (drops). SGD momentum 0.9, \
            weight decay 5e-4, step schedule; kd uses a natural teacher trained for --teacher-epochs on the same data. \
            Supports --shard and --resume like the other grids.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Comma list of objectives: ce, ls[:alpha], kd, trades[:beta].".withDefault("ce,ls:0.1,kd"), valueName: "specs"),
            transform: FlagValue.trainingList)
    var objectives: TrainingList = try! FlagValue.trainingList("ce,ls:0.1,kd")

    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("eps grid.".withDefault(try! Grid.parse("0.1,0.2,0.3", name: ""))), transform: FlagValue.radii)
    var eps: Grid = try! Grid.parse("0.1,0.2,0.3", name: "")

    @Option(help: ArgumentHelp("Epochs.".withDefault(DynamicsGridSetup.Settings().epochs)), transform: FlagValue.count(2...100_000))
    var epochs: Int = DynamicsGridSetup.Settings().epochs

    @Option(name: .customLong("n-train"), help: ArgumentHelp("Training samples per class (comma list: a grid axis).".withDefault("100")), transform: Self.counts("--n-train", 1...1_000_000))
    var nTrain = IntegerList(DynamicsGridSetup.Settings().trainPerClass)

    @Option(name: .customLong("noise-dims-grid"), help: "Pure-noise dimensions as a grid axis (comma list; replaces --noise-dims) (default: --noise-dims, else 20).",
            transform: Self.counts("--noise-dims-grid", 0...DataModel.maxNoiseDimensions))
    var noiseDimsGrid: IntegerList?

    @Option(name: .customLong("n-test"), help: ArgumentHelp("Test samples per class.".withDefault(DynamicsGridSetup.Settings().testPerClass)), transform: FlagValue.count(1...1_000_000))
    var nTest: Int = DynamicsGridSetup.Settings().testPerClass

    @Option(help: ArgumentHelp("Hidden width (comma list: a grid axis).".withDefault("64")), transform: Self.counts("--width", 1...100_000))
    var width = IntegerList(DynamicsGridSetup.Settings().widths)

    /// A grid axis of integers (one flag value, not a repeated flag).
    struct IntegerList: Sendable {
        var values: [Int]
        init(_ values: [Int]) { self.values = values }
    }

    /// A comma list of integers in `range`, without repeats.
    static func counts(_ flag: String, _ range: ClosedRange<Int>) -> @Sendable (String) throws -> IntegerList {
        { text in
            let values = try text.split(separator: ",", omittingEmptySubsequences: false).map { part -> Int in
                guard let n = Int(part.trimmingCharacters(in: .whitespaces)), range.contains(n) else {
                    throw InputError("'\(part)' is not allowed: \(flag) takes a comma list of integers in \(range.lowerBound)...\(range.upperBound)")
                }
                return n
            }
            guard Set(values).count == values.count else { throw InputError("\(flag) \(text) repeats a value") }
            return IntegerList(values)
        }
    }

    @Option(help: ArgumentHelp("Batch size.".withDefault(DynamicsGridSetup.Settings().batch)), transform: FlagValue.count(1...1_000_000))
    var batch: Int = DynamicsGridSetup.Settings().batch

    @Option(help: ArgumentHelp("Learning rate.".withDefault(DynamicsGridSetup.Settings().learningRate)), transform: FlagValue.positive)
    var lr: Double = DynamicsGridSetup.Settings().learningRate

    @Option(name: .customLong("pgd-steps"), help: ArgumentHelp("PGD steps for training.".withDefault(DynamicsGridSetup.Settings().pgdSteps)), transform: FlagValue.count(0...10_000))
    var pgdSteps: Int = DynamicsGridSetup.Settings().pgdSteps

    @Option(name: .customLong("eval-pgd-steps"), help: ArgumentHelp("PGD steps for evaluation and the attribution metric.".withDefault(DynamicsGridSetup.Settings().evaluationPGDSteps)), transform: FlagValue.count(0...10_000))
    var evalPgdSteps: Int = DynamicsGridSetup.Settings().evaluationPGDSteps

    @Option(name: .customLong("teacher-epochs"), help: ArgumentHelp("kd: natural teacher epochs.".withDefault(DynamicsGridSetup.Settings().teacherEpochs)), transform: FlagValue.count(1...100_000))
    var teacherEpochs: Int = DynamicsGridSetup.Settings().teacherEpochs

    @Option(help: ArgumentHelp("Seeds per (eps, objective): seed, seed + 1, ...".withDefault(DynamicsGridSetup.Settings().seeds)), transform: FlagValue.count(1...64))
    var seeds: Int = DynamicsGridSetup.Settings().seeds

    @Option(help: "First random seed.")
    var seed: UInt64 = 1

    @OptionGroup var output: OutputOptions
    @OptionGroup var gridOptions: GridOptions

    /// Noise dimensions default to 20 here (without them a finite sample hardly overfits).
    static let defaultNoiseDimensions = 20

    var verdictTarget: OutputTarget? {
        get throws {
            guard !output.out.isStandardOutput, gridOptions.shard == nil else { return nil }
            let ns = output.out.path as NSString
            let path = ns.pathExtension.lowercased() == "csv" ? ns.deletingPathExtension + "_verdict.csv" : output.out.path + "_verdict.csv"
            return try OutputTarget(path, flag: "--out (its _verdict file)")
        }
    }

    func validate() throws {
        if noiseDimsGrid != nil, modelOptions.noiseDims != nil {
            throw InputError("--noise-dims-grid and --noise-dims set the same thing: give one")
        }
        if let v = try verdictTarget { try OutputTarget.requireDistinct([output.out, v], journals: true) }
    }

    func run() throws {
        var model = try modelOptions.load()
        if modelOptions.noiseDims == nil, model.noiseDimensions == 0 {
            model = try model.with(noiseDimensions: Self.defaultNoiseDimensions, noiseSigma: model.noiseSigma)
        }
        var s = DynamicsGridSetup.Settings()
        s.epochs = epochs; s.trainPerClass = nTrain.values; s.noiseDimensions = noiseDimsGrid?.values; s.testPerClass = nTest; s.widths = width.values; s.batch = batch
        s.learningRate = lr; s.pgdSteps = pgdSteps; s.evaluationPGDSteps = evalPgdSteps; s.teacherEpochs = teacherEpochs
        s.seeds = seeds; s.seed = seed
        let job = try DynamicsGridSetup.grid(model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm,
                                             eps: eps, specs: objectives.specs, settings: s)
        let progress = Progress(total: 1, label: "dynamics-grid")
        let result = try job.run(to: output.out, shard: gridOptions.shard, resume: gridOptions.resume) { progress.report($0, $1) }
        var report = result.report
        if let target = try verdictTarget {
            let verdict = try DynamicsVerdict.table(from: result.table)
            var config = job.configuration
            config["definition"] = .string("per (eps, noise_dims, n_train, width, objective, samples, gauge), b = epoch of the best mean test robust accuracy; robust_overfitting: every seed lower at the last epoch than at b; learns: CAS(b) > CAS(epoch 1); drops: CAS(last) < CAS(b); claim_holds: overfitting and every seed learns and drops (sign test, chance 2^-R per condition)")
            try ResultWriter.write(verdict, to: target, command: "dynamics-grid", configuration: config)
            report += "\n" + Self.summary(verdict) + "\nwrote the verdict to \(target.path)"
        }
        if output.out.isStandardOutput { FileHandle.standardError.write(Data((report + "\n").utf8)) } else { print(report) }
    }

    static func summary(_ verdict: CSVTable) -> String {
        let h = verdict.header
        func c(_ n: String) -> Int { h.firstIndex(of: n)! }
        var lines = ["eps".padding(toLength: 7, withPad: " ", startingAt: 0) + "noise/n/width".padding(toLength: 15, withPad: " ", startingAt: 0)
                     + "objective".padding(toLength: 12, withPad: " ", startingAt: 0)
                     + "samples".padding(toLength: 13, withPad: " ", startingAt: 0) + "gauge".padding(toLength: 9, withPad: " ", startingAt: 0) + "best/last RA".padding(toLength: 18, withPad: " ", startingAt: 0)
                     + "CAS 1/best/last".padding(toLength: 24, withPad: " ", startingAt: 0) + "overfit learns drops  claim"]
        func f(_ s: String) -> String { Double(s).map { String(format: "%.3f", $0) } ?? s }
        for r in verdict.rows {
            lines.append(r[c("eps")].padding(toLength: 7, withPad: " ", startingAt: 0)
                         + "\(r[c("noise_dims")])/\(r[c("n_train")])/\(r[c("width")])".padding(toLength: 15, withPad: " ", startingAt: 0)
                         + r[c("objective")].padding(toLength: 12, withPad: " ", startingAt: 0)
                         + r[c("samples")].padding(toLength: 13, withPad: " ", startingAt: 0) + r[c("gauge")].padding(toLength: 9, withPad: " ", startingAt: 0)
                         + "\(f(r[c("test_robust_acc_best")]))/\(f(r[c("test_robust_acc_last")]))".padding(toLength: 18, withPad: " ", startingAt: 0)
                         + "\(f(r[c("cas_epoch1")]))/\(f(r[c("cas_best")]))/\(f(r[c("cas_last")]))".padding(toLength: 24, withPad: " ", startingAt: 0)
                         + "\(r[c("overfitting_seeds")])/\(r[c("seeds")])".padding(toLength: 8, withPad: " ", startingAt: 0)
                         + "\(r[c("learns_seeds")])".padding(toLength: 7, withPad: " ", startingAt: 0)
                         + "\(r[c("drops_seeds")])".padding(toLength: 7, withPad: " ", startingAt: 0) + r[c("claim_holds")])
        }
        return lines.joined(separator: "\n")
    }
}

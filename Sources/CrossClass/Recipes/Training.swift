import Foundation

/// The trainer's defaults, in one place: the official code's settings (PGD-10 with random
/// start and step eps/4 for training, PGD-20 for evaluation, SGD lr 0.1, momentum 0.9, weight
/// decay 5e-4, batch 128, step schedule). `ccsim train --help` shows them from here.
public enum TrainingDefaults {
    static let base = TrainingConfiguration(model: try! DataModel.paper3(), eps: 0)
    public static let batchSize = base.batchSize
    public static let learningRate = base.learningRate
    public static let momentum = base.momentum
    public static let weightDecay = base.weightDecay
    public static let schedule = base.schedule
    public static let pgdSteps = base.attack.steps
    public static let evaluationPGDSteps = base.evaluationAttack.steps
    public static let epochs = base.epochs
    public static let trainPerClass = base.trainPerClass ?? 1000
    public static let testPerClass = base.testPerClass
    public static let stepsPerEpoch = base.stepsPerEpoch

    /// One line for --help.
    public static var summary: String {
        "PGD-\(pgdSteps) (random start, step eps/4) for training, PGD-\(evaluationPGDSteps) for evaluation, SGD lr \(learningRate), momentum \(momentum), weight decay \(weightDecay), batch \(batchSize), \(schedule.rawValue) schedule"
    }
}

/// Where a KD run's teacher comes from.
public enum TeacherSource: Sendable {
    case checkpoint(String)
    /// Natural (eps = 0) ce training for this many epochs on the same data and seed.
    case natural(epochs: Int)

    public var description: String {
        switch self {
        case .checkpoint(let path): return path
        case .natural(let n): return "natural (eps = 0) ce training for \(n) epochs, same data and seed"
        }
    }

    /// The teacher network; `log` receives one-line progress notes.
    public func network(for configuration: TrainingConfiguration, log: (String) -> Void = { _ in }) throws -> Network {
        switch self {
        case .checkpoint(let path):
            return try Checkpoint.read(from: path).network
        case .natural(let n):
            var tc = configuration
            tc.loss = .ce
            tc.epochs = n
            tc.attack = AttackConfiguration(norm: configuration.attack.norm, eps: 0, steps: 0, randomStart: false)
            log("training a natural teacher for \(n) epochs")
            let taught = try Trainer(tc).run()
            log("teacher: test natural accuracy \(String(format: "%.4f", taught.last.testNaturalAccuracy))")
            return taught.network
        }
    }
}

/// The per-epoch tables and the closing summary of a training run.
public enum TrainingReport {
    public static let header = [
        "epoch", "lr", "weight_norm", "w1", "w2", "ratio", "train_robust_loss", "train_natural_acc", "train_robust_acc",
        "test_natural_acc", "test_robust_acc", "test_robust_acc_pgd", "cas", "mean_cross_similarity",
        "cas_centred", "mean_cross_similarity_centred",
    ]

    public static func row(_ l: EpochLog) -> [CSVValue] {
        [.int(l.epoch), .double(l.learningRate), .double(l.weightNorm), .optionalDouble(l.w1), .optionalDouble(l.w2),
         .optionalDouble(l.ratio), .double(l.trainRobustLoss), .double(l.trainNaturalAccuracy), .double(l.trainRobustAccuracy),
         .double(l.testNaturalAccuracy), .double(l.testRobustAccuracy), .double(l.testRobustAccuracyPGD), .double(l.cas),
         .double(l.meanCrossSimilarity), .double(l.casCentred), .double(l.meanCrossSimilarityCentred)]
    }

    public static let attributionHeader = ["epoch", "i", "j", "c"]

    /// One epoch's attribution matrix as rows (epoch, i, j, c).
    public static func attributionRows(_ l: EpochLog, classes k: Int) -> [[CSVValue]] {
        (0..<k).flatMap { i in (0..<k).map { j in [.int(l.epoch), .int(i + 1), .int(j + 1), .double(l.correlation[i * k + j])] } }
    }

    /// The per-epoch log and the attribution matrices (epoch, i, j, c).
    public static func tables(_ logs: [EpochLog], classes k: Int) -> (log: CSVTable, attribution: CSVTable) {
        var table = CSVTable(header: header)
        var matrix = CSVTable(header: attributionHeader)
        for l in logs {
            table.append(row(l))
            for r in attributionRows(l, classes: k) { matrix.append(r) }
        }
        return (table, matrix)
    }

    /// A log with a NaN or infinity means the run diverged: refused with the epoch and the
    /// column, so the message says what happened rather than which file refused it.
    public static func checkFinite(_ l: EpochLog) throws {
        for (name, cell) in zip(header, row(l)) {
            let value: Double?
            switch cell {
            case .double(let v): value = v
            case .optionalDouble(let v): value = v
            default: value = nil
            }
            guard let v = value, !v.isFinite else { continue }
            throw NumericalError("epoch \(l.epoch): \(name) is \(v): training diverged (a smaller --lr, or a smaller --eps or weight scale, may help)")
        }
        if l.correlation.contains(where: { !$0.isFinite }) {
            throw NumericalError("epoch \(l.epoch): the attribution matrix is not finite: training diverged (a smaller --lr may help)")
        }
    }

    public static func summary(_ r: TrainingResult) -> String {
        let b = r.best, l = r.last
        return "best epoch \(b.epoch): test robust acc \(fmt(b.testRobustAccuracy)), CAS \(fmt(b.cas)), mean cross similarity \(fmt(b.meanCrossSimilarity)); last epoch \(l.epoch): test robust acc \(fmt(l.testRobustAccuracy)), CAS \(fmt(l.cas)), mean cross similarity \(fmt(l.meanCrossSimilarity)); CAS change best -> last \(fmt(l.cas - b.cas))"
    }

    static func fmt(_ x: Double) -> String { String(format: "%.4f", x) }

    /// The configuration as manifest JSON.
    public static func configurationJSON(_ c: TrainingConfiguration) throws -> [String: JSONValue] {
        let data = try JSONEncoder().encode(c)
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let o) = value else { return [:] }
        return o
    }

    /// "run.csv" -> "run_attribution.csv".
    public static func attributionPath(_ out: String) -> String {
        let ns = out as NSString
        return ns.pathExtension.lowercased() == "csv" ? ns.deletingPathExtension + "_attribution.csv" : out + "_attribution.csv"
    }
}

/// The population-AT run that `compare` and `compare-grid` make for one (eps, objective): a
/// bias-free linear model from W = 0 on fresh samples every step, cosine schedule, compared
/// with the exact optimum of the same objective (free scale, or the centred weight-decay
/// optimum when the spec has @wd=/@wdc=: SGD weight decay from W = 0 keeps the rows centred).
public struct PopulationComparisonSetup: Sendable {
    public var configuration: TrainingConfiguration
    public var objective: Objective
    public var scale: ScaleMode
    public var pgdRestarts: Int

    /// SGD and PGD settings of a population run.
    public struct Settings: Sendable, Equatable {
        public var epochs = 60
        public var stepsPerEpoch = 100
        public var batch = 256
        public var learningRate = 0.5
        public var pgdSteps = 10
        public var seed: UInt64 = 1
        public init() {}
    }

    /// The manifest entries both grid forms of compare share (model flags, threat, objectives,
    /// training settings).
    static func gridManifest(
        modelFlags: [String: JSONValue], norm: Norm, eps: Grid, specs: [TrainingSpec], settings: Settings
    ) -> [String: JSONValue] {
        var config = modelFlags
        config["norm"] = .string(norm.rawValue)
        config["eps"] = .string(eps.text)
        config["objectives"] = .array(specs.map { .string($0.description) })
        config["epochs"] = .number(Double(settings.epochs))
        config["steps_per_epoch"] = .number(Double(settings.stepsPerEpoch))
        config["batch"] = .number(Double(settings.batch))
        config["lr"] = .number(settings.learningRate)
        config["pgd_steps"] = .number(Double(settings.pgdSteps))
        config["seed"] = .number(Double(settings.seed))
        return config
    }

    public init(model: DataModel, norm: Norm, eps: Double, spec: TrainingSpec, settings: Settings, pgdRestarts restartsFlag: Int? = nil) throws {
        guard case .exact(let exactSpec) = spec else {
            throw InputError("compare supports ce, ls, trades and hinge (kd has no exact counterpart)")
        }
        guard settings.epochs >= 8 else {
            throw InputError("--epochs \(settings.epochs) is not allowed for compare: it must be >= 8 (the tolerance comes from 4 blocks of the second half of the epochs)")
        }
        guard ComplementStructure(model: model) != nil else {
            throw InputError("compare needs a complement-structured model (paper3, complement:K): its exact optimum is over the symmetric family")
        }
        let (loss, weightDecay) = try spec.trainingLoss()
        if case .hinge = loss, weightDecay == nil {
            throw InputError("objective '\(exactSpec.spelling)' needs weight decay (write hinge:K@wd=LAMBDA): its free-scale optimum does not exist")
        }
        objective = exactSpec.objective
        switch loss {
        case .ls, .trades: pgdRestarts = restartsFlag ?? 8
        default: pgdRestarts = restartsFlag ?? 1
        }
        var c = TrainingConfiguration(model: model, eps: eps, norm: norm)
        c.loss = loss
        c.useBias = false
        c.trainPerClass = nil
        c.stepsPerEpoch = settings.stepsPerEpoch
        c.batchSize = settings.batch
        c.epochs = settings.epochs
        c.learningRate = settings.learningRate
        c.schedule = .cosine
        c.momentum = 0.9
        c.weightDecay = weightDecay ?? 0
        c.seed = settings.seed
        c.zeroInitialisation = true
        c.testPerClass = 200
        c.trainEvaluationSize = 300
        c.attack = AttackConfiguration(norm: norm, eps: eps, steps: settings.pgdSteps, randomStart: true, restarts: pgdRestarts)
        c.evaluationAttack = AttackConfiguration(norm: norm, eps: eps, steps: 10, randomStart: true)
        try c.validate()
        configuration = c
        scale = weightDecay.map { .centeredWeightDecay($0) } ?? .free
    }
}

extension PopulationComparisonSetup {
    /// The same run on a fixed training set of `perClass` points per class (an epoch is one
    /// pass over it in batches of the settings' size), for the empirical trajectory: only the
    /// objectives whose exact empirical robust objective exists (ce with l_inf, hinge).
    public func finiteSample(perClass: Int) throws -> PopulationComparisonSetup {
        switch objective {
        case .ce:
            guard configuration.attack.norm == .linf else {
                throw InputError("--n-train with ce needs --norm linf (the exact empirical ce objective is implemented for l_inf)")
            }
        case .hinge: break
        default:
            throw InputError("--n-train supports the objectives ce and hinge (their exact empirical robust objective is implemented); got '\(objective)'")
        }
        var out = self
        out.configuration.trainPerClass = perClass
        out.configuration.trainEvaluationSize = min(300, perClass * configuration.model.classCount)
        try out.configuration.validate()
        return out
    }

    /// compare-grid: one population run per (eps, objective), per-epoch rows.
    public static func grid(
        model: DataModel, modelFlags: [String: JSONValue], norm: Norm, eps: Grid, specs: [TrainingSpec], settings: Settings
    ) throws -> GridJob {
        let setups = try eps.values.flatMap { e in
            try specs.map { try PopulationComparisonSetup(model: model, norm: norm, eps: e, spec: $0, settings: settings) }
        }
        var config = gridManifest(modelFlags: modelFlags, norm: norm, eps: eps, specs: specs, settings: settings)
        config["resolved_model"] = model.manifestJSON
        let names = specs.map(\.description)
        return GridJob(
            command: "compare-grid",
            header: ["eps", "objective", "weight_decay", "epoch", "w1", "w2", "scale", "ratio", "exact_ratio_at_scale", "exact_ratio",
                     "trained_ratio", "trajectory_error", "tolerance", "within_tolerance"],
            itemCount: setups.count, configuration: config,
            describeItem: { "eps \(setups[$0].configuration.attack.eps), objective \(names[$0 % names.count])" }
        ) { item in
            let s = setups[item]
            let r = try Comparison.run(s.configuration, objective: s.objective, scale: s.scale)
            let e = s.configuration.attack.eps
            return r.points.map { p in
                [.double(e), .string(names[item % names.count]), .double(s.configuration.weightDecay), .int(p.epoch), .double(p.w1), .double(p.w2),
                 .double(p.scale), .double(p.ratio), .double(p.exactRatioAtScale), .double(r.exactRatio),
                 .double(r.trainedRatio), .double(r.trajectoryError), .double(r.tolerance), .bool(r.withinTolerance)]
            }
        }
    }
}

extension PopulationComparisonSetup {
    /// compare-grid --seeds R: the judged per-epoch trajectory (THEORY.md section 8) per
    /// (eps, objective), one row per grid point with the fraction of epochs inside the seed
    /// band, the verdict, and the PGD-vs-exact CAS check (when `casSamples` > 0, l_inf).
    public static func judgedGrid(
        model: DataModel, modelFlags: [String: JSONValue], norm: Norm, eps: Grid, specs: [TrainingSpec], settings: Settings,
        seeds: Int, zeroInitialisation: Bool, casSamples: Int
    ) throws -> GridJob {
        guard (2...64).contains(seeds) else { throw InputError("--seeds \(seeds) is not allowed: the judged grid needs 2...64 independent runs") }
        var setups = try eps.values.flatMap { e in
            try specs.map { try PopulationComparisonSetup(model: model, norm: norm, eps: e, spec: $0, settings: settings) }
        }
        for i in setups.indices { setups[i].configuration.zeroInitialisation = zeroInitialisation }
        let frozen = setups
        var config = gridManifest(modelFlags: modelFlags, norm: norm, eps: eps, specs: specs, settings: settings)
        config["seeds"] = .number(Double(seeds))
        config["init"] = .string(zeroInitialisation ? "zero" : "default")
        config["cas_samples"] = .number(Double(casSamples))
        config["resolved_model"] = model.manifestJSON
        config["band"] = .string("per epoch: [min, max] over the seeds of w2/w1 - exact fixed-scale w2/w1 at the run's norm; inside when it contains 0; within_tolerance: at least 0.9 of the epochs inside")
        let names = specs.map(\.description)
        let plan = casSamples > 0 && norm == .linf
            ? AttributionCheckPlan(epochs: AttributionCheckPlan.standardEpochs(settings.epochs), samplesPerClass: casSamples) : nil
        return GridJob(
            command: "compare-grid",
            header: ["eps", "objective", "weight_decay", "seeds", "epochs", "final_scale", "final_ratio", "final_exact_ratio_at_scale",
                     "fraction_inside", "within_tolerance", "cas_checks", "cas_check_fraction_inside", "cas_check_within_tolerance"],
            itemCount: setups.count, configuration: config
        ) { item in
            let s = frozen[item]
            let t = try Comparison.judgedTrajectory(s.configuration, objective: s.objective, seeds: seeds, attributionCheck: plan)
            let last = t.epochs[t.epochs.count - 1]
            let check = t.attributionCheck
            return [[.double(s.configuration.attack.eps), .string(names[item % names.count]), .double(s.configuration.weightDecay),
                     .int(seeds), .int(t.epochs.count), .double(last.scale), .double(last.ratio), .double(last.exactRatioAtScale),
                     .double(t.fractionInside), .bool(t.withinTolerance), .int(check?.points.count ?? 0),
                     .double(check?.fractionInside ?? 0), .bool(check?.withinTolerance ?? false)]]
        }
    }
}

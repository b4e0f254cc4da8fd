import ArgumentParser
import CrossClass
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Population AT of a linear model, compared with the exact optimum.",
        discussion: """
            Trains a bias-free linear model on fresh samples every step and prints trained_ratio \
            (mean w2/w1 over the second half of the epochs), exact_ratio (exact optimum of the same objective, \
            scale convention: free, or centred weight decay when --weight-decay > 0), trajectory_error \
            (largest gap, after a 20% burn-in, between the trained w2/w1 and the exact fixed-scale \
            optimum at the same ||(w1, w2)||), the tolerance (4 standard errors of that mean, from 4 block \
            means: SGD noise is autocorrelated) and within_tolerance.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "ce, ls[:alpha], trades[:beta] or hinge[:kappa] (hinge needs --weight-decay).")
    var objective: String = "ce"

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Perturbation radius.")
    var eps: Double

    @OptionGroup var training: PopulationTrainingOptions

    @Option(name: .customLong("weight-decay"), help: "Weight decay (0: free scale).")
    var weightDecay: Double = 0

    @Option(name: .customLong("pgd-restarts"), help: "PGD restarts (default 8 for ls and trades, whose inner maximum has several local maxima that one PGD run misses; 1 otherwise).")
    var pgdRestartsFlag: Int?

    @Option(help: "Also write the per-epoch comparison as CSV.")
    var out: String?

    @Option(name: .customLong("init"), help: "Initialisation of the linear model: zero or default (PyTorch-style uniform).")
    var initialisation: String = "zero"

    @Option(help: "Independent runs (seed, seed + 1, ...) for the judged per-epoch trajectory (>= 2 adds trajectory, trajectory_fraction_inside, trajectory_within_tolerance).")
    var seeds: Int = 1

    @Option(name: .customLong("exact-eps"), help: "Judge the trajectory against the exact path at this eps instead of --eps (a deliberately mis-specified check).")
    var exactEps: Double?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        let threatNorm = try Norm.parse(norm)
        let loss = try TrainingLoss.parse(objective)
        try CheckFlag.nonNegative(weightDecay, "--weight-decay")
        let setup = try CompareSetup(model: model, norm: threatNorm, eps: eps, loss: loss, weightDecay: weightDecay, epochs: training.epochs,
                                     stepsPerEpoch: training.stepsPerEpoch, batch: training.batch, lr: training.lr, pgdSteps: training.pgdSteps,
                                     pgdRestarts: pgdRestartsFlag, seed: training.seed)
        var (c, exactObjective, scale, pgdRestarts) = (setup.configuration, setup.objective, setup.scale, setup.pgdRestarts)
        switch initialisation.lowercased() {
        case "zero": c.zeroInitialisation = true
        case "default", "uniform": c.zeroInitialisation = false
        default: throw InputError("--init '\(initialisation)' is unknown: use zero or default")
        }
        guard seeds == 1 || (2...64).contains(seeds) else { throw InputError("--seeds \(seeds) is not allowed: it must be 1 (no judged trajectory) or in 2...64") }
        if let exactEps { try CheckFlag.eps(exactEps) }
        if let out { try Emit.checkWritable(out) }
        let progress = Progress(total: training.epochs + 1, label: "compare")
        let r = try Comparison.run(c, objective: exactObjective, scale: scale, progress: { progress.report($0, $1) })
        var result: [String: JSONValue] = [
            "model": .string(model.name), "eps": .number(eps), "norm": .string(threatNorm.rawValue),
            "objective": .string(loss.description), "scale": .string(scale.description),
            "trained_ratio": .number(r.trainedRatio), "exact_ratio": .number(r.exactRatio),
            "exact_w1": .number(r.exactW1), "exact_w2": .number(r.exactW2),
            "trained_w1": .number(r.points.last?.w1 ?? 0), "trained_w2": .number(r.points.last?.w2 ?? 0),
            "trajectory_error": .number(r.trajectoryError), "tolerance": .number(r.tolerance),
            "within_tolerance": .bool(r.withinTolerance), "burn_in_epochs": .number(Double(r.burnIn)),
            "window_epochs": .number(Double(r.window)), "pgd_steps": .number(Double(training.pgdSteps)), "pgd_restarts": .number(Double(pgdRestarts)),
        ]
        if seeds >= 2 {
            let t = try Comparison.judgedTrajectory(
                c, objective: exactObjective, seeds: seeds, exactThreat: ThreatModel(norm: threatNorm, eps: exactEps ?? eps))
            result["trajectory"] = .array(t.epochs.map { p in
                .object(["epoch": .number(Double(p.epoch)), "scale": .number(p.scale), "ratio": .number(p.ratio),
                         "exact_ratio_at_scale": .number(p.exactRatioAtScale), "cas": .number(p.cas),
                         "exact_cas_at_scale": .number(p.exactCASAtScale), "band": JSONValue([p.bandLow, p.bandHigh]),
                         "inside": .bool(p.inside)])
            })
            result["trajectory_fraction_inside"] = .number(t.fractionInside)
            result["trajectory_within_tolerance"] = .bool(t.withinTolerance)
            result["trajectory_band"] = .string(t.bandDefinition)
            result["trajectory_cas_gauge"] = .string("centred (cas: PGD-measured on the test sample; exact_cas_at_scale: exact, ce worst case)")
            result["seeds"] = .number(Double(seeds))
            if let exactEps { result["exact_eps"] = .number(exactEps) }
        }
        result["init"] = .string(c.zeroInitialisation ? "zero" : "default")
        if let out {
            var table = CSVTable(header: ["epoch", "w1", "w2", "scale", "ratio", "exact_ratio_at_scale", "exact_ratio"])
            for p in r.points {
                table.append([.int(p.epoch), .double(p.w1), .double(p.w2), .double(p.scale), .double(p.ratio), .double(p.exactRatioAtScale), .double(r.exactRatio)])
            }
            try Emit.csv(table, to: out, command: "compare", configuration: result)
        }
        if json { Emit.json(result) } else {
            print("\(model.name) eps=\(eps) \(loss): trained w2/w1 \(r.trainedRatio), exact \(r.exactRatio) (tolerance \(r.tolerance): \(r.withinTolerance ? "within" : "OUTSIDE")); trajectory error \(r.trajectoryError)")
        }
    }
}

/// The population-AT run that `compare` and `compare-grid` make for one (eps, objective).
struct CompareSetup {
    var configuration: TrainingConfiguration
    var objective: Objective
    var scale: ScaleMode
    var pgdRestarts: Int

    init(model: DataModel, norm: Norm, eps: Double, loss: TrainingLoss, weightDecay: Double, epochs: Int, stepsPerEpoch: Int,
         batch: Int, lr: Double, pgdSteps: Int, pgdRestarts restartsFlag: Int?, seed: UInt64) throws {
        guard let exact = loss.exactObjective else {
            throw InputError("compare supports ce, ls, trades and hinge (kd has no exact counterpart)")
        }
        if case .hinge = loss, weightDecay <= 0 {
            throw InputError("objective hinge needs weight decay > 0 (its free-scale optimum does not exist)")
        }
        objective = exact
        switch loss {
        case .ls, .trades: pgdRestarts = restartsFlag ?? 8
        default: pgdRestarts = restartsFlag ?? 1
        }
        var c = TrainingConfiguration(model: model, eps: eps, norm: norm)
        c.loss = loss
        c.useBias = false
        c.trainPerClass = nil
        c.stepsPerEpoch = stepsPerEpoch
        c.batchSize = batch
        c.epochs = epochs
        c.learningRate = lr
        c.schedule = .cosine
        c.momentum = 0.9
        c.weightDecay = weightDecay
        c.seed = seed
        c.zeroInitialisation = true
        c.testPerClass = 200
        c.trainEvaluationSize = 300
        c.attack = AttackConfiguration(norm: norm, eps: eps, steps: pgdSteps, randomStart: true, restarts: pgdRestarts)
        c.evaluationAttack = AttackConfiguration(norm: norm, eps: eps, steps: 10, randomStart: true)
        try c.validate()
        configuration = c
        scale = weightDecay > 0 ? .centeredWeightDecay(weightDecay) : .free
    }
}

struct CompareGridCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-grid",
        abstract: "'compare' over a grid of eps and objectives (a training grid), to one CSV.",
        discussion: """
            One row per (eps, objective, epoch): eps, objective, weight_decay, epoch, w1, w2, scale \
            (||(w1, w2)||), ratio, exact_ratio_at_scale (exact fixed-scale optimum at that norm), \
            exact_ratio, and the run's summary (trained_ratio, trajectory_error, tolerance, \
            within_tolerance) repeated on each of its rows. Objectives as in 'compare'; append \
            @wd=L for weight decay L (hinge needs it), e.g. ce,ls:0.1,hinge:1@wd=0.05. Supports \
            --shard and --resume like the sweeps.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Comma list of objectives (ce, ls[:alpha], trades[:beta], hinge[:kappa]@wd=L).")
    var objectives: String = "ce,ls:0.1,hinge:1@wd=0.05"

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "eps grid.")
    var eps: String = "0.1,0.2,0.3,0.4"

    @OptionGroup var training: PopulationTrainingOptions

    @Option(help: "Output CSV (a JSON manifest is written beside it).")
    var out: String

    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let threatNorm = try Norm.parse(norm)
        let epsGrid = try Grid.parse(eps, name: "--eps")
        for e in epsGrid.values { try CheckFlag.eps(e) }
        var runs: [(String, TrainingLoss, Double)] = []
        for raw in objectives.split(separator: ",").map(String.init) {
            let parts = raw.components(separatedBy: "@wd=")
            guard parts.count <= 2 else { throw InputError("--objectives entry '\(raw)' is not allowed: write NAME or NAME@wd=L") }
            var wd = 0.0
            if parts.count == 2 {
                guard let v = Double(parts[1]), v.isFinite, v > 0 else {
                    throw InputError("--objectives entry '\(raw)': weight decay '\(parts[1])' is not allowed: it must be a finite number > 0")
                }
                wd = v
            }
            runs.append((raw, try TrainingLoss.parse(parts[0]), wd))
        }
        guard !runs.isEmpty else { throw InputError("--objectives is empty: give at least one objective") }
        let setups = try epsGrid.values.flatMap { e in
            try runs.map { r in
                try CompareSetup(model: model, norm: threatNorm, eps: e, loss: r.1, weightDecay: r.2, epochs: training.epochs,
                                 stepsPerEpoch: training.stepsPerEpoch, batch: training.batch, lr: training.lr, pgdSteps: training.pgdSteps, pgdRestarts: nil, seed: training.seed)
            }
        }
        try Emit.checkWritable(out)
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .string(epsGrid.text)
        config["objectives"] = .array(runs.map { .string($0.0) })
        config["epochs"] = .number(Double(training.epochs))
        config["steps_per_epoch"] = .number(Double(training.stepsPerEpoch))
        config["batch"] = .number(Double(training.batch))
        config["lr"] = .number(training.lr)
        config["pgd_steps"] = .number(Double(training.pgdSteps))
        config["seed"] = .number(Double(training.seed))
        config["resolved_model"] = modelJSON(model)
        let names = runs.map(\.0)
        let rows = try gridOptions.run(
            command: "compare-grid",
            header: ["eps", "objective", "weight_decay", "epoch", "w1", "w2", "scale", "ratio", "exact_ratio_at_scale", "exact_ratio",
                     "trained_ratio", "trajectory_error", "tolerance", "within_tolerance"],
            itemCount: setups.count, out: out, configuration: config
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
        print("wrote \(rows) rows to \(out)")
    }
}

/// The SGD and PGD settings of a population-AT run (compare, compare-grid; the same seed for
/// every run of a grid).
struct PopulationTrainingOptions: ParsableArguments {
    @Option(help: "Epochs.")
    var epochs: Int = 60

    @Option(name: .customLong("steps-per-epoch"), help: "SGD steps per epoch.")
    var stepsPerEpoch: Int = 100

    @Option(help: "Batch size.")
    var batch: Int = 256

    @Option(help: "Learning rate (cosine schedule).")
    var lr: Double = 0.5

    @Option(name: .customLong("pgd-steps"), help: "PGD steps.")
    var pgdSteps: Int = 10

    @Option(help: "Random seed.")
    var seed: UInt64 = 1
}

import ArgumentParser
import CrossClass
import Foundation

/// The SGD and PGD settings of a population-AT run (compare, compare-grid; the same seed for
/// every run of a grid).
struct PopulationTrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Epochs (>= 8).".withDefault(PopulationComparisonSetup.Settings().epochs)), transform: FlagValue.count(1...100_000))
    var epochs: Int = PopulationComparisonSetup.Settings().epochs

    @Option(name: .customLong("steps-per-epoch"), help: ArgumentHelp("SGD steps per epoch.".withDefault(PopulationComparisonSetup.Settings().stepsPerEpoch)), transform: FlagValue.count(1...1_000_000))
    var stepsPerEpoch: Int = PopulationComparisonSetup.Settings().stepsPerEpoch

    @Option(help: ArgumentHelp("Batch size.".withDefault(PopulationComparisonSetup.Settings().batch)), transform: FlagValue.count(1...1_000_000))
    var batch: Int = PopulationComparisonSetup.Settings().batch

    @Option(help: ArgumentHelp("Learning rate (cosine schedule).".withDefault(PopulationComparisonSetup.Settings().learningRate)), transform: FlagValue.positive)
    var lr: Double = PopulationComparisonSetup.Settings().learningRate

    @Option(name: .customLong("pgd-steps"), help: ArgumentHelp("PGD steps.".withDefault(PopulationComparisonSetup.Settings().pgdSteps)), transform: FlagValue.count(0...10_000))
    var pgdSteps: Int = PopulationComparisonSetup.Settings().pgdSteps

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    var settings: PopulationComparisonSetup.Settings {
        var s = PopulationComparisonSetup.Settings()
        s.epochs = epochs
        s.stepsPerEpoch = stepsPerEpoch
        s.batch = batch
        s.learningRate = lr
        s.pgdSteps = pgdSteps
        s.seed = seed
        return s
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Population AT of a linear model, compared with the exact optimum.",
        discussion: """
            Trains a bias-free linear model from W = 0 on fresh samples every step and prints trained_ratio \
            (mean w2/w1 over the second half of the epochs), exact_ratio (exact optimum of the same objective: \
            free scale, or with @wd=L the centred weight-decay optimum, which is what SGD weight decay from \
            W = 0 converges to), trajectory_error (largest gap, after a 20% burn-in, between the trained w2/w1 \
            and the exact fixed-scale optimum at the same ||(w1, w2)||), the tolerance (4 standard errors of \
            that mean, from 4 block means: SGD noise is autocorrelated) and within_tolerance.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("ce, ls[:alpha], trades[:beta] or hinge[:kappa]@wd=L (hinge needs weight decay); @wd=L trains with weight decay L.",
                               valueName: "spec"), transform: FlagValue.training)
    var objective: TrainingSpec = .exact(ObjectiveSpec(.ce))

    @OptionGroup var threat: ThreatOptions

    @Option(help: "Perturbation radius.", transform: FlagValue.radius)
    var eps: Double

    @OptionGroup var training: PopulationTrainingOptions

    @Option(name: .customLong("weight-decay"), help: "Weight decay (same as @wd=L in --objective).", transform: FlagValue.positive)
    var weightDecay: Double?

    @Option(name: .customLong("pgd-restarts"), help: "PGD restarts (default 8 for ls and trades, whose inner maximum has several local maxima that one PGD run misses; 1 otherwise).",
            transform: FlagValue.count(1...1000))
    var pgdRestartsFlag: Int?

    @Option(help: "Also write the per-epoch comparison as CSV.", transform: FlagValue.output)
    var out: OutputTarget?

    @Option(name: .customLong("init"), help: "Initialisation of the linear model: zero or default (PyTorch-style uniform) (default: zero).")
    var initialisation: InitialisationChoice = .zero

    @Option(help: "Independent runs (seed, seed + 1, ...) for the judged per-epoch trajectory; 1 skips it (default: 8).",
            transform: FlagValue.count(1...64))
    var seeds: Int = 8

    @Option(name: .customLong("exact-eps"), help: "Judge the trajectory against the exact path at this eps instead of --eps (a deliberately mis-specified check).",
            transform: FlagValue.radius)
    var exactEps: Double?

    @Flag(help: "Print one JSON object.")
    var json = false

    enum InitialisationChoice: String, ExpressibleByArgument, CaseIterable { case zero, `default` }

    /// The objective with --weight-decay folded in.
    func spec() throws -> TrainingSpec {
        guard let weightDecay else { return objective }
        guard case .exact(let s) = objective else { return objective }
        guard s.scale == s.objective.defaultScale || s.scale == .free else {
            throw InputError("--weight-decay and @... in --objective set the same thing: give one")
        }
        return .exact(ObjectiveSpec(s.objective, .weightDecay(weightDecay)))
    }

    mutating func validate() throws {
        if seeds == 1, exactEps != nil { throw InputError("--exact-eps judges the trajectory, which needs --seeds >= 2") }
        _ = try PopulationComparisonSetup(model: try modelOptions.load(), norm: threat.norm, eps: eps, spec: try spec(),
                                          settings: training.settings, pgdRestarts: pgdRestartsFlag)
    }

    func run() throws {
        let model = try modelOptions.load()
        var setup = try PopulationComparisonSetup(model: model, norm: threat.norm, eps: eps, spec: try spec(),
                                                  settings: training.settings, pgdRestarts: pgdRestartsFlag)
        setup.configuration.zeroInitialisation = initialisation == .zero
        let progress = Progress(total: training.epochs + 1, label: "compare")
        let r = try Comparison.run(setup.configuration, objective: setup.objective, scale: setup.scale, progress: { progress.report($0, $1) })
        var result: [String: JSONValue] = [
            "model": .string(model.name), "eps": .number(eps), "norm": .string(threat.norm.rawValue),
            "objective": .string(setup.configuration.loss.description), "scale": .string(setup.scale.description),
            "trained_ratio": .number(r.trainedRatio), "exact_ratio": .number(r.exactRatio),
            "exact_w1": .number(r.exactW1), "exact_w2": .number(r.exactW2),
            "trained_w1": .number(r.points.last?.w1 ?? 0), "trained_w2": .number(r.points.last?.w2 ?? 0),
            "trajectory_error": .number(r.trajectoryError), "tolerance": .number(r.tolerance),
            "within_tolerance": .bool(r.withinTolerance), "burn_in_epochs": .number(Double(r.burnIn)),
            "window_epochs": .number(Double(r.window)), "pgd_steps": .number(Double(training.pgdSteps)),
            "pgd_restarts": .number(Double(setup.pgdRestarts)),
        ]
        if seeds >= 2 {
            let t = try Comparison.judgedTrajectory(
                setup.configuration, objective: setup.objective, seeds: seeds, exactThreat: ThreatModel(norm: threat.norm, eps: exactEps ?? eps))
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
        result["init"] = .string(initialisation.rawValue)
        if let out {
            var table = CSVTable(header: ["epoch", "w1", "w2", "scale", "ratio", "exact_ratio_at_scale", "exact_ratio"])
            for p in r.points {
                table.append([.int(p.epoch), .double(p.w1), .double(p.w2), .double(p.scale), .double(p.ratio), .double(p.exactRatioAtScale), .double(r.exactRatio)])
            }
            try ResultWriter.write(table, to: out, command: "compare", configuration: result)
        }
        if json { try Emit.json(result) } else {
            print("\(model.name) eps=\(eps) \(setup.configuration.loss): trained w2/w1 \(r.trainedRatio), exact \(r.exactRatio) (tolerance \(r.tolerance): \(r.withinTolerance ? "within" : "OUTSIDE")); trajectory error \(r.trajectoryError)")
        }
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
            within_tolerance) repeated on each of its rows. Objectives as in 'compare', e.g. \
            ce,ls:0.1,hinge:1@wd=0.05. Supports --shard and --resume like the sweeps.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Comma list of objectives (ce, ls[:alpha], trades[:beta], hinge[:kappa]@wd=L).".withDefault(try! FlagValue.trainingList("ce,ls:0.1,hinge:1@wd=0.05")), valueName: "specs"),
            transform: FlagValue.trainingList)
    var objectives: TrainingList = try! FlagValue.trainingList("ce,ls:0.1,hinge:1@wd=0.05")

    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("eps grid.".withDefault(try! Grid.parse("0.1,0.2,0.3,0.4", name: ""))), transform: FlagValue.radii)
    var eps: Grid = try! Grid.parse("0.1,0.2,0.3,0.4", name: "")

    @OptionGroup var training: PopulationTrainingOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let job = try PopulationComparisonSetup.grid(
            model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm, eps: eps,
            specs: objectives.specs, settings: training.settings)
        try gridOptions.run(job, to: output.out, label: "compare-grid")
    }
}

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
            that mean, from 4 block means: SGD noise is autocorrelated) and within_tolerance. An exact \
            optimum on the face w1 = 0 (no exclusive weight: w2/w1 infinite) is refused up front.
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

    @Option(name: .customLong("n-train"), help: "Train on a fixed training set of N per class (each seed its own) and judge the trajectory against the exact empirical fixed-scale optimum on that set (ce or hinge; needs --seeds >= 2).",
            transform: FlagValue.count(1...100_000))
    var nTrain: Int?

    @Option(name: .customLong("cas-samples"), help: "Population runs: PGD-20 test samples per class on which the trained W's CAS is held to its exact CAS at the first, middle and last epoch of every seed (0: skip) (default: 1000). With --n-train: 0 skips the per-epoch exact CAS of the trained W and of the empirical optimum (any other value computes it; l_inf only).",
            transform: FlagValue.count(0...1_000_000))
    var casSamples: Int = 1000

    @Option(name: .customLong("trajectory-out"), help: "Write the judged per-epoch trajectory as CSV (with a manifest holding the verdicts).", transform: FlagValue.output)
    var trajectoryOut: OutputTarget?

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
        if let nTrain, seeds == 1 { throw InputError("--n-train \(nTrain) judges the trajectory against the empirical optimum, which needs --seeds >= 2") }
        if seeds == 1, trajectoryOut != nil { throw InputError("--trajectory-out writes the judged trajectory, which needs --seeds >= 2") }
        if let out, let trajectoryOut { try OutputTarget.requireDistinct([out, trajectoryOut]) }
        let setup = try PopulationComparisonSetup(model: try modelOptions.load(), norm: threat.norm, eps: eps, spec: try spec(),
                                                  settings: training.settings, pgdRestarts: pgdRestartsFlag)
        if nTrain != nil { _ = try setup.finiteSample(perClass: nTrain!) }
    }

    func run() throws {
        let model = try modelOptions.load()
        var setup = try PopulationComparisonSetup(model: model, norm: threat.norm, eps: eps, spec: try spec(),
                                                  settings: training.settings, pgdRestarts: pgdRestartsFlag)
        setup.configuration.zeroInitialisation = initialisation == .zero
        if let nTrain { return try runFinite(model: model, setup: setup.finiteSample(perClass: nTrain)) }
        let progress = Progress(total: training.epochs + 1, label: "compare")
        // Both per-epoch files are streamed as the epochs are compared (memory independent of
        // --epochs) and committed together at the end, with the verdicts in their manifests.
        let outStream = try out.map { try StreamedCSV([($0, ["epoch", "w1", "w2", "scale", "ratio", "exact_ratio_at_scale", "exact_ratio"])]) }
        let trajectoryStream = seeds >= 2 ? try trajectoryOut.map {
            try StreamedCSV([($0, ["epoch", "scale", "ratio", "exact_ratio_at_scale", "cas", "exact_cas_at_scale", "band_low", "band_high", "inside"])])
        } : nil
        let r = try Comparison.run(setup.configuration, objective: setup.objective, scale: setup.scale, progress: { progress.report($0, $1) },
                                       onPoint: { p, exactRatio in
            try outStream?.append([.int(p.epoch), .double(p.w1), .double(p.w2), .double(p.scale), .double(p.ratio), .double(p.exactRatioAtScale), .double(exactRatio)])
        })
        var result: [String: JSONValue] = [
            "model": .string(model.name), "eps": .number(eps), "norm": .string(threat.norm.rawValue),
            "objective": .string(setup.configuration.loss.description), "scale": .string(setup.scale.description),
            "trained_ratio": .number(r.trainedRatio), "exact_ratio": .number(r.exactRatio),
            "exact_w1": .number(r.exactW1), "exact_w2": .number(r.exactW2),
            "trained_w1": .number(r.last?.w1 ?? 0), "trained_w2": .number(r.last?.w2 ?? 0),
            "trajectory_error": .number(r.trajectoryError), "tolerance": .number(r.tolerance),
            "within_tolerance": .bool(r.withinTolerance), "burn_in_epochs": .number(Double(r.burnIn)),
            "window_epochs": .number(Double(r.window)), "pgd_steps": .number(Double(training.pgdSteps)),
            "pgd_restarts": .number(Double(setup.pgdRestarts)),
        ]
        var trajectoryJSON: [JSONValue] = []  // only for --json, which prints every epoch anyway
        if seeds >= 2 {
            let plan = casSamples > 0 && threat.norm == .linf
                ? AttributionCheckPlan(epochs: AttributionCheckPlan.standardEpochs(training.epochs), samplesPerClass: casSamples) : nil
            let t = try Comparison.judgedTrajectory(
                setup.configuration, objective: setup.objective, seeds: seeds, exactThreat: ThreatModel(norm: threat.norm, eps: exactEps ?? eps),
                attributionCheck: plan, onEpoch: { p in
                try trajectoryStream?.append([.int(p.epoch), .double(p.scale), .double(p.ratio), .double(p.exactRatioAtScale), .double(p.cas),
                                              .double(p.exactCASAtScale), .double(p.bandLow), .double(p.bandHigh), .bool(p.inside)])
                if json {
                    trajectoryJSON.append(.object([
                        "epoch": .number(Double(p.epoch)), "scale": .number(p.scale), "ratio": .number(p.ratio),
                        "exact_ratio_at_scale": .number(p.exactRatioAtScale), "cas": .number(p.cas),
                        "exact_cas_at_scale": .number(p.exactCASAtScale), "band": JSONValue([p.bandLow, p.bandHigh]),
                        "inside": .bool(p.inside)]))
                }
            })
            result["trajectory_fraction_inside"] = .number(t.fractionInside)
            result["trajectory_within_tolerance"] = .bool(t.withinTolerance)
            result["trajectory_band"] = .string(t.bandDefinition)
            result["trajectory_cas_gauge"] = .string("centred (cas: PGD-measured on the test sample; exact_cas_at_scale: exact, ce worst case)")
            result["seeds"] = .number(Double(seeds))
            if let exactEps { result["exact_eps"] = .number(exactEps) }
            if let check = t.attributionCheck { result.merge(Self.json(check)) { $1 } }
            if let trajectoryStream {
                var manifest = result
                manifest["init"] = .string(initialisation.rawValue)
                manifest["epochs"] = .number(Double(training.epochs))
                manifest["steps_per_epoch"] = .number(Double(training.stepsPerEpoch))
                manifest["batch"] = .number(Double(training.batch))
                manifest["lr"] = .number(training.lr)
                manifest["seed"] = .number(Double(training.seed))
                manifest["resolved_model"] = model.manifestJSON
                try trajectoryStream.commit(command: "compare", configuration: manifest)
            }
        }
        result["init"] = .string(initialisation.rawValue)
        try outStream?.commit(command: "compare", configuration: result)
        if json, seeds >= 2 { result["trajectory"] = .array(trajectoryJSON) }
        if json { try Emit.json(result) } else {
            print("\(model.name) eps=\(eps) \(setup.configuration.loss): trained w2/w1 \(r.trainedRatio), exact \(r.exactRatio) (tolerance \(r.tolerance): \(r.withinTolerance ? "within" : "OUTSIDE")); trajectory error \(r.trajectoryError)")
            if case .bool(let v)? = result["trajectory_within_tolerance"], case .number(let f)? = result["trajectory_fraction_inside"] {
                print("judged trajectory (\(seeds) seeds): \(f) of the epochs inside the band: \(v ? "within tolerance" : "NOT within tolerance")")
            }
            if case .bool(let v)? = result["cas_check_within_tolerance"], case .number(let f)? = result["cas_check_fraction_inside"] {
                print("PGD CAS vs exact CAS of the same W: \(f) of the checks inside: \(v ? "within tolerance" : "NOT within tolerance")")
            }
        }
    }

    static func json(_ check: AttributionCheck) -> [String: JSONValue] {
        [
            "cas_check": .array(check.points.map { p in
                .object(["seed": .number(Double(p.seed)), "epoch": .number(Double(p.epoch)), "pgd_cas": .number(p.sampledCAS),
                         "exact_cas": JSONValue(p.exactCAS), "standard_error": .number(p.standardError),
                         "tolerance": .number(p.tolerance), "exact_method": .string(p.exactMethod), "inside": .bool(p.inside)])
            }),
            "cas_check_fraction_inside": .number(check.fractionInside),
            "cas_check_undecided": .number(Double(check.undecided)),
            "cas_check_within_tolerance": .bool(check.withinTolerance),
            "cas_check_definition": .string(check.definition),
        ]
    }

    /// --n-train: the trajectory against the exact empirical optimum, and robust overfitting.
    func runFinite(model: DataModel, setup: PopulationComparisonSetup) throws {
        let progress = Progress(total: seeds, label: "compare")
        let t = try Comparison.empiricalTrajectory(
            setup.configuration, objective: setup.objective, seeds: seeds,
            exactThreat: ThreatModel(norm: threat.norm, eps: exactEps ?? eps), exactCAS: casSamples > 0 && threat.norm == .linf,
            progress: { progress.report($0, $1) })
        var result: [String: JSONValue] = [
            "model": .string(model.name), "eps": .number(eps), "norm": .string(threat.norm.rawValue),
            "objective": .string(setup.configuration.loss.description), "n_train": .number(Double(t.trainPerClass)),
            "noise_dims": .number(Double(model.noiseDimensions)), "seeds": .number(Double(seeds)),
            "init": .string(initialisation.rawValue),
            "trajectory_fraction_inside": .number(t.fractionInside), "trajectory_within_tolerance": .bool(t.withinTolerance),
            "trajectory_verdict": .string(t.verdict), "trajectory_undecided_epochs": .number(Double(t.undecidedEpochs)),
            "trajectory_band": .string(t.bandDefinition),
            "trajectory_cas_gauge": .string("centred, exact (ce worst-case l_inf samples, population): exact_cas of the trained W, exact_cas_at_scale of the empirical optimum at its norm; empty where not computed or not certified"),
            "final_exact_cas": JSONValue(t.epochs.last?.exactCAS), "final_exact_cas_at_scale": JSONValue(t.epochs.last?.exactCASAtScale),
            "final_ratio": .number(t.finalRatio), "final_empirical_ratio_at_scale": .number(t.finalEmpiricalRatio),
            "final_scale": .number(t.epochs.last?.scale ?? 0),
            "best_epoch": .number(Double(t.bestEpoch)), "best_test_robust_accuracy": .number(t.bestTestRobustAccuracy),
            "last_test_robust_accuracy": .number(t.lastTestRobustAccuracy), "overfitting_gaps": JSONValue(t.overfittingGaps),
            "robust_overfitting": .bool(t.robustOverfitting), "robust_overfitting_definition": .string(t.overfittingDefinition),
            "optima_converged": .bool(t.epochs.allSatisfy(\.optimumConverged)),
            "max_optimum_suboptimality": .number(t.epochs.map(\.optimumSuboptimality).max() ?? 0),
        ]
        if let exactEps { result["exact_eps"] = .number(exactEps) }
        if let trajectoryOut {
            var table = CSVTable(header: ["epoch", "scale", "ratio", "empirical_ratio_at_scale", "band_low", "band_high", "inside",
                                          "test_robust_acc", "test_robust_acc_low", "test_robust_acc_high", "trained_objective",
                                          "optimum_objective", "optimum_suboptimality", "converged", "exact_cas", "exact_cas_at_scale"])
            for p in t.epochs {
                table.append([.int(p.epoch), .double(p.scale), .double(p.ratio), .double(p.empiricalRatioAtScale), .double(p.bandLow),
                              .double(p.bandHigh), .bool(p.inside), .double(p.testRobustAccuracy), .double(p.testRobustAccuracyLow),
                              .double(p.testRobustAccuracyHigh), .double(p.trainedObjective), .double(p.optimumObjective),
                              .double(p.optimumSuboptimality), .bool(p.optimumConverged), .optionalDouble(p.exactCAS),
                              .optionalDouble(p.exactCASAtScale)])
            }
            var manifest = result
            manifest["epochs"] = .number(Double(training.epochs))
            manifest["batch"] = .number(Double(training.batch))
            manifest["lr"] = .number(training.lr)
            manifest["seed"] = .number(Double(training.seed))
            manifest["resolved_model"] = model.manifestJSON
            try ResultWriter.write(table, to: trajectoryOut, command: "compare", configuration: manifest)
        }
        result["trajectory"] = .array(t.epochs.map { p in
            .object(["epoch": .number(Double(p.epoch)), "scale": .number(p.scale), "ratio": .number(p.ratio),
                     "empirical_ratio_at_scale": .number(p.empiricalRatioAtScale), "band": JSONValue([p.bandLow, p.bandHigh]),
                     "inside": .bool(p.inside), "test_robust_accuracy": .number(p.testRobustAccuracy),
                     "trained_objective": .number(p.trainedObjective), "optimum_objective": .number(p.optimumObjective),
                     "optimum_suboptimality": .number(p.optimumSuboptimality), "converged": .bool(p.optimumConverged),
                     "exact_cas": JSONValue(p.exactCAS), "exact_cas_at_scale": JSONValue(p.exactCASAtScale)])
        })
        if json { try Emit.json(result) } else {
            print("\(model.name) eps=\(eps) \(setup.configuration.loss) n=\(t.trainPerClass)/class noise dims \(model.noiseDimensions), \(seeds) seeds: final w2/w1 \(t.finalRatio), empirical optimum at the same norm \(t.finalEmpiricalRatio); \(t.fractionInside) of the decided epochs inside the band: \(t.verdict)")
            print("exact test robust accuracy: best \(t.bestTestRobustAccuracy) at epoch \(t.bestEpoch), last \(t.lastTestRobustAccuracy): robust overfitting \(t.robustOverfitting ? "yes" : "no") (as formalised here)")
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

    @Option(help: "Judged form: R independent runs per grid point, one row per point with the fraction of epochs inside the seed band and the verdict (see 'compare').",
            transform: FlagValue.count(2...64))
    var seeds: Int?

    @Option(name: .customLong("init"), help: "Judged form: initialisation, zero or default (default: zero).")
    var initialisation: CompareCommand.InitialisationChoice = .zero

    @Option(name: .customLong("cas-samples"), help: "Judged form: PGD-20 samples per class for the PGD-vs-exact CAS check at the first, middle and last epoch (0: skip) (default: 1000).",
            transform: FlagValue.count(0...1_000_000))
    var casSamples: Int = 1000

    func run() throws {
        let model = try modelOptions.load()
        if let seeds {
            let job = try PopulationComparisonSetup.judgedGrid(
                model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm, eps: eps,
                specs: objectives.specs, settings: training.settings, seeds: seeds, zeroInitialisation: initialisation == .zero,
                casSamples: casSamples)
            try gridOptions.run(job, to: output.out, label: "compare-grid")
            return
        }
        let job = try PopulationComparisonSetup.grid(
            model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm, eps: eps,
            specs: objectives.specs, settings: training.settings)
        try gridOptions.run(job, to: output.out, label: "compare-grid")
    }
}

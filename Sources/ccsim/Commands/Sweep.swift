import ArgumentParser
import CrossClass
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "AT optima over a grid of eps for several objectives, to CSV.",
        discussion: """
            Columns: eps, objective, scale, w1, w2, ratio (w2/w1; empty at w1 = 0, the face without exclusive weight), objective_value, minimised_value, \
            objective_error (a bound on objective_value's integration error at the point reported), robust_accuracy, natural_accuracy, on_boundary, derivative_at_w2_zero (the one-sided dF/dw2 at \
            (w1 optimal on the axis, 0+)), derivative_at_w2_zero_error (its error bound: its sign is resolved \
            only beyond it), converged, cas_adversarial_centred, cas_natural_centred. \
            Objectives: \(ObjectiveSpec.grammarSummary). Ends with a summary per objective.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("eps grid: start:stop:step or a comma list.".withDefault(try! Grid.parse("0.02:0.48:0.02", name: ""))), transform: FlagValue.radii)
    var eps: Grid = try! Grid.parse("0.02:0.48:0.02", name: "")

    @Option(help: ArgumentHelp("Comma list of objectives.".withDefault(try! FlagValue.objectives("ce,ls:0.1,worst-margin,zero-one")), valueName: "specs"), transform: FlagValue.objectives)
    var objectives: ObjectiveList = try! FlagValue.objectives("ce,ls:0.1,worst-margin,zero-one")

    @Option(help: ArgumentHelp("Quadrature tolerance per objective evaluation.".withDefault(1e-10)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-10

    @OptionGroup var output: OutputOptions
    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let job = try GridRecipes.sweep(model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm,
                                        eps: eps, specs: objectives.specs, tolerance: tolerance)
        try gridOptions.run(job, to: output.out, label: "sweep")
    }
}

struct SweepW2Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-w2",
        abstract: "Robust accuracy along w2/w1 for several eps (Theorem 2), to CSV.",
        discussion: "Columns: eps, ratio, robust_accuracy (joint, exact), pairwise_accuracy (one competitor), error_bound, method.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("eps grid.".withDefault(try! Grid.parse("0.1,0.2,0.3,0.35,0.4,0.45", name: ""))), transform: FlagValue.radii)
    var eps: Grid = try! Grid.parse("0.1,0.2,0.3,0.35,0.4,0.45", name: "")

    @Option(help: ArgumentHelp("w2/w1 grid.".withDefault(try! Grid.parse("0:1.5:0.01", name: ""))), transform: FlagValue.finiteGrid)
    var ratios: Grid = try! Grid.parse("0:1.5:0.01", name: "")

    @OptionGroup var output: OutputOptions
    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let job = GridRecipes.sweepW2(model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm,
                                      eps: eps, ratios: ratios)
        try gridOptions.run(job, to: output.out, label: "sweep-w2")
    }
}

struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "The fixed-scale optimum ||(w1, w2)|| = s over a grid of s (regularisation path), to CSV.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("Perturbation radius.".withDefault(0.3)), transform: FlagValue.radius)
    var eps: Double = 0.3

    @OptionGroup var objectiveOptions: ObjectiveOptions

    @Option(help: "Scale grid (comma list or start:stop:step); default: 30 log-spaced values in [0.1, 100].", transform: FlagValue.positiveGrid)
    var scales: Grid?

    @Option(help: ArgumentHelp("Quadrature tolerance per objective evaluation.".withDefault(1e-10)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-10

    @OptionGroup var output: OutputOptions
    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let job = try GridRecipes.path(model: model, modelFlags: modelOptions.specification.manifestJSON, norm: threat.norm, eps: eps,
                                       objective: objectiveOptions.resolved(), scales: scales ?? GridRecipes.defaultScales,
                                       tolerance: tolerance)
        try gridOptions.run(job, to: output.out, label: "path")
    }
}

struct PhaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phase",
        abstract: "Phase diagram: the AT optimum over a (sigma/mu, eps/mu) grid per objective, to CSV.",
        discussion: """
            One row per (sigma, eps, objective), sigma and eps in units of mu: the optimum as in \
            'sweep' plus cross_class_used (w2* > 1e-6 w1*: the optimum keeps the cross-class \
            feature). Theorem 1 claims, per objective, a threshold eps0 < mu/2 above which \
            cross_class_used is false and below which it is true; an objective whose column stays \
            true up to mu/2 has no such threshold.
            """)

    @Option(help: ArgumentHelp("paper3, complement:K or pairwise:K (a preset: sigma is the grid variable).".withDefault(ModelSource.paper3)), transform: FlagValue.model)
    var model: ModelSource = .paper3

    @Option(help: ArgumentHelp("Mean of every signal feature.".withDefault(1)), transform: FlagValue.modelScale(allowZero: false))
    var mu: Double = 1

    @Option(help: ArgumentHelp("sigma/mu grid.".withDefault(try! Grid.parse("0.1:1.5:0.1", name: ""))), transform: FlagValue.positiveGrid)
    var sigmas: Grid = try! Grid.parse("0.1:1.5:0.1", name: "")

    @Option(help: ArgumentHelp("eps/mu grid.".withDefault(try! Grid.parse("0.02:0.48:0.02", name: ""))), transform: FlagValue.radii)
    var eps: Grid = try! Grid.parse("0.02:0.48:0.02", name: "")

    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("Comma list of objectives.".withDefault(try! FlagValue.objectives("ce,ls:0.1,worst-margin,trades:6@scale=5")), valueName: "specs"), transform: FlagValue.objectives)
    var objectives: ObjectiveList = try! FlagValue.objectives("ce,ls:0.1,worst-margin,trades:6@scale=5")

    @Option(help: ArgumentHelp("Quadrature tolerance per objective evaluation.".withDefault(1e-10)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-10

    @OptionGroup var output: OutputOptions
    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let job = try GridRecipes.phase(source: model, mu: mu, sigmas: sigmas, eps: eps, norm: threat.norm, specs: objectives.specs,
                                        tolerance: tolerance)
        try gridOptions.run(job, to: output.out, label: "phase")
    }
}

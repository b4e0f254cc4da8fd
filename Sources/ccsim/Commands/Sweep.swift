import ArgumentParser
import CrossClass
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "AT optima over a grid of eps for several objectives, to CSV.",
        discussion: """
            Columns: eps, objective, scale, w1, w2, ratio (w2/w1), objective_value, minimised_value, \
            robust_accuracy, natural_accuracy, on_boundary, derivative_at_w2_zero, converged. \
            Objectives: ce, ls:a, worst-margin, hinge:k, zero-one, trades:b; append @scale=S or @wd=L \
            to change the scale convention.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "eps grid: start:stop:step or a comma list.")
    var eps: String = "0.02:0.48:0.02"

    @Option(help: "Comma list of objectives.")
    var objectives: String = "ce,ls:0.1,worst-margin,zero-one"

    @Option(help: "Quadrature tolerance per objective evaluation.")
    var tolerance: Double = 1e-10

    @Option(help: "Output CSV (a JSON manifest is written beside it).")
    var out: String

    func run() throws {
        let model = try modelOptions.load()
        let threatNorm = try Norm.parse(norm)
        let grid = try Grid.parse(eps, name: "--eps")
        for e in grid.values { try CheckFlag.eps(e) }
        let specs = try objectives.split(separator: ",").map { try ObjectiveSpec.parse(String($0)) }
        guard !specs.isEmpty else { throw InputError("--objectives is empty: give at least one objective") }
        try CheckFlag.positive(tolerance, "--tolerance")
        try Emit.checkWritable(out)
        let progress = Progress(total: grid.values.count * specs.count, label: "sweep")
        let rows = try Sweeps.optima(
            model: model, norm: threatNorm, eps: grid.values, specs: specs, tolerance: tolerance,
            progress: { progress.report($0, $1) })
        var table = CSVTable(header: [
            "eps", "objective", "scale", "w1", "w2", "ratio", "objective_value", "minimised_value",
            "robust_accuracy", "natural_accuracy", "on_boundary", "derivative_at_w2_zero", "converged",
        ])
        for r in rows { table.append(optimumRow(r)) }
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .string(grid.text)
        config["objectives"] = .array(specs.map { .string($0.description) })
        config["tolerance"] = .number(tolerance)
        config["resolved_model"] = modelJSON(model)
        let failures = rows.filter { !$0.optimum.converged }.count
        try Emit.csv(table, to: out, command: "sweep", configuration: config,
                     notes: failures == 0 ? [] : ["\(failures) optima did not converge (column converged)"])
        print("wrote \(rows.count) rows to \(out)\(failures == 0 ? "" : " (\(failures) not converged)")")
    }
}

/// The CSV cells of one optimum.
func optimumRow(_ r: SweepRow) -> [CSVValue] {
    let o = r.optimum
    return [
        .double(r.eps), .string(r.spec.objective.description), .string(r.spec.scale.description),
        .double(o.w1), .double(o.w2), .double(o.ratio), .double(o.objectiveValue), .double(o.value),
        .double(o.robustAccuracy), .double(o.naturalAccuracy), .bool(o.onBoundary),
        .optionalDouble(o.derivativeAtZero), .bool(o.converged),
    ]
}

struct SweepW2Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep-w2",
        abstract: "Robust accuracy along w2/w1 for several eps (Theorem 2), to CSV.",
        discussion: "Columns: eps, ratio, robust_accuracy (joint, exact), pairwise_accuracy (one competitor), error_bound, method.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "eps grid.")
    var eps: String = "0.1,0.2,0.3,0.35,0.4,0.45"

    @Option(help: "w2/w1 grid.")
    var ratios: String = "0:1.5:0.01"

    @Option(help: "Output CSV (a JSON manifest is written beside it).")
    var out: String

    func run() throws {
        let model = try modelOptions.load()
        let threatNorm = try Norm.parse(norm)
        let epsGrid = try Grid.parse(eps, name: "--eps"), ratioGrid = try Grid.parse(ratios, name: "--ratios")
        for e in epsGrid.values { try CheckFlag.eps(e) }
        for r in ratioGrid.values { try CheckFlag.finite(r, "--ratios entry") }
        try Emit.checkWritable(out)
        let progress = Progress(total: epsGrid.values.count * ratioGrid.values.count, label: "sweep-w2")
        let rows = try Sweeps.robustAccuracyAlongRatio(
            model: model, norm: threatNorm, eps: epsGrid.values, ratios: ratioGrid.values,
            progress: { progress.report($0, $1) })
        var table = CSVTable(header: ["eps", "ratio", "robust_accuracy", "pairwise_accuracy", "error_bound", "method"])
        for r in rows {
            table.append([.double(r.eps), .double(r.ratio), .double(r.robustAccuracy.value), .optionalDouble(r.pairwiseAccuracy),
                          .double(r.robustAccuracy.errorBound), .string(r.robustAccuracy.method.rawValue)])
        }
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .string(epsGrid.text)
        config["ratios"] = .string(ratioGrid.text)
        try Emit.csv(table, to: out, command: "sweep-w2", configuration: config)
        print("wrote \(rows.count) rows to \(out)")
    }
}

struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "The fixed-scale optimum ||(w1, w2)|| = s over a grid of s (regularisation path), to CSV.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Perturbation radius.")
    var eps: Double = 0.3

    @Option(help: "Objective (ce, ls:a, trades:b, ...).")
    var objective: String = "ce"

    @Option(help: "Scale grid (comma list or start:stop:step); default: 30 log-spaced values in [0.1, 100].")
    var scales: String?

    @Option(help: "Quadrature tolerance per objective evaluation.")
    var tolerance: Double = 1e-10

    @Option(help: "Output CSV (a JSON manifest is written beside it).")
    var out: String

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        let threatNorm = try Norm.parse(norm)
        let parsed = try Objective.parse(objective)
        let grid = try scales.map { try Grid.parse($0, name: "--scales") }
            ?? Grid(values: (0..<30).map { Grid.tidy(pow(10, -1 + 3 * Double($0) / 29)) }, text: "logspace(0.1, 100, 30)")
        try Emit.checkWritable(out)
        let progress = Progress(total: grid.values.count, label: "path")
        let rows = try Sweeps.scalePath(
            model: model, norm: threatNorm, eps: eps, objective: parsed, scales: grid.values, tolerance: tolerance,
            progress: { progress.report($0, $1) })
        var table = CSVTable(header: [
            "scale", "eps", "objective", "w1", "w2", "ratio", "objective_value", "robust_accuracy", "natural_accuracy",
            "on_boundary", "converged",
        ])
        for (s, r) in zip(grid.values, rows) {
            let o = r.optimum
            table.append([.double(s), .double(eps), .string(parsed.description), .double(o.w1), .double(o.w2), .double(o.ratio),
                          .double(o.objectiveValue), .double(o.robustAccuracy), .double(o.naturalAccuracy), .bool(o.onBoundary), .bool(o.converged)])
        }
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .number(eps)
        config["objective"] = .string(parsed.description)
        config["scales"] = .string(grid.text)
        try Emit.csv(table, to: out, command: "path", configuration: config)
        print("wrote \(rows.count) rows to \(out)")
    }
}

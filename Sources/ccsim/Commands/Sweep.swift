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

    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let threatNorm = try Norm.parse(norm)
        let grid = try Grid.parse(eps, name: "--eps")
        for e in grid.values { try CheckFlag.eps(e) }
        let specs = try objectives.split(separator: ",").map { try ObjectiveSpec.parse(String($0)) }
        guard !specs.isEmpty else { throw InputError("--objectives is empty: give at least one objective") }
        try CheckFlag.positive(tolerance, "--tolerance")
        try Emit.checkWritable(out)
        for spec in specs { _ = try SymmetricOptimizer(model: model, threat: .none, objective: spec.objective, scale: spec.scale) }
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .string(grid.text)
        config["objectives"] = .array(specs.map { .string($0.description) })
        config["tolerance"] = .number(tolerance)
        config["resolved_model"] = modelJSON(model)
        let epsValues = grid.values, tol = tolerance
        let rows = try gridOptions.run(command: "sweep", header: Self.header, itemCount: epsValues.count * specs.count,
                                       out: out, configuration: config) { item in
            let r = try Sweeps.optimum(model: model, norm: threatNorm, eps: epsValues[item / specs.count],
                                       spec: specs[item % specs.count], tolerance: tol)
            return [optimumRow(r)]
        }
        print("wrote \(rows) rows to \(out)")
    }

    static let header = [
        "eps", "objective", "scale", "w1", "w2", "ratio", "objective_value", "minimised_value",
        "robust_accuracy", "natural_accuracy", "on_boundary", "derivative_at_w2_zero", "converged",
    ]
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

    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        let threatNorm = try Norm.parse(norm)
        let epsGrid = try Grid.parse(eps, name: "--eps"), ratioGrid = try Grid.parse(ratios, name: "--ratios")
        for e in epsGrid.values { try CheckFlag.eps(e) }
        for r in ratioGrid.values { try CheckFlag.finite(r, "--ratios entry") }
        try Emit.checkWritable(out)
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .string(epsGrid.text)
        config["ratios"] = .string(ratioGrid.text)
        config["resolved_model"] = modelJSON(model)
        let epsValues = epsGrid.values, ratioValues = ratioGrid.values
        let rows = try gridOptions.run(
            command: "sweep-w2", header: ["eps", "ratio", "robust_accuracy", "pairwise_accuracy", "error_bound", "method"],
            itemCount: epsValues.count * ratioValues.count, out: out, configuration: config
        ) { item in
            let r = try Sweeps.ratioRow(model: model, norm: threatNorm, eps: epsValues[item / ratioValues.count],
                                        ratio: ratioValues[item % ratioValues.count])
            return [[.double(r.eps), .double(r.ratio), .double(r.robustAccuracy.value), .optionalDouble(r.pairwiseAccuracy),
                     .double(r.robustAccuracy.errorBound), .string(r.robustAccuracy.method.rawValue)]]
        }
        print("wrote \(rows) rows to \(out)")
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

    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        try CheckFlag.positive(tolerance, "--tolerance")
        let threatNorm = try Norm.parse(norm)
        let parsed = try Objective.parse(objective)
        let grid = try scales.map { try Grid.parse($0, name: "--scales") }
            ?? Grid(values: (0..<30).map { Grid.tidy(pow(10, -1 + 3 * Double($0) / 29)) }, text: "logspace(0.1, 100, 30)")
        for s in grid.values { try CheckFlag.positive(s, "--scales entry") }
        try Emit.checkWritable(out)
        var config = modelOptions.json
        config["norm"] = .string(threatNorm.rawValue)
        config["eps"] = .number(eps)
        config["objective"] = .string(parsed.description)
        config["scales"] = .string(grid.text)
        config["tolerance"] = .number(tolerance)
        config["resolved_model"] = modelJSON(model)
        let scaleValues = grid.values, e = eps, tol = tolerance
        let rows = try gridOptions.run(
            command: "path",
            header: ["scale", "eps", "objective", "w1", "w2", "ratio", "objective_value", "robust_accuracy", "natural_accuracy",
                     "on_boundary", "converged"],
            itemCount: scaleValues.count, out: out, configuration: config
        ) { item in
            let s = scaleValues[item]
            let o = try Sweeps.optimum(model: model, norm: threatNorm, eps: e, spec: ObjectiveSpec(parsed, .fixed(s)), tolerance: tol).optimum
            return [[.double(s), .double(e), .string(parsed.description), .double(o.w1), .double(o.w2), .double(o.ratio),
                     .double(o.objectiveValue), .double(o.robustAccuracy), .double(o.naturalAccuracy), .bool(o.onBoundary), .bool(o.converged)]]
        }
        print("wrote \(rows) rows to \(out)")
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

    @Option(help: "paper3, complement:K or pairwise:K (a preset: sigma is the grid variable).")
    var model: String = "paper3"

    @Option(help: "Mean of every signal feature.")
    var mu: Double = 1

    @Option(help: "sigma/mu grid.")
    var sigmas: String = "0.1:1.5:0.1"

    @Option(help: "eps/mu grid.")
    var eps: String = "0.02:0.48:0.02"

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Comma list of objectives.")
    var objectives: String = "ce,ls:0.1,worst-margin,trades:6@scale=5"

    @Option(help: "Quadrature tolerance per objective evaluation.")
    var tolerance: Double = 1e-10

    @Option(help: "Output CSV (a JSON manifest is written beside it).")
    var out: String

    @OptionGroup var gridOptions: GridOptions

    func run() throws {
        try CheckFlag.positive(mu, "--mu")
        let source = try ModelSource.parse(model)
        let sigmaGrid = try Grid.parse(sigmas, name: "--sigmas"), epsGrid = try Grid.parse(eps, name: "--eps")
        for s in sigmaGrid.values { try CheckFlag.positive(s, "--sigmas entry") }
        for e in epsGrid.values { try CheckFlag.eps(e) }
        let threatNorm = try Norm.parse(norm)
        let specs = try objectives.split(separator: ",").map { try ObjectiveSpec.parse(String($0)) }
        guard !specs.isEmpty else { throw InputError("--objectives is empty: give at least one objective") }
        try CheckFlag.positive(tolerance, "--tolerance")
        try Emit.checkWritable(out)
        let models = try sigmaGrid.values.map { try source.load(mu: mu, sigma: $0 * mu, tau: nil, noiseDimensions: nil, noiseSigma: nil) }
        for spec in specs { _ = try SymmetricOptimizer(model: models[0], threat: .none, objective: spec.objective, scale: spec.scale) }
        let config: [String: JSONValue] = [
            "model": .string(model), "mu": .number(mu), "sigmas": .string(sigmaGrid.text), "eps": .string(epsGrid.text),
            "norm": .string(threatNorm.rawValue), "objectives": .array(specs.map { .string($0.description) }),
            "tolerance": .number(tolerance),
        ]
        let sigmaValues = sigmaGrid.values, epsValues = epsGrid.values, m = mu, tol = tolerance
        let perSigma = epsValues.count * specs.count
        let rows = try gridOptions.run(
            command: "phase",
            header: ["sigma", "eps", "objective", "scale", "w1", "w2", "ratio", "cross_class_used",
                     "robust_accuracy", "natural_accuracy", "on_boundary", "converged"],
            itemCount: sigmaValues.count * perSigma, out: out, configuration: config
        ) { item in
            let si = item / perSigma, rest = item % perSigma
            let spec = specs[rest % specs.count], e = epsValues[rest / specs.count] * m
            let o = try Sweeps.optimum(model: models[si], norm: threatNorm, eps: e, spec: spec, tolerance: tol).optimum
            return [[.double(sigmaValues[si]), .double(epsValues[rest / specs.count]), .string(spec.objective.description),
                     .string(spec.scale.description), .double(o.w1), .double(o.w2), .double(o.ratio),
                     .bool(o.w2 > 1e-6 * abs(o.w1)),
                     .double(o.robustAccuracy), .double(o.naturalAccuracy), .bool(o.onBoundary), .bool(o.converged)]]
        }
        print("wrote \(rows) rows to \(out)")
    }
}

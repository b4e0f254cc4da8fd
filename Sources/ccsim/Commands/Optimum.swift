import ArgumentParser
import CrossClass
import Foundation

/// Flags that pick an objective and its scale convention.
struct ObjectiveOptions: ParsableArguments {
    @Option(help: "ce, ls[:alpha], worst-margin, hinge[:kappa], zero-one, trades[:beta].")
    var objective: String = "ce"

    @Option(help: "Label smoothing alpha for --objective ls (overrides ls:alpha).")
    var smoothing: Double?

    @Option(help: "Hinge margin kappa (overrides hinge:kappa).")
    var kappa: Double?

    @Option(help: "TRADES beta (overrides trades:beta).")
    var beta: Double?

    @Option(help: "Fix ||(w1, w2)||_2 = s (default: free for ce/ls/trades, 1 for worst-margin/hinge/zero-one).")
    var scale: Double?

    @Option(name: .customLong("weight-decay"), help: "Add (lambda/2)||W||_F^2 (free scale).")
    var weightDecay: Double?

    func resolve() throws -> (Objective, ScaleMode) {
        var objective = try Objective.parse(self.objective)
        if let smoothing {
            guard case .ls = objective else { throw InputError("--smoothing applies to --objective ls only") }
            guard smoothing.isFinite, smoothing > 0, smoothing <= 1 else {
                throw InputError("--smoothing \(smoothing) is not allowed: it must be in (0, 1]")
            }
            objective = .ls(alpha: smoothing)
        }
        if let kappa {
            guard case .hinge = objective else { throw InputError("--kappa applies to --objective hinge only") }
            try CheckFlag.nonNegative(kappa, "--kappa")
            objective = .hinge(kappa: kappa)
        }
        if let beta {
            guard case .trades = objective else { throw InputError("--beta applies to --objective trades only") }
            try CheckFlag.nonNegative(beta, "--beta")
            objective = .trades(beta: beta)
        }
        if scale != nil && weightDecay != nil {
            throw InputError("--scale and --weight-decay exclude each other: give one")
        }
        var mode = objective.defaultScale
        if let scale {
            try CheckFlag.positive(scale, "--scale")
            mode = .fixed(scale)
        }
        if let weightDecay {
            try CheckFlag.positive(weightDecay, "--weight-decay")
            mode = .weightDecay(weightDecay)
        }
        return (objective, mode)
    }
}

struct OptimumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimum",
        abstract: "The exact AT optimum over the symmetric family W(w1, w2).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var objectiveOptions: ObjectiveOptions

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Perturbation radius (>= 0).")
    var eps: Double

    @Option(help: "Quadrature tolerance of each objective evaluation.")
    var tolerance: Double = 1e-10

    @Flag(help: "Also optimise over the full weight matrix (ce/ls/trades, free scale) and report the gain over the symmetric family.")
    var full = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        try CheckFlag.positive(tolerance, "--tolerance")
        let (objective, mode) = try objectiveOptions.resolve()
        let threat = try ThreatModel(norm: Norm.parse(norm), eps: eps)
        if full {
            guard case .free = mode else { throw InputError("--full needs the free scale (no --scale / --weight-decay)") }
            let f = try FullOptimizer.solve(model: model, threat: threat, objective: objective)
            let out: [String: JSONValue] = [
                "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
                "objective": .string(objective.description), "full_value": .number(f.value),
                "symmetric_value": .number(f.symmetricValue), "improvement": .number(f.improvement),
                "projected_w1": .number(f.projected.w1), "projected_w2": .number(f.projected.w2),
                "projected_ratio": .number(f.projected.w1 == 0 ? 0 : f.projected.w2 / f.projected.w1),
                "weights": .array(f.classifier.weights.nested.map { JSONValue($0) }),
                "iterations": .number(Double(f.iterations)), "converged": .bool(f.converged),
            ]
            if json { Emit.json(out) } else {
                print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(objective) full W: value \(f.value), symmetric family \(f.symmetricValue), gain \(f.improvement); projected (w1, w2) = (\(f.projected.w1), \(f.projected.w2))\(f.converged ? "" : " (simplex NOT converged)")")
            }
            return
        }
        var optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: mode)
        optimizer.tolerance = tolerance
        let o = try optimizer.solve()
        let out: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
            "objective_name": .string(objective.description), "scale": .string(mode.description),
            "w1": .number(o.w1), "w2": .number(o.w2), "ratio": .number(o.ratio), "objective": .number(o.objectiveValue),
            "minimised_value": .number(o.value), "robust_accuracy": .number(o.robustAccuracy),
            "natural_accuracy": .number(o.naturalAccuracy), "derivative_at_w2_zero": JSONValue(o.derivativeAtZero),
            "on_boundary": .bool(o.onBoundary), "converged": .bool(o.converged),
            "notes": .array(o.notes.map { .string($0) }),
        ]
        if json { Emit.json(out) } else {
            print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(objective) [\(mode)]: w1=\(o.w1) w2=\(o.w2) ratio=\(o.ratio) objective=\(o.objectiveValue) RA=\(o.robustAccuracy)\(o.converged ? "" : " (NOT converged: \(o.notes.joined(separator: "; ")))")")
        }
    }
}

import ArgumentParser
import CrossClass
import Foundation

struct OptimumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimum",
        abstract: "The exact AT optimum over the symmetric family W(w1, w2).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var objectiveOptions: ObjectiveOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: "Perturbation radius (>= 0).", transform: FlagValue.radius)
    var eps: Double

    @Option(help: ArgumentHelp("Quadrature tolerance of each objective evaluation.".withDefault(1e-10)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-10

    @OptionGroup var methodOptions: MethodOptions

    @Flag(help: "Also optimise over the full weight matrix (ce/ls/trades, free scale) and report the gain over the symmetric family.")
    var full = false

    @Flag(help: "Print one JSON object.")
    var json = false

    mutating func validate() throws {
        let spec = try objectiveOptions.resolved()
        if full {
            try spec.requireScale([.free], command: "optimum --full", reason: "the full-W optimum is computed at the free scale only")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        let spec = try objectiveOptions.resolved()
        let threatModel = try ThreatModel(norm: threat.norm, eps: eps)
        if full {
            let f = try FullOptimizer.solve(model: model, threat: threatModel, objective: spec.objective, tolerance: tolerance, method: methodOptions.method, parallel: true)
            let out: [String: JSONValue] = [
                "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
                "objective": .string(spec.objective.description), "full_value": .number(f.value),
                "symmetric_value": .number(f.symmetricValue), "improvement": .number(f.improvement),
                "projected_w1": .number(f.projected.w1), "projected_w2": .number(f.projected.w2),
                "projected_ratio": JSONValue(f.projected.w1 == 0 ? nil : f.projected.w2 / f.projected.w1),
                "weights": .array(f.classifier.weights.nested.map { JSONValue($0) }),
                "iterations": .number(Double(f.iterations)), "converged": .bool(f.converged),
                "error_bound": JSONValue(f.errorBound), "gradient_norm": JSONValue(f.gradientNorm),
                "optimality_gap": JSONValue(f.optimalityGap), "method": .string(f.method.rawValue),
                "notes": .array(f.notes.map { .string($0) }),
            ]
            if json { try Emit.json(out) } else {
                print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(spec.objective) full W: value \(f.value), symmetric family \(f.symmetricValue), gain \(f.improvement); projected (w1, w2) = (\(f.projected.w1), \(f.projected.w2))\(f.converged ? "" : " (NOT converged: \(f.notes.joined(separator: "; ")))")")
            }
            return
        }
        var optimizer = try SymmetricOptimizer(model: model, threat: threatModel, objective: spec.objective, scale: spec.scale)
        optimizer.tolerance = tolerance
        optimizer.method = methodOptions.method
        // One optimum: its evaluations use all cores (same bits as one thread).
        optimizer.parallelEvaluation = true
        // Settings without a fast optimiser of their own (the adaptive path, minutes for some;
        // models without the complement structure, seconds each under l_2): their evaluations
        // are counted on stderr when it is a terminal.
        let progress = Progress(total: 0, label: "optimum (objective evaluations)")
        optimizer.onEvaluation = { progress.tick() }
        let o = try { defer { progress.finish() }; return try optimizer.solve() }()
        let out: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
            "objective_name": .string(spec.objective.description), "scale": .string(spec.scale.description),
            "spec": .string(spec.spelling),
            "w1": .number(o.w1), "w2": .number(o.w2), "ratio": JSONValue(o.finiteRatio), "objective": .number(o.objectiveValue),
            "objective_error": JSONValue(o.objectiveError),
            "minimised_value": .number(o.value), "robust_accuracy": .number(o.robustAccuracy),
            "natural_accuracy": .number(o.naturalAccuracy), "derivative_at_w2_zero": JSONValue(o.derivativeAtZero),
            "derivative_at_w2_zero_error": JSONValue(o.derivativeAtZeroError),
            "on_boundary": .bool(o.onBoundary), "on_exclusive_face": .bool(o.onExclusiveFace), "at_origin": .bool(o.atOrigin),
            "derivative_at_w1_zero": JSONValue(o.derivativeAtExclusiveZero),
            "derivative_at_w1_zero_error": JSONValue(o.derivativeAtExclusiveZeroError), "converged": .bool(o.converged),
            "notes": .array(o.notes.map { .string($0) }), "method": .string(methodOptions.method.rawValue),
        ]
        if json { try Emit.json(out) } else {
            print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(spec.objective) [\(spec.scale)]: w1=\(o.w1) w2=\(o.w2) ratio=\(o.atOrigin ? "undefined (W = 0)" : "\(o.ratio)") objective=\(o.objectiveValue)\(o.objectiveError.map { " (error <= \($0))" } ?? "") RA=\(o.robustAccuracy)\(o.converged ? "" : " (NOT converged: \(o.notes.joined(separator: "; ")))")")
        }
    }
}

import ArgumentParser
import CrossClass
import Foundation

struct ObjectiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objective",
        abstract: "The exact population robust objective R(W; eps) of a linear classifier.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var objectiveOptions: ObjectiveOptions

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Perturbation radius (>= 0).")
    var eps: Double

    @Option(help: "Weight on exclusive features (symmetric family).")
    var w1: Double?

    @Option(help: "Weight on own cross-class features (symmetric family).")
    var w2: Double?

    @Option(help: "JSON file with a full weight matrix (and optional bias) instead of --w1/--w2.")
    var weights: String?

    @Option(help: "Quadrature tolerance.")
    var tolerance: Double = 1e-10

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        try CheckFlag.positive(tolerance, "--tolerance")
        let (objective, _) = try objectiveOptions.resolve()
        let threat = try ThreatModel(norm: Norm.parse(norm), eps: eps)
        let r = RobustObjective(model: model, threat: threat, objective: objective, tolerance: tolerance)
        let e: Estimate
        var out: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
            "objective": .string(objective.description),
        ]
        if let path = weights {
            guard w1 == nil, w2 == nil else { throw InputError("--weights cannot be combined with --w1/--w2: give one or the other") }
            let classifier = try LinearClassifier.load(path: path)
            try classifier.validate(for: model)
            e = try r.evaluate(classifier)
            out["weights"] = .string(path)
        } else {
            guard let w1, let w2 else { throw InputError("missing weights: give --w1 and --w2 (symmetric family) or --weights FILE") }
            try CheckFlag.finite(w1, "--w1")
            try CheckFlag.finite(w2, "--w2")
            e = try r.evaluate(w1: w1, w2: w2)
            out["w1"] = .number(w1)
            out["w2"] = .number(w2)
        }
        out["value"] = .number(e.value)
        out["error_bound"] = .number(e.errorBound)
        out["converged"] = .bool(e.converged)
        out["method"] = .string(e.method)
        if json { Emit.json(out) } else {
            print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(objective): R = \(e.value) (error <= \(e.errorBound), \(e.method)\(e.converged ? "" : ", tolerance NOT reached"))")
        }
    }
}

import ArgumentParser
import CrossClass
import Foundation

struct Risk: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exact robust and natural accuracy of a linear classifier.",
        discussion: """
            Either the symmetric family (--w1, --w2: w1 on a class's exclusive features, w2 on its \
            cross-class features) or a full matrix (--weights FILE.json with {"weights": [[...]], \
            "bias": [...]}).
            """)

    @OptionGroup var modelOptions: ModelOptions

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

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        let threat = try ThreatModel(norm: Norm.parse(norm), eps: eps)
        let natural = try ThreatModel(norm: threat.norm, eps: 0)
        let robust: RobustAccuracyResult, clean: RobustAccuracyResult
        var out: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
        ]
        if let path = weights {
            guard w1 == nil, w2 == nil else {
                throw InputError("--weights cannot be combined with --w1/--w2: give one or the other")
            }
            let classifier = try LinearClassifier.load(path: path)
            try classifier.validate(for: model)
            robust = try RobustAccuracy.general(model: model, classifier: classifier, threat: threat)
            clean = try RobustAccuracy.general(model: model, classifier: classifier, threat: natural)
            let p = classifier.projectSymmetric(model: model)
            out["weights"] = .string(path)
            out["projected_w1"] = .number(p.w1)
            out["projected_w2"] = .number(p.w2)
        } else {
            guard let w1, let w2 else {
                throw InputError("missing weights: give --w1 and --w2 (symmetric family) or --weights FILE")
            }
            try CheckFlag.finite(w1, "--w1")
            try CheckFlag.finite(w2, "--w2")
            robust = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat)
            clean = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: natural)
            out["w1"] = .number(w1)
            out["w2"] = .number(w2)
        }
        out["robust_accuracy"] = .number(robust.value)
        out["natural_accuracy"] = .number(clean.value)
        out["error_bound"] = .number(max(robust.errorBound, clean.errorBound))
        out["method"] = .string(max(robust.method, clean.method).rawValue)
        out["converged"] = .bool(robust.converged && clean.converged)
        out["per_class_robust_accuracy"] = JSONValue(robust.perClass)
        if json {
            Emit.json(out)
        } else {
            let flag = robust.converged && clean.converged ? "" : "  (tolerance NOT reached)"
            print(String(
                format: "%@ %@ eps=%g: robust accuracy %.12f, natural accuracy %.12f, error <= %.1e [%@]%@",
                model.name, threat.norm.rawValue, eps, robust.value, clean.value,
                max(robust.errorBound, clean.errorBound), max(robust.method, clean.method).rawValue, flag))
        }
    }
}

import ArgumentParser
import CrossClass
import Foundation

/// --w1/--w2, --weights FILE, --checkpoint FILE or --optimum SPEC: the linear classifier a
/// command evaluates (one grammar, `ClassifierSource` in the library).
struct ClassifierOptions: ParsableArguments {
    @Option(help: "Symmetric family: weight on a class's exclusive features.", transform: FlagValue.finite)
    var w1: Double?

    @Option(help: "Symmetric family: weight on the cross-class features a class carries.", transform: FlagValue.finite)
    var w2: Double?

    @Option(help: "JSON file with a full weight matrix {\"weights\": [[...]], \"bias\": [...]} instead of --w1/--w2.")
    var weights: String?

    @Option(help: "A linear model's training checkpoint ('ccsim train --checkpoint') instead of --w1/--w2.")
    var checkpoint: String?

    @Option(help: ArgumentHelp("The exact AT optimum (symmetric family) of this objective at each --eps (\(ObjectiveSpec.grammarSummary)).", valueName: "spec"),
            transform: FlagValue.objective)
    var optimum: ObjectiveSpec?

    /// Checks pairing and exclusivity; whether a classifier is required is the command's call
    /// (`attribution --map` takes none).
    mutating func validate() throws {
        if (w1 == nil) != (w2 == nil) { throw InputError("--w1 and --w2 go together: give both (the symmetric family needs both)") }
        let given = [w1 != nil, weights != nil, checkpoint != nil, optimum != nil].filter { $0 }.count
        guard given <= 1 else {
            throw InputError("give one classifier: --w1 and --w2, --weights FILE, --checkpoint FILE or --optimum SPEC, not several")
        }
    }

    /// The classifier source given on the command line, if any.
    var source: ClassifierSource? {
        if let w1, let w2 { return .symmetric(w1: w1, w2: w2) }
        if let weights { return .weightsFile(weights) }
        if let checkpoint { return .checkpoint(checkpoint) }
        if let optimum { return .optimum(optimum) }
        return nil
    }

    /// The source, or the one-line error that names the choices.
    func required() throws -> ClassifierSource {
        guard let source else {
            throw InputError("missing classifier: give --w1 and --w2 (symmetric family), --weights FILE, --checkpoint FILE or --optimum SPEC")
        }
        return source
    }
}

struct ObjectiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objective",
        abstract: "The exact population robust objective R(W; eps) of a linear classifier.",
        discussion: """
            With @wd=/@wdc= (or --weight-decay / --centred-weight-decay) the penalty at W is \
            reported too (penalised_value). A fixed scale (@scale=) is refused: it constrains \
            optima, and here W is given.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var objectiveOptions: ObjectiveOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: "Perturbation radius (>= 0).", transform: FlagValue.radius)
    var eps: Double

    @OptionGroup var classifierOptions: ClassifierOptions

    @Option(help: ArgumentHelp("Quadrature tolerance.".withDefault(1e-10)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-10

    @OptionGroup var methodOptions: MethodOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    mutating func validate() throws {
        _ = try classifierOptions.required()
        let spec = try objectiveOptions.resolved()
        guard !(spec.scale.kind == .fixed && spec.scale != spec.objective.defaultScale) else {
            throw InputError("objective: '\(spec.spelling)' is not allowed: a fixed scale constrains optima; here W is given (use 'ccsim optimum' for the fixed-scale optimum)")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        let spec = try objectiveOptions.resolved()
        let threatModel = try ThreatModel(norm: threat.norm, eps: eps)
        var r = RobustObjective(model: model, threat: threatModel, objective: spec.objective, tolerance: tolerance)
        r.method = methodOptions.method
        r.parallel = true
        let resolved = try classifierOptions.required().resolve(model: model, threat: threatModel)
        let classifier = resolved.classifier
        let e = try resolved.symmetric.map { try r.evaluate(w1: $0.w1, w2: $0.w2) } ?? r.evaluate(classifier)
        guard e.value.isFinite else { throw NumericalError("the objective is \(e.value)") }
        // An error bound larger than the value itself leaves no correct digit (e.g. ce at weight
        // norm 1e100, where the integrand is all round-off): refused, not printed.
        guard e.errorBound <= max(abs(e.value), tolerance) else {
            throw NumericalError("the quadrature's error bound \(e.errorBound) exceeds the value \(e.value) (no correct digit at this weight norm and sigma; tolerance \(tolerance) not reached)")
        }
        var out: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
            "objective": .string(spec.objective.description),
        ]
        out.merge(resolved.description) { a, _ in a }
        out["value"] = .number(e.value)
        let penalty = spec.scale.penalty(of: classifier)
        if penalty > 0 || spec.scale.kind == .weightDecay || spec.scale.kind == .centredWeightDecay {
            out["penalty"] = .number(penalty)
            out["penalised_value"] = .number(e.value + penalty)
            out["scale"] = .string(spec.scale.description)
        }
        out["error_bound"] = .number(e.errorBound)
        out["converged"] = .bool(e.converged && e.value.isFinite)
        out["method"] = .string(e.method.rawValue)
        if json { try Emit.json(out) } else {
            let pen = penalty > 0 ? String(format: ", with penalty %.12g", e.value + penalty) : ""
            print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(spec.objective): R = \(e.value)\(pen) (error <= \(e.errorBound), \(e.method)\(e.converged ? "" : ", tolerance NOT reached"))")
        }
    }
}

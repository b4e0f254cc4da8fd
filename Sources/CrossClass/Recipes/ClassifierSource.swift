import Foundation

/// Where the linear classifier a command evaluates comes from: the one grammar behind `risk`,
/// `objective` and `attribution` (`--w1/--w2`, `--weights FILE`, `--checkpoint FILE`,
/// `--optimum SPEC`).
public enum ClassifierSource: Sendable, Equatable {
    /// The symmetric family: w1 on a class's exclusive features, w2 on its cross-class features.
    case symmetric(w1: Double, w2: Double)
    /// A JSON weights file `{"weights": [[...]], "bias": [...]}`.
    case weightsFile(String)
    /// A linear model's training checkpoint (`ccsim train --checkpoint`); its last epoch.
    case checkpoint(String)
    /// The exact AT optimum (symmetric family) of an objective at the command's eps.
    case optimum(ObjectiveSpec)

    /// The classifier at `threat` (only `.optimum` depends on it) and how it was named, for JSON
    /// output. Files are checked against the model's shape; an unconverged optimum is refused,
    /// since every number computed from it would inherit an unknown error.
    public func resolve(model: DataModel, threat: ThreatModel) throws -> ResolvedClassifier {
        switch self {
        case let .symmetric(w1, w2):
            return ResolvedClassifier(
                classifier: .symmetric(model: model, w1: w1, w2: w2), symmetric: (w1, w2),
                description: ["w1": .number(w1), "w2": .number(w2)])
        case let .optimum(spec):
            let o = try SymmetricOptimizer(model: model, threat: threat, objective: spec.objective, scale: spec.scale).solve()
            guard o.converged else {
                throw NumericalError("the \(spec.spelling) optimum at eps \(threat.eps) did not converge (w1 \(o.w1), w2 \(o.w2)); no value is computed from it")
            }
            return ResolvedClassifier(
                classifier: .symmetric(model: model, w1: o.w1, w2: o.w2), symmetric: (o.w1, o.w2),
                description: [
                    "optimum": .string(spec.spelling), "optimum_objective": .string(spec.objective.description),
                    "optimum_scale": .string(spec.scale.description), "optimum_converged": .bool(o.converged),
                    "w1": .number(o.w1), "w2": .number(o.w2),
                ])
        case let .weightsFile(path):
            return try Self.general(try LinearClassifier.load(path: path), named: ["weights": .string(path)], model: model)
        case let .checkpoint(path):
            return try Self.general(try Checkpoint.read(from: path).linearClassifier(), named: ["checkpoint": .string(path)], model: model)
        }
    }

    /// Whether the classifier is the same at every eps (everything but `.optimum`).
    public var isFixed: Bool { if case .optimum = self { return false } else { return true } }

    private static func general(_ classifier: LinearClassifier, named: [String: JSONValue], model: DataModel) throws -> ResolvedClassifier {
        try classifier.validate(for: model)
        let p = classifier.projectSymmetric(model: model)
        var description = named
        description["projected_w1"] = .number(p.w1)
        description["projected_w2"] = .number(p.w2)
        return ResolvedClassifier(classifier: classifier, symmetric: nil, description: description)
    }
}

/// A classifier resolved from a `ClassifierSource`.
public struct ResolvedClassifier: Sendable {
    public var classifier: LinearClassifier
    /// (w1, w2) when the classifier is the symmetric family, whose closed-form structure the
    /// exact solvers use.
    public var symmetric: (w1: Double, w2: Double)?
    /// How the classifier was named (merged into JSON output).
    public var description: [String: JSONValue]
}

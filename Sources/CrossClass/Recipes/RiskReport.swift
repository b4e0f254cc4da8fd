import Foundation

/// Exact robust and natural accuracy of one linear classifier at one eps (`ccsim risk`).
public struct RiskReport: Sendable {
    public var eps: Double
    public var robust: Estimate
    public var natural: Estimate
    /// P(correct under attack | y) for each class.
    public var perClassRobust: [Double]

    public var errorBound: Double { max(robust.errorBound, natural.errorBound) }
    public var method: Estimate.Method { max(robust.method, natural.method) }
    public var converged: Bool { robust.converged && natural.converged && robust.value.isFinite && natural.value.isFinite }

    /// `symmetric` (w1, w2) uses the closed-form structure of the symmetric family.
    public static func evaluate(
        model: DataModel, classifier: LinearClassifier, symmetric: (Double, Double)?, norm: Norm, eps: Double
    ) throws -> RiskReport {
        let threat = try ThreatModel(norm: norm, eps: eps)
        let clean = try ThreatModel(norm: norm, eps: 0)
        if let (w1, w2) = symmetric {
            let robust = try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat)
            return RiskReport(eps: eps, robust: robust,
                              natural: try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: clean),
                              perClassRobust: RobustAccuracy.symmetricIsPerClassEqual(model: model)
                                ? .init(repeating: robust.value, count: model.classCount)
                                : try RobustAccuracy.perClass(model: model, classifier: classifier, threat: threat).map(\.value))
        }
        let perClass = try RobustAccuracy.perClass(model: model, classifier: classifier, threat: threat)
        return RiskReport(eps: eps, robust: RobustAccuracy.average(perClass),
                          natural: try RobustAccuracy.general(model: model, classifier: classifier, threat: clean),
                          perClassRobust: perClass.map(\.value))
    }

    public func json(model: DataModel, norm: Norm) -> [String: JSONValue] {
        [
            "model": .string(model.name), "norm": .string(norm.rawValue), "eps": .number(eps),
            "robust_accuracy": .number(robust.value), "natural_accuracy": .number(natural.value),
            "error_bound": .number(errorBound), "method": .string(method.rawValue), "converged": .bool(converged),
            "per_class_robust_accuracy": JSONValue(perClassRobust),
        ]
    }
}

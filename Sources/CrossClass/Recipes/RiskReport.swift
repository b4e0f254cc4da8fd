import Foundation

/// Exact robust and natural accuracy of one linear classifier at one eps (`ccsim risk`).
public struct RiskReport: Sendable {
    public var eps: Double
    public var robust: RobustAccuracyResult
    public var natural: RobustAccuracyResult

    public var errorBound: Double { max(robust.errorBound, natural.errorBound) }
    public var method: String { max(robust.method, natural.method).rawValue }
    public var converged: Bool { robust.converged && natural.converged && robust.value.isFinite && natural.value.isFinite }

    /// `symmetric` (w1, w2) uses the closed-form structure of the symmetric family.
    public static func evaluate(
        model: DataModel, classifier: LinearClassifier, symmetric: (Double, Double)?, norm: Norm, eps: Double
    ) throws -> RiskReport {
        let threat = try ThreatModel(norm: norm, eps: eps)
        let clean = try ThreatModel(norm: norm, eps: 0)
        if let (w1, w2) = symmetric {
            return RiskReport(eps: eps, robust: try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: threat),
                              natural: try RobustAccuracy.symmetric(model: model, w1: w1, w2: w2, threat: clean))
        }
        return RiskReport(eps: eps, robust: try RobustAccuracy.general(model: model, classifier: classifier, threat: threat),
                          natural: try RobustAccuracy.general(model: model, classifier: classifier, threat: clean))
    }

    public func json(model: DataModel, norm: Norm) -> [String: JSONValue] {
        [
            "model": .string(model.name), "norm": .string(norm.rawValue), "eps": .number(eps),
            "robust_accuracy": .number(robust.value), "natural_accuracy": .number(natural.value),
            "error_bound": .number(errorBound), "method": .string(method), "converged": .bool(converged),
            "per_class_robust_accuracy": JSONValue(robust.perClass),
        ]
    }
}

import Foundation

/// The grid commands' recipes (sweep, sweep-w2, path, phase): header, configuration and the
/// computation of one grid point. The CLI parses flags, calls one of these, and runs the job.
public enum GridRecipes {
    /// sweep: the AT optimum per (eps, objective).
    public static func sweep(
        model: DataModel, modelFlags: [String: JSONValue], norm: Norm, eps: Grid, specs: [ObjectiveSpec], tolerance: Double
    ) throws -> GridJob {
        for spec in specs { _ = try SymmetricOptimizer(model: model, threat: .none, objective: spec.objective, scale: spec.scale) }
        var config = modelFlags
        config["norm"] = .string(norm.rawValue)
        config["eps"] = .string(eps.text)
        config["objectives"] = .array(specs.map { .string($0.description) })
        config["tolerance"] = .number(tolerance)
        config["resolved_model"] = model.manifestJSON
        let epsValues = eps.values
        return GridJob(command: "sweep", header: optimumHeader, itemCount: epsValues.count * specs.count, configuration: config,
                       describeItem: { "eps \(epsValues[$0 / specs.count]), objective \(specs[$0 % specs.count].spelling)" }) { item in
            let r = try Sweeps.optimum(model: model, norm: norm, eps: epsValues[item / specs.count],
                                       spec: specs[item % specs.count], tolerance: tolerance)
            return [optimumRow(r) + (try casCells(model: model, norm: norm, eps: r.eps, w1: r.optimum.w1, w2: r.optimum.w2))]
        }
    }

    public static let optimumHeader = [
        "eps", "objective", "scale", "w1", "w2", "ratio", "objective_value", "minimised_value", "objective_error",
        "robust_accuracy", "natural_accuracy", "on_boundary", "derivative_at_w2_zero", "derivative_at_w2_zero_error", "converged",
        "cas_adversarial_centred", "cas_natural_centred",
    ]

    /// The exact centred CAS of the optimum W(w1*, w2*) on adversarial (exact l_inf worst case
    /// of ce; empty for l2) and natural samples; empty where the exact attribution refuses the
    /// model (no common worst-case vertex, THEORY.md section 6).
    static func casCells(model: DataModel, norm: Norm, eps: Double, w1: Double, w2: Double) throws -> [CSVValue] {
        do {
            let c = try ExactAttribution.symmetricFamilyCAS(model: model, threat: ThreatModel(norm: norm, eps: eps), w1: w1, w2: w2)
            return [.optionalDouble(c.adversarialCAS), .double(c.naturalCAS)]
        } catch is InputError {
            return [.optionalDouble(nil), .optionalDouble(nil)]
        }
    }

    /// The CSV cells of one optimum (columns `optimumHeader`).
    public static func optimumRow(_ r: SweepRow) -> [CSVValue] {
        let o = r.optimum
        return [
            .double(r.eps), .string(r.spec.objective.description), .string(r.spec.scale.description),
            .double(o.w1), .double(o.w2), .optionalDouble(o.finiteRatio), .double(o.objectiveValue), .double(o.value),
            .optionalDouble(o.objectiveError), .double(o.robustAccuracy), .double(o.naturalAccuracy), .bool(o.onBoundary),
            .optionalDouble(o.derivativeAtZero), .optionalDouble(o.derivativeAtZeroError), .bool(o.converged),
        ]
    }

    /// sweep-w2: robust accuracy along w2/w1 per eps (Theorem 2).
    public static func sweepW2(model: DataModel, modelFlags: [String: JSONValue], norm: Norm, eps: Grid, ratios: Grid) -> GridJob {
        var config = modelFlags
        config["norm"] = .string(norm.rawValue)
        config["eps"] = .string(eps.text)
        config["ratios"] = .string(ratios.text)
        config["resolved_model"] = model.manifestJSON
        let epsValues = eps.values, ratioValues = ratios.values
        return GridJob(command: "sweep-w2", header: ["eps", "ratio", "robust_accuracy", "pairwise_accuracy", "error_bound", "method"],
                       itemCount: epsValues.count * ratioValues.count, configuration: config,
                       describeItem: { "eps \(epsValues[$0 / ratioValues.count]), ratio \(ratioValues[$0 % ratioValues.count])" }) { item in
            let r = try Sweeps.ratioRow(model: model, norm: norm, eps: epsValues[item / ratioValues.count],
                                        ratio: ratioValues[item % ratioValues.count])
            return [[.double(r.eps), .double(r.ratio), .double(r.robustAccuracy.value), .optionalDouble(r.pairwiseAccuracy),
                     .double(r.robustAccuracy.errorBound), .string(r.robustAccuracy.method.rawValue)]]
        }
    }

    /// The default scale grid of `path`: 30 log-spaced values in [0.1, 100].
    public static let defaultScales = Grid(values: (0..<30).map { Grid.tidy(pow(10, -1 + 3 * Double($0) / 29)) },
                                           text: "logspace(0.1, 100, 30)")

    /// path: the fixed-scale optimum over a grid of scales (regularisation path). The
    /// objective's own scale setting is replaced by each grid scale, so it must not carry one.
    public static func path(
        model: DataModel, modelFlags: [String: JSONValue], norm: Norm, eps: Double, objective spec: ObjectiveSpec,
        scales: Grid, tolerance: Double
    ) throws -> GridJob {
        guard spec.scale == spec.objective.defaultScale else {
            throw InputError("path: objective '\(spec.spelling)' is not allowed: path sets the scale itself (--scales); give the objective without @scale/@wd/@wdc")
        }
        _ = try ThreatModel(norm: norm, eps: eps)
        let objective = spec.objective
        var config = modelFlags
        config["norm"] = .string(norm.rawValue)
        config["eps"] = .number(eps)
        config["objective"] = .string(objective.description)
        config["scales"] = .string(scales.text)
        config["tolerance"] = .number(tolerance)
        config["resolved_model"] = model.manifestJSON
        let scaleValues = scales.values
        return GridJob(command: "path",
                       header: ["scale", "eps", "objective", "w1", "w2", "ratio", "objective_value", "objective_error", "robust_accuracy", "natural_accuracy",
                                "on_boundary", "converged", "cas_adversarial_centred", "cas_natural_centred"],
                       itemCount: scaleValues.count, configuration: config, describeItem: { "scale \(scaleValues[$0])" }) { item in
            let s = scaleValues[item]
            let o = try Sweeps.optimum(model: model, norm: norm, eps: eps, spec: ObjectiveSpec(objective, .fixed(s)), tolerance: tolerance).optimum
            return [[.double(s), .double(eps), .string(objective.description), .double(o.w1), .double(o.w2), .optionalDouble(o.finiteRatio),
                     .double(o.objectiveValue), .optionalDouble(o.objectiveError), .double(o.robustAccuracy), .double(o.naturalAccuracy),
                     .bool(o.onBoundary), .bool(o.converged)]
                    + (try casCells(model: model, norm: norm, eps: eps, w1: o.w1, w2: o.w2))]
        }
    }

    /// phase: the optimum over a (sigma/mu, eps/mu) grid per objective.
    public static func phase(
        source: ModelSource, mu: Double, sigmas: Grid, eps: Grid, norm: Norm, specs: [ObjectiveSpec], tolerance: Double
    ) throws -> GridJob {
        if case .file = source { throw InputError("phase: --model must be a preset (paper3, complement:K, pairwise:K): sigma is the grid variable") }
        let models = try sigmas.values.map { try source.load(mu: mu, sigma: $0 * mu, tau: nil, noiseDimensions: nil, noiseSigma: nil) }
        for spec in specs { _ = try SymmetricOptimizer(model: models[0], threat: .none, objective: spec.objective, scale: spec.scale) }
        let config: [String: JSONValue] = [
            "model": .string(source.description), "mu": .number(mu), "sigmas": .string(sigmas.text), "eps": .string(eps.text),
            "norm": .string(norm.rawValue), "objectives": .array(specs.map { .string($0.description) }),
            "tolerance": .number(tolerance),
        ]
        let sigmaValues = sigmas.values, epsValues = eps.values
        let perSigma = epsValues.count * specs.count
        return GridJob(command: "phase",
                       header: ["sigma", "eps", "objective", "scale", "w1", "w2", "ratio", "cross_class_used",
                                "robust_accuracy", "natural_accuracy", "on_boundary", "converged"],
                       itemCount: sigmaValues.count * perSigma, configuration: config,
                       describeItem: { "sigma/mu \(sigmaValues[$0 / perSigma]), eps/mu \(epsValues[($0 % perSigma) / specs.count]), objective \(specs[$0 % perSigma % specs.count].spelling)" }) { item in
            let si = item / perSigma, rest = item % perSigma
            let spec = specs[rest % specs.count], e = epsValues[rest / specs.count] * mu
            let o = try Sweeps.optimum(model: models[si], norm: norm, eps: e, spec: spec, tolerance: tolerance).optimum
            return [[.double(sigmaValues[si]), .double(epsValues[rest / specs.count]), .string(spec.objective.description),
                     .string(spec.scale.description), .double(o.w1), .double(o.w2), .optionalDouble(o.finiteRatio),
                     .bool(o.usesCrossClassFeatures),
                     .double(o.robustAccuracy), .double(o.naturalAccuracy), .bool(o.onBoundary), .bool(o.converged)]]
        }
    }
}

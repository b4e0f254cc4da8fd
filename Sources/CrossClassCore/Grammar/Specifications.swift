import Foundation

extension ParameterRange {
    /// Any finite number of ordinary size (weights, grid points).
    public static let finite = ParameterRange(-1e100, 1e100)
    /// A quadrature tolerance: below 1e-15 round-off decides, above 0.1 the answer is noise.
    public static let tolerance = ParameterRange(1e-15, 0.1, why: "the range in which the quadrature is verified")

    /// mu, sigma, tau and noise sigma of a model: the range in which the exact methods are
    /// verified (ExtremeParameterTests); 0 is allowed for mu and tau.
    public static func modelScale(allowZero: Bool) -> ParameterRange {
        ParameterRange(allowZero ? 0 : modelScaleLower, modelScaleUpper, why: allowZero
            ? "0, or a magnitude in [1e-30, 1e30], where the exact methods are verified"
            : "the range in which the exact methods are verified")
    }

    public static let modelScaleLower = 1e-30
    public static let modelScaleUpper = 1e30

    /// Checks a model parameter that may be negative (mu): |v| in [1e-30, 1e30] or 0.
    static func checkModelMagnitude(_ v: Double, name: String, allowZero: Bool) throws {
        let a = abs(v)
        guard v.isFinite, (allowZero && v == 0) || (a >= modelScaleLower && a <= modelScaleUpper) else {
            throw InputError("\(name) = \(v) is not allowed: its magnitude must be in [1e-30, 1e30]\(allowZero ? " (or 0)" : ""), the range in which the exact methods are verified")
        }
    }
}

extension TrainingSpec: CustomStringConvertible {
    public var description: String {
        switch self {
        case .exact(let s): return s.spelling
        case .kd: return "kd"
        }
    }

    /// A comma list (compare-grid), each entry once.
    public static func parseList(_ text: String) throws -> [TrainingSpec] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !(items.count == 1 && items[0].isEmpty) else {
            throw InputError("objective list is empty: give at least one objective (\(ObjectiveSpec.grammarSummary))")
        }
        return try items.map { try parse($0) }
    }

    /// The training loss, its SGD weight decay (from @wd=/@wdc=, nil when not given) and the
    /// exact objective it trains towards (nil for kd). Training has no fixed-scale constraint.
    public func trainingLoss(temperature: Double = 4, kdWeight: Double = 0.9) throws -> (loss: TrainingLoss, weightDecay: Double?) {
        switch self {
        case .kd:
            guard temperature.isFinite, temperature > 0 else { throw InputError("--temperature \(temperature) is not allowed: it must be > 0") }
            guard kdWeight.isFinite, (0...1).contains(kdWeight) else { throw InputError("--kd-weight \(kdWeight) is not allowed: it must be in [0, 1]") }
            return (.kd(temperature: temperature, weight: kdWeight), nil)
        case .exact(let spec):
            let loss: TrainingLoss
            switch spec.objective {
            case .ce: loss = .ce
            case .ls(let a): loss = .ls(alpha: a)
            case .trades(let b): loss = .trades(beta: b)
            case .hinge(let k): loss = .hinge(kappa: k)
            case .worstMargin, .zeroOne:
                throw InputError("objective '\(spec.spelling)' cannot be trained by gradient descent: use ce, ls[:alpha], kd, trades[:beta] or hinge[:kappa]")
            }
            switch spec.scale {
            case .free: return (loss, nil)
            case .fixed where spec.scale == spec.objective.defaultScale: return (loss, nil)
            case .weightDecay(let l), .centeredWeightDecay(let l):
                // SGD weight decay from W = 0 keeps the rows of a softmax head centred, so the
                // plain and the centred penalty are the same on a trained model.
                return (loss, l)
            case .fixed:
                throw InputError("objective '\(spec.spelling)' is not allowed in training: a fixed scale is an exact-solver convention; train with @wd=LAMBDA (weight decay) instead")
            }
        }
    }
}

extension DataModel {
    /// The full model as JSON for manifests.
    public var manifestJSON: JSONValue {
        .object([
            "name": .string(name),
            "membership": .array(membership.map { .array($0.map { .number($0 ? 1 : 0) }) }),
            "mu": JSONValue(mu),
            "sigma": JSONValue(sigma),
            "tau": .number(tau),
            "noise_dims": .number(Double(noiseDimensions)),
            "noise_sigma": .number(noiseSigma),
            "feature_names": .array(featureNames.map { .string($0) }),
        ])
    }
}

extension JSONValue {
    /// Refuses a NaN or infinity anywhere in the value (exit 3): JSON output never carries one.
    public func checkFinite(path: String = "") throws {
        switch self {
        case .number(let d) where !d.isFinite:
            throw NumericalError("\(path.isEmpty ? "a value" : "'\(path)'") is \(d); refusing to report a non-finite number")
        case .array(let a): for (i, v) in a.enumerated() { try v.checkFinite(path: "\(path)[\(i)]") }
        case .object(let o): for (k, v) in o { try v.checkFinite(path: path.isEmpty ? k : "\(path).\(k)") }
        default: break
        }
    }
}

extension SymmetricOptimum {
    /// Relative size below which w2* counts as zero: the one rule behind `cross_class_used`
    /// and Theorem 1's verdicts.
    public static let crossClassTolerance = 1e-6

    /// Does the optimum keep the cross-class feature (w2* > 1e-6 w1*)?
    public var usesCrossClassFeatures: Bool { w2 > Self.crossClassTolerance * max(abs(w1), 1e-300) }
}

extension ScaleMode {
    /// The penalty this convention adds to the objective at a given W (0 for free and fixed
    /// scale): (lambda/2)||W||_F^2, or (lambda/2)||W - mean row||_F^2 for the centred form.
    public func penalty(of classifier: LinearClassifier) -> Double {
        let w = classifier.weights
        switch self {
        case .free, .fixed: return 0
        case .weightDecay(let l):
            return l / 2 * w.storage.reduce(0) { $0 + $1 * $1 }
        case .centeredWeightDecay(let l):
            var total = 0.0
            for c in 0..<w.columns {
                var mean = 0.0
                for r in 0..<w.rows { mean += w[r, c] }
                mean /= Double(w.rows)
                for r in 0..<w.rows { total += (w[r, c] - mean) * (w[r, c] - mean) }
            }
            return l / 2 * total
        }
    }
}

import Foundation

/// Population adversarial training of a linear model compared with the exact optimum.
public struct ComparisonResult: Sendable {
    public struct Point: Sendable, Equatable {
        public var epoch: Int
        public var w1: Double
        public var w2: Double
        /// ||(w1, w2)||_2 of the projected trained model.
        public var scale: Double
        public var ratio: Double
        /// The exact optimum's w2/w1 at the same scale (fixed-scale problem).
        public var exactRatioAtScale: Double
    }

    public var points: [Point]
    /// Final trained w2/w1 (mean over the last `window` epochs, half the run by default).
    public var trainedRatio: Double
    /// The exact unconstrained (or weight-decay) optimum's w2/w1.
    public var exactRatio: Double
    public var exactW1: Double
    public var exactW2: Double
    /// Largest |ratio - exact fixed-scale ratio at the same norm| after the burn-in.
    public var trajectoryError: Double
    /// Tolerance of the final comparison: 4 standard errors of the window mean, estimated from
    /// the means of 4 consecutive blocks of epochs (SGD noise is autocorrelated).
    public var tolerance: Double
    public var withinTolerance: Bool
    public var burnIn: Int
    public var window: Int
}

public enum Comparison {
    /// Trains with `configuration` (population, linear, no bias is what the exact optimum
    /// assumes) and compares with the exact optimum of `objective` under `scale`.
    public static func run(
        _ configuration: TrainingConfiguration, objective: Objective, scale: ScaleMode,
        burnInFraction: Double = 0.2, windowFraction: Double = 0.5,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> ComparisonResult {
        guard configuration.architecture == .linear else { throw InputError("compare trains a linear model") }
        let model = configuration.model
        guard ComplementStructure(model: model) != nil else {
            throw InputError("compare needs a complement-structured model (paper3, complement:K)")
        }
        let trainer = try Trainer(configuration)
        let result = try trainer.run { log, _ in progress?(log.epoch, configuration.epochs + 1) }
        let logs = result.logs
        let threat = try ThreatModel(norm: configuration.attack.norm, eps: configuration.attack.eps)
        // The exact optimum the run should converge to.
        var exactOptimizer = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: scale)
        exactOptimizer.tolerance = 1e-10
        let exact = try exactOptimizer.solve()
        let burnIn = Int((Double(logs.count) * burnInFraction).rounded(.up))
        let window = max(2, Int((Double(logs.count) * windowFraction).rounded(.up)))
        // The fixed-scale optimum at each epoch's scale, after the burn-in.
        let tracked = Array(logs.dropFirst(burnIn))
        let fixedRatios = try Parallel.map(tracked) { log -> Double in
            let s = ((log.w1 ?? 0) * (log.w1 ?? 0) + (log.w2 ?? 0) * (log.w2 ?? 0)).squareRoot()
            guard s > 0 else { return 0 }
            var o = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: .fixed(s))
            o.tolerance = 1e-9
            return try o.solve().ratio
        }
        progress?(configuration.epochs + 1, configuration.epochs + 1)
        var points: [ComparisonResult.Point] = []
        var trajectoryError = 0.0
        for (log, exactAtScale) in zip(tracked, fixedRatios) {
            let w1 = log.w1 ?? 0, w2 = log.w2 ?? 0
            let ratio = w1 != 0 ? w2 / w1 : 0
            points.append(.init(epoch: log.epoch, w1: w1, w2: w2, scale: (w1 * w1 + w2 * w2).squareRoot(), ratio: ratio, exactRatioAtScale: exactAtScale))
            trajectoryError = max(trajectoryError, abs(ratio - exactAtScale))
        }
        // Trained ratio: the average over the window (Polyak-style iterate averaging). Its
        // uncertainty: SGD noise is autocorrelated from epoch to epoch, so the standard error
        // comes from the means of 4 consecutive blocks of the window (batch means).
        let last = Array(points.suffix(window).map(\.ratio))
        let mean = last.reduce(0, +) / Double(last.count)
        let blocks = 4
        let size = max(1, last.count / blocks)
        let blockMeans = (0..<blocks).compactMap { b -> Double? in
            let slice = last.dropFirst(b * size).prefix(size)
            return slice.isEmpty ? nil : slice.reduce(0, +) / Double(slice.count)
        }
        let bm = blockMeans.reduce(0, +) / Double(blockMeans.count)
        let variance = blockMeans.reduce(0) { $0 + ($1 - bm) * ($1 - bm) } / Double(max(blockMeans.count - 1, 1))
        let standardError = (variance / Double(blockMeans.count)).squareRoot()
        let tolerance = 4 * standardError
        return ComparisonResult(
            points: points, trainedRatio: mean, exactRatio: exact.ratio, exactW1: exact.w1, exactW2: exact.w2,
            trajectoryError: trajectoryError, tolerance: tolerance,
            withinTolerance: abs(mean - exact.ratio) <= tolerance, burnIn: burnIn, window: window)
    }
}

/// The quasi-static check of THEORY.md section 8, judged epoch by epoch: R independent runs
/// (seeds seed, seed + 1, ...) from the configuration's initialisation; at every epoch each
/// run's projected w2/w1 is compared with the exact fixed-scale optimum at that run's own norm
/// s = ||(w1, w2)||, ratio*(s), and its PGD-measured CAS (centred gauge) with the exact CAS of
/// W*(s) (centred gauge, exact ce worst-case samples).
///
/// Band: [min, max] over the R runs of ratio - ratio*(s) (the empirical 1/(R+1) and R/(R+1)
/// quantiles of a run's deviation). An epoch is inside when the band contains 0: if runs
/// scattered symmetrically around the prediction, all R would fall on one side with probability
/// 2^(1-R) (0.8% for R = 8), so an epoch outside the band is a systematic deviation. The verdict
/// `withinTolerance` asks for at least `requiredFraction` of the epochs inside.
public struct JudgedTrajectory: Sendable, Equatable {
    public struct Epoch: Sendable, Equatable {
        public var epoch: Int
        /// Mean over the runs of ||(w1, w2)||.
        public var scale: Double
        /// Mean over the runs of w2/w1.
        public var ratio: Double
        /// Mean over the runs of ratio*(s_r).
        public var exactRatioAtScale: Double
        /// Mean over the runs of the PGD-measured CAS (centred gauge).
        public var cas: Double
        /// Mean over the runs of the exact CAS of W*(s_r) (centred gauge).
        public var exactCASAtScale: Double
        /// [min, max] over the runs of ratio - ratio*(s).
        public var bandLow: Double
        public var bandHigh: Double
        public var inside: Bool { bandLow <= 0 && 0 <= bandHigh }
    }

    public var epochs: [Epoch]
    public var seeds: Int
    public var fractionInside: Double
    public var requiredFraction: Double
    public var withinTolerance: Bool
    /// How the band is made, in words (for manifests and JSON).
    public var bandDefinition: String
    /// The PGD-measured CAS of the trained W held to its exact CAS (when asked for).
    public var attributionCheck: AttributionCheck?
}

/// Which trained models of a judged trajectory have their PGD-measured CAS held to the exact
/// CAS of the same W.
public struct AttributionCheckPlan: Sendable, Equatable {
    /// Epochs (1-based) checked in every run.
    public var epochs: [Int]
    public var samplesPerClass: Int
    public var pgdSteps: Int = 20
    public init(epochs: [Int], samplesPerClass: Int) {
        self.epochs = epochs
        self.samplesPerClass = samplesPerClass
    }

    /// First, middle and last epoch of a run of `count` epochs.
    public static func standardEpochs(_ count: Int) -> [Int] { Array(Set([1, (count + 1) / 2, count])).sorted() }
}

extension Comparison {
    /// - Parameters:
    ///   - exactThreat: the threat model of the exact prediction (default: the training attack's);
    ///     a different one gives a deliberately mis-specified comparison.
    public static func judgedTrajectory(
        _ configuration: TrainingConfiguration, objective: Objective, seeds: Int, exactThreat: ThreatModel? = nil,
        requiredFraction: Double = 0.9, tolerance: Double = 1e-9, attributionCheck plan: AttributionCheckPlan? = nil,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> JudgedTrajectory {
        guard configuration.architecture == .linear else { throw InputError("the judged trajectory trains a linear model") }
        guard (2...64).contains(seeds) else { throw InputError("--seeds \(seeds) is not allowed: the band needs 2...64 independent runs") }
        let model = configuration.model
        guard ComplementStructure(model: model) != nil else {
            throw InputError("the judged trajectory needs a complement-structured model (paper3, complement:K)")
        }
        let threat = try exactThreat ?? ThreatModel(norm: configuration.attack.norm, eps: configuration.attack.eps)
        let attributionThreat = try ThreatModel(norm: .linf, eps: threat.eps)
        let checked = Set(plan?.epochs ?? [])
        let runs = try Parallel.map(Array(0..<seeds)) { r -> (rows: [(scale: Double, ratio: Double, exact: Double, cas: Double, exactCAS: Double)], heads: [(UInt64, Int, Matrix)]) in
            var c = configuration
            c.seed = configuration.seed &+ UInt64(r)
            var heads: [(UInt64, Int, Matrix)] = []
            let logs = try Trainer(c).run { log, checkpoint in
                if checked.contains(log.epoch) { heads.append((c.seed, log.epoch, checkpoint.network.head)) }
            }.logs
            return (try logs.map { log in
                let w1 = log.w1 ?? 0, w2 = log.w2 ?? 0
                let s = (w1 * w1 + w2 * w2).squareRoot()
                var exactRatio = 0.0, exactCAS = 0.0
                if s > 0 {
                    var o = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: .fixed(s))
                    o.tolerance = tolerance
                    let optimum = try o.solve()
                    exactRatio = optimum.ratio
                    if threat.norm == .linf {
                        exactCAS = try ExactAttribution.symmetricFamilyCAS(model: model, threat: attributionThreat, w1: optimum.w1, w2: optimum.w2).adversarialCAS ?? 0
                    }
                }
                progress?(r, seeds)
                return (s, w1 != 0 ? w2 / w1 : 0, exactRatio, log.casCentred, exactCAS)
            }, heads)
        }
        var check: AttributionCheck? = nil
        if let plan {
            check = try AttributionCheck.run(
                model: model, models: runs.flatMap { $0.heads.map { (seed: $0.0, epoch: $0.1, weights: $0.2) } },
                threat: try ThreatModel(norm: configuration.attack.norm, eps: configuration.attack.eps),
                exactThreat: exactThreat.map { try ThreatModel(norm: .linf, eps: $0.eps) },
                samplesPerClass: plan.samplesPerClass, pgdSteps: plan.pgdSteps)
        }
        let r = Double(seeds)
        var epochs: [JudgedTrajectory.Epoch] = []
        for e in 0..<configuration.epochs {
            let rows = runs.map { $0.rows[e] }
            let deviations = rows.map { $0.ratio - $0.exact }
            epochs.append(.init(
                epoch: e + 1, scale: rows.reduce(0) { $0 + $1.scale } / r, ratio: rows.reduce(0) { $0 + $1.ratio } / r,
                exactRatioAtScale: rows.reduce(0) { $0 + $1.exact } / r, cas: rows.reduce(0) { $0 + $1.cas } / r,
                exactCASAtScale: rows.reduce(0) { $0 + $1.exactCAS } / r,
                bandLow: deviations.min() ?? 0, bandHigh: deviations.max() ?? 0))
        }
        let fraction = Double(epochs.filter(\.inside).count) / Double(max(epochs.count, 1))
        return JudgedTrajectory(
            epochs: epochs, seeds: seeds, fractionInside: fraction, requiredFraction: requiredFraction,
            withinTolerance: fraction >= requiredFraction,
            bandDefinition: "[min, max] over \(seeds) seeds of ratio - exact_ratio_at_scale (empirical quantiles 1/\(seeds + 1) and \(seeds)/\(seeds + 1)); an epoch is inside when the band contains 0 (all seeds on one side by chance: probability 2^(1-R) = \(pow(2.0, Double(1 - seeds)))); verdict: at least \(requiredFraction) of the epochs inside",
            attributionCheck: check)
    }
}

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
    /// Final trained w2/w1 (mean over the last `window` epochs, Polyak-style).
    public var trainedRatio: Double
    /// The exact unconstrained (or weight-decay) optimum's w2/w1.
    public var exactRatio: Double
    public var exactW1: Double
    public var exactW2: Double
    /// Largest |ratio - exact fixed-scale ratio at the same norm| after the burn-in.
    public var trajectoryError: Double
    /// Tolerance of the final comparison: 4 standard errors of the window mean (from batch
    /// means over the window) plus the drift between the window's two halves.
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
        burnInFraction: Double = 0.2, windowFraction: Double = 0.2,
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
        let last = points.suffix(window).map(\.ratio)
        let mean = last.reduce(0, +) / Double(last.count)
        // Standard error from two batch means, plus drift between the halves.
        let half = last.count / 2
        let first = last.prefix(half).reduce(0, +) / Double(max(half, 1))
        let second = last.suffix(last.count - half).reduce(0, +) / Double(max(last.count - half, 1))
        let variance = last.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(last.count - 1, 1))
        let standardError = (variance / Double(last.count)).squareRoot()
        let tolerance = 4 * standardError + abs(second - first)
        return ComparisonResult(
            points: points, trainedRatio: mean, exactRatio: exact.ratio, exactW1: exact.w1, exactW2: exact.w2,
            trajectoryError: trajectoryError, tolerance: tolerance,
            withinTolerance: abs(mean - exact.ratio) <= tolerance, burnIn: burnIn, window: window)
    }
}

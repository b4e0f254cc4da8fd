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

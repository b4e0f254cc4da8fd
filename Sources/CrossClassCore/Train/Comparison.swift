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

    /// Every compared epoch (after the burn-in); empty when they were streamed (`onPoint`).
    public var points: [Point]
    /// The last compared epoch.
    public var last: Point?
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
    /// Epochs whose fixed-scale optima are solved together (in parallel) while training goes
    /// on: bounds the memory of a run to this many logs, whatever the number of epochs.
    public static let defaultChunk = 32

    /// The refusal when the exact optimum (free scale, or fixed at ||w|| = `scale`) has no
    /// finite w2/w1, which the comparison judges: on the family's face w1 = 0 (infinite: a
    /// trained run heading there read as far outside any tolerance) or at W = 0 (undefined).
    /// nil for every other optimum.
    static func ratioRefusal(_ optimum: SymmetricOptimum, objective: Objective, threat: ThreatModel, at scale: Double?) -> InputError? {
        let at = "the exact optimum of \(objective) at eps \(threat.eps)\(scale.map { " and ||(w1, w2)|| = \($0)" } ?? "")"
        if optimum.onExclusiveFace {
            return InputError("\(at) is on the face w1 = 0 (no weight on the exclusive features): its w2/w1 is infinite, and the comparison judges w2/w1; `ccsim optimum` reports that optimum")
        }
        if optimum.atOrigin {
            return InputError("\(at) is W = 0 (every class mean within the adversary's reach): its w2/w1 is undefined, and the comparison judges w2/w1; `ccsim optimum` reports that optimum")
        }
        return nil
    }

    /// Trains with `configuration` (population, linear, no bias is what the exact optimum
    /// assumes) and compares with the exact optimum of `objective` under `scale`.
    ///
    /// `onPoint`, when given, receives each compared epoch (after the burn-in, with the exact
    /// optimum's ratio) as soon as its
    /// fixed-scale optimum is solved, and the result's `points` stay empty: memory then does
    /// not grow with the number of epochs (the window statistics are accumulated as the epochs
    /// arrive, in the same order, so every number is the same as with `points` kept).
    /// `chunk`: compared epochs solved together (the memory bound; no effect on any number).
    public static func run(
        _ configuration: TrainingConfiguration, objective: Objective, scale: ScaleMode,
        burnInFraction: Double = 0.2, windowFraction: Double = 0.5,
        progress: (@Sendable (Int, Int) -> Void)? = nil, chunk: Int = defaultChunk,
        onPoint: ((_ point: ComparisonResult.Point, _ exactRatio: Double) throws -> Void)? = nil
    ) throws -> ComparisonResult {
        precondition(chunk >= 1, "a chunk holds at least one epoch")
        guard configuration.architecture == .linear else { throw InputError("compare trains a linear model") }
        let model = configuration.model
        guard ComplementStructure(model: model) != nil else {
            throw InputError("compare needs a complement-structured model (paper3, complement:K)")
        }
        let threat = try ThreatModel(norm: configuration.attack.norm, eps: configuration.attack.eps)
        // The exact optimum the run should converge to.
        var exactOptimizer = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: scale)
        exactOptimizer.tolerance = 1e-10
        let exact = try exactOptimizer.solve()
        if let refusal = ratioRefusal(exact, objective: objective, threat: threat, at: nil) { throw refusal }
        let epochs = configuration.epochs
        let burnIn = Int((Double(epochs) * burnInFraction).rounded(.up))
        let window = max(2, Int((Double(epochs) * windowFraction).rounded(.up)))
        // The window is the last `inWindow` compared epochs, split into 4 consecutive blocks of
        // `blockSize` (batch means: SGD noise is autocorrelated from epoch to epoch).
        let compared = max(0, epochs - burnIn)
        let inWindow = min(window, compared)
        let blocks = 4
        let blockSize = max(1, inWindow / blocks)
        var windowSum = 0.0
        var blockSums = [Double](repeating: 0, count: blocks), blockCounts = [Int](repeating: 0, count: blocks)
        var trajectoryError = 0.0
        var kept: [ComparisonResult.Point] = []
        var last: ComparisonResult.Point?
        var index = 0
        func take(_ p: ComparisonResult.Point) throws {
            trajectoryError = max(trajectoryError, abs(p.ratio - p.exactRatioAtScale))
            let i = index - (compared - inWindow)
            if i >= 0 {
                windowSum += p.ratio
                let b = i / blockSize
                if b < blocks { blockSums[b] += p.ratio; blockCounts[b] += 1 }
            }
            index += 1
            last = p
            if let onPoint { try onPoint(p, exact.ratio) } else { kept.append(p) }
        }
        // The fixed-scale optimum at each compared epoch's scale, a chunk at a time.
        var pending: [EpochLog] = []
        func flush() throws {
            let ratios = try Parallel.map(pending) { log -> Double in
                let s = ((log.w1 ?? 0) * (log.w1 ?? 0) + (log.w2 ?? 0) * (log.w2 ?? 0)).squareRoot()
                guard s > 0 else { return 0 }
                var o = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: .fixed(s))
                o.tolerance = 1e-9
                let optimum = try o.solve()
                if let refusal = ratioRefusal(optimum, objective: objective, threat: threat, at: s) { throw refusal }
                return optimum.ratio
            }
            for (log, exactAtScale) in zip(pending, ratios) {
                let w1 = log.w1 ?? 0, w2 = log.w2 ?? 0
                try take(.init(epoch: log.epoch, w1: w1, w2: w2, scale: (w1 * w1 + w2 * w2).squareRoot(),
                               ratio: w1 != 0 ? w2 / w1 : 0, exactRatioAtScale: exactAtScale))
            }
            pending.removeAll(keepingCapacity: true)
        }
        let trainer = try Trainer(configuration)
        trainer.keepsLogs = false
        _ = try trainer.run { log, _ in
            progress?(log.epoch, epochs + 1)
            guard log.epoch > burnIn else { return }
            pending.append(log)
            if pending.count >= max(chunk, 1) { try flush() }
        }
        try flush()
        progress?(epochs + 1, epochs + 1)
        // Trained ratio: the average over the window (Polyak-style iterate averaging); its
        // uncertainty from the means of the 4 blocks.
        let mean = windowSum / Double(max(inWindow, 1))
        let blockMeans = (0..<blocks).compactMap { b -> Double? in
            blockCounts[b] > 0 ? blockSums[b] / Double(blockCounts[b]) : nil
        }
        let bm = blockMeans.reduce(0, +) / Double(blockMeans.count)
        let variance = blockMeans.reduce(0) { $0 + ($1 - bm) * ($1 - bm) } / Double(max(blockMeans.count - 1, 1))
        let standardError = (variance / Double(blockMeans.count)).squareRoot()
        let tolerance = 4 * standardError
        return ComparisonResult(
            points: kept, last: last, trainedRatio: mean, exactRatio: exact.ratio, exactW1: exact.w1, exactW2: exact.w2,
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

    /// Every epoch; empty when they were streamed (`onEpoch` of `Comparison.judgedTrajectory`).
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
        progress: (@Sendable (Int, Int) -> Void)? = nil, onEpoch: ((JudgedTrajectory.Epoch) throws -> Void)? = nil
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
        // Each run spools its per-epoch row (scale, ratio, exact ratio, CAS, exact CAS) to an
        // anonymous temporary file instead of keeping its logs: the band needs every run at
        // each epoch, and this way memory does not grow with the number of epochs.
        let runs = try Parallel.map(Array(0..<seeds)) { r -> (rows: RowSpool, heads: [(UInt64, Int, Matrix)]) in
            var c = configuration
            c.seed = configuration.seed &+ UInt64(r)
            var heads: [(UInt64, Int, Matrix)] = []
            let spool = try RowSpool(width: 5)
            let trainer = try Trainer(c)
            trainer.keepsLogs = false
            _ = try trainer.run { log, checkpoint in
                if checked.contains(log.epoch) { heads.append((c.seed, log.epoch, checkpoint.network.head)) }
                let w1 = log.w1 ?? 0, w2 = log.w2 ?? 0
                let s = (w1 * w1 + w2 * w2).squareRoot()
                var exactRatio = 0.0, exactCAS = 0.0
                if s > 0 {
                    var o = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: .fixed(s))
                    o.tolerance = tolerance
                    let optimum = try o.solve()
                    if let refusal = ratioRefusal(optimum, objective: objective, threat: threat, at: s) { throw refusal }
                    exactRatio = optimum.ratio
                    if threat.norm == .linf {
                        exactCAS = try ExactAttribution.symmetricFamilyCAS(model: model, threat: attributionThreat, w1: optimum.w1, w2: optimum.w2).adversarialCAS ?? 0
                    }
                }
                try spool.append([s, w1 != 0 ? w2 / w1 : 0, exactRatio, log.casCentred, exactCAS])
            }
            progress?(r, seeds)
            return (spool, heads)
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
        var inside = 0
        for run in runs { try run.rows.rewind() }
        for e in 0..<configuration.epochs {
            let rows = try runs.map { try $0.rows.next() }
            let deviations = rows.map { $0[1] - $0[2] }
            let epoch = JudgedTrajectory.Epoch(
                epoch: e + 1, scale: rows.reduce(0) { $0 + $1[0] } / r, ratio: rows.reduce(0) { $0 + $1[1] } / r,
                exactRatioAtScale: rows.reduce(0) { $0 + $1[2] } / r, cas: rows.reduce(0) { $0 + $1[3] } / r,
                exactCASAtScale: rows.reduce(0) { $0 + $1[4] } / r,
                bandLow: deviations.min() ?? 0, bandHigh: deviations.max() ?? 0)
            if epoch.inside { inside += 1 }
            if let onEpoch { try onEpoch(epoch) } else { epochs.append(epoch) }
        }
        let fraction = Double(inside) / Double(max(configuration.epochs, 1))
        return JudgedTrajectory(
            epochs: epochs, seeds: seeds, fractionInside: fraction, requiredFraction: requiredFraction,
            withinTolerance: fraction >= requiredFraction,
            bandDefinition: "[min, max] over \(seeds) seeds of ratio - exact_ratio_at_scale (empirical quantiles 1/\(seeds + 1) and \(seeds)/\(seeds + 1)); an epoch is inside when the band contains 0 (all seeds on one side by chance: probability 2^(1-R) = \(pow(2.0, Double(1 - seeds)))); verdict: at least \(requiredFraction) of the epochs inside",
            attributionCheck: check)
    }
}

/// Fixed-width rows of doubles written once and read back in order, in an anonymous temporary
/// file (`tmpfile`: unlinked at creation, so nothing is left behind on any exit). One thread at
/// a time uses a spool; it is handed from a worker to the caller when the worker is done.
final class RowSpool: @unchecked Sendable {
    let width: Int
    private let file: UnsafeMutablePointer<FILE>

    init(width: Int) throws {
        guard let f = tmpfile() else {
            throw NumericalError("cannot open a temporary file for the per-epoch rows: \(String(cString: strerror(errno)))")
        }
        self.width = width
        file = f
    }

    deinit { fclose(file) }

    func append(_ row: [Double]) throws {
        precondition(row.count == width)
        let written = row.withUnsafeBufferPointer { fwrite($0.baseAddress, MemoryLayout<Double>.size, width, file) }
        guard written == width else {
            throw NumericalError("cannot write the per-epoch rows to a temporary file: \(String(cString: strerror(errno)))")
        }
    }

    func rewind() throws {
        guard fflush(file) == 0, fseek(file, 0, SEEK_SET) == 0 else {
            throw NumericalError("cannot read back the per-epoch rows: \(String(cString: strerror(errno)))")
        }
    }

    func next() throws -> [Double] {
        var row = [Double](repeating: 0, count: width)
        let read = row.withUnsafeMutableBufferPointer { fread($0.baseAddress, MemoryLayout<Double>.size, width, file) }
        guard read == width else { throw NumericalError("the per-epoch rows ended early (\(read) of \(width) values read)") }
        return row
    }
}

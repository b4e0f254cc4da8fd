import Foundation
import GSL

/// The finite-sample version of the quasi-static check (THEORY.md section 8, "Squeezing the
/// loss"), judged epoch by epoch: R independent runs (seeds seed, seed + 1, ...; each draws its
/// own training set of n per class) of a bias-free linear model trained from the
/// configuration's initialisation on that fixed set. At every epoch each run's trained W (rows
/// centred: a softmax loss ignores a common row) is compared with the exact *empirical*
/// fixed-scale optimum on the same training set at the trained norm s = ||W||_F
/// (`EmpiricalRobustObjective.fixedScaleOptimum`: a certified convex solve over the full W),
/// through the symmetric-family projection w2/w1. Band and verdict as in `JudgedTrajectory`,
/// with one addition: an epoch at which some run's optimum is not certified (its certified
/// suboptimality bound above the tolerance) is undecided, and a trajectory with an undecided
/// epoch is never judged within tolerance (`verdict` says "undecided").
///
/// Attribution (when asked for): the exact population CAS (centred gauge, exact ce worst-case
/// l_inf samples, `ExactAttribution`) of each run's trained W and of the empirical optimum at
/// its norm, per epoch, as in the population trajectory. A W whose vertex-region quadrature does
/// not reach its tolerance in bounded work leaves that epoch's CAS empty (nil), not zero.
///
/// Robust overfitting (as formalised here): the epoch b with the best mean (over the runs)
/// exact population test robust accuracy is compared with the last epoch; every run must have
/// a lower exact test robust accuracy at the last epoch than at b (a sign test: all R runs on
/// one side by chance has probability 2^-R when the last epoch is as good as b), and the mean
/// gap is reported.
public struct EmpiricalTrajectory: Sendable, Equatable {
    public struct Epoch: Sendable, Equatable {
        public var epoch: Int
        /// Mean over the runs of ||W||_F (centred rows).
        public var scale: Double
        /// Mean over the runs of the trained w2/w1 (symmetric-family projection).
        public var ratio: Double
        /// Mean over the runs of the empirical optimum's w2/w1 at the run's own norm.
        public var empiricalRatioAtScale: Double
        /// [min, max] over the runs of ratio - empirical ratio at scale.
        public var bandLow: Double
        public var bandHigh: Double
        /// Mean and [min, max] over the runs of the exact population robust accuracy (test).
        public var testRobustAccuracy: Double
        public var testRobustAccuracyLow: Double
        public var testRobustAccuracyHigh: Double
        /// Mean over the runs of the exact empirical robust objective of the trained W and of
        /// the optimum at the same norm (the trained W can never be below the optimum).
        public var trainedObjective: Double
        public var optimumObjective: Double
        /// Largest certified suboptimality bound of the R optima, and whether all converged.
        public var optimumSuboptimality: Double
        public var optimumConverged: Bool
        /// Mean over the runs of the exact CAS (centred, adversarial) of the trained W and of
        /// the empirical optimum at its norm; nil when not computed or not certified for a run.
        public var exactCAS: Double?
        public var exactCASAtScale: Double?
        public var inside: Bool { bandLow <= 0 && 0 <= bandHigh }
        /// The epoch's band is compared with a certified prediction.
        public var decided: Bool { optimumConverged }
    }

    public var epochs: [Epoch]
    public var seeds: Int
    public var trainPerClass: Int
    /// Fraction of the decided epochs inside the band.
    public var fractionInside: Double
    public var requiredFraction: Double
    /// Epochs whose prediction (some run's empirical optimum) is not certified.
    public var undecidedEpochs: Int
    /// True only when every epoch is decided and at least `requiredFraction` of them are inside.
    public var withinTolerance: Bool
    /// "within tolerance", "outside tolerance" or "undecided (...)".
    public var verdict: String
    public var bandDefinition: String
    /// Epoch with the best mean exact test robust accuracy, and the means there and at the end.
    public var bestEpoch: Int
    public var bestTestRobustAccuracy: Double
    public var lastTestRobustAccuracy: Double
    /// Per run: exact test RA at `bestEpoch` minus at the last epoch.
    public var overfittingGaps: [Double]
    /// Every run lower at the last epoch than at `bestEpoch`.
    public var robustOverfitting: Bool
    public var overfittingDefinition: String
    /// The final epoch's trained and empirical-optimum w2/w1 (means), for the summary line.
    public var finalRatio: Double { epochs.last?.ratio ?? 0 }
    public var finalEmpiricalRatio: Double { epochs.last?.empiricalRatioAtScale ?? 0 }
}

extension Comparison {
    /// - Parameters:
    ///   - configuration: a linear, bias-free run with `trainPerClass` set (finite training set).
    ///   - objective: ce (l_inf) or hinge / worst-margin (the empirical objective's losses).
    ///   - exactThreat: the threat model of the prediction (default: the training attack's); a
    ///     different one gives a deliberately mis-specified comparison.
    ///   - tolerance: certified suboptimality asked of each empirical optimum.
    ///   - exactCAS: also the exact CAS of the trained W and of the optimum at every epoch
    ///     (l_inf, ce adversary: a closed form per W for K = 3, ExactAttribution's vertex strips).
    public static func empiricalTrajectory(
        _ configuration: TrainingConfiguration, objective: Objective, seeds: Int, exactThreat: ThreatModel? = nil,
        requiredFraction: Double = 0.9, tolerance: Double = 1e-5, maxIterations: Int = 400, exactCAS: Bool = false,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> EmpiricalTrajectory {
        guard configuration.architecture == .linear, !configuration.useBias else {
            throw InputError("the empirical trajectory trains a bias-free linear model")
        }
        guard let n = configuration.trainPerClass else {
            throw InputError("the empirical trajectory needs a finite training set (--n-train N)")
        }
        guard (2...64).contains(seeds) else { throw InputError("--seeds \(seeds) is not allowed: the band needs 2...64 independent runs") }
        let model = configuration.model
        let threat = try exactThreat ?? ThreatModel(norm: configuration.attack.norm, eps: configuration.attack.eps)
        typealias Row = (scale: Double, ratio: Double, optimumRatio: Double, ra: Double, trained: Double, optimum: Double, gap: Double, converged: Bool,
                         cas: Double?, optimumCAS: Double?)
        if exactCAS, threat.norm != .linf { throw InputError("the exact CAS of the finite-n trajectory needs --norm linf (the worst case is a box vertex)") }
        var attribution = try ExactAttribution(model: model, threat: ThreatModel(norm: .linf, eps: threat.eps))
        // The exact CAS is a reference for trained models (and for PGD estimates with errors
        // ~1e-2): 1e-6 on each E[sign] keeps every W's quadrature bounded.
        attribution.tolerance = 1e-6
        let exact = attribution
        @Sendable func centredCAS(_ w: Matrix) -> Double? {
            guard exactCAS else { return nil }
            guard let means = try? exact.classMeans(LinearClassifier(weights: w), samples: .adversarial), means.converged else { return nil }
            return Attribution(classMeans: means.means, head: w, gauge: .centred).cas
        }
        let runs = try Parallel.map(Array(0..<seeds)) { r -> [Row] in
            var c = configuration
            c.seed = configuration.seed &+ UInt64(r)
            let trainer = try Trainer(c)
            guard let sample = trainer.train else { throw InputError("the empirical trajectory needs a finite training set") }
            let empirical = try EmpiricalRobustObjective(model: model, sample: sample, threat: threat, objective: objective)
            var weights: [Matrix] = []
            let logs = try trainer.run { _, checkpoint in weights.append(checkpoint.network.head) }.logs
            var rows: [Row] = []
            var start: Matrix? = nil
            for (log, w) in zip(logs, weights) {
                let centred = AttributionGauge.centred.apply(w)
                let s = centred.frobeniusNormSquared.squareRoot()
                let trainedRatio = log.w1.map { $0 != 0 ? (log.w2 ?? 0) / $0 : 0 } ?? 0
                guard s > 0 else {
                    rows.append((0, trainedRatio, 0, log.testRobustAccuracy, 0, 0, 0, true, exactCAS ? 0 : nil, exactCAS ? 0 : nil))
                    continue
                }
                let optimum = try empirical.fixedScaleOptimum(
                    scale: s, start: start.map { Self.rescaled($0, to: s) }, tolerance: tolerance, maxIterations: maxIterations)
                start = optimum.weights
                let trainedValue = try empirical.evaluate(centred).value
                rows.append((s, trainedRatio, optimum.w1 != 0 ? optimum.w2 / optimum.w1 : 0, log.testRobustAccuracy,
                             trainedValue, optimum.value, optimum.suboptimalityBound, optimum.converged,
                             centredCAS(centred), centredCAS(optimum.weights)))
            }
            progress?(r, seeds)
            return rows
        }
        let rr = Double(seeds)
        var epochs: [EmpiricalTrajectory.Epoch] = []
        for e in 0..<configuration.epochs {
            let rows = runs.map { $0[e] }
            let deviations = rows.map { $0.ratio - $0.optimumRatio }
            let ras = rows.map(\.ra)
            let cas = rows.compactMap(\.cas), optimumCAS = rows.compactMap(\.optimumCAS)
            epochs.append(.init(
                epoch: e + 1, scale: rows.reduce(0) { $0 + $1.scale } / rr, ratio: rows.reduce(0) { $0 + $1.ratio } / rr,
                empiricalRatioAtScale: rows.reduce(0) { $0 + $1.optimumRatio } / rr,
                bandLow: deviations.min() ?? 0, bandHigh: deviations.max() ?? 0,
                testRobustAccuracy: ras.reduce(0, +) / rr, testRobustAccuracyLow: ras.min() ?? 0, testRobustAccuracyHigh: ras.max() ?? 0,
                trainedObjective: rows.reduce(0) { $0 + $1.trained } / rr, optimumObjective: rows.reduce(0) { $0 + $1.optimum } / rr,
                optimumSuboptimality: rows.map(\.gap).max() ?? 0, optimumConverged: rows.allSatisfy(\.converged),
                exactCAS: cas.count == seeds ? cas.reduce(0, +) / rr : nil,
                exactCASAtScale: optimumCAS.count == seeds ? optimumCAS.reduce(0, +) / rr : nil))
        }
        let decided = epochs.filter(\.decided)
        let undecided = epochs.count - decided.count
        let fraction = Double(decided.filter(\.inside).count) / Double(max(decided.count, 1))
        let within = undecided == 0 && fraction >= requiredFraction
        let verdict = undecided > 0
            ? "undecided (\(undecided) of \(epochs.count) epochs rest on an empirical optimum not certified to \(tolerance))"
            : (within ? "within tolerance" : "outside tolerance")
        let overfitting = Self.robustOverfitting(runs.map { $0.map(\.ra) })
        let best = overfitting.bestEpoch - 1, last = epochs.count - 1
        let gaps = overfitting.gaps
        return EmpiricalTrajectory(
            epochs: epochs, seeds: seeds, trainPerClass: n, fractionInside: fraction, requiredFraction: requiredFraction,
            undecidedEpochs: undecided, withinTolerance: within, verdict: verdict,
            bandDefinition: "[min, max] over \(seeds) seeds (each its own training set of \(n) per class) of ratio - empirical_ratio_at_scale, the exact empirical fixed-scale optimum (full W, centred, certified to \(tolerance)) at the run's ||W||_F; an epoch is inside when the band contains 0 (all seeds on one side by chance: probability 2^(1-R) = \(pow(2.0, Double(1 - seeds)))); verdict: at least \(requiredFraction) of the epochs inside, and every epoch's optimum certified (else undecided)",
            bestEpoch: best + 1, bestTestRobustAccuracy: epochs[best].testRobustAccuracy,
            lastTestRobustAccuracy: epochs[last].testRobustAccuracy, overfittingGaps: gaps,
            robustOverfitting: overfitting.holds,
            overfittingDefinition: "robust overfitting: every one of the \(seeds) seeds has a lower exact population test robust accuracy at the last epoch than at the epoch with the best mean (sign test; chance 2^-R = \(pow(2.0, Double(-seeds))) when the last epoch is as good)")
    }

    /// Robust overfitting as formalised in `EmpiricalTrajectory`, from per-run, per-epoch test
    /// robust accuracies (runs x epochs): the epoch (1-based) of the best mean, each run's gap
    /// between it and the last epoch, and whether every gap is > 0.
    public static func robustOverfitting(_ accuracies: [[Double]]) -> (bestEpoch: Int, gaps: [Double], holds: Bool) {
        guard let count = accuracies.first?.count, count > 0 else { return (0, [], false) }
        let means: [Double] = (0..<count).map { (e: Int) -> Double in accuracies.reduce(0.0) { $0 + $1[e] } / Double(accuracies.count) }
        let best = means.indices.max { means[$0] < means[$1] }!
        let gaps = accuracies.map { $0[best] - $0[count - 1] }
        return (best + 1, gaps, best != count - 1 && gaps.allSatisfy { $0 > 0 })
    }

    /// `w` scaled to Frobenius norm s (unchanged when it is zero).
    static func rescaled(_ w: Matrix, to s: Double) -> Matrix {
        let norm = w.frobeniusNormSquared.squareRoot()
        return norm > 0 ? w.scaled(by: s / norm) : w
    }
}

/// The PGD-measured attribution of trained linear models held to the exact attribution of the
/// same W (THEORY.md section 6; checks the attribution code and PGD together).
///
/// For each (run, epoch) a fresh balanced test sample (its own seed) is attacked with PGD-k
/// against ce (random start, step eps/4), the sampled CAS (centred gauge) is computed from the
/// adversarial inputs, and its standard error from a seeded bootstrap over the sample (resampled
/// within classes, B replicates). The exact CAS of the same W comes from `ExactAttribution`
/// (ce adversary, l_inf). A point is inside when |sampled - exact| <= 4 standard errors + the
/// exact value's error bound + 1e-9; the verdict asks for `requiredFraction` of the points.
public struct AttributionCheck: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var seed: UInt64
        public var epoch: Int
        public var sampledCAS: Double
        /// nil when the exact class means could not be computed to their tolerance in bounded
        /// work (a NumericalError of the vertex-region quadrature): the point is undecided.
        public var exactCAS: Double?
        public var standardError: Double
        public var tolerance: Double
        public var exactMethod: String
        public var decided: Bool { exactCAS != nil }
        public var inside: Bool { exactCAS.map { abs(sampledCAS - $0) <= tolerance } ?? false }
    }

    public var points: [Point]
    public var samplesPerClass: Int
    public var pgdSteps: Int
    /// Fraction of the decided points inside; the verdict needs at least one decided point.
    public var fractionInside: Double
    public var undecided: Int
    public var requiredFraction: Double
    public var withinTolerance: Bool
    public var definition: String

    /// - Parameters:
    ///   - models: (seed, epoch, W) triples.
    ///   - threat: the l_inf threat model of the samples (exact and PGD).
    ///   - exactThreat: the exact side's threat model (default `threat`); a different one makes
    ///     a deliberately mis-specified check.
    public static func run(
        model: DataModel, models: [(seed: UInt64, epoch: Int, weights: Matrix)], threat: ThreatModel, exactThreat: ThreatModel? = nil,
        samplesPerClass: Int, pgdSteps: Int = 20, bootstrap: Int = 200, requiredFraction: Double = 0.9
    ) throws -> AttributionCheck {
        guard threat.norm == .linf else { throw InputError("the attribution check needs --norm linf (the exact worst case is a box vertex)") }
        guard (10...1_000_000).contains(samplesPerClass) else {
            throw InputError("--cas-samples \(samplesPerClass) is not allowed: it must be in 10...1000000 per class")
        }
        let k = model.classCount, d = model.dimension
        var exact = try ExactAttribution(model: model, threat: exactThreat ?? threat)
        // The sampling error of the PGD side is ~1e-2; 1e-5 on each E[sign] is ample, and the
        // regions' indicator integrands do not reach 1e-9 in bounded work for every trained W.
        exact.tolerance = 1e-5
        let exactAttribution = exact
        let attack = AttackConfiguration(norm: .linf, eps: threat.eps, steps: pgdSteps, randomStart: true)
        let points = try Parallel.map(models) { entry -> Point in
            let classifier = LinearClassifier(weights: entry.weights)
            var means: ExactAttribution.ClassMeans? = nil
            do { means = try exactAttribution.classMeans(classifier, samples: .adversarial) } catch is NumericalError {}
            let exactCAS = means.map { Attribution(classMeans: $0.means, head: entry.weights, gauge: .centred).cas }
            // The sample and the attack have their own streams (seed, epoch), so the check does
            // not depend on how many points are checked or in which order.
            let random = RandomSource(seed: entry.seed &* 1_000_003 &+ UInt64(entry.epoch) &+ 0xCA5)
            let sample = Sampler(model: model).balancedSample(perClass: samplesPerClass, random: random)
            var network = Network(architecture: .linear, inputs: d, hidden: 0, classes: k, useBias: false)
            network.parameters.replaceSubrange(0..<(k * d), with: entry.weights.storage)
            let workspace = Workspace(network: network, batch: sample.count)
            let targets = BatchLoss.targets(.ce, labels: sample.labels[...], k: k, teacherLogits: nil)
            let adversarial = PGD(attack).attack(network: network, inputs: sample.inputs.storage, count: sample.count,
                                                 objective: .softTargets(targets), workspace: workspace, random: random).inputs
            let sampled = Attribution(features: adversarial, labels: sample.labels, head: entry.weights, gauge: .centred).cas
            // Bootstrap within classes.
            let members = (0..<k).map { y in sample.labels.indices.filter { sample.labels[$0] == y } }
            var replicates: [Double] = []
            for _ in 0..<bootstrap {
                var classMeans = [[Double]](repeating: [Double](repeating: 0, count: d), count: k)
                for y in 0..<k {
                    let m = members[y]
                    for _ in 0..<m.count {
                        let i = m[random.integer(below: m.count)]
                        for j in 0..<d { classMeans[y][j] += adversarial[i * d + j] }
                    }
                    for j in 0..<d { classMeans[y][j] /= Double(m.count) }
                }
                replicates.append(Attribution(classMeans: classMeans, head: entry.weights, gauge: .centred).cas)
            }
            let mean = replicates.reduce(0, +) / Double(bootstrap)
            let se = (replicates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(bootstrap - 1, 1))).squareRoot()
            // The exact CAS's error: only quadrature-based class means have a bound > 0 (about
            // eps * 1e-9); it enters with a generous factor, negligible next to the sampling error.
            let exactError = (means?.errorBound ?? 0) * Double(k * k) * 10
            return Point(seed: entry.seed, epoch: entry.epoch, sampledCAS: sampled, exactCAS: exactCAS,
                         standardError: se, tolerance: 4 * se + exactError + 1e-9,
                         exactMethod: means?.method.rawValue ?? "undecided (vertex-region quadrature did not reach its tolerance)")
        }
        let decided = points.filter(\.decided)
        let fraction = Double(decided.filter(\.inside).count) / Double(max(decided.count, 1))
        return AttributionCheck(
            points: points, samplesPerClass: samplesPerClass, pgdSteps: pgdSteps, fractionInside: fraction,
            undecided: points.count - decided.count, requiredFraction: requiredFraction,
            withinTolerance: !decided.isEmpty && fraction >= requiredFraction,
            definition: "CAS (centred) on \(samplesPerClass) PGD-\(pgdSteps) (ce, random start) test samples per class vs the exact CAS of the same W (ce worst case); inside when |difference| <= 4 bootstrap standard errors (\(bootstrap) replicates, within classes) + the exact error; points whose exact value could not be certified (closed form for ce with K = 3, vertex-region quadrature otherwise) are undecided and left out; verdict: at least \(requiredFraction) of the decided points inside (and at least one decided)")
    }
}

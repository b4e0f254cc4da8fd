import Foundation

/// `dynamics-grid`: the two-layer study of issue 11 item 6. Adversarial training of a two-layer
/// ReLU network on a finite training set (with pure-noise coordinates, so that robust
/// overfitting is possible) over eps x noise dims x n per class x width x objective x seed, one
/// row per epoch with the robust train/test metrics and the attribution metric in both gauges on
/// both sample kinds: adversarial (the PGD test samples, as the paper) and natural (the clean
/// test samples).
public struct DynamicsGridSetup: Sendable {
    public struct Settings: Sendable, Equatable {
        // About a minute of CPU for the default grid (27 runs) on this machine.
        public var epochs = 100
        /// Grid axes (each run uses one value of each).
        public var trainPerClass = [100]
        /// nil: the model's own noise dimensions.
        public var noiseDimensions: [Int]? = nil
        public var widths = [64]
        public var testPerClass = 500
        public var batch = 64
        public var learningRate = 0.1
        public var pgdSteps = 10
        public var evaluationPGDSteps = 20
        public var teacherEpochs = 30
        public var seeds = 3
        public var seed: UInt64 = 1
        public init() {}
    }

    public static let header = [
        "eps", "noise_dims", "n_train", "width", "objective", "seed", "epoch", "weight_norm", "train_robust_loss", "train_natural_acc",
        "train_robust_acc", "test_natural_acc", "test_robust_acc", "cas", "cas_centred", "mean_cross_similarity", "mean_cross_similarity_centred",
        "cas_natural", "cas_natural_centred", "mean_cross_similarity_natural", "mean_cross_similarity_natural_centred",
    ]

    /// One training run per (eps, noise dims, n, width, objective, seed), in that order (eps
    /// outermost, seed innermost).
    public static func grid(
        model: DataModel, modelFlags: [String: JSONValue], norm: Norm, eps: Grid, specs: [TrainingSpec], settings: Settings
    ) throws -> GridJob {
        guard (1...64).contains(settings.seeds) else { throw InputError("--seeds \(settings.seeds) is not allowed: it must be in 1...64") }
        let noiseAxis = settings.noiseDimensions ?? [model.noiseDimensions]
        for (name, values) in [("--n-train", settings.trainPerClass), ("--width", settings.widths), ("--noise-dims-grid", noiseAxis)] {
            guard !values.isEmpty, Set(values).count == values.count else {
                throw InputError("\(name) \(values.map(String.init).joined(separator: ",")) is not allowed: it needs at least one value and no repeats")
            }
        }
        struct Item: Sendable { var configuration: TrainingConfiguration; var name: String; var seedIndex: Int }
        var items: [Item] = []
        for e in eps.values {
          for noise in noiseAxis {
            let runModel = noise == model.noiseDimensions ? model : try model.with(noiseDimensions: noise, noiseSigma: model.noiseSigma)
            for trainPerClass in settings.trainPerClass {
             for width in settings.widths {
              for spec in specs {
                let (loss, specDecay) = try spec.trainingLoss()
                if case .hinge = loss {
                    throw InputError("dynamics-grid trains ce, ls, kd and trades; hinge is a linear-model objective here")
                }
                for r in 0..<settings.seeds {
                    var c = TrainingConfiguration(model: runModel, eps: e, norm: norm)
                    c.architecture = .twoLayer
                    c.width = width
                    c.loss = loss
                    c.epochs = settings.epochs
                    c.batchSize = settings.batch
                    c.learningRate = settings.learningRate
                    c.schedule = .step
                    c.momentum = 0.9
                    c.weightDecay = specDecay ?? TrainingDefaults.weightDecay
                    c.trainPerClass = trainPerClass
                    c.testPerClass = settings.testPerClass
                    c.trainEvaluationSize = trainPerClass * model.classCount
                    c.seed = settings.seed &+ UInt64(r)
                    c.attack = AttackConfiguration(norm: norm, eps: e, steps: settings.pgdSteps, randomStart: true)
                    c.evaluationAttack = AttackConfiguration(norm: norm, eps: e, steps: settings.evaluationPGDSteps, stepSize: e / 4, randomStart: true)
                    try c.validate()
                    items.append(Item(configuration: c, name: spec.description, seedIndex: r))
                }
              }
             }
            }
          }
        }
        var config = modelFlags
        config["norm"] = .string(norm.rawValue)
        config["eps"] = .string(eps.text)
        config["objectives"] = .array(specs.map { .string($0.description) })
        config["epochs"] = .number(Double(settings.epochs))
        config["n_train"] = JSONValue(settings.trainPerClass.map(Double.init))
        config["noise_dims"] = JSONValue(noiseAxis.map(Double.init))
        config["n_test"] = .number(Double(settings.testPerClass))
        config["width"] = JSONValue(settings.widths.map(Double.init))
        config["batch"] = .number(Double(settings.batch))
        config["lr"] = .number(settings.learningRate)
        config["schedule"] = .string("step (lr /10 at 50% and 75% of the epochs)")
        config["weight_decay"] = .number(TrainingDefaults.weightDecay)
        config["pgd_steps"] = .number(Double(settings.pgdSteps))
        config["eval_pgd_steps"] = .number(Double(settings.evaluationPGDSteps))
        config["teacher_epochs"] = .number(Double(settings.teacherEpochs))
        config["seeds"] = .number(Double(settings.seeds))
        config["seed"] = .number(Double(settings.seed))
        config["resolved_model"] = model.manifestJSON
        config["cas"] = .string("cas: raw gauge (head as it is, the paper's code); cas_centred: head rows minus their mean; both on the PGD test samples (ce); cas_natural, cas_natural_centred: the same on the clean test samples")
        config["grid_order"] = .string("eps, noise_dims, n_train, width, objective, seed (seed innermost)")
        let teacherEpochs = settings.teacherEpochs
        let frozen = items
        return GridJob(command: "dynamics-grid", header: header, itemCount: items.count, configuration: config) { index in
            let item = frozen[index]
            let c = item.configuration
            var teacher: Network? = nil
            if case .kd = c.loss { teacher = try TeacherSource.natural(epochs: teacherEpochs).network(for: c) }
            let trainer = try Trainer(c, teacher: teacher)
            // Natural-sample attribution of each epoch's network on the clean test sample.
            let test = trainer.test
            var natural: [(raw: Attribution, centred: Attribution)] = []
            let logs = try trainer.run { _, checkpoint in
                let network = checkpoint.network
                let workspace = Workspace(network: network, batch: test.count)
                let features = test.inputs.storage.withUnsafeBufferPointer { network.features($0.baseAddress!, count: test.count, workspace) }
                natural.append((Attribution(features: features, labels: test.labels, head: network.head, gauge: .raw),
                                Attribution(features: features, labels: test.labels, head: network.head, gauge: .centred)))
            }.logs
            return zip(logs, natural).map { l, n in
                [.double(c.attack.eps), .int(c.model.noiseDimensions), .int(c.trainPerClass ?? 0), .int(c.width), .string(item.name),
                 .int(Int(c.seed)), .int(l.epoch), .double(l.weightNorm), .double(l.trainRobustLoss),
                 .double(l.trainNaturalAccuracy), .double(l.trainRobustAccuracy), .double(l.testNaturalAccuracy), .double(l.testRobustAccuracy),
                 .double(l.cas), .double(l.casCentred), .double(l.meanCrossSimilarity), .double(l.meanCrossSimilarityCentred),
                 .double(n.raw.cas), .double(n.centred.cas), .double(n.raw.meanOffDiagonal), .double(n.centred.meanOffDiagonal)]
            }
        }
    }
}

/// The paper's dynamics claim ("AT first learns, then drops cross-class features": CAS rises,
/// peaks near the best checkpoint, then falls), as formalised here, per (eps, noise dims, n,
/// width, objective, samples, gauge) cell of a dynamics grid (samples: adversarial, the paper's,
/// or natural). With b the epoch of the best mean (over seeds) test robust accuracy:
/// - robust overfitting: every seed has a lower test robust accuracy at the last epoch than at b;
/// - learns: every seed has a higher CAS at b than at epoch 1;
/// - drops: every seed has a lower CAS at the last epoch than at b.
/// The claim holds in a cell when all three do. "Every seed" is a sign test: with R seeds,
/// all on one side by chance has probability 2^-R (an equality counts against the claim).
public enum DynamicsVerdict {
    public static let header = [
        "eps", "noise_dims", "n_train", "width", "objective", "samples", "gauge", "seeds", "best_epoch", "last_epoch", "test_robust_acc_best", "test_robust_acc_last",
        "cas_epoch1", "cas_best", "cas_last", "cas_peak_epoch", "overfitting_seeds", "learns_seeds", "drops_seeds",
        "robust_overfitting", "claim_holds",
    ]

    /// The verdict table from a dynamics-grid table (any row order).
    public static func table(from grid: CSVTable) throws -> CSVTable {
        func column(_ name: String) throws -> Int {
            guard let i = grid.header.firstIndex(of: name) else { throw InputError("the dynamics table has no column '\(name)'") }
            return i
        }
        let (seed, epoch, ra) = (try column("seed"), try column("epoch"), try column("test_robust_acc"))
        let keys = try ["eps", "noise_dims", "n_train", "width", "objective"].map(column)
        let gauges = [("adversarial", "raw", try column("cas")), ("adversarial", "centred", try column("cas_centred")),
                      ("natural", "raw", try column("cas_natural")), ("natural", "centred", try column("cas_natural_centred"))]
        // cell -> seed -> epoch -> row
        var cells: [String: [String: [Int: [String]]]] = [:]
        var order: [String] = []
        for row in grid.rows {
            let key = keys.map { row[$0] }.joined(separator: "\u{1}")
            if cells[key] == nil { order.append(key) }
            cells[key, default: [:]][row[seed], default: [:]][Int(row[epoch]) ?? 0] = row
        }
        var out = CSVTable(header: header)
        for key in order {
            let bySeed = cells[key]!
            let seeds = bySeed.keys.sorted()
            let epochs = bySeed[seeds[0]]!.keys.sorted()
            guard seeds.allSatisfy({ bySeed[$0]!.keys.sorted() == epochs }), let first = epochs.first, let last = epochs.last else {
                throw InputError("the dynamics table is incomplete for \(key.replacingOccurrences(of: "\u{1}", with: " ")): every seed needs the same epochs")
            }
            func value(_ s: String, _ e: Int, _ c: Int) -> Double { Double(bySeed[s]![e]![c]) ?? .nan }
            func mean(_ e: Int, _ c: Int) -> Double { seeds.reduce(0) { $0 + value($1, e, c) } / Double(seeds.count) }
            let best = epochs.max { mean($0, ra) < mean($1, ra) }!
            let overfit = seeds.filter { value($0, best, ra) > value($0, last, ra) }.count
            let parts = key.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
            for (samples, gauge, c) in gauges {
                let learns = seeds.filter { value($0, best, c) > value($0, first, c) }.count
                let drops = seeds.filter { value($0, last, c) < value($0, best, c) }.count
                let peak = epochs.max { mean($0, c) < mean($1, c) }!
                let overfits = overfit == seeds.count
                out.append(parts.map { .string($0) } + [.string(samples), .string(gauge), .int(seeds.count), .int(best), .int(last),
                            .double(mean(best, ra)), .double(mean(last, ra)), .double(mean(first, c)), .double(mean(best, c)),
                            .double(mean(last, c)), .int(peak), .int(overfit), .int(learns), .int(drops), .bool(overfits),
                            .bool(overfits && learns == seeds.count && drops == seeds.count)])
            }
        }
        return out
    }
}

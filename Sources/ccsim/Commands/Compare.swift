import ArgumentParser
import CrossClass
import Foundation

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Population AT of a linear model, compared with the exact optimum.",
        discussion: """
            Trains a bias-free linear model on fresh samples every step and prints trained_ratio \
            (mean w2/w1 over the second half of the epochs), exact_ratio (exact optimum of the same objective, \
            scale convention: free, or centred weight decay when --weight-decay > 0), trajectory_error \
            (largest gap, after a 20% burn-in, between the trained w2/w1 and the exact fixed-scale \
            optimum at the same ||(w1, w2)||), the tolerance (4 standard errors of that mean, from 4 block \
            means: SGD noise is autocorrelated) and within_tolerance.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "ce, ls[:alpha], trades[:beta] or hinge[:kappa] (hinge needs --weight-decay).")
    var objective: String = "ce"

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Perturbation radius.")
    var eps: Double

    @Option(help: "Epochs.")
    var epochs: Int = 60

    @Option(name: .customLong("steps-per-epoch"), help: "SGD steps per epoch.")
    var stepsPerEpoch: Int = 100

    @Option(help: "Batch size.")
    var batch: Int = 256

    @Option(help: "Learning rate (cosine schedule).")
    var lr: Double = 0.5

    @Option(name: .customLong("weight-decay"), help: "Weight decay (0: free scale).")
    var weightDecay: Double = 0

    @Option(name: .customLong("pgd-steps"), help: "PGD steps.")
    var pgdSteps: Int = 10

    @Option(name: .customLong("pgd-restarts"), help: "PGD restarts (default 8 for ls and trades, whose inner maximum has several local maxima that one PGD run misses; 1 otherwise).")
    var pgdRestartsFlag: Int?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Also write the per-epoch comparison as CSV.")
    var out: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        try CheckFlag.eps(eps)
        let threatNorm = try Norm.parse(norm)
        let loss = try TrainingLoss.parse(objective)
        try CheckFlag.nonNegative(weightDecay, "--weight-decay")
        let exactObjective: Objective
        switch loss {
        case .ce: exactObjective = .ce
        case .ls(let a): exactObjective = .ls(alpha: a)
        case .trades(let b): exactObjective = .trades(beta: b)
        case .hinge(let k):
            guard weightDecay > 0 else { throw InputError("--objective hinge needs --weight-decay > 0 (its free-scale optimum does not exist)") }
            exactObjective = .hinge(kappa: k)
        case .kd: throw InputError("compare supports ce, ls, trades and hinge (kd has no exact counterpart)")
        }
        let pgdRestarts: Int
        switch loss {
        case .ls, .trades: pgdRestarts = pgdRestartsFlag ?? 8
        default: pgdRestarts = pgdRestartsFlag ?? 1
        }
        var c = TrainingConfiguration(model: model, eps: eps, norm: threatNorm)
        c.loss = loss
        c.useBias = false
        c.trainPerClass = nil
        c.stepsPerEpoch = stepsPerEpoch
        c.batchSize = batch
        c.epochs = epochs
        c.learningRate = lr
        c.schedule = .cosine
        c.momentum = 0.9
        c.weightDecay = weightDecay
        c.seed = seed
        c.zeroInitialisation = true
        c.testPerClass = 200
        c.trainEvaluationSize = 300
        c.attack = AttackConfiguration(norm: threatNorm, eps: eps, steps: pgdSteps, randomStart: true, restarts: pgdRestarts)
        c.evaluationAttack = AttackConfiguration(norm: threatNorm, eps: eps, steps: 10, randomStart: true)
        if let out { try Emit.checkWritable(out) }
        let scale: ScaleMode = weightDecay > 0 ? .centeredWeightDecay(weightDecay) : .free
        let progress = Progress(total: epochs + 1, label: "compare")
        let r = try Comparison.run(c, objective: exactObjective, scale: scale, progress: { progress.report($0, $1) })
        let result: [String: JSONValue] = [
            "model": .string(model.name), "eps": .number(eps), "norm": .string(threatNorm.rawValue),
            "objective": .string(loss.description), "scale": .string(scale.description),
            "trained_ratio": .number(r.trainedRatio), "exact_ratio": .number(r.exactRatio),
            "exact_w1": .number(r.exactW1), "exact_w2": .number(r.exactW2),
            "trained_w1": .number(r.points.last?.w1 ?? 0), "trained_w2": .number(r.points.last?.w2 ?? 0),
            "trajectory_error": .number(r.trajectoryError), "tolerance": .number(r.tolerance),
            "within_tolerance": .bool(r.withinTolerance), "burn_in_epochs": .number(Double(r.burnIn)),
            "window_epochs": .number(Double(r.window)), "pgd_steps": .number(Double(pgdSteps)), "pgd_restarts": .number(Double(pgdRestarts)),
        ]
        if let out {
            var table = CSVTable(header: ["epoch", "w1", "w2", "scale", "ratio", "exact_ratio_at_scale", "exact_ratio"])
            for p in r.points {
                table.append([.int(p.epoch), .double(p.w1), .double(p.w2), .double(p.scale), .double(p.ratio), .double(p.exactRatioAtScale), .double(r.exactRatio)])
            }
            try Emit.csv(table, to: out, command: "compare", configuration: result)
        }
        if json { Emit.json(result) } else {
            print("\(model.name) eps=\(eps) \(loss): trained w2/w1 \(r.trainedRatio), exact \(r.exactRatio) (tolerance \(r.tolerance): \(r.withinTolerance ? "within" : "OUTSIDE")); trajectory error \(r.trajectoryError)")
        }
    }
}

import ArgumentParser
import CrossClass
import Foundation
import GSL

/// The benchmark executable: each subcommand times one workload through the library and prints
/// one JSON object (seconds, work counts, rates, peak RSS, and the computed values so that the
/// driver can check that ccsim and the reference computed the same thing).
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ccsim-bench",
        abstract: "Timed ccsim workloads for bench/run (one JSON object on stdout).",
        subcommands: [RACommand.self, SweepBench.self, OptimumBench.self, ScalingBench.self, ToleranceScalingBench.self, TrainEpochCommand.self, TrainCheckCommand.self, GemmCommand.self])
}

/// Options every workload shares.
struct Common: ParsableArguments {
    @Option(help: "BLAS threads (OpenBLAS) and worker threads for parallel workloads.")
    var threads: Int = 1

    func apply() {
        BLAS.setThreads(threads)
    }
}

// MARK: ra

struct RACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ra",
        abstract: "Exact robust accuracy of W(1, r) on paper3 over a grid of r = w2/w1, N evaluations.")

    @OptionGroup var common: Common
    @Option(help: "Number of timed evaluations (cycling over the grid).") var evaluations: Int = 20_000
    @Option(help: "Grid points for r = w2/w1 in [0, rmax].") var gridPoints: Int = 50
    @Option(help: "Largest r.") var rmax: Double = 1.5
    @Option(help: "Perturbation radius (l_inf).") var eps: Double = 0.3
    @Option(help: "Feature std.") var sigma: Double = 0.5
    @Option(help: "Feature mean.") var mu: Double = 1
    @Option(help: "Absolute quadrature tolerance.") var tolerance: Double = 1e-10

    func run() throws {
        common.apply()
        let model = try DataModel.paper3(mu: mu, sigma: sigma)
        let threat = try ThreatModel(norm: .linf, eps: eps)
        let grid = (0..<gridPoints).map { rmax * Double($0) / Double(gridPoints - 1) }
        // Untimed pass: the values for the checksum (and a warm-up).
        let results = try grid.map { try RobustAccuracy.symmetric(model: model, w1: 1, w2: $0, threat: threat, tolerance: tolerance) }
        var sum = 0.0
        let start = now()
        for e in 0..<evaluations {
            sum += try RobustAccuracy.symmetric(model: model, w1: 1, w2: grid[e % gridPoints], threat: threat, tolerance: tolerance).value
        }
        let seconds = now() - start
        try emit([
            "workload": "ra", "implementation": "ccsim", "evaluations": evaluations, "seconds": seconds,
            "rate": Double(evaluations) / seconds, "tolerance": tolerance, "eps": eps, "sigma": sigma, "mu": mu,
            "ratios": grid, "values": results.map(\.value), "error_bounds": results.map(\.errorBound),
            "converged": results.allSatisfy(\.converged), "timed_sum": sum, "peak_rss_kib": peakRSSKiB(),
            "threads": common.threads,
        ])
    }
}

// MARK: sweep

struct SweepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "The free-scale ce optimum over eps_i = epsmax * i / points (i = 1..points), as `ccsim sweep --objectives ce`.")

    @OptionGroup var common: Common
    @Option(help: "Number of eps values on the grid.") var points: Int = 100
    @Option(help: "Largest eps.") var epsMax: Double = 0.48
    @Option(help: "'all' or a comma list of 1-based grid indices to compute.") var subset: String = "all"
    @Option(help: "Quadrature tolerance per objective evaluation.") var tolerance: Double = 1e-10
    @Option(help: "Feature std.") var sigma: Double = 0.5

    func run() throws {
        common.apply()
        let model = try DataModel.paper3(sigma: sigma)
        let indices = try parseSubset(subset, count: points)
        let eps = indices.map { epsMax * Double($0 + 1) / Double(points) }
        let start = now()
        let rows = try Sweeps.optima(
            model: model, norm: .linf, eps: eps, specs: [ObjectiveSpec(.ce)], tolerance: tolerance, workers: common.threads)
        let seconds = now() - start
        try emit([
            "workload": "sweep", "implementation": "ccsim", "points": rows.count, "grid_points": points,
            "indices": indices.map { $0 + 1 }, "seconds": seconds, "seconds_per_point": seconds / Double(rows.count),
            "tolerance": tolerance, "eps": eps, "w1": rows.map(\.optimum.w1), "w2": rows.map(\.optimum.w2),
            "ratio": rows.map(\.optimum.ratio), "value": rows.map(\.optimum.value),
            "robust_accuracy": rows.map(\.optimum.robustAccuracy), "on_boundary": rows.map(\.optimum.onBoundary),
            "converged": rows.allSatisfy(\.optimum.converged), "peak_rss_kib": peakRSSKiB(), "threads": common.threads,
        ])
    }
}

// MARK: training

/// Shapes and hyperparameters of a PGD-AT run (the same flags for train-epoch and gemm).
struct TrainShape: ParsableArguments {
    @Option(help: "paper3 or complement:K.") var model: String = "paper3"
    @Option(help: "linear or two-layer.") var arch: String = "two-layer"
    @Option(help: "Hidden width (two-layer).") var width: Int = 256
    @Option(help: "Extra N(0, 1) noise coordinates.") var noiseDims: Int = 100
    @Option(help: "Training samples per class.") var nPerClass: Int = 10_000
    @Option(help: "Batch size.") var batch: Int = 256
    @Option(help: "PGD steps (random start, step eps/4, l_inf).") var pgdSteps: Int = 10
    @Option(help: "Perturbation radius (l_inf).") var eps: Double = 0.2
    @Option(help: "SGD learning rate (momentum 0.9, weight decay 5e-4).") var lr: Double = 0.05
    @Option(help: "Data / initialisation seed.") var seed: UInt64 = 1

    func dataModel() throws -> DataModel {
        try ModelSource.parse(model).load(mu: 1, sigma: 0.5, noiseDimensions: noiseDims)
    }

    func architecture() throws -> Network.Architecture {
        guard let a = Network.Architecture(rawValue: arch) else { throw BenchError("--arch \(arch): use linear or two-layer") }
        return a
    }

    func configuration() throws -> TrainingConfiguration {
        var c = TrainingConfiguration(model: try dataModel(), eps: eps, norm: .linf)
        c.architecture = try architecture()
        c.width = width
        c.batchSize = batch
        c.learningRate = lr
        c.momentum = 0.9
        c.weightDecay = 5e-4
        c.schedule = .constant
        c.attack = AttackConfiguration(norm: .linf, eps: eps, steps: pgdSteps)
        c.trainPerClass = nPerClass
        c.testPerClass = 1
        c.trainEvaluationSize = 1
        c.seed = seed
        return c
    }
}

struct TrainEpochCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-epoch",
        abstract: "PGD-AT epochs with the library's Trainer: samples/s and RSS after every epoch.")

    @OptionGroup var common: Common
    @OptionGroup var shape: TrainShape
    @Option(help: "Epochs (the first is a warm-up and is reported but not in the rate).") var epochs: Int = 3

    func run() throws {
        common.apply()
        let c = try shape.configuration()
        let setupStart = now()
        let trainer = try Trainer(c)
        let setup = now() - setupStart
        let samples = shape.nPerClass * c.model.classCount
        var seconds: [Double] = [], losses: [Double] = [], rss: [Int] = [], peaks: [Int] = []
        for _ in 0..<epochs {
            let start = now()
            losses.append(try trainer.trainEpoch(lr: c.learningRate))
            seconds.append(now() - start)
            rss.append(currentRSSKiB())
            peaks.append(peakRSSKiB())
        }
        let timed = epochs > 1 ? Array(seconds.dropFirst()) : seconds
        let total = timed.reduce(0, +)
        try emit([
            "workload": "train-epoch", "implementation": "ccsim", "model": shape.model, "classes": c.model.classCount,
            "arch": shape.arch, "width": shape.width, "inputs": c.model.dimension, "n_per_class": shape.nPerClass,
            "samples_per_epoch": samples, "batch": shape.batch, "pgd_steps": shape.pgdSteps, "eps": shape.eps,
            "epochs": epochs, "epoch_seconds": seconds, "setup_seconds": setup,
            "samples_per_second": Double(samples * timed.count) / total, "epoch_losses": losses,
            "rss_kib_after_epoch": rss, "peak_rss_kib_after_epoch": peaks, "peak_rss_kib": peakRSSKiB(),
            "dtype": "float64", "threads": common.threads,
        ])
    }
}

/// The same computation as a Trainer epoch, in a fixed batch order and with PGD started at the
/// clean input, so that an independent implementation given the same data and initial
/// parameters must end at the same parameters: writes data, initial and final parameters.
struct TrainCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-check",
        abstract: "One deterministic PGD-AT epoch through the library's step functions; writes a JSON file for the reference to replay.")

    @OptionGroup var common: Common
    @OptionGroup var shape: TrainShape
    @Option(help: "Output JSON file (data, initial and final parameters).") var out: String

    func run() throws {
        common.apply()
        let model = try shape.dataModel()
        let arch = try shape.architecture()
        let data = Sampler(model: model).balancedSample(perClass: shape.nPerClass, random: RandomSource(seed: shape.seed))
        var network = Network(architecture: arch, inputs: model.dimension, hidden: shape.width, classes: model.classCount, useBias: true)
        network.initialise(random: RandomSource(seed: shape.seed &+ 7))
        let initial = network.parameters
        var optimizer = Optimizer(kind: .sgd, parameters: network.parameters.count, momentum: 0.9, weightDecay: 5e-4)
        let attack = AttackConfiguration(norm: .linf, eps: shape.eps, steps: shape.pgdSteps, randomStart: false)
        let workspace = Workspace(network: network, batch: shape.batch)
        let d = model.dimension
        var losses: [Double] = []
        var start = 0
        while start < data.count {
            let end = min(start + shape.batch, data.count)
            let xb = Array(data.inputs.storage[(start * d)..<(end * d)])
            let yb = Array(data.labels[start..<end])
            let adv = BatchObjective.adversarial(
                network: network, loss: .ce, attack: attack, inputs: xb, labels: yb, teacherLogits: nil,
                workspace: workspace, random: RandomSource(seed: 0))
            var (l, gradient) = BatchObjective.evaluate(
                network: network, loss: .ce, clean: xb, adversarial: adv, labels: yb, teacherLogits: nil, workspace: workspace)
            optimizer.step(&network, gradient: &gradient, lr: shape.lr)
            losses.append(l.reduce(0, +) / Double(yb.count))
            start = end
        }
        let object: [String: Any] = [
            "arch": shape.arch, "width": shape.width, "inputs": d, "classes": model.classCount, "batch": shape.batch,
            "pgd_steps": shape.pgdSteps, "eps": shape.eps, "step_size": attack.stepSize, "lr": shape.lr,
            "momentum": 0.9, "weight_decay": 5e-4, "x": data.inputs.storage, "y": data.labels,
            "initial": initial, "final": network.parameters, "batch_losses": losses,
        ]
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try json.write(to: URL(fileURLWithPath: out))
        try emit(["workload": "train-check", "implementation": "ccsim", "out": out, "batches": losses.count,
                  "mean_loss": losses.reduce(0, +) / Double(losses.count)])
    }
}

// MARK: gemm

/// One matrix product as the trainer issues it: C (m x n) = op(A) op(B), op(A) m x k.
struct GemmShape: Hashable {
    var transA: Bool, transB: Bool, m: Int, n: Int, k: Int
    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    var label: String { "\(transA ? "T" : "N")\(transB ? "T" : "N") \(m)x\(n)x\(k)" }
}

/// The matrix products of one PGD-AT training step (ce loss, one restart, bias) on a batch of
/// n rows, in the order Network.forward / backward issue them (Sources/CrossClass/Train).
func stepProducts(arch: Network.Architecture, n: Int, d: Int, h: Int, k: Int, pgdSteps: Int) -> [GemmShape] {
    var out: [GemmShape] = []
    switch arch {
    case .linear:
        let forward = [GemmShape(transA: false, transB: true, m: n, n: k, k: d)]
        let inputBackward = [GemmShape(transA: false, transB: false, m: n, n: d, k: k)]
        let paramBackward = [GemmShape(transA: true, transB: false, m: k, n: d, k: n)]
        for _ in 0..<pgdSteps { out += forward + inputBackward }
        out += forward  // PGD's loss at the last iterate
        out += forward + paramBackward
    case .twoLayer:
        let forward = [GemmShape(transA: false, transB: true, m: n, n: h, k: d), GemmShape(transA: false, transB: true, m: n, n: k, k: h)]
        let inputBackward = [GemmShape(transA: false, transB: false, m: n, n: h, k: k), GemmShape(transA: false, transB: false, m: n, n: d, k: h)]
        let paramBackward = [GemmShape(transA: true, transB: false, m: k, n: h, k: n), GemmShape(transA: false, transB: false, m: n, n: h, k: k),
                             GemmShape(transA: true, transB: false, m: h, n: d, k: n)]
        for _ in 0..<pgdSteps { out += forward + inputBackward }
        out += forward
        out += forward + paramBackward
    }
    return out
}

struct GemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of the trainer's matrix products (flops of a PGD-AT epoch / epoch time) vs BLAS dgemm on the same shapes in a tight loop.")

    @OptionGroup var common: Common
    @OptionGroup var shape: TrainShape
    @Option(help: "Trainer epochs (the first is a warm-up).") var epochs: Int = 2

    func run() throws {
        common.apply()
        let c = try shape.configuration()
        let arch = try shape.architecture()
        let d = c.model.dimension, k = c.model.classCount, h = shape.width
        let samples = shape.nPerClass * k
        var batches: [Int] = []
        var left = samples
        while left > 0 { batches.append(min(shape.batch, left)); left -= shape.batch }
        let products = batches.flatMap { stepProducts(arch: arch, n: $0, d: d, h: h, k: k, pgdSteps: shape.pgdSteps) }
        let flops = products.reduce(0) { $0 + $1.flops }

        // The trainer, as it runs.
        let trainer = try Trainer(c)
        var trainerSeconds: [Double] = []
        for _ in 0..<epochs {
            let t0 = now()
            _ = try trainer.trainEpoch(lr: c.learningRate)
            trainerSeconds.append(now() - t0)
        }
        let trainerTime = epochs > 1 ? trainerSeconds.dropFirst().reduce(0, +) / Double(epochs - 1) : trainerSeconds[0]

        // The same products back to back through the BLAS wrapper, on buffers big enough for any
        // of them (values are irrelevant to dgemm's speed; they are kept finite).
        let largest = products.reduce(0) { max($0, $1.m * $1.k, $1.k * $1.n, $1.m * $1.n) }
        var a = [Double](repeating: 0, count: largest), b = a, cc = a
        for i in 0..<largest { a[i] = Double(i % 7) * 0.01; b[i] = Double(i % 5) * 0.01 }
        func runProducts(_ list: [GemmShape]) {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    cc.withUnsafeMutableBufferPointer { cp in
                        for p in list {
                            BLAS.gemm(p.transA ? .transposed : .none, p.transB ? .transposed : .none, m: p.m, n: p.n, k: p.k,
                                      alpha: 1, a: ap.baseAddress!, lda: p.transA ? p.m : p.k,
                                      b: bp.baseAddress!, ldb: p.transB ? p.k : p.n,
                                      beta: 0, c: cp.baseAddress!, ldc: p.n)
                        }
                    }
                }
            }
        }
        runProducts(products)  // warm-up
        var gemmSeconds: [Double] = []
        for _ in 0..<max(1, epochs - 1) {
            let t0 = now()
            runProducts(products)
            gemmSeconds.append(now() - t0)
        }
        let gemmTime = gemmSeconds.reduce(0, +) / Double(gemmSeconds.count)

        // Per distinct shape, for the record: dgemm rate and share of the step's flops.
        var perShape: [[String: Any]] = []
        var seen = Set<GemmShape>()
        let full = stepProducts(arch: arch, n: shape.batch, d: d, h: h, k: k, pgdSteps: shape.pgdSteps)
        let stepFlops = full.reduce(0) { $0 + $1.flops }
        for p in full where !seen.contains(p) {
            seen.insert(p)
            let count = full.filter { $0 == p }.count
            let reps = max(20, Int(2e8 / p.flops))
            let list = [GemmShape](repeating: p, count: reps)
            runProducts(Array(list.prefix(3)))
            let t0 = now()
            runProducts(list)
            let t = now() - t0
            perShape.append(["shape": p.label, "per_step": count, "flop_share": Double(count) * p.flops / stepFlops,
                             "dgemm_gflops": p.flops * Double(reps) / t / 1e9])
        }
        try emit([
            "workload": "gemm", "implementation": "ccsim", "arch": shape.arch, "width": h, "inputs": d, "classes": k,
            "batch": shape.batch, "samples_per_epoch": samples, "gemm_calls_per_epoch": products.count,
            "gemm_flops_per_epoch": flops, "trainer_epoch_seconds": trainerSeconds, "gemm_loop_seconds": gemmSeconds,
            "trainer_gflops": flops / trainerTime / 1e9, "dgemm_gflops": flops / gemmTime / 1e9,
            "ratio": (flops / trainerTime) / (flops / gemmTime), "per_shape": perShape,
            "blas_provider": BLAS.provider ?? "unknown", "peak_rss_kib": peakRSSKiB(), "threads": common.threads,
        ])
    }
}

// MARK: optimum and scaling (issue 12)

struct OptimumBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimum",
        abstract: "The free-scale optimum of one objective on paper3 (l_inf), repeated: median seconds per optimum.")

    @OptionGroup var common: Common
    @Option(help: "Objective (ce, ls:0.1, trades:1, ...).") var objective: String = "ce"
    @Option(help: "Perturbation radius (l_inf).") var eps: Double = 0.3
    @Option(help: "Repetitions.") var repeats: Int = 5
    @Option(help: "fast or reference.") var method: String = "fast"

    func run() throws {
        common.apply()
        let model = try DataModel.paper3()
        var o = try SymmetricOptimizer(
            model: model, threat: try ThreatModel(norm: .linf, eps: eps), objective: try Objective.parse(objective), scale: .free)
        o.method = method == "reference" ? .reference : .fast
        o.parallelEvaluation = common.threads > 1
        var times: [Double] = [], cpu: [Double] = []
        var result: SymmetricOptimum? = nil
        for _ in 0..<max(1, repeats) {
            let start = now(), cpuStart = cpuNow()
            result = try o.solve()
            times.append(now() - start)
            cpu.append(cpuNow() - cpuStart)
        }
        let sorted = times.sorted()
        try emit([
            "workload": "optimum", "implementation": "ccsim", "objective": objective, "method": method, "eps": eps,
            "threads": common.threads, "cpu_seconds_median": cpu.sorted()[cpu.count / 2],
            "seconds_median": sorted[sorted.count / 2], "seconds": times, "w1": result!.w1, "w2": result!.w2,
            "value": result!.value, "converged": result!.converged,
        ])
    }
}

struct ScalingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Cost against K on complement(K) (l_inf, eps 0.3, W(1, 0.5)): seconds per ce value, worst-margin value, RA and worst-margin threshold.")

    @OptionGroup var common: Common
    @Option(help: "Largest K.") var maxClasses: Int = 20
    @Option(help: "Objective tolerance.") var tolerance: Double = 1e-10

    func run() throws {
        common.apply()
        var rows: [[String: Any]] = []
        for k in 3...max(3, maxClasses) {
            let model = try DataModel.complement(classes: k)
            let threat = try ThreatModel(norm: .linf, eps: 0.3)
            func timed(_ body: () throws -> Double) rethrows -> (Double, Double) {
                var best = Double.infinity, value = 0.0
                for _ in 0..<3 {
                    let start = now()
                    value = try body()
                    best = min(best, now() - start)
                }
                return (best, value)
            }
            let ce = try timed { try RobustObjective(model: model, threat: threat, objective: .ce, tolerance: tolerance).evaluate(w1: 1, w2: 0.5).value }
            let wm = try timed { try RobustObjective(model: model, threat: threat, objective: .worstMargin, tolerance: tolerance).evaluate(w1: 1, w2: 0.5).value }
            let ra = try timed { try RobustAccuracy.symmetric(model: model, w1: 1, w2: 0.5, threat: threat).value }
            let th = try timed { try ThresholdFinder(model: model, norm: .linf, objective: .worstMargin).find().eps0 ?? .nan }
            rows.append([
                "K": k, "ce_seconds": ce.0, "ce": ce.1, "worst_margin_seconds": wm.0, "ra_seconds": ra.0,
                "threshold_seconds": th.0, "threshold": th.1,
            ])
        }
        try emit(["workload": "scaling", "implementation": "ccsim", "rows": rows])
    }
}

// MARK: tolerance and grid size

struct ToleranceScalingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tolerance",
        abstract: "Cost against the requested tolerance (paper3, l_inf, eps 0.3: one ce value fast and reference, one RA, one ce optimum) and against the eps-grid size (ce sweep, 1 worker).")

    @OptionGroup var common: Common
    @Option(help: "Comma list of tolerances.") var tolerances: String = "1e-6,1e-8,1e-10,1e-12"
    @Option(help: "Comma list of eps-grid sizes for the sweep.") var gridSizes: String = "3,6,12,24"

    func run() throws {
        common.apply()
        let model = try DataModel.paper3()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        func best(_ repeats: Int = 3, _ body: () throws -> Void) rethrows -> Double {
            var t = Double.infinity
            for _ in 0..<repeats {
                let start = now()
                try body()
                t = min(t, now() - start)
            }
            return t
        }
        var byTolerance: [[String: Any]] = []
        for tol in try tolerances.split(separator: ",").map({ try parseDouble(String($0)) }) {
            var fast = RobustObjective(model: model, threat: threat, objective: .ce, tolerance: tol)
            fast.method = .fast
            var reference = fast
            reference.method = .reference
            var errFast = 0.0, errReference = 0.0, errRA = 0.0
            let fastSeconds = try best { errFast = try fast.evaluate(w1: 1.3, w2: 0.4).errorBound }
            let referenceSeconds = try best(1) { errReference = try reference.evaluate(w1: 1.3, w2: 0.4).errorBound }
            let raSeconds = try best(20) { errRA = try RobustAccuracy.symmetric(model: model, w1: 1.3, w2: 0.4, threat: threat, tolerance: tol).errorBound }
            var optimizer = try SymmetricOptimizer(model: model, threat: threat, objective: .ce, scale: .free)
            optimizer.tolerance = tol
            let optimumSeconds = try best { _ = try optimizer.solve() }
            byTolerance.append([
                "tolerance": tol, "ce_fast_seconds": fastSeconds, "ce_fast_error": errFast,
                "ce_reference_seconds": referenceSeconds, "ce_reference_error": errReference,
                "ra_seconds": raSeconds, "ra_error": errRA, "ce_optimum_seconds": optimumSeconds,
            ])
        }
        var byGrid: [[String: Any]] = []
        for n in try gridSizes.split(separator: ",").map({ try parseInt(String($0)) }) {
            let eps = (1...n).map { 0.48 * Double($0) / Double(n) }
            let seconds = try best(1) {
                _ = try Sweeps.optima(model: model, norm: .linf, eps: eps, specs: [ObjectiveSpec(.ce)], workers: 1)
            }
            byGrid.append(["points": n, "seconds": seconds, "seconds_per_point": seconds / Double(n)])
        }
        try emit(["workload": "tolerance", "implementation": "ccsim", "by_tolerance": byTolerance, "by_grid_size": byGrid])
    }

    private func parseDouble(_ s: String) throws -> Double {
        guard let v = Double(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("'\(s)' is not a positive number") }
        return v
    }
    private func parseInt(_ s: String) throws -> Int {
        guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("'\(s)' is not a positive integer") }
        return v
    }
}

import ArgumentParser
import CrossClass
import Foundation

// MARK: Typed flag values
//
// Every flag value is parsed once, by the library's parser for its concept, in the option's
// `transform`; a bad value fails there with "The value 'X' is invalid for '--flag <flag>':
// REASON" (exit 2). The ExpressibleByArgument conformances give the same parsers to
// ArgumentParser for help texts and defaults.

/// Parsers for flag values: thin adapters from the library's grammar to ArgumentParser.
enum FlagValue {
    static func radius(_ text: String) throws -> Double { try ParameterRange.radius.check(text, name: "") }
    static func positive(_ text: String) throws -> Double { try ParameterRange.positive.check(text, name: "") }
    static func finite(_ text: String) throws -> Double { try ParameterRange.finite.check(text, name: "") }
    static func unitInterval(_ text: String) throws -> Double { try ParameterRange(0, 1).check(text, name: "") }
    static func tolerance(_ text: String) throws -> Double { try ParameterRange.tolerance.check(text, name: "") }
    static func radii(_ text: String) throws -> Grid { try Grid.parse(text, name: "", range: .radius) }
    static func finiteGrid(_ text: String) throws -> Grid { try Grid.parse(text, name: "", range: .finite) }
    static func positiveGrid(_ text: String) throws -> Grid { try Grid.parse(text, name: "", range: .positive) }
    static func objective(_ text: String) throws -> ObjectiveSpec { try ObjectiveSpec.parse(text) }
    static func objectives(_ text: String) throws -> ObjectiveList { ObjectiveList(specs: try ObjectiveSpec.parseList(text)) }
    static func training(_ text: String) throws -> TrainingSpec { try TrainingSpec.parse(text) }
    static func trainingList(_ text: String) throws -> TrainingList { TrainingList(specs: try TrainingSpec.parseList(text)) }
    static func norm(_ text: String) throws -> Norm { try Norm.parse(text) }
    static func model(_ text: String) throws -> ModelSource { try ModelSource.parse(text) }
    static func shard(_ text: String) throws -> Shard { try Shard.parse(text) }
    static func output(_ text: String) throws -> OutputTarget { try OutputTarget(text, flag: "") }
    static func file(_ text: String) throws -> OutputTarget { try OutputTarget(text, flag: "", allowStandardOutput: false) }
    /// A file without a manifest beside it (checkpoints).
    static func plainFile(_ text: String) throws -> OutputTarget {
        try OutputTarget(text, flag: "", allowStandardOutput: false, hasManifest: false)
    }
    static func count(_ range: ClosedRange<Int>) -> @Sendable (String) throws -> Int {
        { text in
            guard let n = Int(text), range.contains(n) else {
                throw InputError("it must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return n
        }
    }
}

/// A comma list of objectives (one flag value, not a repeated flag).
struct ObjectiveList: ExpressibleByArgument, CustomStringConvertible {
    var specs: [ObjectiveSpec]
    init(specs: [ObjectiveSpec]) { self.specs = specs }
    init?(argument: String) {
        guard let l = try? ObjectiveSpec.parseList(argument) else { return nil }
        specs = l
    }
    var description: String { specs.map(\.spelling).joined(separator: ",") }
    var defaultValueDescription: String { description }
}

/// A comma list of training objectives (compare-grid).
struct TrainingList: ExpressibleByArgument, CustomStringConvertible {
    var specs: [TrainingSpec]
    init(specs: [TrainingSpec]) { self.specs = specs }
    init?(argument: String) {
        guard let l = try? TrainingSpec.parseList(argument) else { return nil }
        specs = l
    }
    var description: String { specs.map(\.description).joined(separator: ",") }
    var defaultValueDescription: String { description }
}

extension Norm: ExpressibleByArgument {
    public init?(argument: String) {
        guard let n = try? Norm.parse(argument) else { return nil }
        self = n
    }
}

extension ObjectiveSpec: ExpressibleByArgument {
    public init?(argument: String) {
        guard let s = try? ObjectiveSpec.parse(argument) else { return nil }
        self = s
    }
    public var defaultValueDescription: String { spelling }
}

extension Grid: ExpressibleByArgument {
    public init?(argument: String) {
        guard let g = try? Grid.parse(argument, name: "") else { return nil }
        self = g
    }
    public var defaultValueDescription: String { text }
}

extension Shard: ExpressibleByArgument {
    public init?(argument: String) {
        guard let s = try? Shard.parse(argument) else { return nil }
        self = s
    }
}

extension ModelSource: ExpressibleByArgument {
    public init?(argument: String) {
        guard let m = try? ModelSource.parse(argument) else { return nil }
        self = m
    }
    public var defaultValueDescription: String { description }
}

extension OutputTarget: ExpressibleByArgument {
    public init?(argument: String) {
        guard let t = try? OutputTarget(argument) else { return nil }
        self = t
    }
}

extension TrainingSpec: ExpressibleByArgument {
    public init?(argument: String) {
        guard let t = try? TrainingSpec.parse(argument) else { return nil }
        self = t
    }
    public var defaultValueDescription: String { description }
}

// MARK: Option groups

/// --model and its parameters, shared by every command that needs data.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("paper3, complement:K, pairwise:K, or a .json/.yaml/.yml model file.".withDefault(ModelSource.paper3)), transform: FlagValue.model)
    var model: ModelSource = .paper3

    @Option(help: "Mean of every signal feature (default 1 for presets; a file's own values otherwise).",
            transform: FlagValue.modelScale(allowZero: true))
    var mu: Double?

    @Option(help: "Standard deviation of every signal feature (default 0.5 for presets).", transform: FlagValue.modelScale(allowZero: false))
    var sigma: Double?

    @Option(help: "Background std of absent features (default 0: exactly zero).", transform: FlagValue.modelScale(allowZero: true))
    var tau: Double?

    @Option(name: .customLong("noise-dims"), help: "Extra pure-noise coordinates.", transform: FlagValue.count(0...DataModel.maxNoiseDimensions))
    var noiseDims: Int?

    @Option(name: .customLong("noise-sigma"), help: "Std of the noise coordinates (default 1).", transform: FlagValue.modelScale(allowZero: false))
    var noiseSigma: Double?

    var specification: ModelSpecification {
        ModelSpecification(source: model, mu: mu, sigma: sigma, tau: tau, noiseDimensions: noiseDims, noiseSigma: noiseSigma)
    }

    func load() throws -> DataModel { try specification.load() }
}

extension FlagValue {
    static func modelScale(allowZero: Bool) -> @Sendable (String) throws -> Double {
        { text in try ParameterRange.modelScale(allowZero: allowZero).check(text, name: "") }
    }
}

/// --norm.
struct ThreatOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Threat model: linf or l2.".withDefault(Norm.linf)), transform: FlagValue.norm)
    var norm: Norm = .linf
}

/// --objective and the settings that can also be spelled as flags.
struct ObjectiveOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Objective: \(ObjectiveSpec.grammarSummary).".withDefault(ObjectiveSpec(.ce)), valueName: "spec"), transform: FlagValue.objective)
    var objective: ObjectiveSpec = ObjectiveSpec(.ce)

    @Option(help: "Label smoothing alpha (same as ls:alpha).", transform: FlagValue.finite)
    var smoothing: Double?

    @Option(help: "Hinge margin kappa (same as hinge:kappa).", transform: FlagValue.finite)
    var kappa: Double?

    @Option(help: "TRADES beta (same as trades:beta).", transform: FlagValue.finite)
    var beta: Double?

    @Option(help: "Fixed scale ||(w1, w2)||_2 = s (same as @scale=s).", transform: FlagValue.finite)
    var scale: Double?

    @Option(name: .customLong("weight-decay"), help: "Add (lambda/2)||W||_F^2 (same as @wd=lambda).", transform: FlagValue.finite)
    var weightDecay: Double?

    @Option(name: .customLong("centred-weight-decay"), help: "Add (lambda/2)||W - mean row||_F^2 (same as @wdc=lambda).", transform: FlagValue.finite)
    var centredWeightDecay: Double?

    var overrides: ObjectiveSpec.Overrides {
        .init(smoothing: smoothing, kappa: kappa, beta: beta, scale: scale, weightDecay: weightDecay, centredWeightDecay: centredWeightDecay)
    }

    /// The objective with the flag settings applied.
    func resolved() throws -> ObjectiveSpec { try objective.applying(overrides) }

    mutating func validate() throws { _ = try resolved() }
}

/// --reference: the general adaptive quadrature instead of the closed forms and reductions.
struct MethodOptions: ParsableArguments {
    @Flag(help: "Use the general adaptive quadrature (the reference the fast closed forms are tested against) instead of the fast path.")
    var reference = false

    var method: ExactMethod { reference ? .reference : .fast }
}

/// --out for commands whose result is one CSV (with its manifest).
struct OutputOptions: ParsableArguments {
    @Option(help: "Output CSV; a JSON manifest FILE.manifest.json is written beside it ('-': CSV to standard output, no manifest).",
            transform: FlagValue.output)
    var out: OutputTarget
}

/// --shard and --resume, shared by every grid command (sweep, sweep-w2, path, phase,
/// compare-grid).
struct GridOptions: ParsableArguments {
    @Option(help: "Compute only shard i/n of the grid (items with index = i mod n, 0 <= i < n); combine the shards with 'ccsim merge'.",
            transform: FlagValue.shard)
    var shard: Shard?

    @Flag(help: "Continue an interrupted run from OUT.journal (same flags); the output has the same bytes as an uninterrupted run.")
    var resume = false

    /// Runs `grid` to `out` with its journal and prints the summary.
    func run(_ grid: GridJob, to out: OutputTarget, label: String) throws {
        let progress = Progress(total: 1, label: label)
        let result = try grid.run(to: out, shard: shard, resume: resume) { progress.report($0, $1) }
        // With the CSV on standard output, the report goes to standard error.
        if out.isStandardOutput { FileHandle.standardError.write(Data((result.report + "\n").utf8)) } else { print(result.report) }
    }
}

// MARK: Output helpers

enum Emit {
    static func json(_ object: [String: JSONValue]) throws {
        try JSONValue.object(object).checkFinite()
        print(JSONValue.object(object).text)
    }
}

/// Progress on stderr when it is a terminal; silent otherwise.
final class Progress: @unchecked Sendable {
    let label: String
    private let enabled: Bool
    private let lock = NSLock()

    init(total: Int, label: String) {
        self.label = label
        self.enabled = isatty(STDERR_FILENO) != 0
    }

    private var count = 0
    private var lastShown = 0.0
    private let started = Date()

    /// One more step of open-ended work (no total): "label: N evaluations, T s", at most twice a
    /// second; `finish` ends the line.
    func tick() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        count += 1
        let elapsed = Date().timeIntervalSince(started)
        guard elapsed - lastShown >= 0.5 else { return }
        lastShown = elapsed
        FileHandle.standardError.write(Data("\r\(label): \(count) evaluations, \(Int(elapsed)) s".utf8))
    }

    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if lastShown > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Absolute progress from any thread.
    func report(_ done: Int, _ total: Int) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data("\r\(label): \(done)/\(total)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension String {
    /// Pads with spaces to `width` (on the right, or on the left when `left`).
    func padded(_ width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: max(0, width - count))
        return left ? pad + self : self + pad
    }
}

extension String {
    /// Help text with the option's default shown (options parsed by a transform do not show it
    /// by themselves).
    func withDefault<T>(_ value: T) -> String {
        let shown: String
        switch value {
        case let v as any ExpressibleByArgument: shown = v.defaultValueDescription
        case let v as any CustomStringConvertible: shown = v.description
        default: shown = "\(value)"
        }
        return self + " (default: \(shown))"
    }
}

import Foundation

/// An objective together with its scale convention: the one grammar every command accepts.
///
///     SPEC    := NAME [":" PARAMETER] ["@" SETTING "=" NUMBER]
///     NAME    := ce | ls | worst-margin | hinge | zero-one | trades      (training also: kd)
///     SETTING := scale   fixed ||(w1, w2)||_2 = NUMBER
///              | wd      plus (lambda/2) ||W||_F^2 of W as it is
///              | wdc     plus (lambda/2) ||W - mean row||_F^2 (centred W: what SGD weight decay
///                        from W = 0 leaves behind, since softmax ignores a common row)
///
/// Examples: `ce`, `ls:0.1`, `ce@scale=10`, `ce@wd=0.01`, `hinge:1@wdc=0.05`. Without a
/// setting an objective has its natural convention (free for ce/ls/trades, scale 1 for the
/// margin objectives). Flags such as `--smoothing 0.2` or `--scale 5` are the same settings
/// spelled as flags (`applying(_:)`): they override the spec, they never mean something else.
public struct ObjectiveSpec: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    public var objective: Objective
    public var scale: ScaleMode

    public init(_ objective: Objective, _ scale: ScaleMode? = nil) {
        self.objective = objective
        self.scale = scale ?? objective.defaultScale
    }

    /// Human-readable form used in tables and manifests, e.g. "ce [scale=10.0]".
    public var description: String { "\(objective) [\(scale)]" }

    /// The spec in the grammar it was parsed from; `parse(spelling)` gives it back.
    public var spelling: String {
        let setting: String
        switch scale {
        case _ where scale == objective.defaultScale: setting = ""
        case .free: setting = ""
        case .fixed(let s): setting = "@scale=\(s)"
        case .weightDecay(let l): setting = "@wd=\(l)"
        case .centeredWeightDecay(let l): setting = "@wdc=\(l)"
        }
        return objective.description + setting
    }

    public static let defaults: [ObjectiveSpec] = [
        .init(.ce), .init(.ce, .fixed(1)), .init(.ce, .fixed(10)), .init(.ce, .weightDecay(0.01)),
        .init(.ls(alpha: 0.1)), .init(.worstMargin), .init(.hinge(kappa: 1)), .init(.hinge(kappa: 0), .fixed(1)),
        .init(.zeroOne), .init(.trades(beta: 6)),
    ]

    /// The settings of the grammar, for messages and help.
    public static let grammarSummary =
        "NAME[:PARAM][@scale=S|@wd=L|@wdc=L] with NAME ce, ls[:alpha], worst-margin, hinge[:kappa], zero-one, trades[:beta]"

    /// Parses one spec ("ce", "ls:0.1@scale=5", ...).
    public static func parse(_ text: String) throws -> ObjectiveSpec {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let objective = try Objective.parse(parts[0])
        guard parts.count == 2 else { return ObjectiveSpec(objective) }
        return ObjectiveSpec(objective, try parseSetting(parts[1], in: text))
    }

    /// Parses a comma list of specs (at least one).
    public static func parseList(_ text: String) throws -> [ObjectiveSpec] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !(items.count == 1 && items[0].isEmpty) else {
            throw InputError("objective list is empty: give at least one objective (\(grammarSummary))")
        }
        let specs = try items.map { try parse($0) }
        var seen: Set<ObjectiveSpec> = []
        for s in specs where !seen.insert(s).inserted {
            throw InputError("objective '\(s.spelling)' is listed twice: give each objective once")
        }
        return specs
    }

    static func parseSetting(_ setting: String, in text: String) throws -> ScaleMode {
        let kv = setting.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2 else {
            throw InputError("objective '\(text)': the setting after '@' must be scale=S, wd=LAMBDA or wdc=LAMBDA")
        }
        let value = try ParameterRange.positive.check(kv[1], name: "objective '\(text)': \(kv[0])")
        switch kv[0].lowercased() {
        case "scale": return .fixed(value)
        case "wd", "weight-decay": return .weightDecay(value)
        case "wdc", "centred-weight-decay", "centered-weight-decay": return .centeredWeightDecay(value)
        default:
            throw InputError("objective '\(text)': unknown setting '\(kv[0])'; use scale=S, wd=LAMBDA or wdc=LAMBDA")
        }
    }

    /// Overrides spelled as flags (`--smoothing`, `--kappa`, `--beta`, `--scale`,
    /// `--weight-decay`, `--centred-weight-decay`); each must fit the objective.
    public struct Overrides: Sendable, Equatable {
        public var smoothing: Double?
        public var kappa: Double?
        public var beta: Double?
        public var scale: Double?
        public var weightDecay: Double?
        public var centredWeightDecay: Double?
        public init(smoothing: Double? = nil, kappa: Double? = nil, beta: Double? = nil, scale: Double? = nil,
                    weightDecay: Double? = nil, centredWeightDecay: Double? = nil) {
            self.smoothing = smoothing; self.kappa = kappa; self.beta = beta
            self.scale = scale; self.weightDecay = weightDecay; self.centredWeightDecay = centredWeightDecay
        }
    }

    public func applying(_ o: Overrides) throws -> ObjectiveSpec {
        var spec = self
        if let a = o.smoothing {
            guard case .ls = objective else { throw InputError("--smoothing applies to objective ls only (got '\(objective)')") }
            spec.objective = .ls(alpha: try ParameterRange.smoothing.check(a, name: "--smoothing"))
        }
        if let k = o.kappa {
            guard case .hinge = objective else { throw InputError("--kappa applies to objective hinge only (got '\(objective)')") }
            spec.objective = .hinge(kappa: try ParameterRange.marginParameter.check(k, name: "--kappa"))
        }
        if let b = o.beta {
            guard case .trades = objective else { throw InputError("--beta applies to objective trades only (got '\(objective)')") }
            spec.objective = .trades(beta: try ParameterRange.marginParameter.check(b, name: "--beta"))
        }
        let settings = [o.scale != nil, o.weightDecay != nil, o.centredWeightDecay != nil].filter { $0 }.count
        guard settings <= 1 else {
            throw InputError("--scale, --weight-decay and --centred-weight-decay exclude each other: give one")
        }
        if let s = o.scale { spec.scale = .fixed(try ParameterRange.positive.check(s, name: "--scale")) }
        if let l = o.weightDecay { spec.scale = .weightDecay(try ParameterRange.positive.check(l, name: "--weight-decay")) }
        if let l = o.centredWeightDecay {
            spec.scale = .centeredWeightDecay(try ParameterRange.positive.check(l, name: "--centred-weight-decay"))
        }
        return spec
    }

    /// Refuses a scale convention a command cannot honour, with the reason.
    public func requireScale(_ allowed: Set<ScaleMode.Kind>, command: String, reason: String) throws {
        guard allowed.contains(scale.kind) else {
            throw InputError("\(command): objective '\(spelling)' is not allowed: \(reason)")
        }
    }
}

extension ScaleMode {
    /// The convention without its number.
    public enum Kind: String, Sendable, Hashable, CaseIterable { case free, fixed, weightDecay, centredWeightDecay }

    public var kind: Kind {
        switch self {
        case .free: return .free
        case .fixed: return .fixed
        case .weightDecay: return .weightDecay
        case .centeredWeightDecay: return .centredWeightDecay
        }
    }
}

/// What a training run minimises: an exact objective's trainable counterpart, or knowledge
/// distillation (soft labels from a teacher; no exact counterpart). Parsed by the same grammar
/// as `ObjectiveSpec` plus the name `kd`.
public enum TrainingSpec: Sendable, Equatable {
    case exact(ObjectiveSpec)
    case kd

    public static func parse(_ text: String) throws -> TrainingSpec {
        if text.lowercased() == "kd" { return .kd }
        return .exact(try ObjectiveSpec.parse(text))
    }
}

/// The range in which a parameter is accepted, with the message that says so. One place per
/// quantity, so a flag and the same setting inside a spec are checked identically.
public struct ParameterRange: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var lowerOpen: Bool
    public var upperOpen: Bool
    /// Why the range is what it is (shown when a value falls outside it).
    public var why: String?

    public init(_ lower: Double, _ upper: Double, lowerOpen: Bool = false, upperOpen: Bool = false, why: String? = nil) {
        self.lower = lower; self.upper = upper; self.lowerOpen = lowerOpen; self.upperOpen = upperOpen; self.why = why
    }

    /// Positive finite numbers up to 1e100 (a scale, a weight decay, a tolerance).
    public static let positive = ParameterRange(0, 1e100, lowerOpen: true)
    /// Label smoothing: beyond 1/2 the smoothed target of K = 2 no longer favours the true class.
    public static let smoothing = ParameterRange(0, 0.5, lowerOpen: true, upperOpen: true,
                                                 why: "at alpha >= (K-1)/K the smoothed target no longer favours the true class")
    /// hinge kappa, TRADES beta.
    public static let marginParameter = ParameterRange(0, 1e6)
    /// A perturbation radius eps.
    public static let radius = ParameterRange(0, 1e100)

    public var text: String {
        "\(lowerOpen ? "(" : "[")\(Self.show(lower)), \(Self.show(upper))\(upperOpen ? ")" : "]")"
    }

    static func show(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e7 ? String(Int(x)) : "\(x)"
    }

    public func contains(_ v: Double) -> Bool {
        guard v.isFinite else { return false }
        let aboveLower = lowerOpen ? v > lower : v >= lower
        let belowUpper = upperOpen ? v < upper : v <= upper
        return aboveLower && belowUpper
    }

    /// Checks `v`; the message names `name` and the value unless `name` is empty (a flag's
    /// parser, whose caller already shows both).
    @discardableResult
    public func check(_ v: Double, name: String) throws -> Double {
        guard contains(v) else {
            throw InputError.notAllowed(name, "\(v)", "it must be a number in \(text)\(why.map { " (\($0))" } ?? "")")
        }
        return v
    }

    public func check(_ text: String, name: String) throws -> Double {
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
            throw InputError.notAllowed(name, String(text.prefix(40)), "it must be a number in \(self.text)")
        }
        return try check(v, name: name)
    }
}

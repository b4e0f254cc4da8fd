import Foundation
import Yams

/// Reading a data model from a JSON or YAML file, and resolving `--model` names.
///
/// File schema (YAML shown; JSON has the same keys):
/// ```yaml
/// name: my-model              # optional
/// membership:                 # K rows of F entries, each 0 or 1
///   - [1, 0, 0, 0, 1, 1]
///   - [0, 1, 0, 1, 0, 1]
///   - [0, 0, 1, 1, 1, 0]
/// mu: 1.0                     # one number, or F numbers
/// sigma: 0.5                  # one number, or F numbers (all > 0)
/// tau: 0.0                    # optional background std of absent features (default 0)
/// noise_dims: 0               # optional extra N(0, noise_sigma^2) coordinates (default 0)
/// noise_sigma: 1.0            # optional (default 1)
/// feature_names: [E1, E2, E3, C1, C2, C3]   # optional
/// ```
public enum ModelFile {
    static let allowedKeys: Set<String> = [
        "name", "membership", "mu", "sigma", "tau", "noise_dims", "noise_sigma", "feature_names",
        "classes",
    ]

    /// Loads and validates a model file (.json, .yaml or .yml).
    public static func load(path: String) throws -> DataModel {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError("model file '\(path)' does not exist")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw InputError("model file '\(path)' cannot be read: \(error.localizedDescription)")
        }
        guard data.count <= 16 << 20 else {
            throw InputError("model file '\(path)' is \(data.count) bytes; at most 16 MiB is allowed")
        }
        let lower = path.lowercased()
        let isJSON = lower.hasSuffix(".json")
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError("model file '\(path)' is not UTF-8 text")
        }
        return try parse(text: text, json: isJSON, origin: path)
    }

    /// Parses model text. `json` selects the JSON parser; otherwise YAML.
    public static func parse(text: String, json: Bool, origin: String = "model") throws -> DataModel {
        let root: LooseValue
        // Parsers recurse on nesting; refuse absurd depth before handing the text over.
        var depth = 0, deepest = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1; deepest = max(deepest, depth) }
            else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { depth -= 1 }
        }
        guard deepest <= 64 else {
            throw InputError("\(origin): lists/objects nested \(deepest) deep; at most 64 levels are allowed")
        }
        if json {
            do { root = try JSONDecoder().decode(LooseValue.self, from: Data(text.utf8)) } catch {
                throw InputError("\(origin): malformed JSON (\(jsonSyntaxError(text) ?? DecodingErrorText.oneLine(error))); expected an object with 'membership', 'mu' and 'sigma'")
            }
        } else {
            // Yams' own constructor traps on some malformed mappings (e.g. a list as a key), so
            // the node tree is converted here, with limits on depth and size.
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw InputError("\(origin): malformed YAML (\(parserLocation(error))); expected a mapping with 'membership', 'mu' and 'sigma'")
            }
            var budget = 1_000_000
            root = try node.map { try LooseValue(node: $0, depth: 0, budget: &budget, origin: origin) } ?? .null
        }
        guard case .object(let dict) = root else {
            throw InputError("\(origin): top level must be an object/mapping with 'membership', 'mu' and 'sigma'")
        }
        for key in dict.keys.sorted() where !allowedKeys.contains(key) {
            throw InputError("\(origin): unknown key '\(key)'; allowed keys are \(allowedKeys.sorted().joined(separator: ", "))")
        }
        let name = try string(dict["name"], "name", origin) ?? (origin as NSString).lastPathComponent
        guard let rawMembership = dict["membership"] else {
            throw InputError("\(origin): missing 'membership' (a list of K rows of 0/1 entries)")
        }
        guard case .array(let rows) = rawMembership, !rows.isEmpty else {
            throw InputError("\(origin): 'membership' must be a non-empty list of rows of 0/1 entries")
        }
        var membership: [[Bool]] = []
        for (y, raw) in rows.enumerated() {
            guard case .array(let entries) = raw else {
                throw InputError("\(origin): membership row \(y + 1) is not a list; each row must list 0/1 entries")
            }
            var row: [Bool] = []
            for (f, e) in entries.enumerated() {
                guard let v = e.integer, v == 0 || v == 1 else {
                    throw InputError("\(origin): membership[\(y + 1)][\(f + 1)] = \(e) is not allowed: entries must be 0 or 1")
                }
                row.append(v == 1)
            }
            membership.append(row)
        }
        if let k = dict["classes"] {
            guard let kk = k.integer, kk == membership.count else {
                throw InputError("\(origin): classes = \(k) does not match the \(membership.count) membership rows")
            }
        }
        let f = membership[0].count
        let mu = try numbers(dict["mu"], "mu", count: f, origin) ?? [Double](repeating: 1, count: f)
        guard let sigma = try numbers(dict["sigma"], "sigma", count: f, origin) else {
            throw InputError("\(origin): missing 'sigma' (one positive number or one per feature)")
        }
        let tau = try number(dict["tau"], "tau", origin) ?? 0
        let noiseSigma = try number(dict["noise_sigma"], "noise_sigma", origin) ?? 1
        var noiseDims = 0
        if let raw = dict["noise_dims"] {
            guard let n = raw.integer else {
                throw InputError("\(origin): noise_dims = \(raw) is not allowed: it must be a non-negative integer")
            }
            noiseDims = n
        }
        var names: [String]? = nil
        if let raw = dict["feature_names"] {
            guard case .array(let list) = raw else {
                throw InputError("\(origin): feature_names must be a list of strings")
            }
            names = try list.map { item in
                guard case .string(let s) = item, !s.isEmpty else {
                    throw InputError("\(origin): feature_names entry \(item) is not allowed: names must be non-empty strings")
                }
                return s
            }
        }
        do {
            return try DataModel(
                name: name, membership: membership, mu: mu, sigma: sigma, tau: tau,
                noiseDimensions: noiseDims, noiseSigma: noiseSigma, featureNames: names)
        } catch let error as InputError {
            throw InputError("\(origin): \(error.message)")
        }
    }

    /// Where a JSON text stops being valid, as "LINE:COLUMN: reason" (Foundation's JSON parser
    /// on Linux gives no position; YAML is a superset of JSON, and its parser does). nil when
    /// the text is syntactically valid (the problem is then a field, reported by the decoder).
    static func jsonSyntaxError(_ text: String) -> String? {
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) == nil else { return nil }
        do { _ = try Yams.compose(yaml: text) } catch {
            return parserLocation(error)
        }
        return "invalid JSON"
    }

    /// The parser's "L:C: error: parser: PROBLEM:\nSOURCE LINE\n   ^" as "line L, column C:
    /// PROBLEM" (the echoed source line and caret do not fit on one line).
    static func parserLocation(_ error: any Error) -> String {
        var lines = String(describing: error).split(separator: "\n").map(String.init)
        if lines.count >= 3, lines.last?.trimmingCharacters(in: .whitespaces) == "^" { lines.removeLast(2) }
        let firstLine = lines.joined(separator: " ")
        let parts = firstLine.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let line = Int(parts[0]), let column = Int(parts[1]) else { return DecodingErrorText.oneLine(error) }
        var problem = parts[2].trimmingCharacters(in: .whitespaces)
        for prefix in ["error: ", "parser: ", "scanner: "] where problem.hasPrefix(prefix) { problem.removeFirst(prefix.count) }
        if problem.hasSuffix(":") { problem.removeLast() }
        return "line \(line), column \(column): \(problem)"
    }


    static func number(_ value: LooseValue?, _ key: String, _ origin: String) throws -> Double? {
        guard let value else { return nil }
        guard let d = value.number else {
            throw InputError("\(origin): \(key) = \(value) is not allowed: it must be a number")
        }
        return d
    }

    static func string(_ value: LooseValue?, _ key: String, _ origin: String) throws -> String? {
        guard let value else { return nil }
        guard case .string(let s) = value, !s.isEmpty, s.count <= 200 else {
            throw InputError("\(origin): \(key) = \(value) is not allowed: it must be a non-empty string of at most 200 characters")
        }
        return s
    }

    static func numbers(_ value: LooseValue?, _ key: String, count: Int, _ origin: String) throws -> [Double]? {
        guard let value else { return nil }
        if let d = value.number { return [Double](repeating: d, count: count) }
        guard case .array(let list) = value else {
            throw InputError("\(origin): \(key) = \(value) is not allowed: it must be a number or a list of \(count) numbers")
        }
        return try list.enumerated().map { i, e in
            guard let d = e.number else {
                throw InputError("\(origin): \(key)[\(i + 1)] = \(e) is not allowed: it must be a number")
            }
            return d
        }
    }
}

/// A parsed JSON/YAML value with just the distinctions the model schema needs.
enum LooseValue: Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([LooseValue])
    case object([String: LooseValue])

    init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [LooseValue] = []
            while !list.isAtEnd { items.append(try list.decode(LooseValue.self)) }
            self = .array(items)
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var dict: [String: LooseValue] = [:]
            for key in keyed.allKeys { dict[key.stringValue] = try keyed.decode(LooseValue.self, forKey: key) }
            self = .object(dict)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let b = try? single.decode(Bool.self) { self = .bool(b) }
        else if let d = try? single.decode(Double.self) { self = .number(d) }
        else { self = .string(try single.decode(String.self)) }
    }

    /// Converts a YAML node: scalars by their resolved tag (null, bool, int, float, else
    /// string); mapping keys must be scalars and unique; aliases are refused (they are never
    /// needed in a model file, and they are how YAML bombs grow).
    init(node: Node, depth: Int, budget: inout Int, origin: String) throws {
        budget -= 1
        guard budget >= 0, depth <= 64 else { throw InputError("\(origin): YAML document too large or too deeply nested") }
        switch node {
        case .scalar:
            if node.null != nil { self = .null }
            else if let b = node.bool { self = .bool(b) }
            else if let i = node.int { self = .number(Double(i)) }
            else if let d = node.float { self = .number(d) }
            else { self = .string(node.string ?? "") }
        case .sequence(let seq):
            self = .array(try seq.map { try LooseValue(node: $0, depth: depth + 1, budget: &budget, origin: origin) })
        case .mapping(let map):
            var dict: [String: LooseValue] = [:]
            for (key, value) in map {
                guard case .scalar = key, let k = key.string else {
                    throw InputError("\(origin): a mapping key is not a plain scalar; keys must be names like 'sigma'")
                }
                guard dict[k] == nil else { throw InputError("\(origin): key '\(k.prefix(40))' appears twice") }
                dict[k] = try LooseValue(node: value, depth: depth + 1, budget: &budget, origin: origin)
            }
            self = .object(dict)
        case .alias:
            throw InputError("\(origin): YAML aliases (*name) are not allowed in model files; write the value out")
        }
    }

    var number: Double? { if case .number(let d) = self { return d } else { return nil } }

    var integer: Int? {
        guard case .number(let d) = self, d.isFinite, d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b.description
        case .number(let d): return d.description
        case .string(let s): return "'\(s.prefix(40))'"
        case .array(let a): return "a list of \(a.count)"
        case .object: return "an object"
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }
}

/// What `--model` names: a preset or a file.
public enum ModelSource: Equatable, Sendable {
    case paper3
    case complement(Int)
    case pairwise(Int)
    case file(String)

    /// Accepts `paper3`, `complement:K` / `complement(K)`, `pairwise:K` / `pairwise(K)`, or a
    /// path to a .json / .yaml / .yml file.
    public static func parse(_ text: String) throws -> ModelSource {
        let t = text.trimmingCharacters(in: .whitespaces)
        let lower = t.lowercased()
        if lower == "paper3" { return .paper3 }
        for (prefix, make) in [("complement", ModelSource.complement), ("pairwise", ModelSource.pairwise)] {
            guard lower.hasPrefix(prefix) else { continue }
            var rest = lower.dropFirst(prefix.count)
            if rest.hasPrefix(":") { rest = rest.dropFirst() }
            else if rest.hasPrefix("("), rest.hasSuffix(")") { rest = rest.dropFirst().dropLast() }
            if let k = Int(rest) { return make(k) }
            throw InputError("--model '\(text)' is not allowed: write \(prefix):K (or \(prefix)(K)) with an integer K >= 3")
        }
        if lower.hasSuffix(".json") || lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") {
            return .file(t)
        }
        throw InputError("--model '\(text)' is unknown: use paper3, complement:K, pairwise:K, or a .json/.yaml/.yml file")
    }

    /// Builds the model; `mu`/`sigma`/`tau` override a file's values only when given.
    public func load(
        mu: Double?, sigma: Double?, tau: Double? = nil,
        noiseDimensions: Int? = nil, noiseSigma: Double? = nil
    ) throws -> DataModel {
        let base: DataModel
        switch self {
        case .paper3: base = try .paper3()
        case .complement(let k): base = try .complement(classes: k)
        case .pairwise(let k): base = try .pairwise(classes: k)
        case .file(let path): base = try ModelFile.load(path: path)
        }
        return try base.with(
            mu: mu, sigma: sigma, tau: tau, noiseDimensions: noiseDimensions, noiseSigma: noiseSigma)
    }
}

import Foundation
import Testing
import Yams

// Every number the README (and results/theorems.md) states is an entry of docs/claims.yaml: the
// ccsim command (or committed results file) that produces it, the value and its tolerance. These
// tests run the fast entries against the built binary, check that each README number marked
// `<!--claim:ID-->` is a correct rounding of its entry, and show that a wrong entry or a wrong
// README number is reported. Slow entries run only with CCSIM_CLAIMS_SLOW=1
// (`scripts/check-claims --slow`, which `scripts/regenerate-results` runs).

/// One entry of docs/claims.yaml.
struct Claim: Sendable {
    enum Source: Sendable, Equatable {
        /// A ccsim command line (without the leading "ccsim"); `{out}` / `{dir}` name a fresh
        /// temporary CSV / directory.
        case run([String])
        /// A committed file, relative to the repository root.
        case file(String)
    }

    /// Which rows of a CSV count.
    enum Filter: Sendable {
        case number(Double)
        case text(String)
        case substring(String)
        case within(Double, Double)
        case comparison(String, Double)
        indirect case anyOf([Filter])

        func accepts(_ cell: String) -> Bool {
            switch self {
            case .number(let x):
                guard let v = Double(cell) else { return false }
                return abs(v - x) <= 1e-9 * max(1, abs(x))
            case .text(let s): return cell == s
            case .substring(let s): return cell.contains(s)
            case .within(let x, let t):
                guard let v = Double(cell) else { return false }
                return abs(v - x) <= t
            case .comparison(let op, let x):
                guard let v = Double(cell) else { return false }
                switch op {
                case ">": return v > x
                case ">=": return v >= x
                case "<": return v < x
                case "<=": return v <= x
                default: return abs(v - x) > 1e-9 * max(1, abs(x))  // "!="
                }
            case .anyOf(let filters): return filters.contains { $0.accepts(cell) }
            }
        }
    }

    /// Which row (or aggregate) of the matching CSV rows gives the value.
    enum Pick: Sendable, Equatable {
        case only, first, last, count
        case argmax(String), argmin(String)
    }

    enum Selection: Sendable {
        /// A key path into the command's JSON output ("eps0", "scan.-1.derivative").
        case json(String)
        case csv(filters: [(String, Filter)], pick: Pick, column: String?)
        /// The bytes of a file the command wrote (name inside `{dir}`).
        case producedFile(String)
    }

    enum Expectation: Sendable {
        case number(Double, tolerance: Double)
        case null
        case text(String)
        case bool(Bool)
        case below(Double)
        case above(Double)
        case contains(String)
        /// Same bytes as a committed file.
        case sameAs(String)
    }

    var id: String
    var says: String
    var source: Source
    var selection: Selection
    var expectation: Expectation
    var slow: Bool
    /// Where the claim is stated when it is not cited in the README (e.g. results/theorems.md).
    var backs: String?

    /// The value a README number must round to, when the claim states one.
    var statedNumber: Double? {
        if case .number(let x, _) = expectation { return x }
        return nil
    }
}

/// A value read from a command's output or a file.
enum Found: Equatable, CustomStringConvertible {
    case number(Double), text(String), bool(Bool), null

    var description: String {
        switch self {
        case .number(let x): return "\(x)"
        case .text(let s):
            // One line, so that reports stay one line per claim.
            let flat = s.replacingOccurrences(of: "\n", with: "\\n")
            return "'\(flat.count > 120 ? String(flat.prefix(120)) + "..." : flat)'"
        case .bool(let b): return "\(b)"
        case .null: return "null"
        }
    }
}

struct ClaimsFileError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum ClaimsFile {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var defaultPath: URL { root.appendingPathComponent("docs/claims.yaml") }

    static func load(_ url: URL = defaultPath) throws -> [Claim] {
        try parse(try String(contentsOf: url, encoding: .utf8))
    }

    static func parse(_ text: String) throws -> [Claim] {
        guard let top = try Yams.load(yaml: text) as? [String: Any], let list = top["claims"] as? [Any] else {
            throw ClaimsFileError("claims file: expected a mapping with a 'claims' list")
        }
        var seen = Set<String>()
        return try list.enumerated().map { index, item in
            guard let entry = item as? [String: Any] else { throw ClaimsFileError("claims[\(index)] is not a mapping") }
            let claim = try parseClaim(entry, index: index)
            guard seen.insert(claim.id).inserted else { throw ClaimsFileError("claim id '\(claim.id)' appears twice") }
            return claim
        }
    }

    static func number(_ any: Any?) -> Double? {
        switch any {
        case let d as Double: return d
        case let i as Int: return Double(i)
        case let s as String: return Double(s)
        default: return nil
        }
    }

    static func filter(_ any: Any) throws -> Claim.Filter {
        if let list = any as? [Any] { return .anyOf(try list.map(filter)) }
        if let b = any as? Bool { return .text(b ? "true" : "false") }
        if let x = number(any), !(any is String) { return .number(x) }
        guard let s = any as? String else { throw ClaimsFileError("where: unsupported value \(any)") }
        for op in [">=", "<=", "!=", ">", "<"] where s.hasPrefix(op) {
            guard let x = Double(s.dropFirst(op.count).trimmingCharacters(in: .whitespaces)) else {
                throw ClaimsFileError("where: '\(s)' needs a number after \(op)")
            }
            return .comparison(op, x)
        }
        if s.hasPrefix("~") { return .substring(String(s.dropFirst())) }
        let parts = s.components(separatedBy: "+-").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 2, let x = Double(parts[0]), let t = Double(parts[1]) { return .within(x, t) }
        return .text(s)
    }

    static func parseClaim(_ e: [String: Any], index: Int) throws -> Claim {
        guard let id = e["id"] as? String, !id.isEmpty else { throw ClaimsFileError("claims[\(index)] has no id") }
        func fail(_ m: String) -> ClaimsFileError { ClaimsFileError("claim '\(id)': \(m)") }
        guard let says = e["says"] as? String else { throw fail("no 'says' sentence") }
        let source: Claim.Source
        if let run = e["run"] as? String {
            var words = run.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            guard words.first == "ccsim", words.count > 1 else { throw fail("'run' must start with 'ccsim'") }
            words.removeFirst()
            source = .run(words)
        } else if let file = e["file"] as? String {
            guard let madeBy = e["made_by"] as? String, madeBy.hasPrefix("ccsim ") else {
                throw fail("a committed file needs 'made_by': the ccsim command that writes it")
            }
            source = .file(file)
        } else {
            throw fail("needs 'run' (a ccsim command) or 'file' (a committed results file)")
        }
        let selection: Claim.Selection
        if let key = e["json"] as? String {
            selection = .json(key)
        } else if let produced = e["produces"] as? String {
            selection = .producedFile(produced)
        } else {
            var filters: [(String, Claim.Filter)] = []
            if let w = e["where"] as? [String: Any] {
                for key in w.keys.sorted() { filters.append((key, try filter(w[key]!))) }
            }
            let pick: Claim.Pick
            switch e["pick"] as? String {
            case nil: pick = .only
            case "first": pick = .first
            case "last": pick = .last
            case "count": pick = .count
            case let p? where p.hasPrefix("argmax:"): pick = .argmax(String(p.dropFirst(7)))
            case let p? where p.hasPrefix("argmin:"): pick = .argmin(String(p.dropFirst(7)))
            case let p?: throw fail("pick '\(p)' (allowed: first, last, count, argmax:COLUMN, argmin:COLUMN)")
            }
            let column = e["column"] as? String
            if pick != .count && column == nil { throw fail("needs 'column' (or 'json' for a --json command)") }
            selection = .csv(filters: filters, pick: pick, column: column)
        }
        let expectation: Claim.Expectation
        if e.keys.contains("value") {
            switch e["value"] {
            case is NSNull, nil: expectation = .null
            case let b as Bool: expectation = .bool(b)
            case let s as String: expectation = .text(s)
            case let v:
                guard let x = number(v) else { throw fail("value \(String(describing: v)) is not a number") }
                guard let t = number(e["tolerance"]), t >= 0 else { throw fail("a numeric value needs 'tolerance' (>= 0)") }
                expectation = .number(x, tolerance: t)
            }
        } else if let x = number(e["below"]) {
            expectation = .below(x)
        } else if let x = number(e["above"]) {
            expectation = .above(x)
        } else if let s = e["contains"] as? String {
            expectation = .contains(s)
        } else if let s = e["same_as"] as? String {
            expectation = .sameAs(s)
        } else {
            throw fail("needs value (+ tolerance), below, above, contains or same_as")
        }
        if case .producedFile = selection, case .sameAs = expectation {} else if case .producedFile = selection {
            throw fail("'produces' goes with 'same_as'")
        }
        return Claim(
            id: id, says: says, source: source, selection: selection, expectation: expectation,
            slow: e["slow"] as? Bool ?? false, backs: e["backs"] as? String)
    }
}

/// A small RFC 4180 reader (quoted fields with commas, doubled quotes, newlines).
enum CSVReader {
    static func parse(_ text: String) -> (header: [String], rows: [[String: String]]) {
        var records: [[String]] = [], field = "", record: [String] = [], quoted = false
        var chars = Array(text).makeIterator()
        var pending: Character? = nil
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    let next = chars.next()
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else { field.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field); field = ""
            } else if c == "\n" {
                record.append(field); field = ""; records.append(record); record = []
            } else if c != "\r" {
                field.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { return ([], []) }
        let rows = records.dropFirst().map { values in
            Dictionary(uniqueKeysWithValues: zip(header, values + Array(repeating: "", count: max(0, header.count - values.count))))
        }
        return (header, rows)
    }
}

struct ClaimOutcome {
    var claim: Claim
    var found: Found?
    var problem: String?
    var holds: Bool { problem == nil }
}

/// Runs the claims' commands (each distinct command once, two at a time) and compares.
struct ClaimChecker {
    var root: URL = ClaimsFile.root

    /// What a command left behind: stdout and the temporary directory it wrote to.
    struct RunOutput {
        var status: Int32
        var stdout: String
        var stderr: String
        var directory: URL
    }

    func check(_ claims: [Claim]) throws -> [ClaimOutcome] {
        let scratch = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var commands: [[String]] = []
        for c in claims { if case .run(let args) = c.source, !commands.contains(args) { commands.append(args) } }
        let outputs = Locked([[String]: Result<RunOutput, Error>]())
        let queue = DispatchQueue(label: "claims", attributes: .concurrent)
        let group = DispatchGroup(), slots = DispatchSemaphore(value: 2)
        for (index, args) in commands.enumerated() {
            slots.wait()
            queue.async(group: group) {
                defer { slots.signal() }
                let result = Result { () throws -> RunOutput in
                    let dir = scratch.appendingPathComponent("run\(index)")
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    let resolved = args.map {
                        $0.replacingOccurrences(of: "{out}", with: dir.appendingPathComponent("out.csv").path)
                            .replacingOccurrences(of: "{dir}", with: dir.path)
                    }
                    let r = try CLI.run(resolved)
                    return RunOutput(status: r.status, stdout: r.stdout, stderr: r.stderr, directory: dir)
                }
                outputs.mutate { $0[args] = result }
            }
        }
        group.wait()
        let ran = outputs.value
        return claims.map { claim in
            do {
                let found = try value(of: claim, outputs: ran)
                return ClaimOutcome(claim: claim, found: found, problem: Self.compare(found, claim.expectation, root: root))
            } catch {
                return ClaimOutcome(claim: claim, found: nil, problem: "\(error)")
            }
        }
    }

    func value(of claim: Claim, outputs: [[String]: Result<RunOutput, Error>]) throws -> Found {
        var text: String
        var directory: URL? = nil
        switch claim.source {
        case .file(let path):
            let url = root.appendingPathComponent(path)
            guard let data = FileManager.default.contents(atPath: url.path) else { throw ClaimsFileError("\(path) does not exist") }
            text = String(decoding: data, as: UTF8.self)
        case .run(let args):
            let out = try outputs[args]!.get()
            guard out.status == 0 else {
                throw ClaimsFileError("ccsim \(args.joined(separator: " ")) exited with \(out.status): \(out.stderr.prefix(300))")
            }
            text = out.stdout
            directory = out.directory
            if case .csv = claim.selection {
                let csv = out.directory.appendingPathComponent("out.csv")
                guard let data = FileManager.default.contents(atPath: csv.path) else {
                    throw ClaimsFileError("the command wrote no {out} CSV")
                }
                text = String(decoding: data, as: UTF8.self)
            }
        }
        switch claim.selection {
        case .json(let path):
            return try Self.lookup(text, path: path)
        case .producedFile(let name):
            guard let dir = directory, let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else {
                throw ClaimsFileError("the command did not write \(name)")
            }
            return .text(String(decoding: data, as: UTF8.self))
        case .csv(let filters, let pick, let column):
            let table = CSVReader.parse(text)
            for (name, _) in filters where !table.header.contains(name) {
                throw ClaimsFileError("no column '\(name)' (columns: \(table.header.joined(separator: ", ")))")
            }
            if let column, !table.header.contains(column) {
                throw ClaimsFileError("no column '\(column)' (columns: \(table.header.joined(separator: ", ")))")
            }
            let rows = table.rows.filter { row in filters.allSatisfy { $0.1.accepts(row[$0.0] ?? "") } }
            if pick == .count { return .number(Double(rows.count)) }
            let row: [String: String]
            switch pick {
            case .only:
                guard rows.count == 1 else { throw ClaimsFileError("\(rows.count) rows match (expected exactly one)") }
                row = rows[0]
            case .first, .last:
                guard let r = pick == .first ? rows.first : rows.last else { throw ClaimsFileError("no row matches") }
                row = r
            case .argmax(let key), .argmin(let key):
                guard table.header.contains(key) else { throw ClaimsFileError("no column '\(key)'") }
                let keyed = rows.compactMap { r in Double(r[key] ?? "").map { ($0, r) } }
                guard !keyed.isEmpty else { throw ClaimsFileError("no row matches") }
                // The first row of the extreme value, so ties resolve by file order.
                var best = keyed[0]
                for k in keyed.dropFirst() where (pick == .argmax(key) ? k.0 > best.0 : k.0 < best.0) { best = k }
                row = best.1
            case .count: fatalError("handled above")
            }
            let cell = row[column!] ?? ""
            if cell.isEmpty { return .null }
            if cell == "true" || cell == "false" { return .bool(cell == "true") }
            if let x = Double(cell) { return .number(x) }
            return .text(cell)
        }
    }

    /// A parsed JSON value (JSONDecoder keeps booleans and numbers apart on every platform).
    indirect enum JSONTree: Decodable {
        case null, bool(Bool), number(Double), text(String), array([JSONTree]), object([String: JSONTree])

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let x = try? c.decode(Double.self) { self = .number(x) }
            else if let s = try? c.decode(String.self) { self = .text(s) }
            else if let a = try? c.decode([JSONTree].self) { self = .array(a) }
            else { self = .object(try c.decode([String: JSONTree].self)) }
        }
    }

    static func lookup(_ json: String, path: String) throws -> Found {
        var current = try JSONDecoder().decode(JSONTree.self, from: Data(json.utf8))
        for key in path.split(separator: ".").map(String.init) {
            switch current {
            case .object(let dict):
                guard let next = dict[key] else { throw ClaimsFileError("JSON has no key '\(key)' (path \(path))") }
                current = next
            case .array(let list):
                guard let i = Int(key), list.indices.contains(i < 0 ? list.count + i : i) else {
                    throw ClaimsFileError("JSON index '\(key)' out of range (path \(path))")
                }
                current = list[i < 0 ? list.count + i : i]
            default:
                throw ClaimsFileError("JSON path \(path) stops at '\(key)'")
            }
        }
        switch current {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let x): return .number(x)
        case .text(let s): return .text(s)
        default: throw ClaimsFileError("JSON path \(path) is not a scalar")
        }
    }

    /// nil when the found value meets the expectation, else what is wrong.
    static func compare(_ found: Found, _ expectation: Claim.Expectation, root: URL) -> String? {
        switch (expectation, found) {
        case (.number(let x, let tol), .number(let v)):
            return abs(v - x) <= tol ? nil : "got \(v), claimed \(x) +- \(tol) (off by \(abs(v - x)))"
        case (.null, .null): return nil
        case (.text(let s), .text(let t)): return s == t ? nil : "got \(found), claimed '\(s)'"
        case (.bool(let b), .bool(let c)): return b == c ? nil : "got \(c), claimed \(b)"
        case (.below(let x), .number(let v)): return v < x ? nil : "got \(v), claimed below \(x)"
        case (.above(let x), .number(let v)): return v > x ? nil : "got \(v), claimed above \(x)"
        case (.contains(let s), .text(let t)): return t.contains(s) ? nil : "got \(found), claimed to contain '\(s)'"
        case (.sameAs(let path), .text(let t)):
            guard let data = FileManager.default.contents(atPath: root.appendingPathComponent(path).path) else {
                return "\(path) does not exist"
            }
            let committed = String(decoding: data, as: UTF8.self)
            if committed == t { return nil }
            let a = committed.split(separator: "\n", omittingEmptySubsequences: false)
            let b = t.split(separator: "\n", omittingEmptySubsequences: false)
            let line = Array(zip(a, b)).firstIndex { $0.0 != $0.1 } ?? min(a.count, b.count)
            return "the command's output differs from \(path) from line \(line + 1): '\(line < b.count ? b[line].prefix(160) : "<end>")'"
        default:
            return "got \(found), which cannot meet \(expectation)"
        }
    }
}

/// The README's claimed numbers: `NUMBER<!--claim:ID-->` checks that NUMBER is a correct rounding
/// of the claim's value; a marker after text (`... mu/2<!--claim:ID-->`) only cites the claim.
enum ReadmeCitations {
    static let marker = try! NSRegularExpression(pattern: #"(?:(?<![A-Za-z0-9_./-])(-?[0-9]+(?:\.[0-9]+)?))?<!--claim:([A-Za-z0-9_.\-]+)-->"#)

    struct Citation {
        var id: String
        var number: String?
        var line: Int
    }

    static func citations(in text: String) -> [Citation] {
        let ns = text as NSString
        return marker.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { m in
            let number = m.range(at: 1).location == NSNotFound ? nil : ns.substring(with: m.range(at: 1))
            let line = ns.substring(to: m.range.location).filter { $0 == "\n" }.count + 1
            return Citation(id: ns.substring(with: m.range(at: 2)), number: number, line: line)
        }
    }

    /// Problems: unknown ids, numbers that are not a rounding of their claim's value, marked
    /// numbers of claims that state no number.
    static func problems(in text: String, file: String, claims: [Claim]) -> [String] {
        let byID = Dictionary(uniqueKeysWithValues: claims.map { ($0.id, $0) })
        var out: [String] = []
        for c in citations(in: text) {
            guard let claim = byID[c.id] else {
                out.append("\(file):\(c.line): marker names unknown claim '\(c.id)'")
                continue
            }
            guard let shown = c.number else { continue }
            guard let value = claim.statedNumber, let x = Double(shown) else {
                out.append("\(file):\(c.line): \(shown) is marked with '\(c.id)', which states no number")
                continue
            }
            let decimals = shown.split(separator: ".").dropFirst().first?.count ?? 0
            // The shown digits must be the claim's value rounded to them (half a unit of the
            // last shown digit, plus rounding slack).
            let halfUnit = 0.5 * pow(10, -Double(decimals))
            if abs(x - value) > halfUnit * (1 + 1e-9) {
                out.append("\(file):\(c.line): README says \(shown) but claim '\(c.id)' is \(value) (\"\(claim.says)\")")
            }
        }
        return out
    }

    /// The lines of the README sections whose numbers are claims.
    static let checkedSections = ["## What the numbers say about the paper's claims", "## Results and figures",
                                  "## What the attribution metric can see"]

    static func sections(of text: String) -> [(start: Int, lines: [Substring])] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var out: [(Int, [Substring])] = []
        var i = 0
        while i < lines.count {
            if checkedSections.contains(String(lines[i])) {
                var j = i + 1
                while j < lines.count && !lines[j].hasPrefix("## ") { j += 1 }
                out.append((i + 1, Array(lines[i..<j])))
                i = j
            } else { i += 1 }
        }
        return out
    }

    static let precise = try! NSRegularExpression(pattern: #"(?<![A-Za-z0-9_.:/=-])-?[0-9]+\.[0-9]{3,}(?![0-9.])"#)
    static let input = try! NSRegularExpression(pattern: #"\b(eps|sigma|s|mu|scale) = $"#)

    /// Numbers with three or more decimals in the checked sections that carry no marker and are
    /// not inputs written as `eps = 0.499` (a result cannot be stated without its command).
    static func unmarkedNumbers(in text: String) -> [String] {
        var out: [String] = []
        for (start, lines) in sections(of: text) {
            var inCode = false
            for (k, line) in lines.enumerated() {
                if line.hasPrefix("```") { inCode.toggle(); continue }
                if inCode || line.hasPrefix("![") { continue }
                let s = String(line), ns = s as NSString
                for m in precise.matches(in: s, range: NSRange(location: 0, length: ns.length)) {
                    let after = ns.substring(from: m.range.location + m.range.length)
                    if after.hasPrefix("<!--claim:") { continue }
                    let before = ns.substring(to: m.range.location)
                    if input.firstMatch(in: before, range: NSRange(location: 0, length: (before as NSString).length)) != nil { continue }
                    out.append("README.md:\(start + k): \(ns.substring(with: m.range)) has no <!--claim:ID--> marker")
                }
            }
        }
        return out
    }
}

/// A value shared between the runner threads.
final class Locked<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ v: Value) { stored = v }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ f: (inout Value) -> Void) { lock.lock(); defer { lock.unlock() }; f(&stored) }
}

enum ClaimsMode {
    static var slow: Bool { ProcessInfo.processInfo.environment["CCSIM_CLAIMS_SLOW"] == "1" }

    /// `scripts/check-claims` asks for a per-claim report in this file.
    static func report(_ outcomes: [ClaimOutcome]) {
        guard let path = ProcessInfo.processInfo.environment["CCSIM_CLAIMS_REPORT"] else { return }
        var lines = outcomes.map { o in
            "\(o.holds ? "ok  " : "FAIL") \(o.claim.id)\(o.claim.slow ? " [slow]" : ""): \(o.found.map { "\($0)" } ?? "-")\(o.problem.map { " -- \($0)" } ?? "")"
        }
        lines.append("")
        if let h = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() {
            h.seekToEndOfFile()
            h.write(Data(lines.joined(separator: "\n").utf8))
            h.closeFile()
        }
    }
}

@Suite("Claims in the README and results/ (docs/claims.yaml)")
struct ClaimsTests {
    static func record(_ outcomes: [ClaimOutcome]) {
        ClaimsMode.report(outcomes)
        for o in outcomes where !o.holds {
            Issue.record("claim '\(o.claim.id)' (\"\(o.claim.says)\") does not hold: \(o.problem!)")
        }
    }

    @Test("every fast claim holds: its command (or committed results file) gives the claimed value")
    func fastClaimsHold() throws {
        let claims = try ClaimsFile.load().filter { !$0.slow }
        #expect(claims.count >= 20)
        Self.record(try ClaimChecker().check(claims))
    }

    @Test("every slow claim holds (CCSIM_CLAIMS_SLOW=1: scripts/check-claims --slow)", .enabled(if: ClaimsMode.slow))
    func slowClaimsHold() throws {
        let claims = try ClaimsFile.load().filter { $0.slow }
        #expect(!claims.isEmpty)
        Self.record(try ClaimChecker().check(claims))
    }

    @Test("every README number with a marker is a correct rounding of its claim; every claim is cited")
    func readmeAgreesWithClaims() throws {
        let claims = try ClaimsFile.load()
        let readme = try String(contentsOf: ClaimsFile.root.appendingPathComponent("README.md"), encoding: .utf8)
        for p in ReadmeCitations.problems(in: readme, file: "README.md", claims: claims) { Issue.record("\(p)") }
        for p in ReadmeCitations.unmarkedNumbers(in: readme) { Issue.record("\(p)") }
        let cited = Set(ReadmeCitations.citations(in: readme).map(\.id))
        for c in claims where c.backs == nil && !cited.contains(c.id) {
            Issue.record("claim '\(c.id)' is cited nowhere: mark its README number with <!--claim:\(c.id)--> or give 'backs'")
        }
        for c in claims {
            if let backs = c.backs { #expect(FileManager.default.fileExists(atPath: ClaimsFile.root.appendingPathComponent(backs).path), "\(c.id): backs \(backs)") }
        }
        #expect(cited.count >= 20)
    }

    @Test("a deliberately wrong claim (a copy of the claims file with one value edited) is reported as failing")
    func wrongClaimFails() throws {
        let text = try String(contentsOf: ClaimsFile.defaultPath, encoding: .utf8)
        // Edit the value of one fast command claim and one committed-file claim in the text.
        var edited = text
        for (id, from, to) in [("ra-eps0.35-ratio0.09", "value: 0.7262699", "value: 0.7272699"),
                               ("t1-holds", "value: 12", "value: 13")] {
            let start = try #require(edited.range(of: "id: \(id)\n"), "claim \(id) missing")
            let end = edited.range(of: "\n  - id:", range: start.upperBound..<edited.endIndex)?.lowerBound ?? edited.endIndex
            let block = String(edited[start.lowerBound..<end])
            #expect(block.contains(from), "claim \(id) no longer says \(from)")
            edited.replaceSubrange(start.lowerBound..<end, with: block.replacingOccurrences(of: from, with: to))
        }
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("claims.yaml")
        try edited.write(to: copy, atomically: true, encoding: .utf8)
        let claims = try ClaimsFile.load(copy).filter { ["ra-eps0.35-ratio0.09", "t1-holds", "ra-eps0.35-ratio0"].contains($0.id) }
        let outcomes = try ClaimChecker().check(claims)
        let failing = Set(outcomes.filter { !$0.holds }.map(\.claim.id))
        #expect(failing == ["ra-eps0.35-ratio0.09", "t1-holds"], "\(outcomes.map { ($0.claim.id, $0.problem ?? "ok") })")
        // The README now disagrees with the edited file.
        let readme = try String(contentsOf: ClaimsFile.root.appendingPathComponent("README.md"), encoding: .utf8)
        let problems = ReadmeCitations.problems(in: readme, file: "README.md", claims: try ClaimsFile.load(copy))
        #expect(problems.contains { $0.contains("'ra-eps0.35-ratio0.09'") } && problems.contains { $0.contains("'t1-holds'") }, "\(problems)")
    }

    @Test("a README number that disagrees with its claim, or a claimed number without a marker, is caught")
    func wrongReadmeNumberIsCaught() throws {
        let claims = try ClaimsFile.load()
        let readme = try String(contentsOf: ClaimsFile.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(ReadmeCitations.problems(in: readme, file: "README.md", claims: claims).isEmpty)
        // The Theorem 2 numbers, changed in the last shown digit.
        let original = "0.726270<!--claim:ra-eps0.35-ratio0.09-->"
        #expect(readme.contains(original))
        let wrong = readme.replacingOccurrences(of: original, with: "0.726280<!--claim:ra-eps0.35-ratio0.09-->")
        let problems = ReadmeCitations.problems(in: wrong, file: "README.md", claims: claims)
        #expect(problems.count == 1 && problems[0].contains("0.726280"), "\(problems)")
        // A coarser rounding is fine when it is a correct one, a wrong one is not.
        let coarse = readme.replacingOccurrences(of: original, with: "0.73<!--claim:ra-eps0.35-ratio0.09-->")
        #expect(ReadmeCitations.problems(in: coarse, file: "README.md", claims: claims).isEmpty)
        let badRounding = readme.replacingOccurrences(of: original, with: "0.72<!--claim:ra-eps0.35-ratio0.09-->")
        #expect(ReadmeCitations.problems(in: badRounding, file: "README.md", claims: claims).count == 1)
        // An unknown marker and a number stripped of its marker.
        let unknown = readme.replacingOccurrences(of: original, with: "0.726270<!--claim:no-such-claim-->")
        #expect(ReadmeCitations.problems(in: unknown, file: "README.md", claims: claims).contains { $0.contains("no-such-claim") })
        #expect(ReadmeCitations.unmarkedNumbers(in: readme).isEmpty)
        let stripped = readme.replacingOccurrences(of: original, with: "0.726270")
        #expect(ReadmeCitations.unmarkedNumbers(in: stripped).contains { $0.contains("0.726270") })
        // Inputs are not claims.
        #expect(ReadmeCitations.unmarkedNumbers(in: "## Results and figures\nat eps = 0.499 the derivative\n").isEmpty)
    }

    /// results/theorems.md is written by the same `ccsim verify` run as theorems.csv; the claims
    /// pin theorems.csv (fast) and the whole file against a fresh run (slow). This keeps a hand
    /// edit of the Markdown from drifting away from the CSV.
    static func theoremsMarkdownProblems(markdown: String, verdicts: String) -> [String] {
        let table = CSVReader.parse(verdicts)
        var out: [String] = []
        let lines = Set(markdown.split(separator: "\n").map(String.init))
        for row in table.rows {
            let objective = row["objective"] == "-" ? "none (robust accuracy, scale-free)" : row["objective"]!
            let sigma = Double(row["sigma_over_mu"]!)!.description
            let detail = row["detail"]!.replacingOccurrences(of: "|", with: "\\|")
            let precision = (row["precision"] ?? "").replacingOccurrences(of: "|", with: "\\|")
            let line = "| \(row["claim"]!) | \(objective) | linf | \(sigma) | **\(row["verdict"]!)** | \(detail) | \(precision) |"
            if !lines.contains(line) { out.append("theorems.md has no row '\(line.prefix(140))...'") }
        }
        var counts: [String: (Int, Int, Int)] = [:]
        for row in table.rows {
            var c = counts[row["claim"]!, default: (0, 0, 0)]
            switch row["verdict"] {
            case "holds": c.0 += 1
            case "fails": c.1 += 1
            default: c.2 += 1
            }
            counts[row["claim"]!] = c
        }
        for (claim, c) in counts where !lines.contains("| \(claim) | \(c.0) | \(c.1) | \(c.2) |") {
            out.append("theorems.md summary for \(claim) is not \(c.0) holds / \(c.1) fails / \(c.2) undecided")
        }
        if !markdown.contains("Made by `ccsim verify ") { out.append("theorems.md does not name its command") }
        if !markdown.contains("**as formalised here**") { out.append("theorems.md does not say its claims are as formalised here") }
        return out
    }

    @Test("results/theorems.md states the verdicts and counts of results/theorems.csv, its command, and 'as formalised here'")
    func theoremsMarkdownMatchesCSV() throws {
        let root = ClaimsFile.root.appendingPathComponent("results")
        let md = try String(contentsOf: root.appendingPathComponent("theorems.md"), encoding: .utf8)
        let csv = try String(contentsOf: root.appendingPathComponent("theorems.csv"), encoding: .utf8)
        for p in Self.theoremsMarkdownProblems(markdown: md, verdicts: csv) { Issue.record("\(p)") }
        // A changed count in the Markdown is caught.
        let edited = md.replacingOccurrences(of: "| theorem1 | 12 | 18 |", with: "| theorem1 | 13 | 17 |")
        #expect(edited != md)
        #expect(Self.theoremsMarkdownProblems(markdown: edited, verdicts: csv).contains { $0.contains("theorem1") })
    }

    @Test("the claims file parser rejects entries without a command, a tolerance or an expectation")
    func parserRejects() throws {
        let bad = [
            "claims:\n  - id: a\n    says: x\n    json: eps0\n    value: 1\n    tolerance: 0\n",  // no run/file
            "claims:\n  - id: a\n    says: x\n    run: ccsim risk --eps 0.3 --w1 1 --w2 0 --json\n    json: robust_accuracy\n    value: 0.9\n",  // no tolerance
            "claims:\n  - id: a\n    says: x\n    run: risk --eps 0.3\n    json: v\n    value: 1\n    tolerance: 0\n",  // not ccsim
            "claims:\n  - id: a\n    says: x\n    file: results/sweep_paper3.csv\n    value: 1\n    tolerance: 0\n",  // no column
        ]
        for text in bad { #expect(throws: ClaimsFileError.self) { try ClaimsFile.parse(text) } }
        let table = CSVReader.parse("a,b\n1,\"x, \"\"y\"\"\nz\"\n2,\n")
        #expect(table.header == ["a", "b"] && table.rows.count == 2 && table.rows[0]["b"] == "x, \"y\"\nz" && table.rows[1]["b"] == "")
    }
}

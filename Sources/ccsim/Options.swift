import ArgumentParser
import CrossClass
import Foundation

/// --model and its parameters, shared by every command that needs data.
struct ModelOptions: ParsableArguments {
    @Option(help: "paper3, complement:K, pairwise:K, or a .json/.yaml/.yml model file.")
    var model: String = "paper3"

    @Option(help: "Mean of every signal feature (default 1 for presets; a file's own values otherwise).")
    var mu: Double?

    @Option(help: "Standard deviation of every signal feature (default 0.5 for presets).")
    var sigma: Double?

    @Option(help: "Background std of absent features (default 0: exactly zero).")
    var tau: Double?

    @Option(name: .customLong("noise-dims"), help: "Extra pure-noise coordinates.")
    var noiseDims: Int?

    @Option(name: .customLong("noise-sigma"), help: "Std of the noise coordinates (default 1).")
    var noiseSigma: Double?

    func load() throws -> DataModel {
        if let mu { try CheckFlag.finite(mu, "--mu") }
        if let sigma { try CheckFlag.positive(sigma, "--sigma") }
        if let tau { try CheckFlag.nonNegative(tau, "--tau") }
        if let noiseSigma { try CheckFlag.positive(noiseSigma, "--noise-sigma") }
        if let noiseDims, noiseDims < 0 || noiseDims > DataModel.maxNoiseDimensions {
            throw InputError("--noise-dims \(noiseDims) is not allowed: it must be an integer in 0...\(DataModel.maxNoiseDimensions)")
        }
        return try ModelSource.parse(model).load(
            mu: mu, sigma: sigma, tau: tau, noiseDimensions: noiseDims, noiseSigma: noiseSigma)
    }

    var json: [String: JSONValue] {
        var c: [String: JSONValue] = ["model": .string(model)]
        if let mu { c["mu"] = .number(mu) }
        if let sigma { c["sigma"] = .number(sigma) }
        if let tau { c["tau"] = .number(tau) }
        if let noiseDims { c["noise_dims"] = .number(Double(noiseDims)) }
        if let noiseSigma { c["noise_sigma"] = .number(noiseSigma) }
        return c
    }
}

enum CheckFlag {
    static func finite(_ v: Double, _ flag: String) throws {
        guard v.isFinite else { throw InputError("\(flag) \(v) is not allowed: it must be a finite number") }
    }
    static func positive(_ v: Double, _ flag: String) throws {
        guard v.isFinite, v > 0 else { throw InputError("\(flag) \(v) is not allowed: it must be a finite number > 0") }
    }
    static func nonNegative(_ v: Double, _ flag: String) throws {
        guard v.isFinite, v >= 0 else { throw InputError("\(flag) \(v) is not allowed: it must be a finite number >= 0") }
    }
    static func eps(_ v: Double) throws {
        guard v.isFinite, v >= 0 else {
            throw InputError("--eps \(v) is not allowed: it must be a finite number >= 0")
        }
    }
}

/// Output helpers shared by the commands.
enum Emit {
    /// Writes the CSV and its manifest (both atomically; the CSV last so that a present CSV
    /// always has its manifest).
    static func csv(_ table: CSVTable, to path: String, command: String, configuration: [String: JSONValue], notes: [String] = []) throws {
        try table.checkFinite()
        var notes = notes
        // Derived from the rows (not from the run) so that merged shards get the same note.
        if let column = table.header.firstIndex(of: "converged") {
            let failures = table.rows.filter { $0[column] == "false" }.count
            if failures > 0 { notes.append("\(failures) rows did not converge (column converged)") }
        }
        let manifest = Manifest(command: command, output: path, configuration: configuration, notes: notes)
        try AtomicFile.write(try manifest.encoded(), to: Manifest.path(for: path))
        try AtomicFile.write(table.text, to: path)
    }

    static func json(_ object: [String: JSONValue]) {
        print(JSONValue.object(object).text)
    }

    /// Checks that an output path can be written before any work starts, so a long run does
    /// not fail at the end (and nothing partial is ever left behind).
    static func checkWritable(_ path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let directory = dir.isEmpty ? "." : dir
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw InputError("--out '\(path)': directory '\(directory)' does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw InputError("--out '\(path)': directory '\(directory)' is not writable")
        }
        guard !(path.hasSuffix("/")) else { throw InputError("--out '\(path)' is a directory; give a file name") }
    }
}

/// Progress on stderr when it is a terminal; silent otherwise.
final class Progress: @unchecked Sendable {
    let total: Int
    let label: String
    private var done = 0
    private let enabled: Bool

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        self.enabled = isatty(STDERR_FILENO) != 0
    }

    /// Absolute progress from any thread (writes are whole lines, so interleaving is harmless).
    func report(_ done: Int, _ total: Int) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\(label): \(done)/\(total)".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func step(_ n: Int = 1) {
        done += n
        guard enabled else { return }
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

/// --shard and --resume, shared by every grid command (sweep, sweep-w2, path, phase,
/// compare-grid).
struct GridOptions: ParsableArguments {
    @Option(help: "Compute only shard i/n of the grid (items with index = i mod n, 0 <= i < n); combine the shards with 'ccsim merge'.")
    var shard: String?

    @Flag(help: "Continue an interrupted run from OUT.journal (same flags); the output has the same bytes as an uninterrupted run.")
    var resume = false

    /// Runs the grid with a journal, writes the CSV and manifest, removes the journal, and
    /// returns the number of rows written.
    @discardableResult
    func run(
        command: String, header: [String], itemCount: Int, out: String, configuration: [String: JSONValue],
        _ compute: @Sendable @escaping (Int) throws -> [[CSVValue]]
    ) throws -> Int {
        let parsedShard = try shard.map { try Shard.parse($0) }
        var config = configuration
        if let parsedShard { config["shard"] = .string(parsedShard.description) }
        let fingerprint = JSONValue.object(["command": .string(command), "configuration": .object(config),
                                            "header": .array(header.map { .string($0) })]).text
        let grid = GridRun(header: header, itemCount: itemCount, shard: parsedShard, output: out, fingerprint: fingerprint, resume: resume)
        let progress = Progress(total: grid.items.count, label: command)
        let table = try grid.run(progress: { progress.report($0, $1) }, compute)
        try Emit.csv(table, to: out, command: command, configuration: config)
        grid.finish()
        return table.rows.count
    }
}

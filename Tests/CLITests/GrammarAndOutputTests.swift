import Foundation
import Testing

/// One grammar for objectives and one set of rules for output paths, checked across every
/// command that takes them (generated from the lists below, not written case by case).
@Suite("CLI grammar and output paths")
struct GrammarAndOutputTests {
    /// Each command that takes an objective, with the flag it uses and arguments that make the
    /// rest of the command valid.
    static let objectiveCommands: [(flag: String, base: [String])] = [
        ("--objective", ["optimum", "--eps", "0.1"]),
        ("--objective", ["threshold"]),
        ("--objective", ["objective", "--eps", "0.1", "--w1", "1", "--w2", "0.5"]),
        ("--objective", ["path", "--eps", "0.3", "--out", "-"]),
        ("--objectives", ["sweep", "--eps", "0.1", "--out", "-"]),
        ("--objectives", ["phase", "--sigmas", "0.5", "--eps", "0.1", "--out", "-"]),
        ("--objectives", ["verify"]),
        ("--objective", ["train", "--eps", "0.1", "--epochs", "1", "--out", NSTemporaryDirectory() + "ccsim-grammar-unwritten.csv"]),
        ("--objective", ["compare", "--eps", "0.1"]),
        ("--objectives", ["compare-grid", "--eps", "0.1", "--out", "-"]),
    ]

    /// Bad spellings and the reason every command must give (the library's one message).
    static let badSpellings: [(spec: String, reason: String)] = [
        ("banana", "objective 'banana' is unknown"),
        ("ls:2", "it must be a number in (0, 0.5)"),
        ("ls:x", "it must be a number in (0, 0.5)"),
        ("hinge:-1", "it must be a number in [0, 1000000]"),
        ("ce@scale=-1", "it must be a number in (0, 1e+100]"),
        ("ce@speed=1", "unknown setting 'speed'"),
        ("ce@", "scale=S, wd=LAMBDA or wdc=LAMBDA"),
        ("ce:1", "ce takes no parameter"),
    ]

    @Test("every command refuses a bad objective spelling with the same reason, in one line, exit 2",
          arguments: Array(0..<(objectiveCommands.count * badSpellings.count)))
    func badObjective(index: Int) throws {
        let command = Self.objectiveCommands[index / Self.badSpellings.count]
        let bad = Self.badSpellings[index % Self.badSpellings.count]
        let r = try CLI.run(command.base + [command.flag, bad.spec])
        #expect(r.status == 2, "\(command.base[0]) \(bad.spec): status \(r.status) \(r.stderr)")
        #expect(r.stderr.contains(bad.reason), "\(command.base[0]) \(bad.spec): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stdout.isEmpty, "\(r.stderr)")
    }

    @Test("settings as flags mean what the same setting inside the spec means")
    func flagsEqualSpec() throws {
        let base = ["objective", "--eps", "0.2", "--w1", "1", "--w2", "0.5", "--json"]
        let pairs: [([String], [String])] = [
            (["--objective", "ls:0.2"], ["--objective", "ls", "--smoothing", "0.2"]),
            (["--objective", "ce@wd=0.1"], ["--objective", "ce", "--weight-decay", "0.1"]),
            (["--objective", "ce@wdc=0.1"], ["--objective", "ce", "--centred-weight-decay", "0.1"]),
            (["--objective", "trades:3"], ["--objective", "trades", "--beta", "3"]),
        ]
        for (a, b) in pairs {
            let ra = try CLI.run(base + a), rb = try CLI.run(base + b)
            #expect(ra.status == 0 && rb.status == 0, "\(ra.stderr) \(rb.stderr)")
            #expect(ra.stdout == rb.stdout, "\(a) vs \(b)")
        }
        // The weight-decay penalty is reported, not silently ignored, and differs between the
        // plain and the centred convention (the symmetric W is not centred).
        let plain = try CLI.run(base + ["--objective", "ce@wd=0.1"]), centred = try CLI.run(base + ["--objective", "ce@wdc=0.1"])
        #expect(plain.stdout.contains("penalised_value") && plain.stdout != centred.stdout)
        // A fixed scale does not apply to a given W.
        let scaled = try CLI.run(base + ["--objective", "ce@scale=5"])
        #expect(scaled.status == 2 && scaled.stderr.contains("fixed scale"))
    }

    /// Commands that write, each with arguments that make it cheap; OUT is replaced by the path.
    static let writers: [[String]] = [
        ["sample", "--n-total", "5", "--out", "OUT"],
        ["sweep-w2", "--eps", "0.1", "--ratios", "0", "--out", "OUT"],
        ["table", "--eps", "0.1", "--ratios", "0", "--out", "OUT"],
        ["train", "--eps", "0.1", "--epochs", "1", "--n-train", "10", "--n-test", "10", "--out", "OUT"],
        ["compare", "--eps", "0.1", "--epochs", "8", "--steps-per-epoch", "1", "--batch", "8", "--seeds", "1", "--out", "OUT"],
        ["sweep", "--eps", "0.1", "--objectives", "worst-margin", "--out", "OUT"],
        ["path", "--eps", "0.3", "--objective", "worst-margin", "--scales", "1", "--out", "OUT"],
        ["phase", "--sigmas", "0.5", "--eps", "0.1", "--objectives", "worst-margin", "--out", "OUT"],
        ["attribution", "--map", "--eps-over-mu", "0.1", "--ratios", "1", "--out", "OUT"],
        ["merge", "--out", "OUT", Inputs.shard(0), Inputs.shard(1)],
        ["export-weights", Inputs.checkpoint, "--out", "OUT"],
    ]

    /// Inputs of the commands that read files (merge, export-weights), made once per test run
    /// in their own directory (absolute paths, so a writer can run in any directory).
    enum Inputs {
        static let directory: URL = {
            let dir = try! CLI.temporaryDirectory()
            let shard = { (i: Int) in ["sweep-w2", "--eps", "0.1", "--ratios", "0,1", "--shard", "\(i)/2", "--out", dir.appendingPathComponent("s\(i).csv").path] }
            // Shared by every case of the run, so removed when the test process exits.
            atexit { try? FileManager.default.removeItem(at: Inputs.directory) }
            for i in 0..<2 { precondition(try! CLI.run(shard(i)).status == 0) }
            precondition(try! CLI.run(["train", "--eps", "0.1", "--epochs", "1", "--n-train", "10", "--n-test", "10", "--out",
                                       dir.appendingPathComponent("t.csv").path, "--checkpoint", dir.appendingPathComponent("ck.json").path]).status == 0)
            return dir
        }()
        static func shard(_ i: Int) -> String { directory.appendingPathComponent("s\(i).csv").path }
        static var checkpoint: String { directory.appendingPathComponent("ck.json").path }
    }

    /// Bad targets, relative to a fresh directory (set up by `prepare`): empty, an existing
    /// directory (with and without a slash), a FIFO, a missing directory (relative and
    /// absolute), a name longer than 255 bytes, a path longer than 4096 bytes, a symbolic link,
    /// and directories nobody may write to, even root (/proc, /sys).
    static let badTargets = ["", "sub", "sub/", ".", "/", "fifo", "missing/x.csv", "/nonexistent-ccsim/x.csv",
                             String(repeating: "n", count: 300), String(repeating: "d/", count: 2100) + "x", "link",
                             "/proc/x.csv", "/sys/x.csv"]

    static func prepare(_ dir: URL) throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        mkfifo(dir.appendingPathComponent("fifo").path, 0o644)
        try "x".write(to: dir.appendingPathComponent("target"), atomically: true, encoding: .utf8)
        symlink(dir.appendingPathComponent("target").path, dir.appendingPathComponent("link").path)
    }

    static func listing(_ dir: URL) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: dir.path).sorted()
    }

    @Test("a bad output path: one line, exit 2, nothing written or replaced",
          arguments: Array(0..<(writers.count * badTargets.count)))
    func badOutput(index: Int) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.prepare(dir)
        let before = try Self.listing(dir)
        let target = Self.badTargets[index % Self.badTargets.count]
        let args = Self.writers[index / Self.badTargets.count].map { $0 == "OUT" ? target : $0 }
        let r = try CLI.run(args, in: dir)
        #expect(r.status == 2, "\(args): \(r.status) \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("ccsim: error:"), "\(args): \(r.stderr)")
        #expect(try Self.listing(dir) == before, "\(args) changed the directory")
        var st = stat()
        #expect(lstat(dir.appendingPathComponent("fifo").path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
    }

    @Test("short names and '-' work for every writer; two outputs of one run cannot share a file")
    func goodOutput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, w) in Self.writers.enumerated() {
            let name = "\(i)"
            let r = try CLI.run(w.map { $0 == "OUT" ? name : $0 }, in: dir)
            #expect(r.status == 0, "\(w[0]): \(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(w[0])")
            // A weights file is an input format, not a result: it has no manifest.
            let manifest = FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(name).manifest.json").path)
            #expect(manifest == (w[0] != "export-weights"), "\(w[0])")
            // Absolute paths work the same way.
            let absolute = dir.appendingPathComponent("abs\(i).x").path
            let a = try CLI.run(w.map { $0 == "OUT" ? absolute : $0 })
            #expect(a.status == 0 && FileManager.default.fileExists(atPath: absolute), "\(w[0]): \(a.stderr)")
            // '-' writes the result to standard output and no file.
            if !["train", "table"].contains(w[0]) {  // both need a file: table prints itself, train writes two
                let before = try Self.listing(dir)
                let s = try CLI.run(w.map { $0 == "OUT" ? "-" : $0 }, in: dir)
                #expect(s.status == 0 && !s.stdout.isEmpty, "\(w[0]) --out -: \(s.stderr)")
                #expect(try Self.listing(dir) == before, "\(w[0]) --out - wrote a file")
            }
        }
        // An input named as the output (the same path twice) is refused before anything is read.
        // Also an output whose manifest is a shard's manifest (`--out s0` writes s0.manifest.json),
        // or whose CSV is a shard's manifest.
        let shardStem = String(Inputs.shard(0).dropLast(4))
        for args in [["merge", "--out", Inputs.shard(0), Inputs.shard(0), Inputs.shard(1)],
                     ["merge", "--out", shardStem, Inputs.shard(0), Inputs.shard(1)],
                     ["merge", "--out", shardStem + ".manifest.json", Inputs.shard(0), Inputs.shard(1)],
                     ["export-weights", Inputs.checkpoint, "--out", Inputs.checkpoint]] {
            let inputs = try Self.listing(Inputs.directory)
            let r = try CLI.run(args)
            #expect(r.status == 2 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("give a new file name"), "\(args): \(r.stderr)")
            #expect(try Self.listing(Inputs.directory) == inputs)
        }
        let toStdout = try CLI.run(["sample", "--n-total", "2", "--out", "-"], in: dir)
        #expect(toStdout.status == 0 && toStdout.stdout.hasPrefix("y,"))
        let before = try Self.listing(dir)
        for clash in [["--out", "r.csv", "--attribution-out", "r.csv"], ["--out", "r.csv", "--checkpoint", "r.csv"],
                      ["--out", "r.csv", "--attribution-out", "r.manifest.json"]] {
            let r = try CLI.run(["train", "--eps", "0.1", "--epochs", "1"] + clash, in: dir)
            #expect(r.status == 2 && r.stderr.contains("same file"), "\(clash): \(r.stderr)")
        }
        #expect(try Self.listing(dir) == before)
    }
}

/// Every option of every subcommand, read from its --help, given values of every bad class:
/// each run must end with one line naming the value, exit 2, and nothing written.
@Suite("CLI bad values, generated from --help")
struct GeneratedBadValueTests {
    /// Minimal arguments that make each command valid (so a failure is the bad value's).
    static let commands: [String: [String]] = [
        "verify": [], "sweep": ["--out", "o.csv"], "train": ["--eps", "0.1", "--out", "o.csv"],
        "compare": ["--eps", "0.1"], "compare-grid": ["--out", "o.csv"], "sweep-w2": ["--out", "o.csv"],
        "path": ["--out", "o.csv"], "phase": ["--out", "o.csv"], "risk": ["--eps", "0.1", "--w1", "1", "--w2", "0.5"],
        "optimum": ["--eps", "0.1"], "threshold": [], "objective": ["--eps", "0.1", "--w1", "1", "--w2", "0.5"],
        "table": [], "sample": ["--n-total", "3", "--out", "o.csv"],
    ]
    /// Options whose value is a file name (any text is a valid name): covered by the output tests.
    static let pathOptions: Set<String> = ["--out", "--out-dir", "--checkpoint", "--resume", "--teacher", "--weights", "--attribution-out", "--trajectory-out"]
    /// Every option gets one value of each bad class: not a number, negative, and non-finite.
    /// The non-finite spellings rotate over the options (one parser handles the class), so
    /// each spelling still reaches every command while a run spawns 3 processes per option, not 5.
    static let nonFinite = ["nan", "-inf", "1e999"]
    static func badValues(forOptionAt index: Int) -> [String] { ["abc", "-1", nonFinite[index % nonFinite.count]] }

    static func options(of command: String) throws -> [String] {
        let help = try CLI.run([command, "--help"]).stdout
        var found: [String] = []
        for line in help.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("--"), let space = t.firstIndex(of: " ") else { continue }
            let name = String(t[..<space])
            guard t[space...].trimmingCharacters(in: .whitespaces).hasPrefix("<"), !pathOptions.contains(name) else { continue }
            found.append(name)
        }
        return found
    }

    @Test("numeric and named options refuse bad values", arguments: commands.keys.sorted())
    func badValues(command: String) throws {
        let options = try Self.options(of: command)
        #expect(!options.isEmpty, "no options found in \(command) --help")
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (index, option) in options.enumerated() {
            for value in Self.badValues(forOptionAt: index) {
                // Some values are legitimate for some options (a seed of... none of these; a
                // ratio grid may hold -1; a mean mu may be negative): those must then succeed
                // or fail for another reason, never crash.
                let r = try CLI.run([command] + Self.commands[command]! + [option, value], in: dir)
                let legitimate = (value == "-1" && ["--ratios", "--w1", "--w2", "--mu"].contains(option))
                if legitimate {
                    #expect(r.status == 0 || r.status == 2, "\(command) \(option) \(value): \(r.status)")
                    for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                        try FileManager.default.removeItem(at: dir.appendingPathComponent(f))
                    }
                    continue
                }
                #expect(r.status == 2, "\(command) \(option) \(value): status \(r.status) \(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count == 1, "\(command) \(option) \(value): \(r.stderr)")
                #expect(r.stderr.contains(option) || r.stderr.contains(value), "\(command) \(option) \(value): \(r.stderr)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "\(command) \(option) \(value) wrote files")
            }
        }
    }
}

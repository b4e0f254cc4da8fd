import Foundation
import Testing

/// Reruns, shards, interruption and resume through the real executable.
@Suite("CLI reliability", .serialized)
struct ReliabilityTests {
    static func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    static func files(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    /// Starts ccsim without waiting for it.
    static func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits until `condition` holds (or the process ends, or 120 s pass), polling every 2 ms.
    static func wait(for process: Process, until condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, !condition(), Date() < deadline { usleep(2_000) }
    }

    /// Freezes a running process (SIGSTOP) as soon as `condition` holds, so that a short run can
    /// be interrupted at a known stage however loaded the machine is; true when it is frozen
    /// mid-run. The caller then sends the signal under test and SIGCONT.
    static func freeze(_ process: Process, when condition: () -> Bool) -> Bool {
        wait(for: process, until: condition)
        guard process.isRunning, condition() else { return false }
        kill(process.processIdentifier, SIGSTOP)
        // Stopped ("T" in /proc/PID/stat) or already gone.
        let stat = "/proc/\(process.processIdentifier)/stat"
        for _ in 0..<5000 {
            guard let text = try? String(contentsOfFile: stat, encoding: .utf8) else { return false }
            if let close = text.lastIndex(of: ")"), text[text.index(close, offsetBy: 2)] == "T" { return true }
            usleep(1_000)
        }
        return false
    }

    /// Delivers `signal` to a frozen process and lets it run again to handle it.
    static func interrupt(_ process: Process, with signal: Int32) {
        kill(process.processIdentifier, signal)
        kill(process.processIdentifier, SIGCONT)
        process.waitUntilExit()
    }

    static func lineCount(_ url: URL) -> Int {
        guard let d = FileManager.default.contents(atPath: url.path) else { return 0 }
        return d.filter { $0 == 0x0A }.count
    }

    @Test("sweep and train: same seed and flags give byte-identical CSV and manifest")
    func determinism() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sweep = ["sweep", "--eps", "0.1,0.3", "--objectives", "ce,worst-margin"]
        let train = ["train", "--arch", "two-layer", "--width", "8", "--noise-dims", "3", "--eps", "0.2", "--epochs", "3",
                     "--n-train", "50", "--n-test", "50", "--seed", "7"]
        for (name, args) in [("sweep", sweep), ("train", train)] {
            let a = dir.appendingPathComponent("\(name)_a.csv"), b = dir.appendingPathComponent("\(name)_b.csv")
            let ra = try CLI.run(args + ["--out", a.path]), rb = try CLI.run(args + ["--out", b.path])
            #expect(ra.status == 0 && rb.status == 0, "\(ra.stderr) \(rb.stderr)")
            #expect(try Self.bytes(a) == Self.bytes(b), "\(name) CSV differs between identical runs")
            // Manifests differ only in the output name they record.
            let ma = String(decoding: try Self.bytes(dir.appendingPathComponent("\(name)_a.manifest.json")), as: UTF8.self)
            let mb = String(decoding: try Self.bytes(dir.appendingPathComponent("\(name)_b.manifest.json")), as: UTF8.self)
            #expect(ma.replacingOccurrences(of: "\(name)_a.csv", with: "X") == mb.replacingOccurrences(of: "\(name)_b.csv", with: "X"))
        }
        let other = dir.appendingPathComponent("train_c.csv")
        #expect(try CLI.run(train.dropLast(2) + ["--seed", "8", "--out", other.path]).status == 0)
        #expect(try Self.bytes(other) != Self.bytes(dir.appendingPathComponent("train_a.csv")))
    }

    @Test("shards merged equal the unsharded run byte for byte (sweep, sweep-w2, path, phase, compare-grid)", arguments: [
        ["sweep", "--eps", "0.1:0.4:0.1", "--objectives", "ce,worst-margin"],
        ["sweep-w2", "--eps", "0.2,0.4", "--ratios", "0:1:0.25"],
        ["path", "--eps", "0.3", "--scales", "0.5,1,2,4,8"],
        ["phase", "--sigmas", "0.5,1", "--eps", "0.2,0.45", "--objectives", "worst-margin"],
        ["compare-grid", "--eps", "0.1,0.3", "--objectives", "ce", "--epochs", "8", "--steps-per-epoch", "2", "--batch", "32"],
    ])
    func shardsMerge(arguments: [String]) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for sub in ["whole", "parts", "merged"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let whole = dir.appendingPathComponent("whole/g.csv")
        let r = try CLI.run(arguments + ["--out", whole.path])
        #expect(r.status == 0, "\(r.stderr)")
        var parts: [String] = []
        for i in 0..<3 {
            let p = dir.appendingPathComponent("parts/g\(i).csv").path
            let s = try CLI.run(arguments + ["--out", p, "--shard", "\(i)/3"])
            #expect(s.status == 0, "\(s.stderr)")
            parts.append(p)
        }
        let merged = dir.appendingPathComponent("merged/g.csv")
        let m = try CLI.run(["merge", "--out", merged.path] + parts.reversed())
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try Self.bytes(merged) == Self.bytes(whole))
        #expect(try Self.bytes(dir.appendingPathComponent("merged/g.manifest.json")) == Self.bytes(dir.appendingPathComponent("whole/g.manifest.json")))
        // Incomplete or inconsistent shard sets are refused without output.
        let bad = dir.appendingPathComponent("merged/bad.csv")
        for shards in [Array(parts.dropLast()), [parts[0], parts[0], parts[1], parts[2]], [whole.path]] {
            let b = try CLI.run(["merge", "--out", bad.path] + shards)
            #expect(b.status == 2 && b.stderr.split(separator: "\n").count == 1, "\(b.stderr)")
            #expect(!FileManager.default.fileExists(atPath: bad.path))
        }
    }

    @Test("merge refuses shards of different configurations")
    func mergeMismatch() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv").path, b = dir.appendingPathComponent("b.csv").path
        #expect(try CLI.run(["sweep-w2", "--eps", "0.2", "--ratios", "0,1", "--shard", "0/2", "--out", a]).status == 0)
        #expect(try CLI.run(["sweep-w2", "--eps", "0.3", "--ratios", "0,1", "--shard", "1/2", "--out", b]).status == 0)
        let m = try CLI.run(["merge", "--out", dir.appendingPathComponent("m.csv").path, a, b])
        #expect(m.status == 2 && m.stderr.contains("different command or configuration"), "\(m.stderr)")
    }

    @Test("SIGTERM during a sweep leaves no CSV; --resume finishes it with the same bytes")
    func interruptedSweep() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Five ce optima (about a second each); the run is frozen once two are journalled, so
        // the signal always arrives mid-run.
        let args = ["sweep", "--eps", "0.02:0.42:0.1", "--objectives", "ce"]
        let whole = dir.appendingPathComponent("whole.csv")
        #expect(try CLI.run(args + ["--out", whole.path]).status == 0)
        let out = dir.appendingPathComponent("cut.csv")
        let journal = dir.appendingPathComponent("cut.csv.journal")
        let p = try Self.start(args + ["--out", out.path])
        let frozen = Self.freeze(p) { Self.lineCount(journal) >= 3 }
        #expect(frozen, "the sweep ended before it could be interrupted")
        Self.interrupt(p, with: SIGTERM)
        #expect(p.terminationStatus == 128 + SIGTERM)
        #expect(try Self.files(dir) == ["cut.csv.journal", "whole.csv", "whole.manifest.json"], "a partial or temporary file was left")
        #expect(Self.lineCount(journal) < 6, "the journal holds every point: the sweep was not interrupted mid-run")
        // Without --resume the journal is not silently discarded.
        let refused = try CLI.run(args + ["--out", out.path])
        #expect(refused.status == 2 && refused.stderr.contains("--resume"))
        // A different configuration cannot resume it.
        let other = try CLI.run(["sweep", "--eps", "0.02:0.42:0.1", "--objectives", "worst-margin", "--out", out.path, "--resume"])
        #expect(other.status == 2 && other.stderr.contains("different"))
        let resumed = try CLI.run(args + ["--out", out.path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.bytes(out) == Self.bytes(whole))
        #expect(!FileManager.default.fileExists(atPath: journal.path), "the journal is removed after success")
    }

    @Test("SIGINT during training leaves no CSV; --resume from the checkpoint gives the same bytes")
    func interruptedTraining() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A short run, frozen as soon as its first checkpoint exists (so the signal always
        // arrives mid-run, however loaded the machine), instead of a long run that happens to
        // be still going.
        let args = ["train", "--arch", "two-layer", "--width", "16", "--noise-dims", "5", "--eps", "0.2", "--epochs", "40",
                    "--n-train", "100", "--n-test", "100", "--seed", "3"]
        let whole = dir.appendingPathComponent("whole.csv")
        #expect(try CLI.run(args + ["--out", whole.path]).status == 0)
        let out = dir.appendingPathComponent("cut.csv"), checkpoint = dir.appendingPathComponent("cut.ckpt")
        let p = try Self.start(args + ["--out", out.path, "--checkpoint", checkpoint.path])
        let frozen = Self.freeze(p) { FileManager.default.fileExists(atPath: checkpoint.path) }
        #expect(frozen, "training ended before it could be interrupted")
        Self.interrupt(p, with: SIGINT)
        #expect(p.terminationStatus == 128 + SIGINT)
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let left = try Self.files(dir)
        #expect(left.allSatisfy { !$0.contains(".tmp-") }, "temporary file left: \(left)")
        let resumed = try CLI.run(args + ["--out", out.path, "--checkpoint", checkpoint.path, "--resume", checkpoint.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.bytes(out) == Self.bytes(whole))
        #expect(try Self.bytes(dir.appendingPathComponent("cut_attribution.csv")) == Self.bytes(dir.appendingPathComponent("whole_attribution.csv")))
    }

    @Test("bad grid flags: one line, exit 2, nothing written", arguments: [
        (["sweep", "--shard", "3/3"], "--shard index 3"),
        (["sweep", "--shard", "a/b"], "--shard 'a/b'"),
        (["sweep", "--shard", "0/0"], "--shard count 0"),
        (["sweep", "--eps", "0.1,nan"], "nan"),
        (["sweep", "--objectives", "ce,banana"], "banana"),
        (["phase", "--sigmas", "0,1"], "--sigmas"),
        (["path", "--scales", "1,-2"], "-2"),
        (["compare-grid", "--objectives", "hinge:1"], "weight decay"),
        (["compare-grid", "--objectives", "ce@wd=-1"], "-1"),
        (["merge"], "shard"),
    ])
    func badGridFlags(arguments: [String], fragment: String) throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("o.csv").path
        let r = try CLI.run(arguments + ["--out", out])
        #expect(r.status == 2, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains(fragment) && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(try Self.files(dir).isEmpty)
    }
}

import Foundation
import Testing

/// Runs the `ccsim` executable built next to the test bundle.
enum CLI {
    static let binary: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("ccsim")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        // Fallback: the default build folder of this package.
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/ccsim")
    }()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// `environment`: variables set on top of this process's.
    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    /// A command's JSON output (or a JSON file), decoded into a typed value: a missing key or a
    /// wrong type fails with the key's name.
    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("ccsim-cli-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

@Suite("CLI contract")
struct CLITests {
    @Test("risk --json prints the documented keys")
    func riskJSON() throws {
        let r = try CLI.run(["risk", "--model", "paper3", "--mu", "1", "--sigma", "0.5", "--norm", "linf",
                             "--eps", "0.3", "--w1", "1", "--w2", "0.6", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        struct Risk: Decodable { var robustAccuracy: Double; var naturalAccuracy: Double; var errorBound: Double }
        let risk = try CLI.decode(Risk.self, from: r.stdout)
        #expect(risk.robustAccuracy > 0.7 && risk.robustAccuracy < risk.naturalAccuracy && risk.naturalAccuracy < 1 && risk.errorBound < 1e-10, "\(risk)")
        let line = try CLI.run(["risk", "--eps", "0.3", "--w1", "1", "--w2", "0.6"])
        #expect(line.status == 0 && line.stdout.contains("robust accuracy"))
    }

    @Test("bad input: one line on stderr naming the value, exit 2", arguments: [
        (["risk", "--eps", "0.3", "--w1", "1", "--w2", "0.6", "--sigma", "0"], "'0' is invalid for '--sigma"),
        (["risk", "--eps=-0.1", "--w1", "1", "--w2", "0.6"], "'-0.1' is invalid for '--eps"),
        (["risk", "--eps", "-0.1", "--w1", "1", "--w2", "0.6"], "'-0.1' is invalid for '--eps"),
        (["risk", "--eps", "nan", "--w1", "1", "--w2", "0.6"], "'nan' is invalid for '--eps"),
        (["risk", "--eps", "inf", "--w1", "1", "--w2", "0.6"], "'inf' is invalid for '--eps"),
        (["risk", "--eps", "0.1", "--w1", "1", "--w2", "0.6", "--model", "paper9"], "paper9"),
        (["risk", "--eps", "0.1", "--w1", "1", "--w2", "0.6", "--norm", "l7"], "l7"),
        (["risk", "--eps", "0.1", "--w1", "1", "--w2", "0.6", "--model", "/nonexistent/m.json"], "does not exist"),
        (["risk", "--eps", "0.1", "--w1", "1"], "--w2"),
        (["risk", "--eps", "abc", "--w1", "1", "--w2", "0"], "abc"),
        (["risk", "--w1", "1", "--w2", "0"], "--eps"),
        (["frobnicate"], "frobnicate"),
    ])
    func badInput(arguments: [String], fragment: String) throws {
        let r = try CLI.run(arguments)
        #expect(r.status == 2, "\(arguments): status \(r.status), stderr \(r.stderr)")
        #expect(r.stderr.contains(fragment), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("malformed model file: exit 2, no output file")
    func malformedModelFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.yaml")
        try "membership: [[1, 0], [0, 1]\nsigma: 1\n".write(to: model, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("s.csv")
        let r = try CLI.run(["sample", "--model", model.path, "--n-total", "10", "--out", out.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("malformed YAML"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.yaml"])
    }

    @Test("sample: same seed, same bytes; manifest beside the CSV")
    func sampleDeterminism() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv"), b = dir.appendingPathComponent("b.csv")
        let c = dir.appendingPathComponent("c.csv")
        let base = ["sample", "--model", "paper3", "--mu", "1", "--sigma", "0.5", "--n-total", "1000"]
        #expect(try CLI.run(base + ["--seed", "1", "--out", a.path]).status == 0)
        #expect(try CLI.run(base + ["--seed", "1", "--out", b.path]).status == 0)
        #expect(try CLI.run(base + ["--seed", "2", "--out", c.path]).status == 0)
        let da = try Data(contentsOf: a), db = try Data(contentsOf: b), dc = try Data(contentsOf: c)
        #expect(da == db)
        #expect(da != dc)
        let text = String(decoding: da, as: UTF8.self)
        #expect(text.hasPrefix("y,E1,E2,E3,C1,C2,C3\n"))
        #expect(text.split(separator: "\n").count == 1001)
        struct Manifest: Decodable { var command: String }
        let manifest = try CLI.decode(Manifest.self, from: String(decoding: Data(contentsOf: dir.appendingPathComponent("a.manifest.json")), as: UTF8.self))
        #expect(manifest.command == "sample")
    }
}

@Suite("CLI contract: attribution and judged compare")
struct AttributionContractTests {
    @Test("attribution --json prints cas, mean_cross_similarity and the K x K correlation; gauges and sample kinds differ as derived")
    func attributionJSON() throws {
        struct Attribution: Decodable { var correlation: [[Double]]; var cas: Double; var meanCrossSimilarity: Double }
        func run(_ extra: [String]) throws -> Attribution {
            let r = try CLI.run(["attribution", "--model", "paper3", "--mu", "1", "--sigma", "0.5", "--norm", "linf", "--eps", "0.05",
                                 "--w1", "1", "--w2", "0.8", "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try CLI.decode(Attribution.self, from: r.stdout)
        }
        let centred = try run(["--gauge", "centred", "--samples", "adversarial"])
        let raw = try run(["--gauge", "raw", "--samples", "adversarial"])
        let natural = try run(["--gauge", "centred", "--samples", "natural"])
        let c = centred.correlation
        #expect(c.count == 3 && c.allSatisfy { $0.count == 3 })
        for i in 0..<min(3, c.count) { #expect(abs(c[i][i] - 1) < 1e-12) }
        let cas = centred.cas, mean = centred.meanCrossSimilarity
        // CAS = sum over i != j of max(C_ij, 0); by symmetry all off-diagonals are equal here.
        #expect(abs(cas - 6 * max(c[0][1], 0)) < 1e-12 && abs(mean - c[0][1]) < 1e-12)
        // The adversary lowers the centred similarity; the raw gauge adds the common row.
        #expect(natural.cas > cas)
        #expect(raw.cas > cas)
        // Above eps/mu = 1/5 (paper3) the centred adversarial CAS is exactly 0 for every w2/w1.
        let high = try CLI.run(["attribution", "--eps", "0.25", "--w1", "1", "--w2", "1.5", "--json"])
        #expect(try CLI.decode(Attribution.self, from: high.stdout).cas == 0)
    }

    @Test("compare --init zero --seeds N --json prints the judged trajectory; a wrong exact eps is judged outside")
    func judgedCompare() throws {
        let base = ["compare", "--model", "paper3", "--eps", "0.1", "--objective", "ce", "--init", "zero", "--seeds", "3",
                    "--epochs", "8", "--steps-per-epoch", "10", "--batch", "64", "--cas-samples", "0", "--json"]
        let r = try CLI.run(base)
        #expect(r.status == 0, "\(r.stderr)")
        struct Epoch: Decodable {
            var epoch: Int; var scale: Double; var ratio: Double; var exactRatioAtScale: Double
            var cas: Double; var exactCasAtScale: Double; var band: [Double]
        }
        struct Judged: Decodable { var trajectory: [Epoch]; var trajectoryFractionInside: Double; var trajectoryWithinTolerance: Bool }
        let o = try CLI.decode(Judged.self, from: r.stdout)
        #expect(o.trajectory.count >= 8)
        let wrong = try CLI.run(base + ["--exact-eps", "0.4"])
        #expect(try CLI.decode(Judged.self, from: wrong.stdout).trajectoryWithinTolerance == false, "a mis-specified comparison must be judged outside")
    }
}

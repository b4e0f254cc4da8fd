import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Grammar and output targets")
struct GrammarTests {
    @Test("objective grammar: every spelling parses back to itself; settings have one meaning")
    func objectiveGrammar() throws {
        let specs = ["ce", "ls:0.2", "worst-margin", "hinge:0.5", "zero-one", "trades:3", "ce@scale=10", "ce@wd=0.01",
                     "hinge:1@wdc=0.05", "ls:0.1@scale=2", "worst-margin@scale=3"]
        for text in specs {
            let spec = try ObjectiveSpec.parse(text)
            #expect(try ObjectiveSpec.parse(spec.spelling) == spec, "\(text) -> \(spec.spelling)")
        }
        #expect(try ObjectiveSpec.parse("ce@wd=0.01").scale == .weightDecay(0.01))
        #expect(try ObjectiveSpec.parse("ce@wdc=0.01").scale == .centeredWeightDecay(0.01))
        #expect(try ObjectiveSpec.parse("hinge").scale == .fixed(1))
        #expect(try ObjectiveSpec.parse("ls").applying(.init(smoothing: 0.3)) == ObjectiveSpec.parse("ls:0.3"))
        #expect(throws: InputError.self) { try ObjectiveSpec.parse("ce").applying(.init(smoothing: 0.3)) }
        #expect(throws: InputError.self) { try ObjectiveSpec.parse("ce").applying(.init(scale: 1, weightDecay: 1)) }
        #expect(throws: InputError.self) { try ObjectiveSpec.parseList("ce,ce") }
        #expect(throws: InputError.self) { try ObjectiveSpec.parse("ls:0.5") }
        // Training: @wd is SGD weight decay; a fixed scale and the untrainable objectives are refused.
        #expect(try TrainingSpec.parse("hinge:1@wd=0.05").trainingLoss().weightDecay == 0.05)
        #expect(try TrainingSpec.parse("kd").trainingLoss().loss == .kd(temperature: 4, weight: 0.9))
        #expect(throws: InputError.self) { try TrainingSpec.parse("ce@scale=2").trainingLoss() }
        #expect(throws: InputError.self) { try TrainingSpec.parse("zero-one").trainingLoss() }
    }

    @Test("weight-decay penalties at a given W: plain and centred")
    func penalties() throws {
        let model = try DataModel.paper3()
        let w = LinearClassifier.symmetric(model: model, w1: 1, w2: 0.5)
        // Plain: 3 rows of (1, 0.5, 0.5) squared = 3 * 1.5 = 4.5; times lambda/2.
        #expect(abs(ScaleMode.weightDecay(2).penalty(of: w) - 4.5) < 1e-12)
        // Centred: each column has one entry 1 (or two entries 0.5) among three rows.
        // Exclusive column: values (1, 0, 0), mean 1/3: (2/3)^2 + 2 (1/3)^2 = 2/3.
        // Cross column: values (0, .5, .5), mean 1/3: (1/3)^2 + 2 (1/6)^2 = 1/6.
        let expected = 3 * (2.0 / 3) + 3 * (1.0 / 6)
        #expect(abs(ScaleMode.centeredWeightDecay(2).penalty(of: w) - expected) < 1e-12)
        #expect(ScaleMode.free.penalty(of: w) == 0)
    }

    @Test("output targets: refused kinds, same file twice, manifest names")
    func outputTargets() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ccsim-target-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        mkfifo(dir.appendingPathComponent("fifo").path, 0o644)
        for bad in ["", "\(dir.path)/sub", "\(dir.path)/sub/", "\(dir.path)/fifo", "/nonexistent-ccsim/x.csv", "/dev/null"] {
            #expect(throws: InputError.self, "\(bad)") { try OutputTarget(bad) }
        }
        #expect(try OutputTarget("-").isStandardOutput)
        #expect(throws: InputError.self) { try OutputTarget("-", allowStandardOutput: false) }
        #expect(Manifest.path(for: "a/b.csv") == "a/b.manifest.json")
        #expect(Manifest.path(for: "s.json") == "s.manifest.json")
        #expect(Manifest.path(for: "x") == "x.manifest.json")
        let a = try OutputTarget("\(dir.path)/r.csv"), b = try OutputTarget("\(dir.path)/./sub/../r.csv", flag: "--other")
        #expect(throws: InputError.self) { try OutputTarget.requireDistinct([a, b]) }
        let m = try OutputTarget("\(dir.path)/r.manifest.json", flag: "--other")
        #expect(throws: InputError.self) { try OutputTarget.requireDistinct([a, m]) }
        try OutputTarget.requireDistinct([a, try OutputTarget("\(dir.path)/s.csv")])
    }

    @Test("a grid run that fails removes its journal and writes nothing")
    func failingGridCleansUp() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ccsim-gridfail-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try OutputTarget(dir.appendingPathComponent("g.csv").path)
        let job = GridJob(command: "test", header: ["i"], itemCount: 6, configuration: [:]) { item in
            if item == 4 { throw NumericalError("item 4 fails") }
            return [[.int(item)]]
        }
        #expect(throws: NumericalError.self) { try job.run(to: out, shard: nil, resume: false) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [])
        // The rerun is not refused as "interrupted": with a working item it succeeds.
        let fixed = GridJob(command: "test", header: ["i"], itemCount: 6, configuration: [:]) { [[.int($0)]] }
        let result = try fixed.run(to: out, shard: nil, resume: false)
        #expect(result.table.rows.count == 6)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["g.csv", "g.manifest.json"])
    }

    @Test("sample streaming: balanced counts exact, same seed same rows")
    func streaming() throws {
        let model = try DataModel.paper3()
        var counts = [0, 0, 0]
        var first: [Double] = []
        Sampler(model: model).stream(total: nil, perClass: 50, random: RandomSource(seed: 7)) { y, x in
            counts[y] += 1
            if first.isEmpty { first = Array(x) }
        }
        #expect(counts == [50, 50, 50])
        var again: [Double] = []
        Sampler(model: model).stream(total: nil, perClass: 50, random: RandomSource(seed: 7)) { _, x in
            if again.isEmpty { again = Array(x) }
        }
        #expect(first == again && first.count == 6)
    }
}

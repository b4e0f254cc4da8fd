import CrossClass
import Foundation
import TestSupport
import Testing

/// Generated-input tests for the two parsers that read user text: model files and grids.
///
/// Each takes well-formed seeds and applies random mutations (byte flips, insertions of
/// syntax characters and extreme numbers, deletions, truncation, duplication), plus random
/// token soup. The contract: every input either parses into a valid object or throws an
/// `InputError` with a one-line message; nothing crashes, hangs or throws anything else.
@Suite("Fuzzing the parsers")
struct FuzzTests {
    /// SplitMix64: a small deterministic generator, so a failure reproduces from its index.
    struct Mix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    }

    static let fragments = [
        "{", "}", "[", "]", ",", ":", "\"", "'", "-", "\n", "  ", "#", "&a", "*a", "!!str", "---", "...", "|", ">",
        "0", "1", "-1", "1e308", "1e-320", "-0", "nan", ".nan", "inf", ".inf", "-.inf", "1e999", "9999999999999999999999",
        "0.5", "2", "true", "null", "~", "membership", "sigma", "mu", "tau", "noise_dims", "noise_sigma", "feature_names",
        "name", "classes", "é", "\u{0}", "\t", "?", "%YAML 1.2", "<<: *a",
    ]

    static func mutate(_ seed: String, _ rng: inout Mix) -> String {
        var chars = Array(seed)
        for _ in 0..<(1 + rng.below(4)) {
            switch rng.below(6) {
            case 0 where !chars.isEmpty: chars.remove(at: rng.below(chars.count))
            case 1: chars.insert(contentsOf: Array(rng.pick(fragments)), at: rng.below(chars.count + 1))
            case 2 where !chars.isEmpty: chars[rng.below(chars.count)] = Character(UnicodeScalar(UInt8(32 + rng.below(95))))
            case 3 where !chars.isEmpty: chars = Array(chars[0..<rng.below(chars.count)])
            case 4 where chars.count > 2:
                let a = rng.below(chars.count), b = min(chars.count, a + 1 + rng.below(12))
                chars.insert(contentsOf: chars[a..<b], at: rng.below(chars.count + 1))
            default:
                // Replace a number by an extreme one.
                if let i = chars.firstIndex(where: { $0.isNumber }) {
                    chars.replaceSubrange(i...i, with: Array(rng.pick(["1e308", "-5", "0", "nan", "1e-320", "100000000", "-0"])))
                }
            }
        }
        return String(chars)
    }

    static func soup(_ rng: inout Mix) -> String {
        (0..<rng.below(30)).map { _ in rng.pick(fragments) }.joined(separator: rng.pick(["", " ", ",", "\n"]))
    }

    /// Runs `body` and records anything that is not success or a one-line InputError.
    static func check(_ input: String, _ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let e as InputError {
            return e.message.contains("\n") || e.message.isEmpty ? "multi-line or empty error for \(input.debugDescription): \(e.message)" : nil
        } catch {
            return "unexpected error type \(type(of: error)) for \(input.debugDescription): \(error)"
        }
    }

    /// Generated model files per run: 20,000 in the suite (about 8 s), 100,000 in the slow tier.
    static var modelFileCount: Int { SlowTier.enabled ? 100_000 : 20_000 }

    @Test("model files: 20,000 generated JSON and YAML inputs (100,000 with CCSIM_SLOW_TESTS=1)")
    func modelFiles() {
        let jsonSeeds = [
            #"{"name": "m", "membership": [[1,0,0,0,1,1],[0,1,0,1,0,1],[0,0,1,1,1,0]], "mu": 1, "sigma": 0.5}"#,
            #"{"membership": [[1,0,1],[0,1,1]], "mu": [1, 2, 0.5], "sigma": [0.5, 1, 2], "tau": 0.1, "noise_dims": 2, "noise_sigma": 1, "feature_names": ["a","b","c"]}"#,
        ]
        let yamlSeeds = [
            "name: custom\nmembership:\n  - [1, 0, 1]\n  - [0, 1, 1]\nmu: [1, 2, 0.5]\nsigma: 0.5\ntau: 0.1\nnoise_dims: 2\n",
            "membership: [[1,0,0,1],[0,1,0,1],[0,0,1,0]]\nsigma: 1\nfeature_names: [E1, E2, E3, C]\n",
        ]
        var rng = Mix(state: 20261124)
        var problems: [String] = []
        var parsed = 0
        var tried = 0
        for i in 0..<Self.modelFileCount {
            tried += 1
            let json = i % 2 == 0
            let text = i % 10 == 9 ? Self.soup(&rng) : Self.mutate(rng.pick(json ? jsonSeeds : yamlSeeds), &rng)
            if let p = Self.check(text, {
                let m = try ModelFile.parse(text: text, json: json)
                parsed += 1
                // Whatever parses must be a usable model.
                guard m.classCount >= 2, m.dimension >= 1, m.sigma.allSatisfy({ $0.isFinite && $0 > 0 }),
                      m.mu.allSatisfy(\.isFinite) else {
                    throw CancellationError()
                }
            }) { problems.append("#\(i): \(p)") }
            if problems.count > 5 { break }
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(parsed > 20, "the mutations should leave some inputs valid (\(parsed) parsed)")
        #expect(tried == Self.modelFileCount || !problems.isEmpty)
    }

    @Test("grids: 100,000 generated --eps inputs")
    func grids() {
        let seeds = ["0.02:0.48:0.02", "0.1,0.2,0.35", "0.3", " 0 : 1 : 0.25 ", "1e-3,2e-3"]
        let gridFragments = ["0", "1", ":", ",", "-", ".", "e", "1e308", "nan", "inf", " ", "1e-300", "0.1", "--", "+", "x"]
        var rng = Mix(state: 7)
        var problems: [String] = []
        for i in 0..<100_000 {
            var text: String
            if i % 4 == 3 {
                text = (0..<rng.below(12)).map { _ in rng.pick(gridFragments) }.joined()
            } else {
                text = Self.mutate(rng.pick(seeds), &rng)
            }
            if i % 1000 == 0 { text = "0:\(rng.pick(["1", "1e9", "1e300"])):\(rng.pick(["1e-300", "1e-9", "0.5"]))" }
            if let p = Self.check(text, {
                let g = try Grid.parse(text, name: "--eps")
                guard !g.values.isEmpty, g.values.count <= Grid.maxPoints, g.values.allSatisfy(\.isFinite) else { throw CancellationError() }
            }) { problems.append("#\(i): \(p)") }
            if problems.count > 5 { break }
        }
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("objective specs and shards: generated inputs")
    func specsAndShards() {
        let seeds = ["ce", "ls:0.1", "trades:6@scale=5", "hinge:1@wd=0.05", "worst-margin", "ce@wdc=0.01", "zero-one"]
        var rng = Mix(state: 11)
        var problems: [String] = []
        for i in 0..<20_000 {
            let text = Self.mutate(rng.pick(seeds), &rng)
            if let p = Self.check(text, { _ = try ObjectiveSpec.parse(text) }) { problems.append("#\(i): \(p)") }
            let shard = Self.mutate(rng.pick(["0/4", "3/4", "10/100"]), &rng)
            if let p = Self.check(shard, { _ = try Shard.parse(shard) }) { problems.append("#\(i): \(p)") }
            if problems.count > 5 { break }
        }
        #expect(problems.isEmpty, "\(problems)")
    }
}

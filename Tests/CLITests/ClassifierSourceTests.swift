import Foundation
import Testing

/// `risk`, `objective` and `attribution` take one classifier grammar (ClassifierOptions ->
/// ClassifierSource): the same flags, the same messages, and `--optimum SPEC` means the exact
/// optimum that `ccsim optimum` prints.
@Suite("CLI classifier sources")
struct ClassifierSourceTests {
    private func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try CLI.run(arguments + ["--json"])
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    @Test("--optimum SPEC is the classifier 'ccsim optimum' finds, in risk, objective and attribution")
    func optimumIsTheSolvedOptimum() throws {
        let optimum = try json(["optimum", "--eps", "0.3", "--objective", "ce"])
        let w1 = try #require(optimum["w1"] as? Double), w2 = try #require(optimum["w2"] as? Double)
        let viaOptimum = try json(["risk", "--eps", "0.3", "--optimum", "ce"])
        let viaWeights = try json(["risk", "--eps", "0.3", "--w1", "\(w1)", "--w2", "\(w2)"])
        #expect(viaOptimum["w1"] as? Double == w1 && viaOptimum["w2"] as? Double == w2)
        // Foundation's JSON reader may round the weights by an ulp on the way back in.
        let ra = try #require(viaOptimum["robust_accuracy"] as? Double), raWeights = try #require(viaWeights["robust_accuracy"] as? Double)
        #expect(abs(ra - raWeights) < 1e-12, "RA via --optimum \(ra) vs via --w1/--w2 \(raWeights)")
        let objective = try json(["objective", "--eps", "0.3", "--objective", "ce", "--optimum", "ce"])
        // The optimum's objective value, evaluated again at its weights.
        let value = try #require(objective["value"] as? Double), best = try #require(optimum["objective"] as? Double)
        #expect(abs(value - best) < 1e-9, "objective at the optimum \(value) vs optimum's value \(best)")
        let attribution = try json(["attribution", "--eps", "0.3", "--optimum", "ce"])
        #expect(attribution["w1"] as? Double == w1 && attribution["optimum"] as? String == "ce")
    }

    @Test("every command that takes a classifier refuses a missing, half or doubled one with the same line",
          arguments: ["risk", "objective", "attribution"])
    func sameMessages(command: String) throws {
        let cases: [([String], String)] = [
            ([], "missing classifier: give --w1 and --w2"),
            (["--w1", "1"], "--w1 and --w2 go together"),
            (["--w1", "1", "--w2", "1", "--optimum", "ce"], "give one classifier"),
        ]
        for (extra, message) in cases {
            let r = try CLI.run([command, "--eps", "0.3"] + extra)
            #expect(r.status == 2, "\(command) \(extra)")
            #expect(r.stderr.contains(message), "\(command) \(extra): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test("risk --optimum over several eps solves the optimum at each eps")
    func optimumPerEps() throws {
        let r = try CLI.run(["risk", "--eps", "0.1,0.3", "--optimum", "ce", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        let ratios = rows.map { ($0["w2"] as? Double ?? .nan) / ($0["w1"] as? Double ?? .nan) }
        // The optimum's w2/w1 falls with eps (Theorem 1 region): the two rows are different optima.
        #expect(ratios[0] > ratios[1], "w2/w1 at eps 0.1 and 0.3: \(ratios)")
    }
}

import CrossClass
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Data model")
struct ModelTests {
    @Test("the presets named in the scipy robust-accuracy reference build the reference's models")
    func referencePresets() throws {
        let cases = try Fixtures.cases("robust_accuracy_reference.json", of: Fixtures.RobustAccuracyCase.self)
        var checked = 0
        for c in cases {
            guard let preset = c.preset else { continue }
            let membership = c.membership.map { $0.map { $0 == 1 } }
            let built = try ModelSource.parse(preset).load(mu: nil, sigma: nil, noiseDimensions: c.noiseDims)
            #expect(built.membership == membership, "preset \(preset)")
            #expect(built.dimension == membership[0].count + c.noiseDims, "preset \(preset)")
            checked += 1
        }
        #expect(checked >= 3)
    }

    @Test("paper3 matches THEORY.md: C3 shared by classes 1 and 2, exclusive E_i")
    func paper3Layout() throws {
        let m = try DataModel.paper3()
        #expect(m.featureNames == ["E1", "E2", "E3", "C1", "C2", "C3"])
        #expect(m.membership[0] == [true, false, false, false, true, true])
        #expect(m.membership[1] == [false, true, false, true, false, true])
        #expect(m.membership[2] == [false, false, true, true, true, false])
        #expect((0..<3).allSatisfy { m.kind(ofFeature: $0) == .exclusive })
        #expect((3..<6).allSatisfy { m.kind(ofFeature: $0) == .crossClass })
        let w = LinearClassifier.symmetric(model: m, w1: 1, w2: 0.5)
        #expect(Array(w.weights.row(0)) == [1, 0, 0, 0, 0.5, 0.5])
        #expect(try DataModel.complement(classes: 3).membership == m.membership)
    }

    @Test("pairwise(4): each pair feature carried by exactly its two classes")
    func pairwise() throws {
        let m = try DataModel.pairwise(classes: 4)
        #expect(m.featureCount == 4 + 6)
        #expect(m.featureNames[4] == "P1_2" && m.featureNames[9] == "P3_4")
        for f in 4..<10 { #expect(m.membership.filter { $0[f] }.count == 2) }
    }

    @Test("projection onto the symmetric family recovers (w1, w2), ignoring row shifts")
    func projection() throws {
        let m = try DataModel.pairwise(classes: 4)
        var w = LinearClassifier.symmetric(model: m, w1: 1.3, w2: 0.4).weights
        // Adding the same vector to every row changes nothing a softmax can see.
        for i in 0..<4 { for f in 0..<m.dimension { w[i, f] += Double(f) * 0.7 - 1 } }
        let p = LinearClassifier(weights: w).projectSymmetric(model: m)
        #expect(abs(p.w1 - 1.3) < 1e-12 && abs(p.w2 - 0.4) < 1e-12)
    }

    @Test("model files: JSON and YAML give the same model; bad files give one-line errors")
    func files() throws {
        let yaml = """
            name: custom
            membership:
              - [1, 0, 1]
              - [0, 1, 1]
            mu: [1, 2, 0.5]
            sigma: 0.5
            tau: 0.1
            noise_dims: 2
            """
        let json = #"{"name": "custom", "membership": [[1,0,1],[0,1,1]], "mu": [1, 2, 0.5], "sigma": 0.5, "tau": 0.1, "noise_dims": 2}"#
        let a = try ModelFile.parse(text: yaml, json: false)
        let b = try ModelFile.parse(text: json, json: true)
        #expect(a == b)
        #expect(a.dimension == 5 && a.kind(ofFeature: 2) == .crossClass)
        let bad: [(String, Bool, String)] = [
            (#"{"membership": [[1,0],[0,1]], "sigma": -1}"#, true, "sigma[1] = -1.0"),
            (#"{"membership": [[1,0],[0,2]], "sigma": 1}"#, true, "membership[2][2]"),
            (#"{"membership": [[1,0],[0]], "sigma": 1}"#, true, "row 2 has 1 entries"),
            (#"{"membership": [[1,0],[0,1]], "sigma": 1, "sigmaa": 2}"#, true, "unknown key 'sigmaa'"),
            (#"{"membership": [[1,0],[0,1]], "sigma": 1, "mu": [1]}"#, true, "mu has 1 entries"),
            (#"{"membership": [[1,0],[0,1]]"#, true, "malformed JSON"),
            ("membership: [[1, 0], [0, 1]]\nsigma: .nan\n", false, "sigma[1] = nan"),
            ("membership: [[1, 0]]\nsigma: 1\n", false, "at least 2 are needed"),
            ("- 1\n- 2\n", false, "top level must be"),
            (#"{"membership": [[true,false],[false,true]], "sigma": 1}"#, true, "entries must be 0 or 1"),
            (#"{"membership": [[1,0],[0,1]], "sigma": 1, "noise_dims": -3}"#, true, "noise_dims = -3"),
        ]
        for (text, isJSON, fragment) in bad {
            #expect {
                _ = try ModelFile.parse(text: text, json: isJSON)
            } throws: { error in
                let message = String(describing: error)
                return error is InputError && message.contains(fragment) && !message.contains("\n")
            }
        }
    }

    @Test("--model names")
    func sources() throws {
        #expect(try ModelSource.parse("paper3") == .paper3)
        #expect(try ModelSource.parse("complement:5") == .complement(5))
        #expect(try ModelSource.parse("complement(5)") == .complement(5))
        #expect(try ModelSource.parse("pairwise:4") == .pairwise(4))
        #expect(try ModelSource.parse("x/y.yaml") == .file("x/y.yaml"))
        #expect(throws: InputError.self) { try ModelSource.parse("paper4") }
        #expect(throws: InputError.self) { try ModelSource.parse("complement:x") }
        #expect(throws: InputError.self) { try DataModel.complement(classes: 2) }
    }

    @Test("sampler: same seed same sample; moments match the model")
    func sampler() throws {
        let m = try DataModel.paper3(mu: 1, sigma: 0.5, tau: 0.2).with(noiseDimensions: 1, noiseSigma: 2)
        let a = Sampler(model: m).sample(count: 1000, random: RandomSource(seed: 9))
        let b = Sampler(model: m).sample(count: 1000, random: RandomSource(seed: 9))
        let c = Sampler(model: m).sample(count: 1000, random: RandomSource(seed: 10))
        #expect(a == b)
        #expect(a != c)
        let big = Sampler(model: m).balancedSample(perClass: 20_000, random: RandomSource(seed: 1))
        #expect((0..<3).allSatisfy { k in big.labels.filter { $0 == k }.count == 20_000 })
        // Class 1 (index 0): E1 ~ N(1, 0.25), C1 ~ N(0, 0.04), N1 ~ N(0, 4).
        let rows = (0..<big.count).filter { big.labels[$0] == 0 }
        func moments(_ j: Int) -> (Double, Double) {
            let v = rows.map { big.inputs[$0, j] }
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1))
        }
        let (m0, v0) = moments(0), (m3, v3) = moments(3), (m6, v6) = moments(6)
        let n = Double(rows.count)
        #expect(abs(m0 - 1) < 4 * (0.25 / n).squareRoot() && abs(v0 - 0.25) < 4 * 0.25 * (2 / n).squareRoot())
        #expect(abs(m3) < 4 * (0.04 / n).squareRoot() && abs(v3 - 0.04) < 4 * 0.04 * (2 / n).squareRoot())
        #expect(abs(m6) < 4 * (4 / n).squareRoot() && abs(v6 - 4) < 4 * 4 * (2 / n).squareRoot())
    }
}

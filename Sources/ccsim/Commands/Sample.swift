import ArgumentParser
import CrossClass
import Foundation
import GSL

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw labelled samples from a data model to CSV.",
        discussion: "Columns: y (class, 1..K), then one column per coordinate. Same seed, same bytes.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Number of samples (labels drawn uniformly).")
    var n: Int

    @Option(help: "Random seed (a non-negative integer).")
    var seed: UInt64 = 1

    @Flag(help: "Exactly n/K samples of each class (n must be a multiple of K), in random order.")
    var balanced = false

    @Option(help: "Output CSV path (a JSON manifest is written beside it).")
    var out: String

    func run() throws {
        let model = try modelOptions.load()
        guard n >= 1 && n <= 50_000_000 else {
            throw InputError("--n \(n) is not allowed: it must be an integer in 1...50000000")
        }
        if balanced && n % model.classCount != 0 {
            throw InputError("--n \(n) is not allowed with --balanced: it must be a multiple of K = \(model.classCount)")
        }
        try Emit.checkWritable(out)
        let random = RandomSource(seed: seed)
        let sampler = Sampler(model: model)
        let data = balanced
            ? sampler.balancedSample(perClass: n / model.classCount, random: random)
            : sampler.sample(count: n, random: random)
        var table = CSVTable(header: ["y"] + model.coordinateNames)
        for i in 0..<data.count {
            table.append([.int(data.labels[i] + 1)] + data.inputs.row(i).map { .double($0) })
        }
        var config = modelOptions.json
        config["n"] = .number(Double(n))
        config["seed"] = .number(Double(seed))
        config["balanced"] = .bool(balanced)
        config["resolved_model"] = modelJSON(model)
        try Emit.csv(table, to: out, command: "sample", configuration: config)
    }
}

/// The full model as JSON for manifests.
func modelJSON(_ model: DataModel) -> JSONValue {
    .object([
        "name": .string(model.name),
        "membership": .array(model.membership.map { .array($0.map { .number($0 ? 1 : 0) }) }),
        "mu": JSONValue(model.mu),
        "sigma": JSONValue(model.sigma),
        "tau": .number(model.tau),
        "noise_dims": .number(Double(model.noiseDimensions)),
        "noise_sigma": .number(model.noiseSigma),
        "feature_names": .array(model.featureNames.map { .string($0) }),
    ])
}

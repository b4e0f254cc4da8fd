import ArgumentParser
import CrossClass
import Foundation
import GSL

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw labelled samples from a data model to CSV (streamed: memory does not grow with n).",
        discussion: "Columns: y (class, 1..K), then one column per coordinate. Same seed, same bytes.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("n-per-class"), help: "Exactly N samples of every class, in random order.",
            transform: FlagValue.count(1...50_000_000))
    var nPerClass: Int?

    @Option(name: .customLong("n-total"), help: "N samples in total, labels drawn uniformly.", transform: FlagValue.count(1...50_000_000))
    var nTotal: Int?

    @Option(help: "Random seed (a non-negative integer).")
    var seed: UInt64 = 1

    @OptionGroup var output: OutputOptions

    mutating func validate() throws {
        guard (nPerClass == nil) != (nTotal == nil) else {
            throw InputError("give one of --n-per-class N (balanced) and --n-total N (uniform labels)")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        if let nPerClass, nPerClass * model.classCount > 50_000_000 {
            throw InputError("--n-per-class \(nPerClass) is not allowed: with K = \(model.classCount) classes it gives more than 50000000 samples")
        }
        var config = modelOptions.specification.manifestJSON
        if let nPerClass { config["n_per_class"] = .number(Double(nPerClass)) }
        if let nTotal { config["n_total"] = .number(Double(nTotal)) }
        config["seed"] = .number(Double(seed))
        config["resolved_model"] = model.manifestJSON
        let random = RandomSource(seed: seed)
        let sampler = Sampler(model: model)
        try ResultWriter.stream(header: ["y"] + model.coordinateNames, to: output.out, command: "sample", configuration: config) { emit in
            try sampler.stream(total: nTotal, perClass: nPerClass, random: random) { y, x in
                try emit([.int(y + 1)] + x.map { .double($0) })
            }
        }
    }
}

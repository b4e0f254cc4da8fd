import ArgumentParser
import CrossClass
import Foundation

struct AttributionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribution",
        abstract: "Exact attribution metric (C, CAS) of a linear classifier at population level.",
        discussion: """
            The classifier is the symmetric family (--w1, --w2), a weights file (--weights), a \
            trained linear checkpoint (--checkpoint), or the AT optimum of an objective (--optimum \
            SPEC, e.g. ce or ce@scale=5). Samples: natural (x) or adversarial (x + delta*(x), the \
            exact l_inf worst case of --attack-objective, ce by default, as the paper's PGD \
            samples). Gauge: centred (head rows minus their mean) or raw. --json prints cas, \
            mean_cross_similarity (signed mean of the off-diagonal C) and correlation (K x K rows). \
            With --map --out F.csv: the symmetric family's CAS over a grid of (eps/mu, w2/w1), both \
            gauges and both sample kinds.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: "Perturbation radius (>= 0).", transform: FlagValue.radius)
    var eps: Double?

    @OptionGroup var classifierOptions: ClassifierOptions

    @Option(name: .customLong("attack-objective"), help: ArgumentHelp("The loss the adversary maximises: ce, ls[:alpha] or trades[:beta] (default: ce).", valueName: "spec"),
            transform: FlagValue.objective)
    var attackObjective: ObjectiveSpec = ObjectiveSpec(.ce)

    @Option(help: "centred or raw (default: centred).")
    var gauge: AttributionGauge = .centred

    @Option(help: "adversarial or natural (default: adversarial).")
    var samples: AttributionSamples = .adversarial

    @Flag(help: "Write the CAS map of the symmetric family over --eps-over-mu x --ratios to --out.")
    var map = false

    @Option(name: .customLong("eps-over-mu"), help: ArgumentHelp("Map: eps/mu grid.".withDefault(try! Grid.parse("0:0.5:0.01", name: ""))),
            transform: FlagValue.radii)
    var epsOverMu: Grid = try! Grid.parse("0:0.5:0.01", name: "")

    @Option(help: ArgumentHelp("Map: w2/w1 grid.".withDefault(try! Grid.parse("0:2:0.02", name: ""))), transform: FlagValue.finiteGrid)
    var ratios: Grid = try! Grid.parse("0:2:0.02", name: "")

    @Option(help: "Map: output CSV (a JSON manifest FILE.manifest.json is written beside it; '-': standard output).", transform: FlagValue.output)
    var out: OutputTarget?

    @Flag(help: "Print one JSON object.")
    var json = false

    mutating func validate() throws {
        if map {
            guard out != nil else { throw InputError("--map needs --out FILE.csv") }
            if eps != nil || classifierOptions.source != nil {
                throw InputError("--map draws the symmetric family over --eps-over-mu and --ratios; drop --eps, --w1, --w2, --weights, --checkpoint and --optimum")
            }
            guard threat.norm == .linf else { throw InputError("--map is computed for --norm linf (the exact worst case is a box vertex)") }
            guard attackObjective.objective == .ce else { throw InputError("--map uses the ce adversary; drop --attack-objective") }
            return
        }
        guard eps != nil else { throw InputError("--eps is missing: give the perturbation radius (or --map)") }
        if out != nil { throw InputError("--out applies to --map only; use --json for one classifier") }
        _ = try classifierOptions.required()
    }

    func run() throws {
        let model = try modelOptions.load()
        if map {
            let (table, config, notes) = try ExactAttribution.mapTable(model: model, epsOverMu: epsOverMu, ratios: ratios)
            var configuration = modelOptions.specification.manifestJSON
            configuration.merge(config) { _, b in b }
            try ResultWriter.write(table, to: out!, command: "attribution --map", configuration: configuration, notes: notes)
            if !out!.isStandardOutput { print("wrote \(table.rows.count) rows to \(out!.path)") }
            return
        }
        let threatModel = try ThreatModel(norm: threat.norm, eps: eps!)
        let exact = try ExactAttribution(model: model, threat: threatModel, attackObjective: attackObjective.objective)
        var result: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps!),
            "gauge": .string(gauge.rawValue), "samples": .string(samples.rawValue), "attack_objective": .string(attackObjective.objective.description),
        ]
        let resolved = try classifierOptions.required().resolve(model: model, threat: threatModel)
        result.merge(resolved.description) { a, _ in a }
        let classifier = resolved.classifier
        let r = try exact.evaluate(classifier, samples: samples, gauge: gauge)
        let k = r.attribution.classes
        result["cas"] = .number(r.attribution.cas)
        result["mean_cross_similarity"] = .number(r.attribution.meanOffDiagonal)
        result["correlation"] = .array((0..<k).map { i in JSONValue((0..<k).map { r.attribution[i, $0] }) })
        result["class_means"] = .array(r.classMeans.means.map { JSONValue($0) })
        result["method"] = .string(r.classMeans.method.rawValue)
        result["error_bound"] = .number(r.classMeans.errorBound)
        result["converged"] = .bool(r.classMeans.converged)
        if json { try Emit.json(result) } else {
            print("\(model.name) \(threat.norm.rawValue) eps=\(eps!) \(samples) samples, \(gauge) gauge: CAS \(r.attribution.cas), mean cross similarity \(r.attribution.meanOffDiagonal) (\(r.classMeans.method)\(r.classMeans.converged ? "" : ", NOT converged"))")
            for i in 0..<k { print((0..<k).map { String(format: "%8.4f", r.attribution[i, $0]) }.joined(separator: " ")) }
        }
    }
}

extension AttributionGauge: ExpressibleByArgument {}
extension AttributionSamples: ExpressibleByArgument {}

import ArgumentParser
import CrossClass
import Foundation

struct Risk: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exact robust and natural accuracy of a linear classifier, at one or several eps.",
        discussion: """
            Either the symmetric family (--w1, --w2: w1 on a class's exclusive features, w2 on its \
            cross-class features), a full matrix (--weights FILE.json with {"weights": [[...]], \
            "bias": [...]}), a trained linear model (--checkpoint FILE) or the exact AT optimum of \
            an objective at each eps (--optimum ce). With several eps \
            (--eps 0.1,0.2 or 0:0.4:0.1), --json prints a list of objects, one per eps.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: "Perturbation radius, or a grid of them (comma list or start:stop:step).", transform: FlagValue.radii)
    var eps: Grid

    @OptionGroup var classifierOptions: ClassifierOptions

    @Flag(help: "Print JSON (one object; a list of objects for several eps).")
    var json = false

    mutating func validate() throws { _ = try classifierOptions.required() }

    func run() throws {
        let model = try modelOptions.load()
        let source = try classifierOptions.required()
        // A fixed classifier is loaded once; an optimum is solved at each eps.
        let fixed = try source.isFixed ? source.resolve(model: model, threat: ThreatModel(norm: threat.norm, eps: 0)) : nil
        let results = try eps.values.map { e in
            let resolved = try fixed ?? source.resolve(model: model, threat: ThreatModel(norm: threat.norm, eps: e))
            let report = try RiskReport.evaluate(model: model, classifier: resolved.classifier,
                                                 symmetric: resolved.symmetric.map { ($0.w1, $0.w2) }, norm: threat.norm, eps: e)
            return (report, resolved.description)
        }
        if json {
            let objects: [JSONValue] = results.map { r, described in
                var o = r.json(model: model, norm: threat.norm)
                o.merge(described) { a, _ in a }
                return .object(o)
            }
            let value: JSONValue = objects.count == 1 ? objects[0] : .array(objects)
            try value.checkFinite()
            print(value.text)
        } else {
            for (r, _) in results {
                let flag = r.converged ? "" : "  (tolerance NOT reached)"
                print(String(
                    format: "%@ %@ eps=%g: robust accuracy %.12f, natural accuracy %.12f, error <= %.1e [%@]%@",
                    model.name, threat.norm.rawValue, r.eps, r.robust.value, r.natural.value, r.errorBound, r.method.rawValue, flag))
            }
        }
    }
}

struct ExportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-weights",
        abstract: "Write a trained linear model's weights (from a 'ccsim train --checkpoint' file) as a --weights file.")

    @Argument(help: "Checkpoint file written by 'ccsim train --checkpoint'.")
    var checkpoint: String

    @Flag(help: "Export the best epoch's model (by test robust accuracy) instead of the last.")
    var best = false

    @Option(help: "Weights JSON file ('-': standard output).", transform: FlagValue.output)
    var out: OutputTarget

    mutating func validate() throws {
        if !out.isStandardOutput, OutputTarget.resolvedPath(checkpoint) == out.resolved {
            throw InputError("--out '\(out.path)' is the checkpoint being read; give a new file name")
        }
    }

    func run() throws {
        let data = try Checkpoint.read(from: checkpoint).exportedWeights(final: !best)
        if out.isStandardOutput { FileHandle.standardOutput.write(data) } else {
            try AtomicFile.write(data, to: out.path)
            print("wrote \(out.path)")
        }
    }
}

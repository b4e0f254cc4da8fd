import ArgumentParser
import CrossClass
import Foundation

struct ThresholdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threshold",
        abstract: "eps0: above it the AT optimum drops cross-class features (w2* = 0).",
        discussion: """
            Root of the one-sided derivative dR/dw2 at (w1 optimal, w2 = 0+) after a scan over \
            (0, mu/2). Prints null when w2* > 0 up to mu/2, and 0 when w2* = 0 everywhere. \
            Models with exchangeable classes: paper3, complement:K, pairwise:K (or a file with \
            that membership); worst-margin, hinge and zero-one under l_inf have a closed form.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var objectiveOptions: ObjectiveOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("Number of eps scan points in (0, mu/2).".withDefault(24)), transform: FlagValue.count(4...1000))
    var grid: Int = 24

    @Option(help: ArgumentHelp("Quadrature tolerance of each objective evaluation (the numerical path; closed forms ignore it).".withDefault(1e-10)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-10

    @OptionGroup var methodOptions: MethodOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Also write the scan (eps, w1, derivative at w2 = 0+ and its error) as CSV, with a JSON manifest FILE.manifest.json beside it ('-': CSV to standard output instead of the summary).",
            transform: FlagValue.output)
    var out: OutputTarget?

    func validate() throws {
        if json, out?.isStandardOutput == true {
            throw InputError("--json and --out - both write to standard output; give --out a file")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        let spec = try objectiveOptions.resolved()
        var finder = try ThresholdFinder(model: model, norm: threat.norm, objective: spec.objective, scale: spec.scale)
        finder.gridPoints = grid
        finder.method = methodOptions.method
        finder.tolerance = tolerance
        let r = try finder.find()
        let report: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(finder.norm.rawValue),
            "objective": .string(spec.objective.description), "scale": .string(spec.scale.description),
            "spec": .string(spec.spelling), "tolerance": .number(tolerance),
            "eps0": JSONValue(r.eps0), "kind": .string(r.kind.rawValue),
            "bracket": r.bracket.map { JSONValue($0) } ?? .null, "half_mu": .number(finder.halfMu),
            "converged": .bool(r.converged), "error_bound": JSONValue(r.errorBound), "method": .string(r.method.rawValue),
            "notes": .array(r.notes.map { .string($0) }),
            "scan": .array(r.scan.map { .object(["eps": .number($0.eps), "w1": .number($0.w1), "derivative": .number($0.derivative),
                                                 "derivative_error": .number($0.derivativeError), "at_search_bound": .bool($0.atSearchBound)]) }),
        ]
        if let target = out {
            var config = modelOptions.specification.manifestJSON
            config["norm"] = .string(finder.norm.rawValue)
            config["objective"] = .string(spec.spelling)
            config["grid"] = .number(Double(grid))
            config["tolerance"] = .number(tolerance)
            config["method"] = .string(methodOptions.method.rawValue)
            try ResultWriter.write(r.scanCSV, to: target, command: "threshold", configuration: config, notes: [r.summary] + r.notes)
            if target.isStandardOutput { return }
        }
        if json { try Emit.json(report) } else {
            let value = r.eps0.map { "\($0)" + (r.errorBound.map { " (error <= \($0), \(r.method))" } ?? "") } ?? "none (w2* > 0 up to mu/2)"
            print("\(model.name) \(finder.norm.rawValue) \(spec.objective) [\(spec.scale)]: eps0 = \(value)\(r.converged ? "" : " (NOT converged)")")
        }
    }
}

import ArgumentParser
import CrossClass
import Foundation

struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Robust accuracy of the symmetric family over a grid of eps and w2/w1.",
        discussion: "Rows are eps, columns w2/w1 (with w1 = 1; RA is scale-invariant).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("eps grid: start:stop:step or a comma list.".withDefault(try! Grid.parse("0:0.45:0.05", name: ""))), transform: FlagValue.radii)
    var eps: Grid = try! Grid.parse("0:0.45:0.05", name: "")

    @Option(help: ArgumentHelp("w2/w1 grid: start:stop:step or a comma list.".withDefault(try! Grid.parse("0,0.25,0.5,0.75,1,1.5", name: ""))), transform: FlagValue.finiteGrid)
    var ratios: Grid = try! Grid.parse("0,0.25,0.5,0.75,1,1.5", name: "")

    @Option(help: "Also write the table as long-format CSV (eps, ratio, robust_accuracy, ...).", transform: FlagValue.file)
    var out: OutputTarget?

    func run() throws {
        let model = try modelOptions.load()
        let progress = Progress(total: eps.values.count, label: "table")
        var csv = CSVTable(header: ["eps", "ratio", "w1", "w2", "robust_accuracy", "error_bound", "method", "converged"])
        var cells: [[Estimate]] = []
        for (i, e) in eps.values.enumerated() {
            let threatModel = try ThreatModel(norm: threat.norm, eps: e)
            cells.append(try ratios.values.map { try RobustAccuracy.symmetric(model: model, w1: 1, w2: $0, threat: threatModel) })
            progress.report(i + 1, eps.values.count)
        }
        for (e, row) in zip(eps.values, cells) {
            for (r, result) in zip(ratios.values, row) {
                csv.append([.double(e), .double(r), .double(1), .double(r), .double(result.value),
                            .double(result.errorBound), .string(result.method.rawValue), .bool(result.converged)])
            }
        }
        // Everything is computed and checked before anything is printed or written.
        try csv.checkFinite()
        var lines = ["robust accuracy, \(model.name), \(threat.norm.rawValue), mu=\(model.mu[0]) sigma=\(model.sigma[0]); rows eps, columns w2/w1"]
        lines.append("eps".padded(8) + ratios.values.map { ("w2/w1=" + $0.description).padded(14, left: true) }.joined())
        for (e, row) in zip(eps.values, cells) {
            lines.append(e.description.padded(8) + row.map { String(format: "%14.9f", $0.value) }.joined())
        }
        lines.append(String(format: "largest error bound: %.1e", cells.joined().map(\.errorBound).max() ?? 0))
        if let out {
            var config = modelOptions.specification.manifestJSON
            config["norm"] = .string(threat.norm.rawValue)
            config["eps"] = .string(eps.text)
            config["ratios"] = .string(ratios.text)
            try ResultWriter.write(csv, to: out, command: "table", configuration: config)
        }
        print(lines.joined(separator: "\n"))
    }
}

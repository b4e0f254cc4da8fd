import ArgumentParser
import CrossClass
import Foundation

struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Robust accuracy of the symmetric family over a grid of eps and w2/w1.",
        discussion: "Rows are eps, columns w2/w1 (with w1 = 1; RA is scale-invariant).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "eps grid: start:stop:step or a comma list.")
    var eps: String = "0:0.45:0.05"

    @Option(help: "w2/w1 grid: start:stop:step or a comma list.")
    var ratios: String = "0,0.25,0.5,0.75,1,1.5"

    @Option(help: "Also write the table as long-format CSV (eps, ratio, robust_accuracy, ...).")
    var out: String?

    func run() throws {
        let model = try modelOptions.load()
        let threatNorm = try Norm.parse(norm)
        let epsGrid = try Grid.parse(eps, name: "--eps")
        let ratioGrid = try Grid.parse(ratios, name: "--ratios")
        for e in epsGrid.values { try CheckFlag.eps(e) }
        for r in ratioGrid.values { try CheckFlag.finite(r, "--ratios entry") }
        if let out { try Emit.checkWritable(out) }
        var csv = CSVTable(header: ["eps", "ratio", "w1", "w2", "robust_accuracy", "error_bound", "method", "converged"])
        var lines: [String] = []
        lines.append("robust accuracy, \(model.name), \(threatNorm.rawValue), mu=\(model.mu[0]) sigma=\(model.sigma[0]); rows eps, columns w2/w1")
        lines.append("eps".padded(8) + ratioGrid.values.map { ("w2/w1=" + $0.description).padded(14, left: true) }.joined())
        let progress = Progress(total: epsGrid.values.count, label: "table")
        var worstError = 0.0
        for e in epsGrid.values {
            let threat = try ThreatModel(norm: threatNorm, eps: e)
            var line = e.description.padded(8)
            for r in ratioGrid.values {
                let result = try RobustAccuracy.symmetric(model: model, w1: 1, w2: r, threat: threat)
                worstError = max(worstError, result.errorBound)
                line += String(format: "%14.9f", result.value)
                csv.append([.double(e), .double(r), .double(1), .double(r), .double(result.value),
                            .double(result.errorBound), .string(result.method.rawValue), .bool(result.converged)])
            }
            lines.append(line)
            progress.step()
        }
        lines.append(String(format: "largest error bound: %.1e", worstError))
        print(lines.joined(separator: "\n"))
        if let out {
            var config = modelOptions.json
            config["norm"] = .string(threatNorm.rawValue)
            config["eps"] = .string(epsGrid.text)
            config["ratios"] = .string(ratioGrid.text)
            try Emit.csv(csv, to: out, command: "table", configuration: config)
        }
    }
}

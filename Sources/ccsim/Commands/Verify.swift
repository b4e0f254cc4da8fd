import ArgumentParser
import CrossClass
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the paper's Theorems 1-3 per objective over a grid of sigma/mu and eps.",
        discussion: """
            Prints a table of verdicts (holds / fails, with the numbers behind each failure) and \
            writes theorems.csv, theorems.md and thresholds.csv (with JSON manifests) to --out-dir.
            """)

    @Option(help: "sigma/mu grid (comma list or start:stop:step).")
    var sigmas: String = "0.25,0.5,1"

    @Option(help: "eps/mu grid for Theorems 2 and 3.")
    var eps: String = "0.05:0.45:0.05"

    @Option(name: .customLong("theorem3-eps"), help: "eps/mu values where Theorem 3 compares the LS and CE optima.")
    var theorem3Eps: String = "0.05,0.15,0.25,0.35,0.45"

    @Option(help: "Threat model: linf or l2.")
    var norm: String = "linf"

    @Option(help: "Objectives for Theorem 1 (comma list of ce, ce@scale=s, ce@wd=l, ls:a, worst-margin, hinge:k, zero-one, trades:b), or 'default'.")
    var objectives: String = "default"

    @Option(help: "Quadrature tolerance per objective evaluation.")
    var tolerance: Double = 1e-9

    @Option(name: .customLong("out-dir"), help: "Directory for theorems.csv / theorems.md / thresholds.csv ('-' to write nothing).")
    var outDir: String = "results"

    @Flag(help: "Print the whole report as JSON.")
    var json = false

    func run() throws {
        var config = VerifyConfiguration()
        config.sigmas = try Grid.parse(sigmas, name: "--sigmas").values
        for s in config.sigmas { try CheckFlag.positive(s, "--sigmas entry") }
        config.epsGrid = try Grid.parse(eps, name: "--eps").values
        for e in config.epsGrid {
            guard e.isFinite, e > 0, e < 0.5 else { throw InputError("--eps entry \(e) is not allowed: eps/mu must be in (0, 0.5)") }
        }
        config.theorem3Eps = try Grid.parse(theorem3Eps, name: "--theorem3-eps").values
        for e in config.theorem3Eps {
            guard e.isFinite, e > 0, e < 0.5 else { throw InputError("--theorem3-eps entry \(e) is not allowed: eps/mu must be in (0, 0.5)") }
        }
        config.norm = try Norm.parse(norm)
        try CheckFlag.positive(tolerance, "--tolerance")
        config.tolerance = tolerance
        if objectives != "default" {
            config.objectives = try objectives.split(separator: ",").map { try ObjectiveSpec.parse(String($0)) }
        }
        if outDir != "-" {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: outDir, isDirectory: &isDir), isDir.boolValue else {
                throw InputError("--out-dir '\(outDir)' is not an existing directory")
            }
        }
        let progress = Progress(total: 1, label: "verify")
        let report = try Verifier.run(config) { done, total in progress.report(done, total) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.plainTable)
        }
        if outDir != "-" {
            let configJSON: [String: JSONValue] = [
                "model": .string("paper3"),
                "sigmas": JSONValue(config.sigmas), "eps": JSONValue(config.epsGrid), "theorem3_eps": JSONValue(config.theorem3Eps), "norm": .string(config.norm.rawValue),
                "objectives": .array(config.objectives.map { .string($0.description) }), "tolerance": .number(tolerance),
                "mu": .number(config.mu), "threshold_grid": .number(Double(config.thresholdGrid)),
            ]
            let dir = URL(fileURLWithPath: outDir)
            try Emit.csv(report.csv, to: dir.appendingPathComponent("theorems.csv").path, command: "verify", configuration: configJSON)
            try Emit.csv(report.thresholdCSV, to: dir.appendingPathComponent("thresholds.csv").path, command: "verify", configuration: configJSON)
            try AtomicFile.write(report.markdown, to: dir.appendingPathComponent("theorems.md").path)
        }
    }
}

extension VerifyReport {
    /// The terminal table.
    var plainTable: String {
        var lines = ["claim                objective                          sigma/mu  verdict  numbers"]
        for v in verdicts {
            lines.append(v.claim.padded(21) + v.objective.padded(35) + v.sigma.description.padded(10) + v.verdict.padded(9) + v.detail)
        }
        lines.append("")
        for (claim, counts) in summary.sorted(by: { $0.key < $1.key }) {
            lines.append("\(claim): holds in \(counts["holds"] ?? 0), fails in \(counts["fails"] ?? 0)")
        }
        return lines.joined(separator: "\n")
    }
}

import Foundation

extension VerifyReport {
    /// The files `verify --out-dir` writes (manifests beside the CSVs).
    public static let fileNames = ["theorems.csv", "thresholds.csv", "theorems.md"]

    /// Writes theorems.csv, thresholds.csv (each with its manifest) and theorems.md into `directory`.
    public func write(to directory: String, configuration config: VerifyConfiguration) throws {
        let manifestConfiguration: [String: JSONValue] = [
            "model": .string("paper3"),
            "sigmas": JSONValue(config.sigmas), "eps": JSONValue(config.epsGrid), "theorem3_eps": JSONValue(config.theorem3Eps),
            "norm": .string(config.norm.rawValue),
            "objectives": .array(config.objectives.map { .string($0.description) }), "tolerance": .number(config.tolerance),
            "mu": .number(config.mu), "threshold_grid": .number(Double(config.thresholdGrid)),
        ]
        func target(_ name: String) throws -> OutputTarget {
            try OutputTarget((directory as NSString).appendingPathComponent(name), flag: "--out-dir", allowStandardOutput: false)
        }
        try ResultWriter.write(csv, to: try target("theorems.csv"), command: "verify", configuration: manifestConfiguration)
        try ResultWriter.write(thresholdCSV, to: try target("thresholds.csv"), command: "verify", configuration: manifestConfiguration)
        try AtomicFile.write(markdown, to: try target("theorems.md").path)
    }

    /// The terminal table.
    public var plainTable: String {
        var lines = ["claim                objective                          sigma/mu  verdict  numbers"]
        for v in verdicts {
            lines.append(v.claim.padded(21) + v.objective.padded(35) + v.sigma.description.padded(10) + v.verdict.padded(9) + v.detail)
        }
        lines.append("")
        for (claim, counts) in summary.sorted(by: { $0.key < $1.key }) {
            lines.append("\(claim): holds in \(counts["holds"] ?? 0), fails in \(counts["fails"] ?? 0), undecided in \(counts["undecided"] ?? 0)")
        }
        return lines.joined(separator: "\n")
    }
}

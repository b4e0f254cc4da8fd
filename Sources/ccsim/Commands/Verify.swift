import ArgumentParser
import CrossClass
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the paper's Theorems 1-3 (as formalised in THEORY.md) per objective over a grid of sigma/mu and eps.",
        discussion: """
            Prints a table of verdicts (holds / fails, with the numbers behind each failure). With \
            --out-dir DIR it also writes DIR/theorems.csv, theorems.md and thresholds.csv (with \
            JSON manifests); without it, nothing is written.
            """)

    @Option(help: ArgumentHelp("sigma/mu grid (comma list or start:stop:step).".withDefault(try! Grid.parse("0.25,0.5,1", name: ""))), transform: FlagValue.positiveGrid)
    var sigmas: Grid = try! Grid.parse("0.25,0.5,1", name: "")

    @Option(help: ArgumentHelp("eps/mu grid for Theorem 2, each in (0, 0.5).".withDefault(try! Grid.parse("0.05:0.45:0.05", name: ""))), transform: FlagValue.halfOpenEpsGrid)
    var eps: Grid = try! Grid.parse("0.05:0.45:0.05", name: "")

    @Option(name: .customLong("theorem3-eps"), help: ArgumentHelp("eps/mu values where Theorem 3 compares the LS and CE optima, each in (0, 0.5).".withDefault(try! Grid.parse("0.05,0.15,0.25,0.35,0.45", name: ""))),
            transform: FlagValue.halfOpenEpsGrid)
    var theorem3Eps: Grid = try! Grid.parse("0.05,0.15,0.25,0.35,0.45", name: "")

    @OptionGroup var threat: ThreatOptions

    @Option(help: ArgumentHelp("Objectives for Theorem 1 (comma list; default: the ten of THEORY.md).", valueName: "specs"),
            transform: FlagValue.objectives)
    var objectives: ObjectiveList?

    @Option(help: ArgumentHelp("Quadrature tolerance per objective evaluation.".withDefault(1e-9)), transform: FlagValue.tolerance)
    var tolerance: Double = 1e-9

    @Option(name: .customLong("out-dir"), help: "Existing directory for theorems.csv / theorems.md / thresholds.csv (default: write nothing).")
    var outDir: String?

    @Flag(help: "Print the whole report as JSON.")
    var json = false

    mutating func validate() throws {
        if let outDir {
            var st = stat()
            guard stat(outDir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw InputError("--out-dir '\(outDir)' is not an existing directory")
            }
            for name in VerifyReport.fileNames {
                _ = try OutputTarget((outDir as NSString).appendingPathComponent(name), flag: "--out-dir", allowStandardOutput: false)
            }
        }
    }

    func run() throws {
        var config = VerifyConfiguration()
        config.sigmas = sigmas.values
        config.epsGrid = eps.values
        config.theorem3Eps = theorem3Eps.values
        config.norm = threat.norm
        config.tolerance = tolerance
        if let objectives { config.objectives = objectives.specs }
        let progress = Progress(total: 1, label: "verify")
        let report = try Verifier.run(config) { done, total in progress.report(done, total) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.plainTable)
        }
        if let outDir { try report.write(to: outDir, configuration: config) }
    }
}

extension FlagValue {
    static func halfOpenEpsGrid(_ text: String) throws -> Grid {
        try Grid.parse(text, name: "", range: ParameterRange(0, 0.5, lowerOpen: true, upperOpen: true, why: "eps/mu"))
    }
}

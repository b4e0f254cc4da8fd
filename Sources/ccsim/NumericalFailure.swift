import CrossClass
import Foundation
import GSL

/// The one line a numerical failure prints: which quantity failed, at which flag values (and,
/// for a model file, which parameter extremes), and why in plain words; GSL's own words only
/// as a parenthetical, never its status number or the internal integral bounds.
enum NumericalFailure {
    /// What each command computes, for the message.
    static let quantities: [String: String] = [
        "risk": "robust accuracy", "objective": "robust objective", "optimum": "AT optimum",
        "threshold": "threshold eps0", "sweep": "AT optimum (sweep)", "sweep-w2": "robust accuracy along w2/w1 (sweep-w2)",
        "path": "fixed-scale optimum (path)", "phase": "AT optimum (phase)", "verify": "theorem checks (verify)",
        "train": "adversarial training", "compare": "population AT vs exact optimum (compare)",
        "compare-grid": "population AT vs exact optimum (compare-grid)", "attribution": "exact attribution (CAS)",
        "table": "robust accuracy table", "sample": "samples", "merge": "merge", "export-weights": "exported weights",
    ]

    /// Flags that name where output goes or how it is shown: not a cause of a numerical failure.
    static let presentationFlags: Set<String> = ["--out", "--out-dir", "--checkpoint", "--attribution-out", "--json", "--resume", "--shard"]

    /// "robust accuracy at --eps 0.3 --w1 1 --w2 0.5 (model m.json: sigma 1e-30...1e+30)".
    static func subject(command: String, arguments: [String]) -> String {
        let quantity = quantities[command] ?? command
        var shown: [String] = []
        var modelPath: String?
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            i += 1
            guard a.hasPrefix("--") else { continue }
            var name = a, value: String?
            if let eq = a.firstIndex(of: "=") {
                name = String(a[..<eq])
                value = String(a[a.index(after: eq)...])
            } else if i < arguments.count, !arguments[i].hasPrefix("--") {
                value = arguments[i]
                i += 1
            }
            if presentationFlags.contains(name) { continue }
            if name == "--model", let v = value, v.contains(".") { modelPath = v }
            shown.append(value.map { "\(name) \($0)" } ?? name)
        }
        var text = quantity + (shown.isEmpty ? " with the default settings" : " at " + shown.joined(separator: " "))
        if let modelPath, let model = try? ModelFile.load(path: modelPath) {
            text += " (model \((modelPath as NSString).lastPathComponent): \(summary(model)))"
        }
        return text
    }

    /// Parameter extremes of a model ("mu 1, sigma 1e-30...1e+30, tau 0").
    static func summary(_ m: DataModel) -> String {
        func range(_ v: [Double]) -> String {
            guard let lo = v.min(), let hi = v.max() else { return "-" }
            return lo == hi ? "\(lo)" : "\(lo)...\(hi)"
        }
        var parts = ["mu \(range(m.mu))", "sigma \(range(m.sigma))"]
        if m.tau != 0 { parts.append("tau \(m.tau)") }
        if m.noiseDimensions > 0 { parts.append("\(m.noiseDimensions) noise dims of sigma \(m.noiseSigma)") }
        return parts.joined(separator: ", ")
    }

    /// The message for a failure of `command` run with `arguments` (the words after the
    /// command name); nil when `error` is not numerical.
    static func message(for error: Error, command: String, arguments: [String]) -> String? {
        switch error {
        case let e as GSLError: return "\(subject(command: command, arguments: arguments)): \(NumericalFailureText.cause(e))"
        case let e as NumericalError: return "\(subject(command: command, arguments: arguments)): \(e.message)"
        default: return nil
        }
    }
}

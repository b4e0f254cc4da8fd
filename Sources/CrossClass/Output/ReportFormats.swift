import Foundation

extension VerifyReport {
    /// One row per verdict.
    public var csv: CSVTable {
        var t = CSVTable(header: ["claim", "objective", "sigma_over_mu", "verdict", "detail"])
        for v in verdicts {
            t.append([.string(v.claim), .string(v.objective), .double(v.sigma), .string(v.verdict), .string(v.detail)])
        }
        return t
    }

    /// Thresholds per objective and sigma.
    public var thresholdCSV: CSVTable {
        var t = CSVTable(header: ["objective", "sigma_over_mu", "kind", "eps0", "converged"])
        for r in thresholds {
            t.append([.string(r.objective), .double(r.sigma), .string(r.kind), .optionalDouble(r.eps0), .bool(r.converged)])
        }
        return t
    }

    /// A Markdown report: the claims, a verdict table, thresholds.
    public var markdown: String {
        var lines: [String] = []
        lines.append("# Theorem verification (ccsim verify)")
        lines.append("")
        lines.append("Model: paper3, mu = \(configuration.mu), sigma/mu in \(configuration.sigmas.map { $0.description }.joined(separator: ", ")), \(configuration.norm.rawValue) threat. Every verdict below is computed from exact values (quadrature tolerance \(configuration.tolerance)); \"fails\" marks a claim that does not hold, with the numbers that break it.")
        lines.append("")
        lines.append("## Claims")
        lines.append("")
        for key in Verifier.claimNames.keys.sorted() {
            lines.append("- `\(key)`: \(Verifier.claimNames[key]!)")
        }
        lines.append("")
        lines.append("## Summary")
        lines.append("")
        lines.append("| claim | holds | fails |")
        lines.append("|---|---|---|")
        for (claim, counts) in summary.sorted(by: { $0.key < $1.key }) {
            lines.append("| \(claim) | \(counts["holds"] ?? 0) | \(counts["fails"] ?? 0) |")
        }
        lines.append("")
        lines.append("## Verdicts")
        lines.append("")
        lines.append("| claim | objective | sigma/mu | verdict | numbers |")
        lines.append("|---|---|---|---|---|")
        for v in verdicts {
            let detail = v.detail.replacingOccurrences(of: "|", with: "\\|")
            lines.append("| \(v.claim) | \(v.objective) | \(v.sigma) | **\(v.verdict)** | \(detail) |")
        }
        lines.append("")
        lines.append("## Thresholds eps0")
        lines.append("")
        lines.append("| objective | sigma/mu | eps0 |")
        lines.append("|---|---|---|")
        for r in thresholds {
            let value = r.eps0.map { Verifier.fmt($0) } ?? "none (w2* > 0 up to mu/2)"
            lines.append("| \(r.objective) | \(r.sigma) | \(r.kind == "zero" ? "0 (w2* = 0 everywhere)" : value)\(r.converged ? "" : " (not converged)") |")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }
}

import Foundation

extension VerifyReport {
    /// One row per verdict.
    public var csv: CSVTable {
        var t = CSVTable(header: ["claim", "objective", "sigma_over_mu", "verdict", "detail", "precision"])
        for v in verdicts {
            t.append([.string(v.claim), .string(v.objective), .double(v.sigma), .string(v.verdict), .string(v.detail), .string(v.precision)])
        }
        return t
    }

    /// Thresholds per objective and sigma.
    public var thresholdCSV: CSVTable {
        var t = CSVTable(header: ["objective", "sigma_over_mu", "kind", "eps0", "converged", "error_bound", "method"])
        for r in thresholds {
            t.append([.string(r.objective), .double(r.sigma), .string(r.kind), .optionalDouble(r.eps0), .bool(r.converged),
                      .optionalDouble(r.errorBound), .string(r.method.rawValue)])
        }
        return t
    }

    /// The ccsim command line that reproduces this report.
    public var command: String {
        let c = configuration
        func list(_ xs: [Double]) -> String { xs.map { $0.description }.joined(separator: ",") }
        var words = ["ccsim verify", "--sigmas \(list(c.sigmas))", "--eps \(list(c.epsGrid))",
                     "--theorem3-eps \(list(c.theorem3Eps))", "--norm \(c.norm.rawValue)", "--tolerance \(c.tolerance)"]
        if c.objectives != ObjectiveSpec.defaults {
            words.append("--objectives \(c.objectives.map(ObjectiveSpec.flag).joined(separator: ","))")
        }
        return words.joined(separator: " ")
    }

    /// A Markdown report: the command, the claims as formalised here, a verdict table, thresholds.
    public var markdown: String {
        let norm = configuration.norm.rawValue
        var lines: [String] = []
        lines.append("# Theorem verification (ccsim verify)")
        lines.append("")
        lines.append("Made by `\(command)`.")
        lines.append("")
        lines.append("Model: paper3, mu = \(configuration.mu), sigma/mu in \(configuration.sigmas.map { $0.description }.joined(separator: ", ")), \(norm) threat. The claims below are the paper's theorems **as formalised here** (our reading of the paper's published summary; the paper's own assumptions, e.g. which loss and which scale convention each theorem uses, may differ). Every verdict is on that formalisation, for the objective and scale convention of its row ([free]: unconstrained scale; [scale=s]: ||(w1, w2)||_2 = s; [weight-decay=l]: plus (l/2)||W||_F^2) under the \(norm) threat; Theorem 2 concerns robust accuracy, which involves no objective and does not depend on the scale. Every verdict is computed from exact values (quadrature tolerance \(configuration.tolerance)); \"fails\" marks a claim that does not hold, with the numbers that break it.")
        lines.append("")
        lines.append("## Claims (as formalised here)")
        lines.append("")
        for key in Verifier.claimNames.keys.sorted() {
            lines.append("- `\(key)`: \(Verifier.claimNames[key]!)")
        }
        lines.append("")
        lines.append("## Summary")
        lines.append("")
        lines.append("| claim (as formalised here, \(norm)) | holds | fails | undecided |")
        lines.append("|---|---|---|---|")
        for (claim, counts) in summary.sorted(by: { $0.key < $1.key }) {
            lines.append("| \(claim) | \(counts["holds"] ?? 0) | \(counts["fails"] ?? 0) | \(counts["undecided"] ?? 0) |")
        }
        lines.append("")
        lines.append("## Verdicts")
        lines.append("")
        lines.append("| claim | objective [scale convention] | norm | sigma/mu | verdict (as formalised here) | numbers | precision |")
        lines.append("|---|---|---|---|---|---|---|")
        for v in verdicts {
            let detail = v.detail.replacingOccurrences(of: "|", with: "\\|")
            let objective = v.objective == "-" ? "none (robust accuracy, scale-free)" : v.objective
            lines.append("| \(v.claim) | \(objective) | \(norm) | \(v.sigma) | **\(v.verdict)** | \(detail) | \(v.precision.replacingOccurrences(of: "|", with: "\\|")) |")
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

extension ThresholdResult {
    /// The scan of dR/dw2 at (w1 optimal on the axis, w2 = 0+) over eps, one row per eps, for
    /// `threshold --out` (eps0 itself, its kind and bound go to the manifest's notes).
    public var scanCSV: CSVTable {
        var t = CSVTable(header: ["eps", "w1", "derivative_at_w2_zero", "derivative_at_w2_zero_error", "at_search_bound", "sign_resolved"])
        for p in scan {
            t.append([.double(p.eps), .double(p.w1), .double(p.derivative), .double(p.derivativeError),
                      .bool(p.atSearchBound), .bool(p.signIsResolved)])
        }
        return t
    }

    /// One line: kind, eps0 with its bound and method, converged.
    public var summary: String {
        let value = eps0.map { "eps0 = \($0)" + (errorBound.map { " (error <= \($0))" } ?? "") } ?? "no eps0"
        return "kind \(kind.rawValue): \(value), method \(method.rawValue), converged \(converged)"
    }
}

extension ObjectiveSpec {
    /// The `--objectives` spelling of a spec: "ce", "ce@scale=10.0", "ce@wd=0.01".
    static func flag(_ spec: ObjectiveSpec) -> String {
        guard spec.scale != spec.objective.defaultScale else { return "\(spec.objective)" }
        switch spec.scale {
        case .fixed(let s): return "\(spec.objective)@scale=\(s)"
        case .weightDecay(let l): return "\(spec.objective)@wd=\(l)"
        case .centeredWeightDecay(let l): return "\(spec.objective)@wdc=\(l)"
        case .free: return "\(spec.objective)"
        }
    }
}

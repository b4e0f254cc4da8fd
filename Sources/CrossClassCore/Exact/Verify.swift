import Dispatch
import Foundation
import GSL

/// What `ccsim verify` checks, and on which grid.
public struct VerifyConfiguration: Sendable, Codable, Equatable {
    public var mu: Double = 1
    /// sigma values (as multiples of mu).
    public var sigmas: [Double] = [0.25, 0.5, 1.0]
    public var norm: Norm = .linf
    /// Objectives (with their scale conventions) for Theorem 1.
    public var objectives: [ObjectiveSpec] = ObjectiveSpec.defaults
    /// eps/mu values for Theorem 2 (RA along w2).
    public var epsGrid: [Double] = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]
    /// w2/w1 points in [0, 1] for Theorem 2.
    public var ratioPoints: Int = 101
    /// Scan points of the threshold search.
    public var thresholdGrid: Int = 16
    /// Quadrature tolerance of each objective evaluation.
    public var tolerance: Double = 1e-9
    /// eps/mu values at which Theorem 3 compares the LS and CE optima.
    public var theorem3Eps: [Double] = [0.05, 0.15, 0.25, 0.35, 0.45]
    /// Label-smoothing alpha for Theorem 3.
    public var smoothing: Double = 0.1
    /// Fixed scales at which Theorem 3 is also checked (besides free scale).
    public var theorem3Scales: [Double] = [1]
    /// Offset from eps0 at which the optimum itself confirms a threshold.
    public var confirmationOffset: Double = 0.02

    public init() {}
}

/// One verdict: a claim, where it was checked, whether it holds, and the numbers.
public struct ClaimVerdict: Sendable, Codable, Equatable {
    public var claim: String
    public var objective: String
    public var sigma: Double
    public var holds: Bool
    /// One sentence with the numbers that decide the verdict (the counterexample when it fails).
    public var detail: String
    public var numbers: [String: Double?]
    /// False when the verdict would rest on a number that is not resolved (an unconverged
    /// optimum or threshold, a sign within its error bound): the claim is then reported as
    /// "undecided", neither holding nor failing (and `holds` is false).
    public var decided: Bool = true
    /// The precision behind the verdict: the error bounds of the numbers that decide it.
    public var precision: String = ""

    public var verdict: String { decided ? (holds ? "holds" : "fails") : "undecided" }

    /// The same verdict, refused (undecided) when `resolved` is false, with the reason.
    func refused(unless resolved: Bool, _ reason: @autoclosure () -> String) -> ClaimVerdict {
        guard !resolved else { return self }
        var v = self
        v.decided = false
        v.holds = false
        v.detail = "undecided: \(reason()); the numbers would say: " + detail
        return v
    }
}

public struct VerifyReport: Sendable, Codable {
    public var configuration: VerifyConfiguration
    public var verdicts: [ClaimVerdict]
    public var thresholds: [ThresholdRow]
    /// Summary per claim: how many (objective, sigma) cells hold / fail / are undecided.
    public var summary: [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        for v in verdicts { out[v.claim, default: [:]][v.verdict, default: 0] += 1 }
        return out
    }

    public struct ThresholdRow: Sendable, Codable, Equatable {
        public var objective: String
        public var sigma: Double
        public var kind: String
        public var eps0: Double?
        public var converged: Bool
        /// Bound on |eps0 - truth| (nil when there is no threshold).
        public var errorBound: Double? = nil
        /// "closed-form" or "root-of-derivative".
        public var method: Estimate.Method = .closedForm
    }
}

/// Evaluates the paper's claims (THEORY.md section 5) from computed numbers only: every verdict
/// is the outcome of a comparison of exact values, and the code does not know which way it
/// should go. Work items run on all cores.
public enum Verifier {
    public static let claimNames = [
        "theorem1": "Theorem 1: some eps0 in (0, mu/2) with w2* = 0 above it and w2* > 0 below, w1* > 0 throughout",
        "theorem2-joint": "Theorem 2: robust accuracy (both wrong classes at once) increases with w2 on [0, w1]",
        "theorem2-pairwise": "Theorem 2 (one competitor): P(m_k > 0) increases with w2 on [0, w1]",
        "theorem3-threshold": "Theorem 3: label smoothing moves the threshold up, eps1 > eps0",
        "theorem3-weights": "Theorem 3: w2_LS*/w1_LS* > w2*/w1* for eps in (0, eps1)",
        "large-scale-limit": "Check (b): the fixed-scale ce optimum approaches the hinge:0 optimum E[(-min_k m_k)_+] as the scale grows",
    ]

    public static func run(
        _ config: VerifyConfiguration, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> VerifyReport {
        // Work items: thresholds per (objective, sigma), Theorem 2 per sigma, Theorem 3
        // optima per (sigma, scale, eps), large-scale limit per sigma.
        enum Item: Sendable {
            case threshold(ObjectiveSpec, Double)
            case theorem2(Double)
            case optimum(ObjectiveSpec, Double, Double)
        }
        var items: [Item] = []
        var t3Specs: [(ObjectiveSpec, ObjectiveSpec)] = [(.init(.ce), .init(.ls(alpha: config.smoothing)))]
        for s in config.theorem3Scales {
            t3Specs.append((.init(.ce, .fixed(s)), .init(.ls(alpha: config.smoothing), .fixed(s))))
        }
        var thresholdSpecs = config.objectives
        for (a, b) in t3Specs { for spec in [a, b] where !thresholdSpecs.contains(spec) { thresholdSpecs.append(spec) } }
        for sigma in config.sigmas {
            for spec in thresholdSpecs { items.append(.threshold(spec, sigma)) }
            items.append(.theorem2(sigma))
            for (a, b) in t3Specs {
                for eps in config.theorem3Eps { items.append(.optimum(a, sigma, eps)); items.append(.optimum(b, sigma, eps)) }
            }
            for s in [10.0, 100.0] { items.append(.optimum(.init(.ce, .fixed(s)), sigma, 0.3)) }
            items.append(.optimum(.init(.hinge(kappa: 0), .fixed(1)), sigma, 0.3))
        }
        enum Output: Sendable {
            case threshold(ThresholdResult)
            case theorem2([ClaimVerdict])
            case optimum(SymmetricOptimum)
        }
        let results = try Parallel.map(items, progress: progress) { item -> Output in
            switch item {
            case .threshold(let spec, let sigma):
                let model = try DataModel.paper3(mu: config.mu, sigma: sigma * config.mu)
                var finder = try ThresholdFinder(model: model, norm: config.norm, objective: spec.objective, scale: spec.scale)
                finder.gridPoints = config.thresholdGrid
                finder.tolerance = config.tolerance
                return .threshold(try finder.find())
            case .theorem2(let sigma):
                return .theorem2(try theorem2(config, sigma: sigma))
            case .optimum(let spec, let sigma, let eps):
                let model = try DataModel.paper3(mu: config.mu, sigma: sigma * config.mu)
                var o = try SymmetricOptimizer(
                    model: model, threat: ThreatModel(norm: config.norm, eps: eps * config.mu),
                    objective: spec.objective, scale: spec.scale)
                o.tolerance = config.tolerance
                return .optimum(try o.solve())
            }
        }
        var thresholds: [String: ThresholdResult] = [:]
        var optima: [String: SymmetricOptimum] = [:]
        var verdicts: [ClaimVerdict] = []
        for (item, result) in zip(items, results) {
            switch (item, result) {
            case (.threshold(let spec, let sigma), .threshold(let r)): thresholds["\(spec)|\(sigma)"] = r
            case (.optimum(let spec, let sigma, let eps), .optimum(let o)): optima["\(spec)|\(sigma)|\(eps)"] = o
            case (.theorem2, .theorem2(let v)): verdicts += v
            default: break
            }
        }
        // Confirmation optima for Theorem 1 (eps0 +- offset), computed after the thresholds.
        var confirmItems: [(ObjectiveSpec, Double, Double)] = []
        for sigma in config.sigmas {
            for spec in config.objectives {
                guard let r = thresholds["\(spec)|\(sigma)"], r.kind == .threshold, let e0 = r.eps0 else { continue }
                let top = config.mu / 2 * 0.998
                confirmItems.append((spec, sigma, max(e0 - config.confirmationOffset * config.mu, e0 / 2)))
                confirmItems.append((spec, sigma, min(e0 + config.confirmationOffset * config.mu, (e0 + top) / 2)))
            }
        }
        let confirmations = try Parallel.map(confirmItems, progress: nil) { (spec, sigma, eps) -> SymmetricOptimum in
            let model = try DataModel.paper3(mu: config.mu, sigma: sigma * config.mu)
            var o = try SymmetricOptimizer(
                model: model, threat: ThreatModel(norm: config.norm, eps: eps), objective: spec.objective, scale: spec.scale)
            o.tolerance = config.tolerance
            return try o.solve()
        }
        for ((spec, sigma, eps), o) in zip(confirmItems, confirmations) { optima["\(spec)|\(sigma)|confirm|\(eps)"] = o }

        var rows: [VerifyReport.ThresholdRow] = []
        for sigma in config.sigmas {
            for spec in thresholdSpecs {
                let r = thresholds["\(spec)|\(sigma)"]!
                rows.append(.init(objective: spec.description, sigma: sigma, kind: r.kind.rawValue, eps0: r.eps0, converged: r.converged,
                                  errorBound: r.errorBound, method: r.method))
            }
            for spec in config.objectives {
                verdicts.append(theorem1(config, spec: spec, sigma: sigma, threshold: thresholds["\(spec)|\(sigma)"]!, optima: optima))
            }
            for (ce, ls) in t3Specs {
                verdicts += theorem3(config, ce: ce, ls: ls, sigma: sigma, thresholds: thresholds, optima: optima)
            }
            verdicts.append(largeScale(config, sigma: sigma, optima: optima))
        }
        return VerifyReport(configuration: config, verdicts: verdicts, thresholds: rows)
    }

    // MARK: Theorem 1

    /// The Theorem 1 verdict from a threshold and the optima that confirm it (keys
    /// "SPEC|SIGMA|confirm|EPS"): holds, fails, or undecided when it rests on unresolved numbers.
    public static func theorem1(
        _ config: VerifyConfiguration, spec: ObjectiveSpec, sigma: Double, threshold r: ThresholdResult,
        optima: [String: SymmetricOptimum]
    ) -> ClaimVerdict {
        let name = spec.description
        let halfMu = config.mu / 2
        let notes = r.notes.isEmpty ? "" : " (" + r.notes.joined(separator: "; ") + ")"
        switch r.kind {
        case .none:
            let last = r.scan.last!
            var v = ClaimVerdict(
                claim: "theorem1", objective: name, sigma: sigma, holds: false,
                detail: "no threshold: at eps = \(fmt(last.eps)) (the largest scanned, mu/2 = \(fmt(halfMu))) dR/dw2 at (w1 = \(fmt(last.w1)), w2 = 0+) is \(fmt(last.derivative)) < 0, so the optimum keeps w2* > 0",
                numbers: ["eps": last.eps, "w1": last.w1, "derivative": last.derivative, "derivative_error": last.derivativeError, "eps0": nil])
            v.precision = "dR/dw2 = \(fmt(last.derivative)) +- \(fmt(last.derivativeError)) (\(r.method))\(last.atSearchBound ? ", w1 pinned at a search bound" : "")"
            return v.refused(unless: r.converged, "the deciding derivative is not resolved\(notes)")
        case .zero:
            let first = r.scan.first!
            var v = ClaimVerdict(
                claim: "theorem1", objective: name, sigma: sigma, holds: false,
                detail: "w2* = 0 already at eps = \(fmt(first.eps)) (dR/dw2 at w2 = 0+ is \(fmt(first.derivative)) >= 0): no eps0 > 0 separates the regimes",
                numbers: ["eps": first.eps, "derivative": first.derivative, "derivative_error": first.derivativeError, "eps0": 0])
            v.precision = "dR/dw2 = \(fmt(first.derivative)) +- \(fmt(first.derivativeError)) (\(r.method))"
            return v.refused(unless: r.converged, "the deciding derivative is not resolved\(notes)")
        case .threshold:
            let e0 = r.eps0!
            let confirms = optima.filter { $0.key.hasPrefix("\(spec)|\(sigma)|confirm|") }
                .map { (Double($0.key.split(separator: "|").last!)!, $0.value) }.sorted { $0.0 < $1.0 }
            var problems: [String] = []
            var numbers: [String: Double?] = ["eps0": e0, "eps0_error": r.errorBound]
            let eps0Error = r.errorBound ?? .infinity
            let precision = "eps0 = \(fmt(e0)) +- \(fmt(eps0Error)) (\(r.method)); confirming optima at quadrature tolerance \(fmt(config.tolerance)): " +
                confirms.map { "eps \(fmt($0.0)) \($0.1.converged ? "converged" : "NOT converged")" }.joined(separator: ", ")
            var unresolved: [String] = []
            if !r.converged { unresolved.append("eps0 is not converged\(notes)") }
            for (eps, o) in confirms {
                if !o.converged { unresolved.append("the optimum at eps = \(fmt(eps)) is not converged (\(o.notes.joined(separator: "; ")))") }
                if abs(eps - e0) <= eps0Error { unresolved.append("the confirmation point eps = \(fmt(eps)) is within eps0's error bound") }
            }
            for (eps, o) in confirms {
                numbers["w2_at_\(fmt(eps))"] = o.w2
                numbers["w1_at_\(fmt(eps))"] = o.w1
                if o.w1 <= 0 { problems.append("w1* = \(fmt(o.w1)) at eps = \(fmt(eps))") }
                if eps < e0 && !(o.w2 > 0) { problems.append("w2* = 0 already at eps = \(fmt(eps)) < eps0") }
                if eps > e0 && o.usesCrossClassFeatures && !o.onBoundary {
                    problems.append("the optimum at eps = \(fmt(eps)) > eps0 has w2* = \(fmt(o.w2)) > 0 (the local condition at w2 = 0 is not global)")
                }
            }
            var v: ClaimVerdict
            if problems.isEmpty {
                let detail = "eps0 = \(fmt(e0)) in (0, \(fmt(halfMu))); optima confirm: " + confirms.map { "eps \(fmt($0.0)): (w1, w2) = (\(fmt($0.1.w1)), \(fmt($0.1.w2)))" }.joined(separator: "; ")
                v = ClaimVerdict(claim: "theorem1", objective: name, sigma: sigma, holds: true, detail: detail, numbers: numbers)
            } else {
                v = ClaimVerdict(
                    claim: "theorem1", objective: name, sigma: sigma, holds: false,
                    detail: "eps0 = \(fmt(e0)) from the derivative, but " + problems.joined(separator: "; "), numbers: numbers)
            }
            v.precision = precision
            return v.refused(unless: unresolved.isEmpty, unresolved.joined(separator: "; "))
        }
    }

    // MARK: Theorem 2

    static func theorem2(_ config: VerifyConfiguration, sigma: Double) throws -> [ClaimVerdict] {
        let model = try DataModel.paper3(mu: config.mu, sigma: sigma * config.mu)
        let ratios = (0..<config.ratioPoints).map { Double($0) / Double(config.ratioPoints - 1) }
        var jointWorst: (eps: Double, a: Double, b: Double, ra: Double, rb: Double, drop: Double)? = nil
        var pairWorst: (eps: Double, a: Double, b: Double, ra: Double, rb: Double, drop: Double)? = nil
        var jointFailures: [Double] = [], pairFailures: [Double] = []
        var largestError = 0.0, unconverged = 0
        var ambiguous: [String] = []
        for eps in config.epsGrid {
            let threat = try ThreatModel(norm: config.norm, eps: eps * config.mu)
            var joint: [Estimate] = []
            for r in ratios { joint.append(try RobustAccuracy.symmetric(model: model, w1: 1, w2: r, threat: threat)) }
            // One competitor: P(m_k > 0) = Phi((mean of m_k) / sd(m_k)), closed form.
            let pair = ratios.map { r -> Double in
                let structure = ComplementStructure(model: model)!
                let mean = (1 + r) * config.mu - threat.eps * structure.dualNorm(w1: 1, w2: r, norm: config.norm)
                return Normal.cdf(mean / (sigma * config.mu * (1 + r * r).squareRoot()))
            }
            var failedJoint = false, failedPair = false
            for r in joint {
                largestError = max(largestError, r.errorBound)
                if !r.converged { unconverged += 1 }
            }
            for i in 1..<ratios.count {
                let drop = joint[i - 1].value - joint[i].value
                if drop > 0 && drop <= joint[i - 1].errorBound + joint[i].errorBound + 1e-12 {
                    ambiguous.append("eps \(fmt(eps)), w2/w1 \(fmt(ratios[i - 1]))-\(fmt(ratios[i]))")
                }
                if drop > joint[i - 1].errorBound + joint[i].errorBound + 1e-12 {
                    failedJoint = true
                    if jointWorst == nil || drop > jointWorst!.drop {
                        jointWorst = (eps, ratios[i - 1], ratios[i], joint[i - 1].value, joint[i].value, drop)
                    }
                }
                let pdrop = pair[i - 1] - pair[i]
                if pdrop > 1e-13 {
                    failedPair = true
                    if pairWorst == nil || pdrop > pairWorst!.drop {
                        pairWorst = (eps, ratios[i - 1], ratios[i], pair[i - 1], pair[i], pdrop)
                    }
                }
            }
            if failedJoint { jointFailures.append(eps) }
            if failedPair { pairFailures.append(eps) }
        }
        func verdict(_ claim: String, _ failures: [Double], _ worst: (eps: Double, a: Double, b: Double, ra: Double, rb: Double, drop: Double)?) -> ClaimVerdict {
            guard let w = worst else {
                return ClaimVerdict(
                    claim: claim, objective: "-", sigma: sigma, holds: true,
                    detail: "increasing in w2/w1 on [0, 1] at every eps in \(config.epsGrid.map(fmt).joined(separator: ", ")) (\(config.ratioPoints) points each)",
                    numbers: [:])
            }
            return ClaimVerdict(
                claim: claim, objective: "-", sigma: sigma, holds: false,
                detail: "decreases somewhere on w2/w1 in [0, 1] at eps in \(failures.map(fmt).joined(separator: ", ")); e.g. eps = \(fmt(w.eps)): RA(w2/w1 = \(fmt(w.a))) = \(fmt(w.ra)) > RA(w2/w1 = \(fmt(w.b))) = \(fmt(w.rb))",
                numbers: ["eps": w.eps, "ratio_a": w.a, "ratio_b": w.b, "ra_a": w.ra, "ra_b": w.rb, "first_failing_eps": failures.first])
        }
        var joint = verdict("theorem2-joint", jointFailures, jointWorst)
        joint.precision = "exact RA, every value within \(fmt(largestError)); a decrease counts only beyond the two error bounds"
        joint.numbers["ra_error"] = largestError
        // A failure is decided by a decrease beyond the error bounds; "holds" needs every step
        // resolved and every RA converged.
        if joint.holds {
            joint = joint.refused(unless: unconverged == 0 && ambiguous.isEmpty,
                                  "\(unconverged) RA values not converged; decreases within the error bounds at \(ambiguous.prefix(3).joined(separator: "; "))")
        }
        var pair = verdict("theorem2-pairwise", pairFailures, pairWorst)
        pair.precision = "closed form Phi(mean/sd), rounding only; a decrease counts beyond 1e-13"
        return [joint, pair]
    }

    // MARK: Theorem 3

    package static func theorem3(
        _ config: VerifyConfiguration, ce: ObjectiveSpec, ls: ObjectiveSpec, sigma: Double,
        thresholds: [String: ThresholdResult], optima: [String: SymmetricOptimum]
    ) -> [ClaimVerdict] {
        let t0 = thresholds["\(ce)|\(sigma)"]!, t1 = thresholds["\(ls)|\(sigma)"]!
        let name = "\(ls) vs \(ce)"
        // "No threshold" means w2* > 0 up to mu/2: treat as +infinity.
        let e0 = t0.kind == .none ? Double.infinity : t0.eps0!
        let e1 = t1.kind == .none ? Double.infinity : t1.eps0!
        let thresholdHolds = e1 > e0
        var detail: String
        if e0.isInfinite && e1.isInfinite {
            detail = "neither objective has a threshold below mu/2 (w2* > 0 for both up to mu/2), so eps1 > eps0 cannot hold"
        } else {
            detail = "eps0 (\(ce)) = \(e0.isInfinite ? "none" : fmt(e0)), eps1 (\(ls)) = \(e1.isInfinite ? "none" : fmt(e1))"
        }
        var thresholdVerdict = ClaimVerdict(
            claim: "theorem3-threshold", objective: name, sigma: sigma, holds: thresholdHolds && !(e0.isInfinite && e1.isInfinite),
            detail: detail, numbers: ["eps0": e0.isFinite ? e0 : nil, "eps1": e1.isFinite ? e1 : nil,
                                      "eps0_error": t0.errorBound, "eps1_error": t1.errorBound])
        let err0 = t0.kind == .threshold ? (t0.errorBound ?? .infinity) : 0, err1 = t1.kind == .threshold ? (t1.errorBound ?? .infinity) : 0
        thresholdVerdict.precision = "eps0 \(e0.isFinite ? "+- " + fmt(err0) : "(none)"), eps1 \(e1.isFinite ? "+- " + fmt(err1) : "(none)"); thresholds \(t0.converged && t1.converged ? "converged" : "NOT converged")"
        let separated = !(e0.isFinite && e1.isFinite) || abs(e1 - e0) > err0 + err1
        thresholdVerdict = thresholdVerdict.refused(
            unless: t0.converged && t1.converged && separated,
            !(t0.converged && t1.converged) ? "a threshold is not converged (\((t0.notes + t1.notes).joined(separator: "; ")))" : "|eps1 - eps0| is within their error bounds")
        var failures: [String] = []
        var checked: [String] = []
        var numbers: [String: Double?] = [:]
        var unconverged: [String] = []
        for eps in config.theorem3Eps where eps * config.mu < min(e1, config.mu / 2) {
            guard let a = optima["\(ce)|\(sigma)|\(eps)"], let b = optima["\(ls)|\(sigma)|\(eps)"] else { continue }
            if !a.converged || !b.converged { unconverged.append(fmt(eps)) }
            numbers["ce_ratio_\(fmt(eps))"] = a.ratio
            numbers["ls_ratio_\(fmt(eps))"] = b.ratio
            checked.append(fmt(eps))
            if !(b.ratio > a.ratio) {
                failures.append("eps = \(fmt(eps)): LS ratio \(fmt(b.ratio)) <= CE ratio \(fmt(a.ratio))")
            }
        }
        var weightsVerdict = ClaimVerdict(
            claim: "theorem3-weights", objective: name, sigma: sigma, holds: failures.isEmpty && !checked.isEmpty,
            detail: failures.isEmpty
                ? (checked.isEmpty ? "no grid eps below eps1 to compare" : "LS keeps a larger w2/w1 at eps = \(checked.joined(separator: ", "))")
                : failures.joined(separator: "; "),
            numbers: numbers)
        weightsVerdict.precision = "optima at quadrature tolerance \(fmt(config.tolerance)); \(unconverged.isEmpty ? "all converged" : "NOT converged at eps \(unconverged.joined(separator: ", "))")"
        weightsVerdict = weightsVerdict.refused(unless: unconverged.isEmpty && t1.converged, "optima not converged at eps = \(unconverged.joined(separator: ", "))\(t1.converged ? "" : "; eps1 not converged")")
        return [thresholdVerdict, weightsVerdict]
    }

    // MARK: (b) large-scale limit

    package static func largeScale(_ config: VerifyConfiguration, sigma: Double, optima: [String: SymmetricOptimum]) -> ClaimVerdict {
        let hinge0 = ObjectiveSpec(.hinge(kappa: 0), .fixed(1))
        let o0 = optima["\(hinge0)|\(sigma)|0.3"]!
        let o10 = optima["\(ObjectiveSpec(.ce, .fixed(10)))|\(sigma)|0.3"]!
        let o100 = optima["\(ObjectiveSpec(.ce, .fixed(100)))|\(sigma)|0.3"]!
        let target = o0.ratio, r10 = o10.ratio, r100 = o100.ratio
        let holds = abs(r100 - target) < abs(r10 - target) || abs(r100 - target) < 1e-3
        var v = ClaimVerdict(
            claim: "large-scale-limit", objective: "ce [scale s] vs hinge:0", sigma: sigma, holds: holds,
            detail: "eps = 0.3: ce ratio w2/w1 at s = 10: \(fmt(r10)), at s = 100: \(fmt(r100)); hinge:0 optimum ratio \(fmt(target))",
            numbers: ["ratio_s10": r10, "ratio_s100": r100, "ratio_hinge0": target])
        let all = [("hinge:0", o0), ("ce s=10", o10), ("ce s=100", o100)]
        let bad = all.filter { !$0.1.converged }.map { $0.0 }
        v.precision = "optima at quadrature tolerance \(fmt(config.tolerance)), angle to 1e-9; \(bad.isEmpty ? "all converged" : "NOT converged: \(bad.joined(separator: ", "))")"
        return v.refused(unless: bad.isEmpty, "optima not converged: \(bad.joined(separator: ", "))")
    }

    // MARK: Helpers

    static func fmt(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite { return x.description }
        let a = abs(x)
        if a >= 1e-4 && a < 1e5 {
            var s = String(format: "%.6g", x)
            if s.contains("e") { s = x.description }
            return s
        }
        return String(format: "%.4e", x)
    }
}

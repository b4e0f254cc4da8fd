import ArgumentParser
import CrossClass
import Foundation

struct AttributionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribution",
        abstract: "Exact attribution metric (C, CAS) of a linear classifier at population level.",
        discussion: """
            The classifier is the symmetric family (--w1, --w2), a weights file (--weights), or the \
            AT optimum of an objective (--optimum ce; --scale fixes its norm). Samples: natural \
            (x) or adversarial (x + delta*(x), the exact l_inf worst case of --attack-objective, ce \
            by default, as the paper's PGD samples). Gauge: centred (head rows minus their mean) or \
            raw. --json prints cas, mean_cross_similarity (signed mean of the off-diagonal C) and \
            correlation (K x K rows). With --map --out F.csv: the symmetric family's CAS over a \
            grid of (eps/mu, w2/w1), both gauges and both sample kinds.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Threat model: linf or l2 (l2 only with --samples natural).")
    var norm: String = "linf"

    @Option(help: "Perturbation radius (>= 0).")
    var eps: Double?

    @Option(help: "Symmetric family: weight on a class's exclusive features.")
    var w1: Double?

    @Option(help: "Symmetric family: weight on the cross-class features a class carries.")
    var w2: Double?

    @Option(help: "JSON weights file {\"weights\": [[...], ...]} (K x d).")
    var weights: String?

    @Option(help: "Use the exact AT optimum of this objective at --eps (ce, ls[:alpha], trades[:beta], worst-margin, hinge[:kappa], zero-one).")
    var optimum: String?

    @Option(help: "With --optimum: fix ||(w1, w2)||_2 = s (default: the objective's own convention).")
    var scale: Double?

    @Option(name: .customLong("attack-objective"), help: "The loss the adversary maximises: ce, ls[:alpha] or trades[:beta].")
    var attackObjective: String = "ce"

    @Option(help: "centred or raw.")
    var gauge: String = "centred"

    @Option(help: "adversarial or natural.")
    var samples: String = "adversarial"

    @Flag(help: "Write the CAS map of the symmetric family over --eps-over-mu x --ratios to --out.")
    var map = false

    @Option(name: .customLong("eps-over-mu"), help: "Map: eps/mu grid.")
    var epsOverMu: String = "0:0.5:0.01"

    @Option(help: "Map: w2/w1 grid.")
    var ratios: String = "0:2:0.02"

    @Option(help: "Map: output CSV (a JSON manifest is written beside it).")
    var out: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let model = try modelOptions.load()
        if map { return try runMap(model) }
        guard let eps else { throw InputError("--eps is missing: give the perturbation radius (or --map)") }
        try CheckFlag.eps(eps)
        let threat = try ThreatModel(norm: Norm.parse(norm), eps: eps)
        let gauge = try AttributionGauge.parse(self.gauge)
        let kind = try AttributionSamples.parse(samples)
        let adversary = try Objective.parse(attackObjective)
        let exact = try ExactAttribution(model: model, threat: threat, attackObjective: adversary)
        let sources = [w1 != nil || w2 != nil, weights != nil, optimum != nil].filter { $0 }.count
        guard sources == 1 else {
            throw InputError("give exactly one classifier: --w1 and --w2, --weights FILE, or --optimum OBJECTIVE (got \(sources))")
        }
        if scale != nil && optimum == nil { throw InputError("--scale applies to --optimum only") }
        var out: [String: JSONValue] = [
            "model": .string(model.name), "norm": .string(threat.norm.rawValue), "eps": .number(eps),
            "gauge": .string(gauge.rawValue), "samples": .string(kind.rawValue), "attack_objective": .string(adversary.description),
        ]
        let classifier: LinearClassifier
        if let path = weights {
            classifier = try LinearClassifier.load(path: path)
            try classifier.validate(for: model)
            out["weights_file"] = .string(path)
        } else if let name = optimum {
            let objective = try Objective.parse(name)
            var mode = objective.defaultScale
            if let scale {
                try CheckFlag.positive(scale, "--scale")
                mode = .fixed(scale)
            }
            let o = try SymmetricOptimizer(model: model, threat: threat, objective: objective, scale: mode).solve()
            classifier = LinearClassifier.symmetric(model: model, w1: o.w1, w2: o.w2)
            out["optimum_objective"] = .string(objective.description)
            out["optimum_scale"] = .string(mode.description)
            out["optimum_converged"] = .bool(o.converged)
            out["w1"] = .number(o.w1)
            out["w2"] = .number(o.w2)
        } else {
            guard let w1, let w2 else { throw InputError("--w1 and --w2 go together: give both") }
            try CheckFlag.finite(w1, "--w1")
            try CheckFlag.finite(w2, "--w2")
            classifier = LinearClassifier.symmetric(model: model, w1: w1, w2: w2)
            out["w1"] = .number(w1)
            out["w2"] = .number(w2)
        }
        let r = try exact.evaluate(classifier, samples: kind, gauge: gauge)
        let k = r.attribution.classes
        out["cas"] = .number(r.attribution.cas)
        out["mean_cross_similarity"] = .number(r.attribution.meanOffDiagonal)
        out["correlation"] = .array((0..<k).map { i in JSONValue((0..<k).map { r.attribution[i, $0] }) })
        out["class_means"] = .array(r.classMeans.means.map { JSONValue($0) })
        out["method"] = .string(r.classMeans.method)
        out["error_bound"] = .number(r.classMeans.errorBound)
        out["converged"] = .bool(r.classMeans.converged)
        if json { Emit.json(out) } else {
            print("\(model.name) \(threat.norm.rawValue) eps=\(eps) \(kind) samples, \(gauge) gauge: CAS \(r.attribution.cas), mean cross similarity \(r.attribution.meanOffDiagonal) (\(r.classMeans.method)\(r.classMeans.converged ? "" : ", NOT converged"))")
            for i in 0..<k { print((0..<k).map { String(format: "%8.4f", r.attribution[i, $0]) }.joined(separator: " ")) }
        }
    }

    func runMap(_ model: DataModel) throws {
        guard let out else { throw InputError("--map needs --out FILE.csv") }
        if eps != nil || w1 != nil || w2 != nil || weights != nil || optimum != nil {
            throw InputError("--map draws the symmetric family over --eps-over-mu and --ratios; drop --eps, --w1, --w2, --weights and --optimum")
        }
        let eGrid = try Grid.parse(epsOverMu, name: "--eps-over-mu")
        let rGrid = try Grid.parse(ratios, name: "--ratios")
        guard try Norm.parse(norm) == .linf else { throw InputError("--map is computed for --norm linf (the exact worst case is a box vertex)") }
        guard try Objective.parse(attackObjective) == .ce else { throw InputError("--map uses the ce adversary; drop --attack-objective") }
        try Emit.checkWritable(out)
        let points = try ExactAttribution.casMap(model: model, epsOverMu: eGrid.values, ratios: rGrid.values)
        let structure = ComplementStructure(model: model)
        var table = CSVTable(header: [
            "eps_over_mu", "ratio",
            "cas_adversarial_centred", "mean_similarity_adversarial_centred", "cas_adversarial_raw", "mean_similarity_adversarial_raw",
            "cas_natural_centred", "mean_similarity_natural_centred", "cas_natural_raw", "mean_similarity_natural_raw",
            "threshold_ratio_adversarial_centred",
        ])
        for p in points {
            let threshold = structure.flatMap { ExactAttribution.complementThresholdRatio(classes: $0.classes, epsOverMu: p.epsOverMu) }
            table.append([
                .double(p.epsOverMu), .double(p.ratio),
                .double(p.adversarialCentred.cas), .double(p.adversarialCentred.meanOffDiagonal),
                .double(p.adversarialRaw.cas), .double(p.adversarialRaw.meanOffDiagonal),
                .double(p.naturalCentred.cas), .double(p.naturalCentred.meanOffDiagonal),
                .double(p.naturalRaw.cas), .double(p.naturalRaw.meanOffDiagonal),
                .optionalDouble(threshold),
            ])
        }
        var config = modelOptions.json
        config["eps_over_mu"] = .string(eGrid.text)
        config["ratios"] = .string(rGrid.text)
        config["norm"] = .string("linf")
        config["attack_objective"] = .string("ce")
        config["resolved_model"] = modelJSON(model)
        let notes = [
            "symmetric family W(1, ratio); eps = eps_over_mu * mu; adversarial samples are the exact l_inf worst case of ce",
            "threshold_ratio_adversarial_centred: for complement models, the analytic w2/w1 above which the centred adversarial CAS is > 0 (empty: no ratio suffices, eps/mu >= (K-2)/(3K-4))",
        ]
        try Emit.csv(table, to: out, command: "attribution --map", configuration: config, notes: notes)
        if json {
            Emit.json(["out": .string(out), "rows": .number(Double(points.count))])
        } else {
            print("wrote \(points.count) rows to \(out)")
        }
    }
}

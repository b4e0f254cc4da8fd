import Foundation

extension ExactAttribution {
    /// `ccsim attribution --map`: the symmetric family's exact CAS over (eps/mu, w2/w1), both
    /// gauges and both sample kinds, with the analytic centred threshold for complement models.
    public static func mapTable(model: DataModel, epsOverMu: Grid, ratios: Grid) throws -> (table: CSVTable, configuration: [String: JSONValue], notes: [String]) {
        let points = try casMap(model: model, epsOverMu: epsOverMu.values, ratios: ratios.values)
        let structure = ComplementStructure(model: model)
        var table = CSVTable(header: [
            "eps_over_mu", "ratio",
            "cas_adversarial_centred", "mean_similarity_adversarial_centred", "cas_adversarial_raw", "mean_similarity_adversarial_raw",
            "cas_natural_centred", "mean_similarity_natural_centred", "cas_natural_raw", "mean_similarity_natural_raw",
            "threshold_ratio_adversarial_centred",
        ])
        for p in points {
            let threshold = structure.flatMap { complementThresholdRatio(classes: $0.classes, epsOverMu: p.epsOverMu) }
            table.append([
                .double(p.epsOverMu), .double(p.ratio),
                .double(p.adversarialCentred.cas), .double(p.adversarialCentred.meanOffDiagonal),
                .double(p.adversarialRaw.cas), .double(p.adversarialRaw.meanOffDiagonal),
                .double(p.naturalCentred.cas), .double(p.naturalCentred.meanOffDiagonal),
                .double(p.naturalRaw.cas), .double(p.naturalRaw.meanOffDiagonal),
                .optionalDouble(threshold),
            ])
        }
        let configuration: [String: JSONValue] = [
            "eps_over_mu": .string(epsOverMu.text), "ratios": .string(ratios.text), "norm": .string("linf"),
            "attack_objective": .string("ce"), "resolved_model": model.manifestJSON,
        ]
        let notes = [
            "symmetric family W(1, ratio); eps = eps_over_mu * mu; adversarial samples are the exact l_inf worst case of ce",
            "threshold_ratio_adversarial_centred: for complement models, the analytic w2/w1 above which the centred adversarial CAS is > 0 (empty: no ratio suffices, eps/mu >= (K-2)/(3K-4))",
        ]
        return (table, configuration, notes)
    }
}

import Foundation

/// A grid command as a recipe: what each grid point computes, the CSV it fills and the
/// configuration that identifies it. `run` adds the journal, shards, the output file with its
/// manifest, and a summary, the same way for every grid command.
public struct GridJob: Sendable {
    public var command: String
    public var header: [String]
    public var itemCount: Int
    public var configuration: [String: JSONValue]
    public var compute: @Sendable (Int) throws -> [[CSVValue]]
    /// The grid values of one point ("eps 0.2, objective ce"), for error messages.
    public var describeItem: (@Sendable (Int) -> String)?

    public init(command: String, header: [String], itemCount: Int, configuration: [String: JSONValue],
                describeItem: (@Sendable (Int) -> String)? = nil,
                compute: @escaping @Sendable (Int) throws -> [[CSVValue]]) {
        self.describeItem = describeItem
        self.command = command
        self.header = header
        self.itemCount = itemCount
        self.configuration = configuration
        self.compute = compute
    }

    public struct Result: Sendable {
        public var table: CSVTable
        /// "wrote N rows to FILE" and the summary table.
        public var report: String
    }

    public func run(
        to out: OutputTarget, shard: Shard?, resume: Bool, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> Result {
        var config = configuration
        if let shard { config["shard"] = .string(shard.description) }
        if !out.isStandardOutput { try OutputTarget.requireDistinct([out], journals: true) }
        let fingerprint = JSONValue.object([
            "command": .string(command), "configuration": .object(config), "header": .array(header.map { .string($0) }),
        ]).text
        let grid = GridRun(header: header, itemCount: itemCount, shard: shard,
                           output: out.isStandardOutput ? nil : out.path, fingerprint: fingerprint, resume: resume)
        let table = try grid.run(progress: progress, computeNamed)
        do {
            try ResultWriter.write(table, to: out, command: command, configuration: config)
        } catch {
            grid.finish()
            throw error
        }
        grid.finish()
        let summary = GridSummary(table: table).text
        return Result(table: table, report: "wrote \(table.rows.count) rows to \(out.isStandardOutput ? "standard output" : out.path)"
                      + (summary.isEmpty ? "" : "\n" + summary))
    }
}

/// A short table that ends every grid command: per objective (and sigma), where the optimum
/// drops the cross-class weight, where w2/w1 peaks, and how many rows did not converge; for
/// robust-accuracy grids, the w2/w1 of the best accuracy per eps.
public struct GridSummary: Sendable {
    public var table: CSVTable

    public init(table: CSVTable) { self.table = table }

    public var text: String {
        let h = table.header
        func column(_ name: String) -> Int? { h.firstIndex(of: name) }
        if let ratio = column("ratio"), let ra = column("robust_accuracy"), column("objective") == nil, let eps = column("eps") {
            return accuracySummary(eps: eps, ratio: ratio, accuracy: ra)
        }
        // The grid variable: eps (sweep, phase), or the scale when eps is fixed (path).
        // The scale column is the grid variable only when it holds numbers (path); sweep's is
        // a setting ("free", "scale=1.0").
        let epsVaries = column("eps").map { c in Set(table.rows.map { $0[c] }).count > 1 } ?? false
        let numericScale = column("scale").flatMap { c in table.rows.allSatisfy { Double($0[c]) != nil } ? c : nil }
        guard let w2 = column("w2"), let w1 = column("w1"), let x = epsVaries ? column("eps") : numericScale ?? column("eps"),
              column("epoch") == nil
        else { return "" }
        let xName = h[x]
        let groupColumns = ["sigma", "objective", "scale"].compactMap(column).filter { $0 != x }
        let converged = column("converged")
        var groups: [String: [(Double, Double, Double, Bool)]] = [:]
        var order: [String] = []
        for r in table.rows {
            let key = groupColumns.map { h[$0] == "sigma" ? "sigma=\(r[$0])" : h[$0] == "scale" ? "[\(r[$0])]" : r[$0] }
                .joined(separator: " ")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append((Double(r[x]) ?? .nan, Double(r[w1]) ?? .nan, Double(r[w2]) ?? .nan,
                                             converged.map { r[$0] == "true" } ?? true))
        }
        var lines = ["summary".padded(48) + "w2 = 0 from \(xName)".padded(18) + "max w2/w1 at \(xName)".padded(24) + "not converged"]
        for key in order {
            let rows = groups[key]!.sorted { $0.0 < $1.0 }
            let used = rows.map { $0.2 > SymmetricOptimum.crossClassTolerance * max(abs($0.1), 1e-300) }
            var crossing = "none"
            if let last = used.lastIndex(of: true) {
                // (W = 0: the optimum has no weight at all there, not only none on w2.)
                if last + 1 < rows.count { crossing = "\(rows[last + 1].0)" + (rows[last + 1].1 == 0 ? " (W = 0)" : "") }
            } else if !rows.isEmpty {
                crossing = "\(rows[0].0) (all)"
            }
            // w1 = 0 < w2 (the family's face without exclusive weight): an infinite ratio (the
            // first such row is the peak: max keeps the first of equals).
            let ratios = rows.map { $0.1 == 0 ? ($0.2 > 0 ? Double.infinity : 0) : $0.2 / $0.1 }
            let best = ratios.indices.max { ratios[$0] < ratios[$1] }
            let peak = best.map { "\(rows[$0].0) (\(ratios[$0].isFinite ? Self.short(ratios[$0]) : "w1 = 0"))" } ?? "-"
            let failures = rows.filter { !$0.3 }.count
            lines.append((key.isEmpty ? "all" : key).padded(48) + crossing.padded(18) + peak.padded(24) + "\(failures)")
        }
        return lines.joined(separator: "\n")
    }

    func accuracySummary(eps: Int, ratio: Int, accuracy: Int) -> String {
        var best: [String: (Double, Double)] = [:]
        var order: [String] = []
        for r in table.rows {
            guard let q = Double(r[ratio]), let a = Double(r[accuracy]) else { continue }
            if best[r[eps]] == nil { order.append(r[eps]) }
            if best[r[eps]].map({ a > $0.1 }) ?? true { best[r[eps]] = (q, a) }
        }
        var lines = ["summary: eps".padded(16) + "argmax w2/w1".padded(16) + "robust accuracy"]
        for e in order { lines.append(e.padded(16) + Self.short(best[e]!.0).padded(16) + Self.short(best[e]!.1)) }
        return lines.joined(separator: "\n")
    }

    static func short(_ x: Double) -> String { String(format: "%.4g", x) }
}

extension String {
    package func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

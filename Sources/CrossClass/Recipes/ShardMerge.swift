import Foundation

/// The inverse of a sharded `GridRun`: reads the shards' CSVs and manifests, checks that they
/// come from one command and configuration and cover 0/n ... (n-1)/n once, and rebuilds the
/// table (grid order, `_row` dropped) and manifest configuration of the unsharded run.
public enum ShardMerge {
    public struct Merged: Sendable {
        public var command: String
        public var configuration: [String: JSONValue]
        public var table: CSVTable
    }

    /// Refuses an output whose CSV or manifest would replace one of the shards' files (a shard
    /// `s.csv` has its manifest at `s.manifest.json`, which is also the manifest of `--out s`).
    public static func requireOutputOutside(shards paths: [String], out: OutputTarget) throws {
        guard !out.isStandardOutput else { return }
        var inputs: [String: String] = [:]
        for path in paths {
            inputs[OutputTarget.resolvedPath(path)] = "shard '\(path)'"
            inputs[OutputTarget.resolvedPath(Manifest.path(for: path))] = "the manifest of shard '\(path)'"
        }
        let outputs = [(out.resolved, "\(out.flag) '\(out.path)'")]
            + (out.manifestPath.map { [(OutputTarget.resolvedPath($0), "the manifest of \(out.flag) '\(out.path)'")] } ?? [])
        for (file, who) in outputs {
            if let input = inputs[file] {
                throw InputError("\(who) would replace \(input) ('\(file)'); give a new file name")
            }
        }
    }

    public static func merge(_ paths: [String]) throws -> Merged {
        guard !paths.isEmpty else { throw InputError("give the shard CSV files to merge") }
        var command: String?, base: [String: JSONValue]?, header: [String]?, count: Int?
        var seen: [Int: String] = [:]
        var rows: [(Int, Int, [String])] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { throw InputError("shard '\(path)' cannot be read") }
            let table = try CSVTable.parse(String(decoding: data, as: UTF8.self))
            let manifestPath = Manifest.path(for: path)
            guard let mdata = FileManager.default.contents(atPath: manifestPath),
                  let manifest = try? JSONDecoder().decode(Manifest.self, from: mdata) else {
                throw InputError("shard '\(path)' has no readable manifest '\(manifestPath)'")
            }
            guard case .string(let shardText)? = manifest.configuration["shard"] else {
                throw InputError("'\(path)' is not a shard (its manifest has no 'shard'); run the grid with --shard i/n")
            }
            let shard = try Shard.parse(shardText)
            var config = manifest.configuration
            config["shard"] = nil
            guard table.header.first == GridRun.rowColumn else { throw InputError("shard '\(path)' has no \(GridRun.rowColumn) column") }
            if let command, let base, let header, let count {
                guard manifest.command == command, config == base, Array(table.header.dropFirst()) == header else {
                    throw InputError("shard '\(path)' comes from a different command or configuration than '\(paths[0])'")
                }
                guard shard.count == count else { throw InputError("shard '\(path)' is \(shard) but '\(paths[0])' is one of \(count)") }
            } else {
                (command, base, header, count) = (manifest.command, config, Array(table.header.dropFirst()), shard.count)
            }
            if let other = seen[shard.index] { throw InputError("shard \(shard) is given twice: '\(other)' and '\(path)'") }
            seen[shard.index] = path
            for (i, r) in table.rows.enumerated() {
                guard let item = Int(r[0]), item >= 0, shard.owns(item) else {
                    throw InputError("shard '\(path)' line \(i + 2): _row '\(r[0])' does not belong to shard \(shard)")
                }
                rows.append((item, rows.count, Array(r.dropFirst())))
            }
        }
        let n = count!
        let missing = (0..<n).filter { seen[$0] == nil }
        guard missing.isEmpty else {
            throw InputError("shards \(missing.prefix(10).map { "\($0)/\(n)" }.joined(separator: ", ")) are missing; all of 0/\(n) ... \(n - 1)/\(n) are needed")
        }
        rows.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var table = CSVTable(header: header!)
        for r in rows { table.append(rawRow: r.2) }
        return Merged(command: command!, configuration: base!, table: table)
    }
}

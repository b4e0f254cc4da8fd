import ArgumentParser
import CrossClass
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the shards of a grid run (--shard i/n) into the file the unsharded run writes.",
        discussion: """
            Give every shard's CSV (each with its JSON manifest beside it). The shards must come \
            from the same command and configuration and cover 0/n ... (n-1)/n exactly once. The \
            result (rows in grid order, the _row column dropped, the manifest without 'shard') has \
            the same bytes as the unsharded run when --out has the same file name.
            """)

    @Option(help: "Output CSV (a JSON manifest is written beside it).")
    var out: String

    @Argument(help: "Shard CSV files.")
    var shards: [String]

    func run() throws {
        guard !shards.isEmpty else { throw InputError("give the shard CSV files to merge") }
        try Emit.checkWritable(out)
        var command: String?, base: [String: JSONValue]?, header: [String]?, count: Int?
        var seen: [Int: String] = [:]
        var rows: [(Int, Int, [String])] = []
        for path in shards {
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
                    throw InputError("shard '\(path)' comes from a different command or configuration than '\(shards[0])'")
                }
                guard shard.count == count else { throw InputError("shard '\(path)' is \(shard) but '\(shards[0])' is one of \(count)") }
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
        let missing = (0..<count!).filter { seen[$0] == nil }
        guard missing.isEmpty else {
            throw InputError("shards \(missing.prefix(10).map { "\($0)/\(count!)" }.joined(separator: ", ")) are missing; all of 0/\(count!) ... \(count! - 1)/\(count!) are needed")
        }
        rows.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var table = CSVTable(header: header!)
        for r in rows { table.append(rawRow: r.2) }
        try Emit.csv(table, to: out, command: command!, configuration: base!)
        print("merged \(shards.count) shards, \(rows.count) rows, into \(out)")
    }
}

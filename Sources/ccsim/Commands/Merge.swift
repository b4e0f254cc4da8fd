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

    @OptionGroup var output: OutputOptions

    @Argument(help: "Shard CSV files.")
    var shards: [String]

    mutating func validate() throws {
        guard !shards.isEmpty else { throw InputError("give the shard CSV files to merge") }
        try ShardMerge.requireOutputOutside(shards: shards, out: output.out)
    }

    func run() throws {
        let merged = try ShardMerge.merge(shards)
        try ResultWriter.write(merged.table, to: output.out, command: merged.command, configuration: merged.configuration)
        if !output.out.isStandardOutput {
            print("merged \(shards.count) shards, \(merged.table.rows.count) rows, into \(output.out.path)")
        }
    }
}

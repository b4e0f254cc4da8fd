import Foundation

/// One part of a grid split across machines: `--shard i/n` takes the items whose index is
/// congruent to i modulo n (0 <= i < n), so every shard gets a similar mix of cheap and costly
/// grid points. Slurm's `--array=0-(n-1)` gives i directly as SLURM_ARRAY_TASK_ID.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let maxCount = 100_000

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Self.maxCount else {
            throw InputError("--shard count \(count) is not allowed: it must be an integer in 1...\(Self.maxCount)")
        }
        guard index >= 0, index < count else {
            throw InputError("--shard index \(index) is not allowed: it must be in 0...\(count - 1) for \(count) shards")
        }
        self.index = index
        self.count = count
    }

    /// Parses "i/n".
    public static func parse(_ text: String) throws -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw InputError("--shard '\(text.prefix(40))' is not allowed: give i/n with integers 0 <= i < n, e.g. 0/4")
        }
        return try Shard(index: i, count: n)
    }

    public func owns(_ item: Int) -> Bool { item % count == index }

    public var description: String { "\(index)/\(count)" }
}

/// Runs a grid of independent items (each producing CSV rows) with a journal and optional
/// sharding.
///
/// Every finished item is appended to `OUT.journal` (one JSON line, flushed to disk) before it
/// counts as done, so an interrupted run loses at most the items in flight. With `resume`, items
/// already in the journal are not recomputed; because the journal stores the rendered CSV
/// fields, the final file has the same bytes as an uninterrupted run. The journal begins with
/// a fingerprint of the command, configuration and header; resuming a different configuration
/// is refused.
///
/// A sharded run prefixes every row with `_row`, the item's index in the whole grid, which is
/// what `ccsim merge` sorts on before dropping the column.
public struct GridRun: Sendable {
    public var header: [String]
    public var itemCount: Int
    public var shard: Shard?
    /// nil: no journal (output to standard output, which cannot be resumed).
    public var journalPath: String?
    public var fingerprint: String
    public var resume: Bool

    public static let rowColumn = "_row"

    public init(header: [String], itemCount: Int, shard: Shard?, output: String?, fingerprint: String, resume: Bool) {
        self.header = header
        self.itemCount = itemCount
        self.shard = shard
        self.journalPath = output.map(Self.journalPath(for:))
        self.fingerprint = fingerprint
        self.resume = resume
        self.items = (0..<itemCount).filter { shard?.owns($0) ?? true }
    }

    public static func journalPath(for output: String) -> String { output + ".journal" }

    /// Items this run is responsible for, in grid order.
    public let items: [Int]

    struct Header: Codable { var ccsim_journal: Int; var fingerprint: String }
    struct Entry: Codable { var item: Int; var rows: [[String]] }

    /// Checks the journal situation before any work starts (so a user error costs nothing).
    public func prepare() throws -> [Int: [[String]]] {
        guard let journalPath else {
            guard !resume else { throw InputError("--resume needs an output file: standard output has no journal") }
            return [:]
        }
        let exists = FileManager.default.fileExists(atPath: journalPath)
        guard resume else {
            if exists {
                throw InputError("'\(journalPath)' exists from an interrupted run: add --resume to continue it, or delete it to start over")
            }
            return [:]
        }
        guard exists else { return [:] }
        guard let data = FileManager.default.contents(atPath: journalPath) else {
            throw InputError("cannot read journal '\(journalPath)'")
        }
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        // The last piece is empty (complete file) or a line cut off when the run stopped: drop it.
        lines.removeLast()
        let decoder = JSONDecoder()
        guard let first = lines.first, let head = try? decoder.decode(Header.self, from: Data(first)) else {
            throw InputError("journal '\(journalPath)' is not a ccsim journal (bad first line); delete it to start over")
        }
        guard head.fingerprint == fingerprint else {
            throw InputError("journal '\(journalPath)' was written by a different command or configuration; resume with the same flags, or delete it to start over")
        }
        var done: [Int: [[String]]] = [:]
        let mine = Set(items)
        for (n, line) in lines.dropFirst().enumerated() {
            guard let e = try? decoder.decode(Entry.self, from: Data(line)), mine.contains(e.item),
                  e.rows.allSatisfy({ $0.count == header.count })
            else {
                throw InputError("journal '\(journalPath)' line \(n + 2) is corrupt; delete the journal to start over")
            }
            done[e.item] = e.rows
        }
        return done
    }

    /// Computes the missing items (in parallel), journalling each, and returns the table in
    /// grid order. The caller writes the table and then calls `finish()`.
    public func run(
        progress: (@Sendable (Int, Int) -> Void)? = nil,
        _ compute: @Sendable @escaping (Int) throws -> [[CSVValue]]
    ) throws -> CSVTable {
        var done = try prepare()
        let todo = items.filter { done[$0] == nil }
        let journal = try journalPath.map {
            try Journal(path: $0, header: Header(ccsim_journal: 1, fingerprint: fingerprint), fresh: done.isEmpty)
        }
        let alreadyDone = done.count, total = items.count, width = header.count
        var shifted: (@Sendable (Int, Int) -> Void)? = nil
        if let progress { shifted = { d, _ in progress(alreadyDone + d, total) } }
        let computed: [[[String]]]
        do {
            computed = try Parallel.map(todo, progress: shifted) { (item: Int) -> [[String]] in
                let rows: [[String]] = try compute(item).map { $0.map(\.text) }
                for r in rows { precondition(r.count == width, "grid row has \(r.count) fields, header has \(width)") }
                try journal?.append(Entry(item: item, rows: rows))
                return rows
            }
        } catch {
            // A failure (not an interruption, which exits before this) leaves nothing behind:
            // a rerun after fixing the cause starts cleanly instead of being refused.
            journal?.close()
            finish()
            throw error
        }
        journal?.close()
        for (item, rows) in zip(todo, computed) { done[item] = rows }
        var table = CSVTable(header: shard == nil ? header : [Self.rowColumn] + header)
        for item in items {
            for r in done[item]! { table.append(rawRow: shard == nil ? r : [String(item)] + r) }
        }
        return table
    }

    /// Removes the journal once the output is safely written.
    public func finish() {
        if let journalPath { unlink(journalPath) }
    }
}

/// Append-only journal file; every entry is one line written with a single write and fsync.
final class Journal: @unchecked Sendable {
    let fd: Int32
    let path: String
    let lock = NSLock()

    init(path: String, header: GridRun.Header, fresh: Bool) throws {
        self.path = path
        if fresh {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw InputError("cannot write journal '\(path)': \(String(cString: strerror(errno)))") }
            try write(JSONEncoder().encode(header))
        } else {
            fd = open(path, O_RDWR)
            guard fd >= 0 else { throw InputError("cannot open journal '\(path)': \(String(cString: strerror(errno)))") }
            // Cut a half-written last line so new entries start on a line of their own.
            let size = lseek(fd, 0, SEEK_END)
            var end = size
            var byte: UInt8 = 0
            while end > 0 {
                _ = pread(fd, &byte, 1, end - 1)
                if byte == 0x0A { break }
                end -= 1
            }
            if end != size { _ = ftruncate(fd, end) }
            lseek(fd, end, SEEK_SET)
        }
    }

    func append(_ entry: GridRun.Entry) throws {
        let encoder = JSONEncoder()
        let data = try encoder.encode(entry)
        lock.lock()
        defer { lock.unlock() }
        try write(data)
    }

    private func write(_ data: Data) throws {
        var line = data
        line.append(0x0A)
        let ok = line.withUnsafeBytes { buf -> Bool in
            var offset = 0
            while offset < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        guard ok else { throw InputError("cannot append to journal '\(path)': \(String(cString: strerror(errno)))") }
        fsync(fd)
    }

    func close() { _ = Foundation.close(fd) }
}

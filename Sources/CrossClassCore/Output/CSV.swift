import Foundation

/// A CSV table built in memory and written atomically (RFC 4180 quoting, "\n" line ends).
public struct CSVTable: Sendable, Equatable {
    public let header: [String]
    public private(set) var rows: [[String]] = []

    public init(header: [String]) { self.header = header }

    public mutating func append(_ row: [CSVValue]) {
        precondition(row.count == header.count, "CSV row has \(row.count) fields, header has \(header.count)")
        rows.append(row.map(\.text))
    }

    public mutating func append(rawRow: [String]) {
        precondition(rawRow.count == header.count)
        rows.append(rawRow)
    }

    public var text: String {
        var out = Self.line(header)
        for r in rows { out += Self.line(r) }
        return out
    }

    static func line(_ fields: [String]) -> String {
        fields.map(quote).joined(separator: ",") + "\n"
    }

    static func quote(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    /// Refuses a table with a NaN or infinite number in it: such a value never belongs in a
    /// results file, so it is reported as a numerical failure (exit 3) instead of written.
    public func checkFinite() throws {
        let bad: Set<String> = ["nan", "-nan", "inf", "-inf", "+inf"]
        for (i, r) in rows.enumerated() {
            for (j, f) in r.enumerated() where bad.contains(f.lowercased()) {
                throw NumericalError("row \(i + 1), column '\(header[j])' is \(f); refusing to write a results file with non-finite numbers")
            }
        }
    }

    /// Parses text written by `text` (used by `merge` and tests).
    public static func parse(_ text: String) throws -> CSVTable {
        var records: [[String]] = []
        var field = "", record: [String] = []
        var inQuotes = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if inQuotes {
                if c == "\"" {
                    if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { inQuotes = false }
                } else { field.append(c) }
            } else if c == "\"" {
                inQuotes = true
            } else if c == "," {
                record.append(field); field = ""
            } else if c == "\n" {
                record.append(field); field = ""
                records.append(record); record = []
            } else if c != "\r" {
                field.append(c)
            }
        }
        if inQuotes { throw InputError("CSV ends inside a quoted field") }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { throw InputError("CSV is empty: a header line is required") }
        var table = CSVTable(header: header)
        for (i, r) in records.dropFirst().enumerated() {
            guard r.count == header.count else {
                throw InputError("CSV line \(i + 2) has \(r.count) fields; the header has \(header.count)")
            }
            table.rows.append(r)
        }
        return table
    }
}

/// One CSV cell. Doubles use Swift's shortest round-trip form, so files are byte-stable.
public enum CSVValue: Sendable {
    case double(Double)
    case int(Int)
    case string(String)
    case bool(Bool)
    case optionalDouble(Double?)

    public var text: String {
        switch self {
        case .double(let d): return d.exactText
        case .int(let i): return String(i)
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .optionalDouble(let d): return d.map(\.exactText) ?? ""
        }
    }
}

/// Writing files so that a reader never sees a partial one: write to a temporary file in the
/// same directory, fsync, then rename over the destination (atomic on POSIX file systems). The
/// temporary file is removed on every failure, and on SIGINT/SIGTERM (see `Interruption`).
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func write(_ data: Data, to path: String) throws {
        try stream(to: path) { sink in try sink.write(data) }
    }

    /// Writes what `content` sends to the sink into a temporary file, calls `beforeCommit`
    /// (e.g. to write a manifest first), then renames the file into place.
    public static func stream(
        to path: String, _ content: (Sink) throws -> Void, beforeCommit: () throws -> Void = {}
    ) throws {
        let target = try OutputTarget(path, flag: "output", allowStandardOutput: false)
        let (directory, name) = OutputTarget.split(target.path)
        let temp = (directory == "/" ? "" : directory) + "/.\(name).tmp-\(getpid())"
        // Registered so that SIGINT/SIGTERM during the write removes it (see Interruption).
        TemporaryFiles.register(temp)
        defer { TemporaryFiles.unregister(temp) }
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw InputError("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
        do {
            try content(Sink(fd: fd, path: path))
            guard fsync(fd) == 0 || errno == EINVAL else {
                throw InputError("cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
            close(fd)
            try beforeCommit()
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        if rename(temp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw InputError("cannot write '\(path)': \(reason)")
        }
    }

    /// Buffered writes to a file descriptor; a failed write throws with the path and reason.
    public final class Sink {
        let fd: Int32
        let path: String
        private var buffer: [UInt8] = []

        public init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer.reserveCapacity(1 << 16)
        }

        deinit { try? flush() }

        public func write(_ text: String) throws {
            buffer.append(contentsOf: text.utf8)
            if buffer.count >= 1 << 16 { try flush() }
        }

        public func write(_ data: Data) throws {
            try flush()
            try data.withUnsafeBytes { try put($0) }
        }

        public func flush() throws {
            guard !buffer.isEmpty else { return }
            let pending = buffer
            buffer.removeAll(keepingCapacity: true)
            try pending.withUnsafeBytes { try put($0) }
        }

        private func put(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw InputError("cannot write '\(path)': \(String(cString: strerror(errno)))") }
                offset += n
            }
        }
    }
}

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
/// same directory, flush, then rename over the destination (atomic on POSIX file systems).
public enum AtomicFile {
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw InputError("output directory '\(dir.path)' does not exist")
        }
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        // Registered so that SIGINT/SIGTERM during the write removes it (see Interruption).
        TemporaryFiles.register(temp.path)
        defer { TemporaryFiles.unregister(temp.path) }
        guard FileManager.default.createFile(atPath: temp.path, contents: data) else {
            throw InputError("cannot write '\(path)': the directory is not writable")
        }
        if rename(temp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp.path)
            throw InputError("cannot write '\(path)': \(reason)")
        }
    }
}

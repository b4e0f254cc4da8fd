import Foundation

/// Where one result goes: a file path, or standard output ("-").
///
/// Every command that writes goes through this type, so the rules hold everywhere: the target
/// is a regular file (replaced atomically) or a new name in an existing, writable directory;
/// never a directory, FIFO, device or socket; "-" is standard output, and then no manifest is
/// written (a manifest needs a name to sit beside).
public struct OutputTarget: Sendable, Equatable, CustomStringConvertible {
    /// The path as given ("-" for standard output).
    public let path: String
    /// The flag it came from, for messages.
    public let flag: String
    /// False for outputs without a manifest beside them (checkpoints, weights files).
    public let hasManifest: Bool

    public var isStandardOutput: Bool { path == "-" }
    public var description: String { path }

    /// Checks the syntax and the file system (directory exists and is writable; an existing
    /// target is a regular file). `allowStandardOutput` is false for files that must have a name
    /// (checkpoints, journals).
    public init(_ text: String, flag: String = "--out", allowStandardOutput: Bool = true, hasManifest: Bool = true) throws {
        self.flag = flag
        self.hasManifest = hasManifest
        guard !text.isEmpty else { throw InputError("\(Self.label(flag, "")) is not allowed: give a file name\(allowStandardOutput ? " or - for standard output" : "")") }
        if text == "-" {
            guard allowStandardOutput else { throw InputError("\(Self.label(flag, "-")) is not allowed: this output needs a file name") }
            path = text
            return
        }
        guard text.utf8.count <= 4096, !text.contains("\0") else {
            throw InputError("\(Self.label(flag, String(text.prefix(40)) + "...")) is not allowed: a path has at most 4096 bytes and no NUL")
        }
        let (directory, name) = Self.split(text)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw InputError("\(Self.label(flag, text)) names a directory; give a file name")
        }
        guard name.utf8.count <= 255 else {
            throw InputError("\(Self.label(flag, String(text.prefix(40)) + "...")): the file name has \(name.utf8.count) bytes; at most 255 are allowed")
        }
        var st = stat()
        guard stat(directory, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw InputError("\(Self.label(flag, text)): directory '\(directory)' does not exist")
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw InputError("\(Self.label(flag, text)): directory '\(directory)' is not writable")
        }
        if lstat(text, &st) == 0 {
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK {
                throw InputError("\(Self.label(flag, text)) is a symbolic link; give the file it points to")
            }
            guard type == S_IFREG else {
                let what = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO" : type == S_IFSOCK ? "a socket" : "a device or special file"
                throw InputError("\(Self.label(flag, text)) is \(what); give a regular file name (it is replaced atomically)")
            }
        }
        path = text
    }

    static func label(_ flag: String, _ text: String) -> String { flag.isEmpty ? "'\(text)'" : "\(flag) '\(text)'" }

    /// (directory, last component); the directory is "." for a bare name.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// The absolute, symlink-free path (directory resolved, name kept), for comparing targets.
    public var resolved: String {
        if isStandardOutput { return "-" }
        let (directory, name) = Self.split(path)
        guard let real = realpath(directory, nil) else { return path }
        defer { free(real) }
        let dir = String(cString: real)
        return (dir == "/" ? "" : dir) + "/" + name
    }

    /// Path of the JSON manifest beside this output (nil for standard output).
    public var manifestPath: String? { isStandardOutput || !hasManifest ? nil : Manifest.path(for: path) }

    /// Refuses outputs of one run that resolve to the same file (including their manifests and
    /// journals), e.g. `--out r.csv --attribution-out r.csv`.
    public static func requireDistinct(_ targets: [OutputTarget], journals: Bool = false) throws {
        var owner: [String: String] = [:]
        for t in targets where !t.isStandardOutput {
            let name = t.flag.isEmpty ? "'\(t.path)'" : "\(t.flag) '\(t.path)'"
            var files = [(t.resolved, name)]
            if let m = t.manifestPath {
                files.append((OutputTarget.resolvedPath(m), "the manifest of \(name)"))
            }
            if journals {
                files.append((OutputTarget.resolvedPath(GridRun.journalPath(for: t.path)), "the journal of \(name)"))
            }
            for (file, who) in files {
                if let other = owner[file] {
                    throw InputError("\(who) and \(other) are the same file '\(file)'; give different names")
                }
                owner[file] = who
            }
        }
    }

    /// The resolved form of any path (the path itself when its directory does not exist).
    public static func resolvedPath(_ path: String) -> String {
        (try? OutputTarget(path, flag: "", allowStandardOutput: false, hasManifest: false))?.resolved ?? path
    }
}

/// Writes a result: the CSV (atomically, or to standard output) and its manifest.
public enum ResultWriter {
    /// Writes `table` and its manifest. Notes are derived from the rows where possible (so
    /// merged shards get the same manifest as an unsharded run).
    public static func write(
        _ table: CSVTable, to target: OutputTarget, command: String, configuration: [String: JSONValue], notes: [String] = []
    ) throws {
        try table.checkFinite()
        var notes = notes
        if let column = table.header.firstIndex(of: "converged") {
            let failures = table.rows.filter { $0[column] == "false" }.count
            if failures > 0 { notes.append("\(failures) rows did not converge (column converged)") }
        }
        if target.isStandardOutput {
            FileHandle.standardOutput.write(Data(table.text.utf8))
            return
        }
        let manifest = Manifest(command: command, output: target.path, configuration: configuration, notes: notes)
        // The manifest first, the CSV last: a present CSV always has its manifest.
        try AtomicFile.write(try manifest.encoded(), to: target.manifestPath!)
        try AtomicFile.write(table.text, to: target.path)
    }

    /// Streams rows to `target` without holding them in memory: `produce` is called with a
    /// sink for CSV lines; the file appears (atomically) only when `produce` returns.
    public static func stream(
        header: [String], to target: OutputTarget, command: String, configuration: [String: JSONValue],
        _ produce: (_ emit: ([CSVValue]) throws -> Void) throws -> Void
    ) throws {
        func writeRows(_ sink: AtomicFile.Sink) throws {
            try sink.write(CSVTable.line(header))
            try produce { row in
                precondition(row.count == header.count, "CSV row has \(row.count) fields, header has \(header.count)")
                for v in row {
                    if case .double(let d) = v, !d.isFinite {
                        throw NumericalError("a value is \(d); refusing to write a results file with non-finite numbers")
                    }
                }
                try sink.write(CSVTable.line(row.map(\.text)))
            }
            try sink.flush()
        }
        if target.isStandardOutput {
            try writeRows(AtomicFile.Sink(fd: STDOUT_FILENO, path: "standard output"))
            return
        }
        let manifest = Manifest(command: command, output: target.path, configuration: configuration)
        try AtomicFile.stream(to: target.path, writeRows, beforeCommit: {
            try AtomicFile.write(try manifest.encoded(), to: target.manifestPath!)
        })
    }
}

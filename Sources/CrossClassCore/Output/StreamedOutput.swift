import Foundation

/// A file being written: a temporary file beside the target that `commit` renames into place
/// and `discard` (or dropping it uncommitted) removes. Registered with `TemporaryFiles`, so
/// SIGINT/SIGTERM remove it too.
final class PendingFile {
    let path: String
    let temporary: String
    let sink: AtomicFile.Sink
    private let fd: Int32
    private var finished = false

    init(_ target: OutputTarget) throws {
        path = target.path
        let (directory, name) = OutputTarget.split(target.path)
        temporary = (directory == "/" ? "" : directory) + "/.\(name).tmp-\(getpid())"
        TemporaryFiles.register(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            TemporaryFiles.unregister(temporary)
            throw InputError("cannot write '\(target.path)': \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        sink = AtomicFile.Sink(fd: fd, path: target.path)
    }

    /// Flushes, syncs and renames the temporary file onto the target.
    func commit() throws {
        guard !finished else { return }
        do {
            try sink.flush()
            guard fsync(fd) == 0 || errno == EINVAL else {
                throw InputError("cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
            guard rename(temporary, path) == 0 else {
                throw InputError("cannot write '\(path)': \(String(cString: strerror(errno)))")
            }
        } catch {
            discard()
            throw error
        }
        close(fd)
        finished = true
        TemporaryFiles.unregister(temporary)
    }

    /// Removes the temporary file (nothing is left behind).
    func discard() {
        guard !finished else { return }
        finished = true
        close(fd)
        unlink(temporary)
        TemporaryFiles.unregister(temporary)
    }

    deinit { discard() }
}

/// The CSV outputs of one run (e.g. train's per-epoch log and its attribution matrices),
/// streamed row by row as the run produces them, so memory does not grow with the number of
/// rows. Each goes to a temporary file; `commit` writes the manifests and renames every file
/// into place; a run that fails (or is dropped without `commit`) leaves nothing behind. A
/// non-finite number is refused when its row arrives (exit 3), before anything is committed.
public final class StreamedCSV {
    let targets: [OutputTarget]
    let headers: [[String]]
    private var files: [PendingFile?]
    private var rowCounts: [Int]
    private var notConverged: [Int]
    private var standardOutput: AtomicFile.Sink?

    /// Opens every output (at most one may be standard output) and writes the headers.
    public init(_ outputs: [(target: OutputTarget, header: [String])]) throws {
        targets = outputs.map(\.target)
        headers = outputs.map(\.header)
        try OutputTarget.requireDistinct(targets)
        files = []
        rowCounts = Array(repeating: 0, count: outputs.count)
        notConverged = rowCounts
        for (target, header) in outputs {
            if target.isStandardOutput {
                let sink = AtomicFile.Sink(fd: STDOUT_FILENO, path: "standard output")
                standardOutput = sink
                files.append(nil)
                try sink.write(CSVTable.line(header))
            } else {
                let file = try PendingFile(target)
                files.append(file)
                try file.sink.write(CSVTable.line(header))
            }
        }
    }

    /// Appends one row to output `index`; a NaN or infinity is refused with its row and column.
    public func append(_ row: [CSVValue], to index: Int = 0) throws {
        let header = headers[index]
        precondition(row.count == header.count, "CSV row has \(row.count) fields, header has \(header.count)")
        rowCounts[index] += 1
        for (j, v) in row.enumerated() {
            let value: Double?
            switch v {
            case .double(let d): value = d
            case .optionalDouble(let d): value = d
            default: value = nil
            }
            if let value, !value.isFinite {
                discard()
                throw NumericalError("row \(rowCounts[index]), column '\(header[j])' of '\(targets[index].path)' is \(value); refusing to write a results file with non-finite numbers")
            }
            if header[j] == "converged", case .bool(false) = v { notConverged[index] += 1 }
        }
        let line = CSVTable.line(row.map(\.text))
        if let file = files[index] { try file.sink.write(line) } else { try standardOutput?.write(line) }
    }

    /// Writes each file's manifest (with `notes[i]`, plus a count of non-converged rows) and
    /// renames the files into place, the first output last (a present main file always has its
    /// companions).
    public func commit(command: String, configuration: [String: JSONValue], notes: [[String]] = []) throws {
        var written: [String] = []
        do {
            try standardOutput?.flush()
            // Manifests first, then the renames: a present CSV always has its manifest.
            for i in targets.indices where files[i] != nil {
                guard let manifestPath = targets[i].manifestPath else { continue }
                var n = i < notes.count ? notes[i] : []
                if notConverged[i] > 0 { n.append("\(notConverged[i]) rows did not converge (column converged)") }
                let manifest = Manifest(command: command, output: targets[i].path, configuration: configuration, notes: n)
                try AtomicFile.write(try manifest.encoded(), to: manifestPath)
                written.append(manifestPath)
            }
            for i in targets.indices.reversed() { try files[i]?.commit() }
        } catch {
            discard()
            for m in written { unlink(m) }
            throw error
        }
    }

    /// Removes every temporary file (a failed run leaves nothing behind).
    public func discard() {
        for f in files { f?.discard() }
    }

    deinit { discard() }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock seconds (monotonic).
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// CPU seconds used by this process so far (all threads).
func cpuNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// Peak resident set size of this process so far, in KiB (getrusage).
func peakRSSKiB() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss)
}

/// Current resident set size in KiB (/proc/self/statm), or -1 when unavailable.
func currentRSSKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

/// Prints one JSON object on stdout (sorted keys, so runs diff cleanly).
func emit(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write("\n".data(using: .utf8)!)
}

/// Parses "all" or a comma list of 1-based indices into 0-based indices below `count`.
func parseSubset(_ text: String, count: Int) throws -> [Int] {
    if text == "all" { return Array(0..<count) }
    return try text.split(separator: ",").map { part in
        guard let i = Int(part.trimmingCharacters(in: .whitespaces)), (1...count).contains(i) else {
            throw BenchError("subset entry '\(part)' is not an index in 1...\(count)")
        }
        return i - 1
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

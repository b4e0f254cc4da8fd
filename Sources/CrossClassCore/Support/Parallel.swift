import Dispatch
import Foundation

/// Ordered parallel map over independent work items (one worker thread per core).
///
/// Results keep the order of `items`, so output built from them is identical whatever the
/// scheduling: parallelism never changes a byte of ccsim's files.
public enum Parallel {
    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], workers: Int? = nil, progress: (@Sendable (Int, Int) -> Void)? = nil,
        _ body: @Sendable @escaping (T) throws -> R
    ) throws -> [R] {
        let results = ParallelResults<R>(items.count)
        let count = max(1, min(workers ?? ProcessInfo.processInfo.activeProcessorCount, items.count))
        let group = DispatchGroup()
        for _ in 0..<count {
            group.enter()
            let thread = Thread {
                while true {
                    results.lock.lock()
                    let i = results.next
                    results.next += 1
                    // Stop handing out work once something failed.
                    let stop = results.failed
                    results.lock.unlock()
                    if i >= items.count || stop { break }
                    let r = Result { try body(items[i]) }
                    results.lock.lock()
                    results.values[i] = r
                    if case .failure = r { results.failed = true }
                    results.done += 1
                    let done = results.done
                    results.lock.unlock()
                    progress?(done, items.count)
                }
                group.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        // The first failure in item order is the one reported.
        for r in results.values { if case .failure(let e)? = r { throw e } }
        return results.values.map { try! $0!.get() }
    }
}

/// Slots for `Parallel.map`, guarded by a lock.
final class ParallelResults<R>: @unchecked Sendable {
    var values: [Result<R, any Error>?]
    var done = 0
    var next = 0
    var failed = false
    let lock = NSLock()
    init(_ n: Int) { values = .init(repeating: nil, count: n) }
}

extension Parallel {
    /// body(0), ..., body(count - 1) on the system pool's threads (one per core), returned in
    /// index order: for splitting one numerical evaluation (milliseconds) into independent
    /// parts, where `map`'s thread start-up would cost too much. Each part is computed alone and
    /// the caller combines the parts in index order, so the result has the same bits whether
    /// `parallel` is. Not parallel (or one part): inline.
    static func indexed<R>(_ count: Int, parallel: Bool, _ body: (Int) -> R) -> [R] {
        guard parallel, count > 1 else { return (0..<count).map(body) }
        return [R](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = buffer.baseAddress!
            withoutActuallyEscaping(body) { body in
                let run = UnsafeSendable(value: (body, base))
                // One item per iteration: the pool hands them out as threads free up, which
                // balances parts of unequal cost.
                DispatchQueue.concurrentPerform(iterations: count) { i in
                    let (body, base) = run.value
                    (base + i).initialize(to: body(i))
                }
            }
            initialized = count
        }
    }
}

/// A value handed to the worker threads of `Parallel.indexed`, which write disjoint slots and
/// finish before the call returns.
private struct UnsafeSendable<T>: @unchecked Sendable {
    var value: T
}

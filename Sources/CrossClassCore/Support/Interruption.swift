import Dispatch
import Foundation

/// Temporary files that exist only while an atomic write is in progress.
///
/// This is process-wide state on purpose: a signal is delivered to the process, not to an
/// object, so the handler needs one place to find what to clean up.
public enum TemporaryFiles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []

    static func register(_ path: String) {
        lock.lock(); paths.insert(path); lock.unlock()
    }

    static func unregister(_ path: String) {
        lock.lock(); paths.remove(path); lock.unlock()
    }

    /// Deletes every registered file (called from the signal handler).
    public static func removeAll() {
        lock.lock()
        for p in paths { unlink(p) }
        paths.removeAll()
        lock.unlock()
    }
}

/// SIGINT and SIGTERM end ccsim cleanly: temporary files are removed, no partial output is left
/// (results are only ever renamed into place when complete), journals stay for `--resume`, and
/// the exit status is 128 + the signal number, as a shell expects.
public enum Interruption {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    public static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                TemporaryFiles.removeAll()
                FileHandle.standardError.write(Data("ccsim: interrupted by signal \(sig); no partial output written\n".utf8))
                _exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }
}

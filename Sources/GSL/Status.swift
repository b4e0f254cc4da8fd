import CGSL

/// A GSL status code turned into a Swift error.
///
/// GSL reports failures through integer status codes and, by default, an error handler that
/// aborts the process. ccsim never lets GSL abort: `GSL.prepare()` switches the handler off and
/// every wrapper checks the status it gets back.
public struct GSLError: Error, CustomStringConvertible, Equatable, Sendable {
    public let code: Int32
    public let context: String

    public init(code: Int32, context: String) {
        self.code = code
        self.context = context
    }

    /// GSL's own one-line explanation of the code.
    public var reason: String { String(cString: gsl_strerror(code)) }

    public var description: String { "\(context): \(reason) (GSL status \(code))" }

    public static let maxIterations = Int32(GSL_EMAXITER)
    public static let roundoff = Int32(GSL_EROUND)
    public static let tolerance = Int32(GSL_ETOL)
    public static let singular = Int32(GSL_ESING)
    public static let diverges = Int32(GSL_EDIVERGE)
}

/// Entry point for process-wide GSL configuration.
public enum GSL {
    /// Switching the handler off is idempotent and process-wide; doing it in a lazily
    /// initialised constant makes it happen exactly once, before any wrapper runs.
    private static let handlerOff: Bool = {
        _ = gsl_set_error_handler_off()
        return true
    }()

    /// Makes sure GSL's abort-on-error handler is off. Every wrapper calls this.
    @inline(__always)
    public static func prepare() {
        _ = handlerOff
    }

    /// The GSL version the library was linked against, e.g. "2.7.1".
    public static var version: String {
        prepare()
        return String(cString: ccsim_gsl_version())
    }

    /// Throws unless `status` is Int32(GSL_SUCCESS).
    @inline(__always)
    static func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
        if status != Int32(GSL_SUCCESS) {
            throw GSLError(code: status, context: context())
        }
    }
}

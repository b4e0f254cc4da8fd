import CGSL

/// The result of a one-dimensional quadrature.
public struct Quadrature: Sendable, Equatable {
    /// The integral estimate.
    public var value: Double
    /// GSL's estimate of the absolute error.
    public var absoluteError: Double
    /// Number of integrand evaluations.
    public var evaluations: Int
    /// False when GSL could not reach the requested tolerance (the value is still GSL's best
    /// estimate, and `absoluteError` says how good it is).
    public var converged: Bool

    public init(value: Double, absoluteError: Double, evaluations: Int, converged: Bool) {
        self.value = value
        self.absoluteError = absoluteError
        self.evaluations = evaluations
        self.converged = converged
    }
}

/// Requested accuracy of a quadrature: GSL stops when |error| <= max(absolute, relative * |I|).
public struct Tolerance: Sendable, Equatable, Codable {
    public var absolute: Double
    public var relative: Double

    public init(absolute: Double, relative: Double = 0) {
        self.absolute = absolute
        self.relative = relative
    }

    public static let exact = Tolerance(absolute: 1e-12, relative: 1e-12)
}

/// Adaptive Gauss-Kronrod quadrature (GSL QAG / QAGP / QAGI), one workspace per instance.
///
/// Not thread-safe: each computation (and each nesting level of a nested integral) owns its
/// own `Integrator`. Throws only for misuse (bad limits, non-finite integrand); a tolerance
/// that is not reached is reported through `Quadrature.converged`.
public final class Integrator {
    private let workspace: UnsafeMutablePointer<gsl_integration_workspace>
    public let limit: Int

    public init(limit: Int = 2000) {
        GSL.prepare()
        precondition(limit > 0)
        guard let w = gsl_integration_workspace_alloc(limit) else {
            fatalError("gsl_integration_workspace_alloc(\(limit)) failed: out of memory")
        }
        self.workspace = w
        self.limit = limit
    }

    deinit { gsl_integration_workspace_free(workspace) }

    /// Integral of `f` over [a, b], with optional interior break points where `f` or one of
    /// its derivatives jumps (points outside (a, b) are ignored).
    public func integrate(
        over a: Double, _ b: Double, breakPoints: [Double] = [],
        tolerance: Tolerance = .exact, _ f: (Double) throws -> Double
    ) throws -> Quadrature {
        if a == b { return Quadrature(value: 0, absoluteError: 0, evaluations: 0, converged: true) }
        // QAGP needs strictly increasing points: drop duplicates and points within a hair of
        // each other or of the ends (zero-length sub-intervals make it fail).
        let lo = Swift.min(a, b), hi = Swift.max(a, b)
        let gap = 1e-12 * Swift.max(hi - lo, 1e-300)
        let pts: [Double]
        if breakPoints.isEmpty {
            pts = [lo, hi]
        } else {
            var interior: [Double] = []
            for p in breakPoints.filter({ $0.isFinite && $0 > lo + gap && $0 < hi - gap }).sorted()
            where interior.last.map({ p - $0 > gap }) ?? true {
                interior.append(p)
            }
            pts = [lo] + interior + [hi]
        }
        return try withCallback(f) { fn, counter in
            // QAG on each piece between break points. (GSL's QAGP adds Wynn extrapolation,
            // built for end-point singularities; on kinked-but-continuous integrands it was
            // seen to converge confidently to a wrong value, so it is not used.)
            let pieceTolerance = Tolerance(
                absolute: tolerance.absolute / Double(pts.count - 1), relative: tolerance.relative)
            var total = 0.0, error = 0.0
            var worst = Int32(GSL_SUCCESS)
            var budget = Self.maxSplits
            for i in 0..<(pts.count - 1) {
                let piece = try robustPiece(fn, pts[i], pts[i + 1], pieceTolerance, depth: 0, budget: &budget)
                if piece.status != Int32(GSL_SUCCESS) && worst == Int32(GSL_SUCCESS) { worst = piece.status }
                total += piece.value
                error += piece.error
            }
            return try Self.finish(
                worst, a <= b ? total : -total, error, counter.count, "integral over [\(a), \(b)]")
        }
    }

    /// Maximum depth of halvings, and total number of halvings per integral, when GSL reports
    /// round-off or a bad integrand on a piece (bounds the work on integrands that are noisy
    /// at the requested tolerance).
    public static let maxSplitDepth = 12
    public static let maxSplits = 48
    /// GSL statuses on which `robustPiece` halves a piece.
    private static let retryStatuses: [Int32] = [Int32(GSL_EROUND), Int32(GSL_ESING), Int32(GSL_EMAXITER)]
    /// Statuses that `finish` reports as not converged instead of throwing.
    private static let softStatuses: [Int32] = [Int32(GSL_EMAXITER), Int32(GSL_EROUND), Int32(GSL_ESING), Int32(GSL_EDIVERGE)]

    /// GSL QAG on [a, b]; when GSL gives up with round-off (EROUND), a too-small interval
    /// (ESING) or too many subdivisions (EMAXITER) -- which its heuristics also report for an
    /// undetected kink -- the piece is halved and each half integrated on its own, so the
    /// difficulty is isolated instead of spoiling the whole piece.
    private func robustPiece(
        _ fn: UnsafeMutablePointer<gsl_function>, _ a: Double, _ b: Double, _ tolerance: Tolerance, depth: Int,
        budget: inout Int
    ) throws -> (value: Double, error: Double, status: Int32) {
        var r = 0.0, e = 0.0
        let status = gsl_integration_qag(
            fn, a, b, tolerance.absolute, tolerance.relative, limit,
            Int32(GSL_INTEG_GAUSS31), workspace, &r, &e)
        // Round-off with an error estimate already within tolerance is success in all but name.
        if status == Int32(GSL_EROUND) && e <= max(tolerance.absolute, tolerance.relative * abs(r)) {
            return (r, e, Int32(GSL_SUCCESS))
        }
        guard Self.retryStatuses.contains(status), depth < Self.maxSplitDepth, budget > 0,
              b - a > 1e-9 * max(abs(a), abs(b), 1)
        else {
            return (r, e, status)
        }
        budget -= 1
        let mid = 0.5 * (a + b)
        let half = Tolerance(absolute: tolerance.absolute / 2, relative: tolerance.relative)
        let left = try robustPiece(fn, a, mid, half, depth: depth + 1, budget: &budget)
        let right = try robustPiece(fn, mid, b, half, depth: depth + 1, budget: &budget)
        let st = left.status != Int32(GSL_SUCCESS) ? left.status : right.status
        return (left.value + right.value, left.error + right.error, st)
    }

    /// Integral of `f` over the whole real line (GSL QAGI).
    public func integrateOverReals(
        tolerance: Tolerance = .exact, _ f: (Double) throws -> Double
    ) throws -> Quadrature {
        try withCallback(f) { fn, counter in
            var result = 0.0
            var abserr = 0.0
            let status = gsl_integration_qagi(
                fn, tolerance.absolute, tolerance.relative, limit, workspace, &result, &abserr)
            return try Self.finish(status, result, abserr, counter.count, "integral over the real line")
        }
    }

    private static func finish(
        _ status: Int32, _ value: Double, _ abserr: Double, _ counter: Int, _ what: @autoclosure () -> String
    ) throws -> Quadrature {
        // `what` names the integral in an error message: built only when one is thrown (it
        // formats two doubles, which was visible on the nested-integral path).
        // Failing to reach the tolerance is a reportable outcome, not a crash: the caller
        // carries `converged` and the error estimate into its output.
        if status != Int32(GSL_SUCCESS) && !softStatuses.contains(status) {
            throw GSLError(code: status, context: what())
        }
        guard value.isFinite else {
            throw GSLError(code: Int32(GSL_EDOM), context: "\(what()) is not finite")
        }
        return Quadrature(
            value: value, absoluteError: abserr, evaluations: counter,
            converged: status == Int32(GSL_SUCCESS))
    }
}

/// Bridges a Swift closure to a `gsl_function` for the duration of `body`.
///
/// The closure may throw: the first error is kept, every later evaluation returns NaN at once
/// (GSL then stops with an error status), and the kept error is rethrown in place of GSL's,
/// so errors travel out of nested integrals without flags in the integrands.
final class CallbackBox {
    let f: (Double) throws -> Double
    // Incremented on every integrand evaluation, only from the trampoline, never while another
    // access is in progress: no dynamic exclusivity check per evaluation.
    @exclusivity(unchecked) var count = 0
    @exclusivity(unchecked) var error: (any Error)? = nil
    init(_ f: @escaping (Double) throws -> Double) { self.f = f }
}

func withCallback<R>(
    _ f: (Double) throws -> Double,
    _ body: (UnsafeMutablePointer<gsl_function>, CallbackBox) throws -> R
) throws -> R {
    try withoutActuallyEscaping(f) { (escapable) throws -> R in
        let box = CallbackBox(escapable)
        return try withExtendedLifetime(box) { () throws -> R in
            var fn = gsl_function(
                function: { x, params in
                    // The box outlives every call (withExtendedLifetime above): borrow it
                    // without a retain/release pair per integrand evaluation.
                    Unmanaged<CallbackBox>.fromOpaque(params!)._withUnsafeGuaranteedRef { box in
                        if box.error != nil { return .nan }
                        box.count += 1
                        do { return try box.f(x) } catch {
                            box.error = error
                            return .nan
                        }
                    }
                },
                params: Unmanaged.passUnretained(box).toOpaque())
            let result: R
            do { result = try body(&fn, box) } catch { throw box.error ?? error }
            if let error = box.error { throw error }
            return result
        }
    }
}

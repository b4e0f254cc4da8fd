import CGSL

/// Derivative-free minimisation in several dimensions: GSL's Nelder-Mead simplex
/// (`gsl_multimin_fminimizer_nmsimplex2`).
public enum MultiMinimizer {
    public struct Result: Sendable, Equatable {
        public var argument: [Double]
        public var value: Double
        public var iterations: Int
        /// True when the simplex size fell below the requested tolerance.
        public var converged: Bool
        public var simplexSize: Double
    }

    /// Minimises `f` starting at `start` with initial step sizes `steps`, until the simplex's
    /// characteristic size is below `sizeTolerance` or `maxIterations` is reached.
    public static func simplex(
        start: [Double], steps: [Double], sizeTolerance: Double = 1e-7, maxIterations: Int = 500,
        _ f: ([Double]) throws -> Double
    ) throws -> Result {
        GSL.prepare()
        let n = start.count
        precondition(n >= 1 && steps.count == n)
        guard let minimizer = gsl_multimin_fminimizer_alloc(ccsim_multimin_nmsimplex2(), n) else {
            fatalError("gsl_multimin_fminimizer_alloc failed: out of memory")
        }
        defer { gsl_multimin_fminimizer_free(minimizer) }
        let x = gsl_vector_alloc(n)!, ss = gsl_vector_alloc(n)!
        defer { gsl_vector_free(x); gsl_vector_free(ss) }
        for i in 0..<n {
            gsl_vector_set(x, i, start[i])
            gsl_vector_set(ss, i, steps[i])
        }
        final class Box {
            let f: ([Double]) throws -> Double
            var error: (any Error)?
            let n: Int
            init(_ f: @escaping ([Double]) throws -> Double, _ n: Int) { self.f = f; self.n = n }
        }
        return try withoutActuallyEscaping(f) { escapable in
            let box = Box(escapable, n)
            return try withExtendedLifetime(box) {
                var function = gsl_multimin_function(
                    f: { v, params in
                        let box = Unmanaged<Box>.fromOpaque(params!).takeUnretainedValue()
                        if box.error != nil { return .nan }
                        let point = (0..<box.n).map { gsl_vector_get(v, $0) }
                        do {
                            let value = try box.f(point)
                            return value.isFinite ? value : .infinity
                        } catch {
                            box.error = error
                            return .nan
                        }
                    },
                    n: n, params: Unmanaged.passUnretained(box).toOpaque())
                let setUp = gsl_multimin_fminimizer_set(minimizer, &function, x, ss)
                // The caller's error first: GSL reports it only as a bad function value.
                if let e = box.error { throw e }
                try GSL.check(setUp, "simplex set-up")
                var iterations = 0
                var converged = false
                var size = Double.infinity
                while iterations < maxIterations {
                    iterations += 1
                    let status = gsl_multimin_fminimizer_iterate(minimizer)
                    if let e = box.error { throw e }
                    if status != Int32(GSL_SUCCESS) { break }
                    size = gsl_multimin_fminimizer_size(minimizer)
                    if gsl_multimin_test_size(size, sizeTolerance) == Int32(GSL_SUCCESS) {
                        converged = true
                        break
                    }
                }
                let best = minimizer.pointee.x!
                return Result(
                    argument: (0..<n).map { gsl_vector_get(best, $0) },
                    value: minimizer.pointee.fval, iterations: iterations, converged: converged,
                    simplexSize: size)
            }
        }
    }
}

import CGSL

/// The result of a one-dimensional minimisation.
public struct Minimum: Sendable, Equatable {
    public var argument: Double
    public var value: Double
    public var iterations: Int
    public var converged: Bool
}

/// One-dimensional minimisation by Brent's method (GSL `gsl_min_fminimizer_brent`).
public enum Minimizer1D {
    /// Minimises `f` over the closed interval [lower, upper].
    ///
    /// GSL's Brent needs a bracket (a < x < b with f(x) < f(a), f(b)). This scans `gridPoints`
    /// equally spaced points, keeps the best one and brackets around it. When the best point is
    /// an end of the interval, the adjacent cell is halved towards that end until an interior
    /// point beats it (then Brent refines) or the cell is narrower than `tolerance` (then the
    /// end itself is the minimiser, returned exactly). The function is assumed unimodal within
    /// one grid cell of the best grid point.
    public static func minimize(
        in lower: Double, _ upper: Double, gridPoints: Int = 9,
        tolerance: Double = 1e-10, maxIterations: Int = 200,
        _ f: (Double) throws -> Double
    ) throws -> Minimum {
        GSL.prepare()
        precondition(lower < upper && gridPoints >= 3)
        let n = gridPoints
        var xs = [Double](repeating: 0, count: n)
        var fs = [Double](repeating: 0, count: n)
        for i in 0..<n {
            xs[i] = i == n - 1 ? upper : lower + (upper - lower) * Double(i) / Double(n - 1)
            fs[i] = try f(xs[i])
        }
        var best = 0
        for i in 1..<n where fs[i] < fs[best] { best = i }
        if best > 0 && best < n - 1 && fs[best] < fs[best - 1] && fs[best] < fs[best + 1] {
            return try brent(
                lower: xs[best - 1], upper: xs[best + 1], start: xs[best],
                tolerance: tolerance, maxIterations: maxIterations, f)
        }
        // Boundary (or plateau) case: shrink the neighbouring cell towards the best point.
        let end = xs[best], endValue = fs[best]
        var other = best == n - 1 ? xs[best - 1] : xs[best + 1]
        var otherValue = best == n - 1 ? fs[best - 1] : fs[best + 1]
        var halvings = 0
        while abs(other - end) > tolerance && halvings < maxIterations {
            halvings += 1
            let mid = 0.5 * (end + other)
            let fm = try f(mid)
            if fm < endValue && fm < otherValue {
                return try brent(
                    lower: min(end, other), upper: max(end, other), start: mid,
                    tolerance: tolerance, maxIterations: maxIterations, f)
            }
            other = mid
            otherValue = fm
        }
        return Minimum(argument: end, value: endValue, iterations: halvings, converged: true)
    }

    /// Brent's method on a bracket whose three values are already known (lower < start <
    /// upper, f(start) strictly below both ends): GSL `gsl_min_fminimizer_set_with_values`
    /// takes them instead of evaluating f there again. Stops when the bracket is narrower than
    /// `width` (absolute); the result is the best point evaluated. nil when the values do not
    /// bracket a minimum (ties included), so the caller picks another method.
    public static func refine(
        lower: (x: Double, f: Double), start: (x: Double, f: Double), upper: (x: Double, f: Double),
        width: Double, maxIterations: Int = 100, _ f: (Double) throws -> Double
    ) throws -> Minimum? {
        GSL.prepare()
        guard lower.x < start.x, start.x < upper.x, start.f < lower.f, start.f < upper.f, width > 0 else { return nil }
        return try brent(absolute: width, relative: 0, maxIterations: maxIterations, f) { solver, fn in
            try GSL.check(
                gsl_min_fminimizer_set_with_values(solver, fn, start.x, start.f, lower.x, lower.f, upper.x, upper.f),
                "minimiser set-up on [\(lower.x), \(upper.x)] from \(start.x)")
        }
    }

    /// GSL Brent on a valid bracket.
    static func brent(
        lower: Double, upper: Double, start: Double,
        tolerance: Double, maxIterations: Int, _ f: (Double) throws -> Double
    ) throws -> Minimum {
        try brent(absolute: tolerance, relative: 1e-7, maxIterations: maxIterations, f) { solver, fn in
            try GSL.check(
                gsl_min_fminimizer_set(solver, fn, start, lower, upper),
                "minimiser set-up on [\(lower), \(upper)] from \(start)")
        }
    }

    /// GSL Brent after `setUp` (one of GSL's set functions), until the bracket passes
    /// `gsl_min_test_interval` with the two tolerances or `maxIterations` run out (then not
    /// converged). A throwing `f` stops the solver; withCallback rethrows its error.
    private static func brent(
        absolute: Double, relative: Double, maxIterations: Int, _ f: (Double) throws -> Double,
        setUp: (UnsafeMutablePointer<gsl_min_fminimizer>, UnsafeMutablePointer<gsl_function>) throws -> Void
    ) throws -> Minimum {
        guard let solver = gsl_min_fminimizer_alloc(ccsim_min_brent()) else {
            fatalError("gsl_min_fminimizer_alloc failed: out of memory")
        }
        defer { gsl_min_fminimizer_free(solver) }
        return try withCallback(f) { fn, _ throws -> Minimum in
            try setUp(solver, fn)
            var iterations = 0
            var converged = false
            while iterations < maxIterations {
                iterations += 1
                try GSL.check(gsl_min_fminimizer_iterate(solver), "minimiser iteration")
                let a = gsl_min_fminimizer_x_lower(solver), b = gsl_min_fminimizer_x_upper(solver)
                if gsl_min_test_interval(a, b, absolute, relative) == Int32(GSL_SUCCESS) {
                    converged = true
                    break
                }
            }
            return Minimum(
                argument: gsl_min_fminimizer_x_minimum(solver),
                value: gsl_min_fminimizer_f_minimum(solver),
                iterations: iterations, converged: converged)
        }
    }
}

/// Root finding by Brent's method (GSL `gsl_root_fsolver_brent`).
public enum RootFinder {
    public struct Root: Sendable, Equatable {
        public var location: Double
        public var iterations: Int
        public var converged: Bool
    }

    /// A root of `f` in [lower, upper]; f(lower) and f(upper) must have opposite signs
    /// (a zero at an end point is returned directly).
    public static func brent(
        in lower: Double, _ upper: Double, absoluteTolerance: Double = 1e-12,
        relativeTolerance: Double = 1e-12, maxIterations: Int = 200,
        _ f: (Double) throws -> Double
    ) throws -> Root {
        GSL.prepare()
        let fl = try f(lower), fu = try f(upper)
        if fl == 0 { return Root(location: lower, iterations: 0, converged: true) }
        if fu == 0 { return Root(location: upper, iterations: 0, converged: true) }
        guard (fl < 0) != (fu < 0), fl.isFinite, fu.isFinite else {
            throw GSLError(
                code: Int32(GSL_EINVAL),
                context: "root bracket [\(lower), \(upper)] has f = \(fl), \(fu) (no sign change)")
        }
        guard let solver = gsl_root_fsolver_alloc(ccsim_root_brent()) else {
            fatalError("gsl_root_fsolver_alloc failed: out of memory")
        }
        defer { gsl_root_fsolver_free(solver) }
        // A throwing `f` stops the solver; withCallback rethrows its error.
        let result = try withCallback(f) { fn, _ throws -> Root in
            try GSL.check(gsl_root_fsolver_set(solver, fn, lower, upper), "root solver set-up")
            var iterations = 0
            var converged = false
            var root = gsl_root_fsolver_root(solver)
            while iterations < maxIterations {
                iterations += 1
                try GSL.check(gsl_root_fsolver_iterate(solver), "root iteration near \(root)")
                root = gsl_root_fsolver_root(solver)
                let lo = gsl_root_fsolver_x_lower(solver), hi = gsl_root_fsolver_x_upper(solver)
                if gsl_root_test_interval(lo, hi, absoluteTolerance, relativeTolerance) == Int32(GSL_SUCCESS) {
                    converged = true
                    break
                }
            }
            return Root(location: root, iterations: iterations, converged: converged)
        }
        return result
    }
}

import GSL

/// Numerical failures in words a user can act on: what step failed and why, with GSL's own
/// words only as a parenthetical (never its status number or the internal integral bounds).
public enum NumericalFailureText {
    /// GSL_EDOM and GSL_EINVAL (gsl_errno.h; the wrapper names only the statuses it retries on).
    static let gslDomain: Int32 = 1
    static let gslInvalid: Int32 = 4

    /// The cause of a GSL failure in plain words, with GSL's own words in parentheses.
    public static func cause(_ error: GSLError) -> String {
        let step: String
        let c = error.context.lowercased()
        if c.contains("integral") { step = "the quadrature" }
        else if c.contains("root") { step = "the root finder" }
        else if c.contains("minimi") || c.contains("simplex") { step = "the minimiser" }
        else { step = "a GSL routine" }
        let why: String
        switch error.code {
        case GSLError.maxIterations: why = "\(step) hit its iteration limit before reaching its tolerance"
        case GSLError.roundoff: why = "\(step) could not reach its tolerance because round-off error dominates"
        case GSLError.singular: why = "\(step) met a singular or non-smooth point it could not resolve"
        case GSLError.diverges: why = "\(step) found a divergent or too slowly converging integral"
        case GSLError.tolerance: why = "\(step) cannot reach the requested tolerance"
        case gslDomain where c.contains("not finite"): why = "\(step) produced a value that is not a finite number"
        case gslInvalid where c.contains("bracket"): why = "\(step) found no sign change to bracket the root"
        default: why = "\(step) failed"
        }
        return "\(why) (GSL: \(error.reason))"
    }

}

extension GridJob {
    /// Runs one grid point, naming it in a numerical failure ("grid point 3 of 12 (eps 0.2,
    /// objective ce): ..."), so a failing grid says which point failed.
    func computeNamed(_ item: Int) throws -> [[CSVValue]] {
        do {
            return try compute(item)
        } catch let e as GSLError {
            throw NumericalError("\(pointName(item)): \(NumericalFailureText.cause(e))")
        } catch let e as NumericalError {
            throw NumericalError("\(pointName(item)): \(e.message)")
        }
    }

    func pointName(_ item: Int) -> String {
        "grid point \(item + 1) of \(itemCount)" + (describeItem.map { " (\($0(item)))" } ?? "")
    }
}

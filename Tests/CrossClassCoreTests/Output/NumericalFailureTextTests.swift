import CrossClassCore
import GSL
import TestSupport
import Testing

/// GSL failures are told in plain words: the failing step and why, GSL's own words only in
/// parentheses, never the status number or the integral's internal bounds.
@Suite("Numerical failure text")
struct NumericalFailureTextTests {
    @Test("each GSL status reads as the step and the reason, without internals", arguments: [
        (GSLError.roundoff, "integral over [-8.5, 3.25]", "the quadrature could not reach its tolerance because round-off error dominates"),
        (GSLError.maxIterations, "integral over the real line", "the quadrature hit its iteration limit"),
        (GSLError.singular, "integral over [0, 1]", "singular or non-smooth point"),
        (GSLError.diverges, "integral over [0, 1]", "divergent"),
        (Int32(1), "integral over [0, 1] is not finite", "not a finite number"),
        (Int32(4), "root bracket [0, 0.5] has f = 1, 2 (no sign change)", "the root finder found no sign change"),
        (GSLError.maxIterations, "minimiser iteration", "the minimiser hit its iteration limit"),
    ])
    func plainWords(code: Int32, context: String, expected: String) {
        let text = NumericalFailureText.cause(GSLError(code: code, context: context))
        #expect(text.contains(expected), "\(text)")
        #expect(text.contains("(GSL: ") && !text.contains("status") && !text.contains("[") && !text.contains("\(code))"), "\(text)")
    }
}

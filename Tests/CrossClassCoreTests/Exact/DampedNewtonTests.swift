import CrossClassCore
import Foundation
import Testing

/// The damped Newton method every fast optimiser runs (l_inf and l_2 symmetric family, full W):
/// converges to a known minimiser, and does not spend evaluations on line searches that F's
/// rounding cannot judge.
@Suite("damped Newton")
struct DampedNewtonTests {
    /// f(x) = cosh(x1 - 1) + cosh(x2 + 2) + 0.3 (x1 - 1)(x2 + 2): strictly convex (Hessian
    /// diag(cosh) + 0.3 offdiagonal, cosh >= 1), minimiser (1, -2) exactly, plus `noise` times
    /// |f| times a deterministic pseudo-random number in [-1, 1] (rounding-like noise).
    static func function(noise: Double, count: UnsafeMutablePointer<Int>) -> ([Double]) -> (value: Double, gradient: [Double]) {
        { x in
            count.pointee += 1
            let a = x[0] - 1, b = x[1] + 2
            var value = cosh(a) + cosh(b) + 0.3 * a * b
            if noise > 0 {
                var h = x[0].bitPattern &* 0x9E37_79B9_7F4A_7C15 ^ x[1].bitPattern
                h ^= h >> 29
                value += noise * abs(value) * (Double(h % 2001) / 1000 - 1)
            }
            return (value, [sinh(a) + 0.3 * b, sinh(b) + 0.3 * a])
        }
    }

    /// `function`'s cosh function plus 100, reading `rise` high everywhere but at `start`: F's
    /// sums at their rounding, where a rule's nodes number thousands (a random 3-class model
    /// under l_2: F rose 6e-15 at a Newton point where 2.1e-15 was predicted).
    static func readingHigh(by rise: Double, awayFrom start: [Double], count: UnsafeMutablePointer<Int>) -> ([Double]) -> (value: Double, gradient: [Double]) {
        { x in
            count.pointee += 1
            let a = x[0] - 1, b = x[1] + 2
            return (100 + cosh(a) + cosh(b) + 0.3 * a * b + (x == start ? 0 : rise), [sinh(a) + 0.3 * b, sinh(b) + 0.3 * a])
        }
    }

    @Test("smooth convex function: converged to the known minimiser within 1e-9, in few evaluations")
    func smooth() throws {
        var count = 0
        let result = try withUnsafeMutablePointer(to: &count) { c in
            try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, Self.function(noise: 0, count: c))
        }
        #expect(result.converged)
        #expect(abs(result.argument[0] - 1) <= 1e-9 && abs(result.argument[1] + 2) <= 1e-9, "\(result.argument)")
        // Newton from 3 units away: ~6 iterations of 3 evaluations; the Hessian is reused once
        // the steps are small, so well under 30.
        #expect(count <= 30, "\(count) evaluations")
    }

    @Test("secant (BFGS) updates: the same minimiser to 1e-9 in fewer evaluations than differenced Hessians")
    func secant() throws {
        var plain = 0, secant = 0
        let a = try withUnsafeMutablePointer(to: &plain) { c in
            try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, Self.function(noise: 0, count: c))
        }
        let b = try withUnsafeMutablePointer(to: &secant) { c in
            try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, secantUpdates: true, Self.function(noise: 0, count: c))
        }
        #expect(a.converged && b.converged)
        #expect(abs(b.argument[0] - 1) <= 1e-9 && abs(b.argument[1] + 2) <= 1e-9, "\(b.argument)")
        #expect(secant < plain, "secant \(secant) evaluations, differenced \(plain)")
    }

    @Test("the decrement certifies a minimum only from a positive definite Hessian: g'H^-1 g / 2 there, nil for an indefinite or a singular one")
    func decrementCertificate() {
        // H = diag(2, 8), g = (2, 4): H^-1 g = (1, 0.5), g'H^-1 g = 4.
        #expect(abs((DampedNewton.decrement(hessian: [2, 0, 0, 8], gradient: [2, 4]) ?? 0) - 2) <= 1e-15)
        #expect(DampedNewton.decrement(hessian: [1, 2, 2, 1], gradient: [1, 0]) == nil, "eigenvalues 3 and -1")
        #expect(DampedNewton.decrement(hessian: [1, 1, 1, 1], gradient: [1, 0]) == nil, "singular")
        #expect(DampedNewton.decrement(hessian: [1, 0, 0, 1], gradient: [1, 0, 0]) == nil, "sizes differ")
    }

    @Test("an indefinite Hessian whose off-diagonal dominates (a saddle-like start): the shifted step still descends, to the known minimiser")
    func offDiagonalSaddle() throws {
        // f = -3 x y + (x^2 + y^2)^2: at (0.1, 0.2) the Hessian is about [[0.1, -2.9], [-2.9,
        // 0.2]]; shifting its diagonal by the sum of |diagonal| left it indefinite and the
        // method stopped where it started (trades under l_2 stalled that way on the coarse rule).
        // Minimisers x = y = +-sqrt(3/8).
        let result = try DampedNewton.minimize(start: [0.1, 0.2], maxIterations: 60, lowerBounds: [0, 0]) { x in
            let r2 = x[0] * x[0] + x[1] * x[1]
            return (-3 * x[0] * x[1] + r2 * r2, [-3 * x[1] + 4 * r2 * x[0], -3 * x[0] + 4 * r2 * x[1]])
        }
        let expected = (3.0 / 8).squareRoot()
        #expect(result.converged)
        #expect(abs(result.argument[0] - expected) <= 1e-9 && abs(result.argument[1] - expected) <= 1e-9, "\(result.argument)")
    }

    @Test("saddle-free steps out of a genuine saddle: the known minimiser in few iterations, where the shifted steps crawl")
    func saddleFree() throws {
        // f = 0.225 x^2 + 0.005 y^2 + 0.01 (z^4 / 4 - z^2 / 2) + 0.01 z: at the start z = 0 the
        // Hessian diag(0.45, 0.01, -0.01) is indefinite, as on a full-W trades run leaving the
        // symmetric optimum (eigenvalues -0.008 .. 0.45). The minimiser: x = y = 0 and the
        // negative root of z^3 - z + 1 = 0. Shifting by the diagonal's magnitudes (0.47) steps
        // along y with 0.01 / 0.48 of Newton's step: ~50 steps per digit.
        func f(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            let z = x[2]
            return (0.225 * x[0] * x[0] + 0.005 * x[1] * x[1] + 0.01 * (z * z * z * z / 4 - z * z / 2) + 0.01 * z,
                    [0.45 * x[0], 0.01 * x[1], 0.01 * (z * z * z - z) + 0.01])
        }
        // The real root of z^3 - z + 1 (Cardano): about -1.3247.
        let q = (23.0 / 108).squareRoot()
        let root = Foundation.cbrt(-0.5 + q) + Foundation.cbrt(-0.5 - q)
        let saddleFree = try DampedNewton.minimize(start: [1, 1, 0], maxIterations: 60, saddleFree: true, f)
        #expect(saddleFree.converged)
        #expect(abs(saddleFree.argument[0]) <= 1e-9 && abs(saddleFree.argument[1]) <= 1e-9 && abs(saddleFree.argument[2] - root) <= 1e-9,
                "\(saddleFree.argument), z* = \(root)")
        // The shifted steps (the default) crawl until z has passed the inflection 1/sqrt 3,
        // where the Hessian turns positive definite.
        let shifted = try DampedNewton.minimize(start: [1, 1, 0], maxIterations: 60, f)
        #expect(saddleFree.iterations <= 12 && shifted.iterations >= 2 * saddleFree.iterations,
                "saddle-free \(saddleFree.iterations) iterations, shifted \(shifted.iterations)")
    }

    @Test("value noise at rounding level: still converged near the minimiser, without long line searches")
    func noisy() throws {
        var count = 0
        let result = try withUnsafeMutablePointer(to: &count) { c in
            try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, Self.function(noise: 4e-16, count: c))
        }
        #expect(result.converged)
        #expect(abs(result.argument[0] - 1) <= 1e-7 && abs(result.argument[1] + 2) <= 1e-7, "\(result.argument)")
        #expect(count <= 30, "\(count) evaluations")
    }

    @Test("dear evaluations: a step whose predicted decrease is below F's sums' rounding takes one evaluation, not a line search F cannot judge; converged at the Newton point")
    func belowSumsRounding() throws {
        // 1.4e-6 off the minimiser: the decrement is 7e-13, below 10 times F's rounding
        // (1.03e-12), for a step of 6e-7 |x|, larger than a rounding step; F reads 2e-12 high.
        let start = [1 + 1e-6, -2 - 1e-6]
        var count = 0
        let result = try withUnsafeMutablePointer(to: &count) { c in
            try DampedNewton.minimize(start: start, maxIterations: 60, evaluatesRoundingSteps: false, Self.readingHigh(by: 2e-12, awayFrom: start, count: c))
        }
        #expect(result.converged)
        // The start, two gradients for the Hessian, the Newton point; the next step is
        // rounding-sized and not evaluated. (Without the rule a line search spends its trials on
        // a step F cannot judge, every one 2e-12 high: the count and the point fail.)
        #expect(count <= 4, "\(count) evaluations")
        #expect(abs(result.argument[0] - 1) <= 1e-10 && abs(result.argument[1] + 2) <= 1e-10, "\(result.argument)")
    }

    /// A secant run with a stall window, dear evaluations and `stallBelow`, from 2.7e-6 off the
    /// minimiser (decrement 2.9e-12, above 10 times F's rounding, 1.03e-12), where F reads 2e-11
    /// high (a rule at its error floor: the wide v panels' line searches of 6-15 trials at
    /// 1e-13). The result (NOT converged, a stall that gained nothing, at the start) and the
    /// evaluations it took.
    static func unjudgedRun(stallBelow: Double? = nil) throws -> (result: DampedNewton.Result, count: Int) {
        let start = [1 + 2.5e-6, -2 - 1e-6]
        var count = 0
        let result = try withUnsafeMutablePointer(to: &count) { c in
            try DampedNewton.minimize(start: start, maxIterations: 60, evaluatesRoundingSteps: false, secantUpdates: true, stallWindow: 6,
                                      stallBelow: stallBelow, Self.readingHigh(by: 2e-11, awayFrom: start, count: c))
        }
        #expect(!result.converged && result.windowGain == 0)
        #expect(result.argument == start)
        return (result, count)
    }

    @Test("dear evaluations, secant updates and a stall window: a line search stops halving where its trial's predicted decrease is below F's sums' rounding, NOT converged as a stall that gained nothing")
    func unjudgedLineSearch() throws {
        let count = try Self.unjudgedRun().count
        // The start, two gradients for the Hessian, and the trials at 1, 1/2 and 1/4 of the
        // step (predicted decreases 5.8e-12, 2.9e-12, 1.4e-12); 1/8 (7.2e-13) is not tried.
        // (Without the rule this test fails.)
        #expect(count <= 6, "\(count) evaluations")
    }

    @Test("stallBelow also ends a line search where its trial's predicted decrease falls below it (above F's sums' rounding): the same stall, fewer evaluations")
    func unjudgedLineSearchBelowStallLevel() throws {
        // The level 2e-12 lies between the trials at 1/2 (2.9e-12) and 1/4 (1.4e-12) of the step:
        // the start, two gradients for the Hessian, and the trials at 1 and 1/2 (6 without it).
        let count = try Self.unjudgedRun(stallBelow: 2e-12).count
        #expect(count == 5, "\(count) evaluations")
    }

    @Test("stopBelow returns a warm start before taking a step of that size")
    func warmStart() throws {
        var count = 0
        let result = try withUnsafeMutablePointer(to: &count) { c in
            try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, stopBelow: 1e-2, Self.function(noise: 0, count: c))
        }
        #expect(result.converged && result.step <= 1e-2 * 2.3)
        #expect(abs(result.argument[0] - 1) <= 0.05 && abs(result.argument[1] + 2) <= 0.05, "\(result.argument)")
    }

    @Test("boundStreak: heading for a lower bound (the minimiser beyond it) the run stops NOT converged after the streak, naming the bound; without it, it crawls to maxIterations")
    func boundStreak() throws {
        // (x + 1)^2 + (y - 1)^2 on x, y >= 0: the bound x = 0 is the minimiser's face, and each
        // step towards it is cut to half the distance.
        func f(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            ((p[0] + 1) * (p[0] + 1) + (p[1] - 1) * (p[1] - 1), [2 * (p[0] + 1), 2 * (p[1] - 1)])
        }
        let stopped = try DampedNewton.minimize(start: [1, 3], maxIterations: 60, lowerBounds: [0, 0], boundStreak: (0, 4)) { f($0) }
        #expect(!stopped.converged && stopped.headingForBound == 0 && stopped.iterations == 4, "\(stopped)")
        // (The cut scales the whole step: y moves only as far, from 3 towards 1.)
        #expect(stopped.argument[0] > 0 && stopped.argument[0] <= 1.0 / 8 && stopped.argument[1] > 1 && stopped.argument[1] < 3, "\(stopped.argument)")
        // The streak on the other coordinate only: this run never stops for it.
        let other = try DampedNewton.minimize(start: [1, 3], maxIterations: 60, lowerBounds: [0, 0], boundStreak: (1, 4)) { f($0) }
        #expect(other.headingForBound == nil && !other.converged && other.iterations == 60 && other.argument[0] < 1e-15, "\(other)")
    }

    @Test("boundStreak: a start within 1e-9 |x| of the bound, heading for it, stops at once naming the bound (no line search F cannot judge there)")
    func atBound() throws {
        func f(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            ((p[0] + 1) * (p[0] + 1) + (p[1] - 1) * (p[1] - 1), [2 * (p[0] + 1), 2 * (p[1] - 1)])
        }
        var count = 0
        let stopped = try DampedNewton.minimize(start: [1e-12, 3], maxIterations: 60, lowerBounds: [0, 0], boundStreak: (0, 4)) { p in
            count += 1
            return f(p)
        }
        #expect(!stopped.converged && stopped.headingForBound == 0 && stopped.iterations == 1, "\(stopped)")
        // The start and the differenced Hessian's two: no step evaluated.
        #expect(count == 3 && stopped.argument == [1e-12, 3], "\(count) evaluations")
        // At 1e-3 from the bound the streak decides, as before.
        let streak = try DampedNewton.minimize(start: [1e-3, 3], maxIterations: 60, lowerBounds: [0, 0], boundStreak: (0, 4)) { f($0) }
        #expect(streak.headingForBound == 0 && streak.iterations == 4, "\(streak)")
    }

    @Test("stallGain: on Rosenbrock's valley the gradient does not halve for many iterations while F falls; with the gain the run goes on to the minimiser, without it it stops NOT converged")
    func stallGain() throws {
        // 100 (y - x^2)^2 + (1 - x)^2 from (-1.2, 1): minimiser (1, 1), F = 0.
        let f: ([Double]) -> (value: Double, gradient: [Double]) = { p in
            let (x, y) = (p[0], p[1])
            return (100 * (y - x * x) * (y - x * x) + (1 - x) * (1 - x),
                    [-400 * x * (y - x * x) - 2 * (1 - x), 200 * (y - x * x)])
        }
        let impatient = try DampedNewton.minimize(start: [-1.2, 1], maxIterations: 200, stallWindow: 2, f)
        #expect(!impatient.converged && impatient.value > 1e-3, "\(impatient)")
        let patient = try DampedNewton.minimize(start: [-1.2, 1], maxIterations: 200, stallWindow: 2, stallGain: 1e-5, f)
        #expect(patient.converged && abs(patient.argument[0] - 1) <= 1e-8 && abs(patient.argument[1] - 1) <= 1e-8, "\(patient)")
    }

    @Test("cubicCut: the minimiser of the cubic through F and its slope at both ends of a rejected trial (exact for a cubic F), kept within [0.1, 0.5]; a halving where the data are not finite")
    func cubicCut() {
        // F(s) = -s + 2 s^2 + s^3 / 2 along the trial: F' = -1 + 4 s + 1.5 s^2, zero at (sqrt(22) - 4) / 3.
        let exact = (22.0.squareRoot() - 4) / 3
        let cut = DampedNewton.cubicCut(value: 0, slope: -1, trialValue: 1.5, trialSlope: 4.5)
        #expect(abs(cut - exact) <= 1e-14, "\(cut) against \(exact)")
        // A quadratic, F(s) = -s + 2 s^2: its minimiser 1/4.
        #expect(abs(DampedNewton.cubicCut(value: 0, slope: -1, trialValue: 1, trialSlope: 3) - 0.25) <= 1e-14)
        // F(s) = -s + 50 s^2: the minimiser 0.01 is cut at a tenth of the trial.
        #expect(DampedNewton.cubicCut(value: 0, slope: -1, trialValue: 49, trialSlope: 99) == 0.1)
        // F(s) = -s + 0.625 s^2: the minimiser 0.8 is cut at a half.
        #expect(DampedNewton.cubicCut(value: 0, slope: -1, trialValue: -0.375, trialSlope: 0.25) == 0.5)
        #expect(DampedNewton.cubicCut(value: 0, slope: -1, trialValue: .nan, trialSlope: .nan) == 0.5)
        #expect(DampedNewton.cubicCut(value: 0, slope: -1, trialValue: .infinity, trialSlope: 1) == 0.1 || DampedNewton.cubicCut(value: 0, slope: -1, trialValue: .infinity, trialSlope: 1) == 0.5)
    }

    @Test("interpolates: a secant step that overshoots 50-fold is cut by the cubic, in 3 trials to the minimiser of x^2 / 2, where halving takes 6 to a point the Armijo test accepts")
    func interpolatedLineSearch() throws {
        // From x = 1 with a Hessian of 0.02 (the true one 1): the step is -50. The cubic through
        // F and its slope at a trial is F itself (a quadratic), so its cuts are the minimiser's
        // place within the trial, kept at [0.1, 0.5]: 0.02 -> 0.1 (x = -4), then 0.2 (x = 0).
        // Halving tries -49, -24, -11.5, -5.25, -2.125 and -0.5625.
        var counts = [0, 0]
        var points: [Double] = []
        for (i, interpolating) in [true, false].enumerated() {
            let r = try DampedNewton.minimize(start: [1], maxIterations: 1, hessian: [0.02], evaluatesRoundingSteps: false, secantUpdates: true,
                                              stallWindow: 6, interpolates: interpolating) { x in
                counts[i] += 1
                return (0.5 * x[0] * x[0], [x[0]])
            }
            points.append(r.argument[0])
        }
        #expect(counts == [4, 7], "\(counts) evaluations (the start and the trials), cubic then halving")
        #expect(abs(points[0]) <= 1e-15 && points[1] == -0.5625, "\(points)")
    }

    @Test("Result.hessian: the last positive definite Hessian at the point, which starts a continuation (a finer rule's run from there) without differencing one")
    func carriedHessian() throws {
        var first = 0, second = 0, fresh = 0
        let converged = try withUnsafeMutablePointer(to: &first) { c in
            try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, Self.function(noise: 0, count: c))
        }
        let h = try #require(converged.hessian)
        // The Hessian at the minimiser (1, -2): [[1, 0.3], [0.3, 1]].
        #expect(converged.converged && h.count == 4)
        #expect(abs(h[0] - 1) <= 1e-3 && abs(h[1] - 0.3) <= 1e-3 && abs(h[2] - 0.3) <= 1e-3 && abs(h[3] - 1) <= 1e-3, "\(h)")
        // From beside the minimiser, with and without it.
        let start = [1.01, -2.01]
        let continued = try withUnsafeMutablePointer(to: &second) { c in
            try DampedNewton.minimize(start: start, maxIterations: 60, hessian: h, Self.function(noise: 0, count: c))
        }
        let restarted = try withUnsafeMutablePointer(to: &fresh) { c in
            try DampedNewton.minimize(start: start, maxIterations: 60, Self.function(noise: 0, count: c))
        }
        #expect(continued.converged && restarted.converged)
        #expect(abs(continued.argument[0] - 1) <= 1e-9 && abs(continued.argument[1] + 2) <= 1e-9, "\(continued.argument)")
        #expect(second < fresh, "\(second) evaluations against \(fresh)")
    }

    @Test("stallWindow: on a kink (|x1| + x2^2, the gradient never below 1 off x1 = 0) the run stops NOT converged after the window, not at maxIterations")
    func stall() throws {
        let f: ([Double]) -> (value: Double, gradient: [Double]) = { x in
            let s: Double = x[0] > 0 ? 1 : (x[0] < 0 ? -1 : 0)
            return (abs(x[0]) + x[1] * x[1] + 0.5 * x[0] * x[0], [s + x[0], 2 * x[1]])
        }
        let stalled = try DampedNewton.minimize(start: [0.7, 0.4], maxIterations: 60, stallWindow: 4, f)
        #expect(!stalled.converged)
        #expect(stalled.iterations <= 12, "\(stalled.iterations) iterations")
        // Without the window the same run goes on (and is not converged either).
        let full = try DampedNewton.minimize(start: [0.7, 0.4], maxIterations: 60, f)
        #expect(full.iterations > stalled.iterations, "\(full.iterations) against \(stalled.iterations)")
    }

    @Test("stallBelow: with secant updates the run stops NOT converged, as a stall that gained nothing (windowGain 0), once the decrement from its positive definite (secant) Hessian is below it, that Hessian carried; F there within a few times the decrement of the minimum; without it the run goes on to converge")
    func stallBelowDecrement() throws {
        let f: ([Double]) -> (value: Double, gradient: [Double]) = { x in
            let a = x[0] - 1, b = x[1] + 2
            return (cosh(a) + cosh(b) + 0.3 * a * b, [sinh(a) + 0.3 * b, sinh(b) + 0.3 * a])
        }
        let stopped = try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, secantUpdates: true, stallBelow: 1e-8, f)
        #expect(!stopped.converged && stopped.windowGain == 0)
        #expect(stopped.decrement <= 1e-8 && stopped.decrement > 0, "decrement \(stopped.decrement)")
        let h = try #require(stopped.hessian)
        let carried = try #require(DampedNewton.decrement(hessian: h, gradient: stopped.gradient))
        #expect(abs(carried - stopped.decrement) <= 1e-12 * stopped.decrement + 1e-300, "\(carried) against \(stopped.decrement)")
        let unaided = try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, secantUpdates: true, f)
        #expect(unaided.converged && unaided.iterations > stopped.iterations, "\(unaided.iterations) against \(stopped.iterations)")
        // F* = f(1, -2) = 2; the quadratic model's F - F* is the decrement, a secant model's
        // within a small factor of it.
        #expect(stopped.value - 2 <= 10 * stopped.decrement && stopped.value - 2 > 0, "F - F* \(stopped.value - 2), decrement \(stopped.decrement)")
    }

    @Test("decrementBelow: with a gradient error floor of 1e-7 far above F's rounding the run stops, converged, near the minimiser; without it, it does not converge")
    func gradientFloor() throws {
        // `function`'s f without noise, its gradient off by a deterministic 1e-7 that changes
        // with every bit of x (a rule's error, not a smooth function of x).
        let f: ([Double]) -> (value: Double, gradient: [Double]) = { x in
            let a = x[0] - 1, b = x[1] + 2
            var r = (value: cosh(a) + cosh(b) + 0.3 * a * b, gradient: [sinh(a) + 0.3 * b, sinh(b) + 0.3 * a])
            for i in 0..<2 {
                var h = x[i].bitPattern &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(i + 1)
                h ^= h >> 31
                r.gradient[i] += 1e-7 * (Double(h % 2001) / 1000 - 1)
            }
            return r
        }
        let stopped = try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, decrementBelow: 1e-11, f)
        #expect(stopped.converged)
        #expect(stopped.decrement <= 1e-11)
        #expect(abs(stopped.argument[0] - 1) <= 1e-5 && abs(stopped.argument[1] + 2) <= 1e-5, "\(stopped.argument)")
        let unaided = try DampedNewton.minimize(start: [2.5, 0.5], maxIterations: 60, f)
        #expect(!unaided.converged || unaided.iterations > stopped.iterations, "\(unaided.iterations) against \(stopped.iterations)")
    }
}


import Foundation
import GSL

/// The kink of a point class's loss (`LinearPairCE.pointClasses`: both margins constant, its
/// loss the inner maximum at one point): where two candidates of that maximum (ellipse peaks,
/// or polygon vertices) tie, R is the larger of two smooth functions, and a minimiser can sit on
/// the tie (`SymmetricOptimizer.familyKinkSolve`, `FullOptimizer.fastSolve`'s held runs).
///
/// The two candidates are followed by their angles (peaks and vertices move continuously with
/// W), from the last point on the kink; `gap` is the first's value minus the second's, exact to
/// rounding and cheap (one point, no integral), so the kink is found by root-finding on it and
/// its normal by differences.
struct PointKink {
    let engine: LinearPairCE
    let pointClass: Int
    /// The angles of the two tying candidates at the last point followed.
    private(set) var angles: (Double, Double)

    /// The kink of the first point class at W whose two best candidates are within `near` of
    /// each other (relative to 1 + |f|); nil when there is none.
    init?(_ engine: LinearPairCE, at w: Matrix, near: Double = 1e-2) {
        for y in engine.pointClasses(w) {
            guard let peaks = engine.pointPeaks(w, class: y), peaks.count >= 2,
                  peaks[0].f - peaks[1].f <= near * (1 + abs(peaks[0].f)) else { continue }
            self.engine = engine
            pointClass = y
            angles = (peaks[0].t, peaks[1].t)
            return
        }
        return nil
    }

    /// The two followed candidates at W (the nearest in angle to each), nil when they merge or y
    /// is no longer a point class there.
    private func candidates(_ w: Matrix) -> (a: (f: Double, t: Double), b: (f: Double, t: Double))? {
        guard let peaks = engine.pointPeaks(w, class: pointClass), peaks.count >= 2,
              let a = peaks.min(by: { ClassPairLS.gap($0.t, angles.0) < ClassPairLS.gap($1.t, angles.0) }),
              let b = peaks.min(by: { ClassPairLS.gap($0.t, angles.1) < ClassPairLS.gap($1.t, angles.1) }),
              ClassPairLS.gap(a.t, b.t) > 1e-6 else { return nil }
        return (a, b)
    }

    /// The first candidate's value minus the second's at W.
    func gap(_ w: Matrix) -> Double? { candidates(w).map { $0.a.f - $0.b.f } }

    /// Follows the candidates to W (a point on the kink), for the next points near it.
    mutating func follow(_ w: Matrix) {
        if let c = candidates(w) { angles = (c.a.t, c.b.t) }
    }

    /// A root of `g` near x0 (Brent, bracketed by steps from `step`, doubling up to `limit`, inside
    /// `domain`); nil when no sign change is found.
    static func root(near x0: Double, step: Double, limit: Double, domain: ClosedRange<Double> = -.infinity...(.infinity),
                     _ g: (Double) -> Double?) -> Double? {
        guard let g0 = g(x0) else { return nil }
        if g0 == 0 { return x0 }
        var step = step
        while step <= limit {
            for x in [x0 - step, x0 + step] where domain.contains(x) {
                guard let gx = g(x), (gx < 0) != (g0 < 0) else { continue }
                guard let root = try? RootFinder.brent(in: min(x0, x), max(x0, x), absoluteTolerance: 1e-15, relativeTolerance: 1e-15, { g($0) ?? .nan }),
                      root.converged else { return nil }
                return root.location
            }
            step *= 2
        }
        return nil
    }
}

import Foundation
import GSL

/// One row of an eps sweep: the AT optimum of one objective at one eps.
public struct SweepRow: Sendable, Equatable {
    public var eps: Double
    public var spec: ObjectiveSpec
    public var optimum: SymmetricOptimum
}

/// Grids of exact results, computed in parallel and returned in grid order.
public enum Sweeps {
    /// The symmetric-family optimum for every (eps, objective) pair, eps-major, on `workers`
    /// threads (default: one per core).
    public static func optima(
        model: DataModel, norm: Norm, eps: [Double], specs: [ObjectiveSpec], tolerance: Double = 1e-10,
        workers: Int? = nil, progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> [SweepRow] {
        for spec in specs { _ = try SymmetricOptimizer(model: model, threat: .none, objective: spec.objective, scale: spec.scale) }
        let items = eps.flatMap { e in specs.map { (e, $0) } }
        return try Parallel.map(items, workers: workers, progress: progress) { (e, spec) in
            try optimum(model: model, norm: norm, eps: e, spec: spec, tolerance: tolerance)
        }
    }

    /// One grid point of `optima`.
    public static func optimum(model: DataModel, norm: Norm, eps: Double, spec: ObjectiveSpec, tolerance: Double = 1e-10) throws -> SweepRow {
        var o = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: norm, eps: eps), objective: spec.objective, scale: spec.scale)
        o.tolerance = tolerance
        return SweepRow(eps: eps, spec: spec, optimum: try o.solve())
    }

    /// The optima along an eps grid in order, each continued from the previous one
    /// (`SymmetricOptimizer.solve(continuingFrom:)`): sequential, and the same rows as
    /// `optima` to the solvers' tolerances.
    public static func continuation(model: DataModel, norm: Norm, eps: [Double], spec: ObjectiveSpec, tolerance: Double = 1e-10) throws -> [SweepRow] {
        var rows: [SweepRow] = []
        for e in eps {
            var o = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: norm, eps: e), objective: spec.objective, scale: spec.scale)
            o.tolerance = tolerance
            rows.append(SweepRow(eps: e, spec: spec, optimum: try o.solve(continuingFrom: rows.last?.optimum)))
        }
        return rows
    }

    /// Robust accuracy of W(1, r) along r = w2/w1 for several eps (Theorem 2): the joint
    /// accuracy (all wrong classes at once, exact) and, for complement models, the
    /// one-competitor accuracy P(m_k > 0) (closed form).
    public struct RatioRow: Sendable, Equatable {
        public var eps: Double
        public var ratio: Double
        public var robustAccuracy: Estimate
        public var pairwiseAccuracy: Double?
    }

    /// Robust accuracy of W(1, r) at one (eps, r): the joint accuracy and, for complement
    /// models, the one-competitor accuracy.
    public static func ratioRow(model: DataModel, norm: Norm, eps e: Double, ratio r: Double) throws -> RatioRow {
        let threat = try ThreatModel(norm: norm, eps: e)
        let ra = try RobustAccuracy.symmetric(model: model, w1: 1, w2: r, threat: threat)
        var pair: Double? = nil
        if let c = ComplementStructure(model: model) {
            // m_k = A + I_k - eps N: mean muE + r muC - eps N, variance Var(A) + Var(I).
            let mean = c.muE + r * c.muC - e * c.dualNorm(w1: 1, w2: r, norm: norm)
            let variance = c.sigmaE * c.sigmaE + r * r * c.sigmaC * c.sigmaC + (1 + r * r) * c.tau * c.tau
            pair = Normal.cdf(mean / variance.squareRoot())
        }
        return RatioRow(eps: e, ratio: r, robustAccuracy: ra, pairwiseAccuracy: pair)
    }
}

import Foundation
import GSL

/// eps0 for one objective (THEORY.md section 4.4): the infimum of the eps above which the
/// AT optimum over the symmetric family has w2* = 0, for eps in (0, mu/2).
public struct ThresholdResult: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A threshold eps0 in (0, mu/2) was found.
        case threshold
        /// The derivative stays negative up to the end of the scan: w2* > 0 for all eps
        /// scanned, so no threshold exists below mu/2 (within the scan).
        case none
        /// The derivative is non-negative already at the smallest eps scanned: w2* = 0 for
        /// (essentially) every eps.
        case zero
    }

    public var kind: Kind
    /// eps0, or nil when `kind == .none`; 0 when `.zero`.
    public var eps0: Double?
    /// An interval in which the derivative changes sign (for `.threshold`).
    public var bracket: [Double]?
    /// (eps, w1 optimal at w2 = 0, d/dw2 at (w1, 0+)) on the scan grid.
    public var scan: [ScanPoint]
    public var converged: Bool

    public struct ScanPoint: Sendable, Equatable, Codable {
        public var eps: Double
        public var w1: Double
        public var derivative: Double
    }
}

/// Finds eps0 by root finding (GSL Brent) on the one-sided derivative
/// D(eps) = d/dw2 R(w1*(eps), 0+) of the minimised value, after a scan of D over the eps grid.
/// For ce and ls (jointly convex in W) D(eps) >= 0 is exactly the condition w2*(eps) = 0.
public struct ThresholdFinder: Sendable {
    public let model: DataModel
    public let norm: Norm
    public let objective: Objective
    public let scale: ScaleMode
    public var gridPoints = 24
    public var tolerance = 1e-10
    /// Upper end of the scan, as a fraction of mu/2.
    public var upperFraction = 0.998

    public init(model: DataModel, norm: Norm, objective: Objective, scale: ScaleMode? = nil) throws {
        guard let structure = ComplementStructure(model: model) else {
            throw InputError("thresholds need a complement-structured model (paper3, complement:K); '\(model.name)' is not")
        }
        guard structure.muE > 0 else {
            throw InputError("thresholds need mu > 0 on the exclusive features (mu = \(structure.muE))")
        }
        self.model = model
        self.norm = norm
        self.objective = objective
        self.scale = scale ?? objective.defaultScale
        _ = try SymmetricOptimizer(model: model, threat: .none, objective: objective, scale: self.scale)
    }

    /// mu / 2 of the exclusive features: where an l_inf adversary can erase them.
    public var halfMu: Double { ComplementStructure(model: model)!.muE / 2 }

    func optimizer(_ eps: Double) throws -> SymmetricOptimizer {
        var o = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: norm, eps: eps), objective: objective, scale: scale)
        o.tolerance = tolerance
        return o
    }

    /// (w1 optimal at w2 = 0, D) at eps.
    public func derivative(at eps: Double) throws -> (w1: Double, derivative: Double) {
        let o = try optimizer(eps)
        let w1: Double
        switch scale {
        case .fixed(let s):
            w1 = s
        case .free, .weightDecay, .centeredWeightDecay:
            var edge = try Minimizer1D.minimize(in: o.logScaleRange.lowerBound, o.logScaleRange.upperBound, gridPoints: 13, tolerance: 1e-9) { rho in
                try o.value(w1: exp(rho), w2: 0).value
            }
            if edge.argument >= o.logScaleRange.upperBound - 1e-6 {
                edge = try Minimizer1D.minimize(in: o.extendedLogScaleRange.lowerBound, o.extendedLogScaleRange.upperBound, gridPoints: 17, tolerance: 1e-9) { rho in
                    try o.value(w1: exp(rho), w2: 0).value
                }
            }
            w1 = exp(edge.argument)
        }
        return (w1, try o.derivativeAtZero(w1: w1))
    }

    public func find() throws -> ThresholdResult {
        let top = halfMu * upperFraction
        let grid = (1...gridPoints).map { top * Double($0) / Double(gridPoints) }
        var scan: [ThresholdResult.ScanPoint] = []
        for eps in grid {
            let (w1, d) = try derivative(at: eps)
            scan.append(.init(eps: eps, w1: w1, derivative: d))
        }
        guard let lastNegative = scan.lastIndex(where: { $0.derivative < 0 }) else {
            return ThresholdResult(kind: .zero, eps0: 0, bracket: [0, grid[0]], scan: scan, converged: true)
        }
        if lastNegative == scan.count - 1 {
            return ThresholdResult(kind: .none, eps0: nil, bracket: nil, scan: scan, converged: true)
        }
        let lo = scan[lastNegative].eps, hi = scan[lastNegative + 1].eps
        let root = try RootFinder.brent(in: lo, hi, absoluteTolerance: 1e-9, relativeTolerance: 1e-9) { eps in
            try derivative(at: eps).derivative
        }
        return ThresholdResult(kind: .threshold, eps0: root.location, bracket: [lo, hi], scan: scan, converged: root.converged)
    }
}

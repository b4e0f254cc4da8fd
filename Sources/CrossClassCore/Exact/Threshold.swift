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
    /// False when the number (or the kind) rests on a point that is not resolved: a derivative
    /// whose sign is within its error bound, a scale pinned at a search bound, a quadrature or a
    /// root finder that missed its tolerance (see `notes`).
    public var converged: Bool
    /// Bound on |eps0 - truth| for `.threshold`: the root finder's bracket plus the root's
    /// sensitivity to the derivative's integration error, e / |dD/deps| (nil otherwise).
    public var errorBound: Double? = nil
    /// "closed-form" (complement(K) and pairwise(K), margin losses, l_inf) or "root-of-derivative".
    public var method: Estimate.Method = .rootOfDerivative
    public var notes: [String] = []

    public init(
        kind: Kind, eps0: Double?, bracket: [Double]?, scan: [ScanPoint], converged: Bool,
        errorBound: Double? = nil, method: Estimate.Method = .rootOfDerivative, notes: [String] = []
    ) {
        self.kind = kind; self.eps0 = eps0; self.bracket = bracket; self.scan = scan; self.converged = converged
        self.errorBound = errorBound; self.method = method; self.notes = notes
    }

    public struct ScanPoint: Sendable, Equatable, Codable {
        public var eps: Double
        public var w1: Double
        public var derivative: Double
        /// Bound on the error of `derivative` (integration error through the difference quotient
        /// plus the extrapolation's truncation error; 0 for closed forms up to rounding).
        public var derivativeError: Double = 0
        /// True when w1 (the optimal scale on the axis) sits at a search bound: the derivative
        /// is then not taken at the optimum.
        public var atSearchBound: Bool = false
        public init(eps: Double, w1: Double, derivative: Double, derivativeError: Double = 0, atSearchBound: Bool = false) {
            self.eps = eps; self.w1 = w1; self.derivative = derivative
            self.derivativeError = derivativeError; self.atSearchBound = atSearchBound
        }

        /// The sign of `derivative` is certain: |derivative| > derivativeError, w1 resolved.
        public var signIsResolved: Bool { abs(derivative) > derivativeError && !atSearchBound }
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
    /// The model's class structure, recognised once.
    public let structure: ExchangeableClassStructure
    public var gridPoints = 24
    public var tolerance = 1e-10
    /// Upper end of the scan, as a fraction of mu/2.
    public var upperFraction = 0.998
    /// `.fast`: closed forms where they exist (complement(K), worst-margin / hinge / zero-one
    /// at a fixed scale, l_inf, tau = 0), else the root of the numerical derivative of the fast
    /// objective. `.reference`: always the root of the numerical derivative of the reference
    /// objective (what the closed forms are tested against).
    public var method: ExactMethod = .fast

    public init(model: DataModel, norm: Norm, objective: Objective, scale: ScaleMode? = nil) throws {
        guard let structure = ExchangeableClassStructure(model: model) else {
            throw InputError("thresholds need a model whose classes are exchangeable (paper3, complement:K, pairwise:K, or a file with that membership and one mu and sigma per feature kind); '\(model.name)' is not")
        }
        guard structure.muE > 0 else {
            throw InputError("thresholds need mu > 0 on the exclusive features (mu = \(structure.muE))")
        }
        self.model = model
        self.structure = structure
        self.norm = norm
        self.objective = objective
        self.scale = scale ?? objective.defaultScale
        _ = try SymmetricOptimizer(model: model, threat: .none, objective: objective, scale: self.scale)
    }

    /// mu / 2 of the exclusive features: where an l_inf adversary can erase them.
    public var halfMu: Double { structure.muE / 2 }

    func optimizer(_ eps: Double) throws -> SymmetricOptimizer {
        var o = try SymmetricOptimizer(model: model, threat: ThreatModel(norm: norm, eps: eps), objective: objective, scale: scale)
        o.tolerance = tolerance
        o.method = method
        return o
    }

    /// (w1 optimal at w2 = 0, D) at eps.
    public func derivative(at eps: Double) throws -> (w1: Double, derivative: Double) {
        let p = try scanPoint(at: eps)
        return (p.w1, p.derivative)
    }

    /// D at eps with its error bound, by the numerical path (w1 optimal on the axis, Richardson
    /// derivative of the quadrature values).
    public func scanPoint(at eps: Double) throws -> ThresholdResult.ScanPoint {
        let o = try optimizer(eps)
        let w1: Double
        var pinned = false
        switch scale {
        case .fixed(let s):
            w1 = s
        case .free, .weightDecay, .centeredWeightDecay:
            let axis = try o.optimalScaleOnAxis()
            w1 = exp(axis.logScale)
            pinned = axis.atSearchBound
        }
        let d = try o.derivativeAtZeroEstimate(w1: w1)
        // A derivative from values that missed their tolerance has no reliable error bound.
        return .init(eps: eps, w1: w1, derivative: d.value, derivativeError: d.converged ? d.errorBound : .infinity, atSearchBound: pinned)
    }

    /// The closed form of the derivative and of eps0 for margin losses on complement(K) and
    /// pairwise(K) with the symmetric family (l_inf, tau = 0, fixed scale s). With w1, w2 >= 0
    /// the robust margins of class y are m_k = w1 (a - 2 eps) + w2 (S_k - 2 n eps), where a is
    /// y's exclusive feature and S_k the sum of the n cross features y has and k lacks
    /// (complement: n = 1, S_k = b_k; pairwise: n = K - 2, S_k = T - b_yk with T the sum of y's
    /// K - 1 pair features). So min_k m_k = w1 (a - 2 eps) + w2 (min_k S_k - 2 n eps) and, at (s, 0+),
    ///   worst-margin: dR/dw2 = -c(eps),
    ///   hinge kappa:  dR/dw2 = -P(s (a - 2 eps) < kappa) c(eps),
    ///   zero-one:     dR/dw2 = -f_{s (a - 2 eps)}(0) c(eps),
    /// with c(eps) = E[min_k S_k] - 2 n eps = n muC - sigmaC E[max of K-1 N(0,1)] - 2 n eps. Every
    /// factor but c is positive, so eps0 = (n muC - sigmaC E[max of K-1 N(0,1)]) / (2 n).
    public struct ClosedForm: Sendable {
        public let expectedMaximum: Quadrature
        let structure: ExchangeableClassStructure
        let objective: Objective
        let s: Double

        /// n: cross features in each margin's w2 term.
        var n: Double { Double(structure.crossPerMargin) }

        /// eps0 (may lie outside (0, mu/2): then there is no threshold inside).
        public var eps0: Double { (n * structure.muC - structure.sigmaC * expectedMaximum.value) / (2 * n) }
        public var eps0Error: Double { structure.sigmaC * expectedMaximum.absoluteError / (2 * n) }

        public func derivative(at eps: Double) -> ThresholdResult.ScanPoint {
            let c = n * structure.muC - structure.sigmaC * expectedMaximum.value - 2 * n * eps
            let cError = structure.sigmaC * expectedMaximum.absoluteError
            let factor: Double
            switch objective {
            case .worstMargin: factor = 1
            case .hinge(let kappa): factor = Normal.cdf((kappa / s - (structure.muE - 2 * eps)) / structure.sigmaE)
            case .zeroOne: factor = Normal.pdf((structure.muE - 2 * eps) / structure.sigmaE) / (s * structure.sigmaE)
            default: preconditionFailure("closed forms exist for margin losses only")
            }
            let value = -factor * c
            return .init(eps: eps, w1: s, derivative: value, derivativeError: factor * cError + 1e-15 * abs(value), atSearchBound: false)
        }
    }

    /// The closed form, when this finder's setting has one (and `method` allows it).
    public func closedForm() throws -> ClosedForm? {
        guard method == .fast, objective.isMarginBased, norm == .linf,
              structure.tau == 0, structure.sigmaE > 0, structure.sigmaC > 0,
              case .fixed(let s) = scale
        else { return nil }
        return ClosedForm(expectedMaximum: try OrderStatistics.expectedMaximum(of: structure.classes - 1), structure: structure, objective: objective, s: s)
    }

    public func find() throws -> ThresholdResult {
        let top = halfMu * upperFraction
        let grid = (1...gridPoints).map { top * Double($0) / Double(gridPoints) }
        if let form = try closedForm() {
            let scan = grid.map { form.derivative(at: $0) }
            let e0 = form.eps0, error = form.eps0Error
            let converged = form.expectedMaximum.converged
            if e0 <= 0 {
                return ThresholdResult(kind: .zero, eps0: 0, bracket: [0, grid[0]], scan: scan, converged: converged && e0 + error < 0,
                                       errorBound: nil, method: .closedForm, notes: ["closed form eps0 = \(e0) <= 0"])
            }
            if e0 >= top {
                return ThresholdResult(kind: .none, eps0: nil, bracket: nil, scan: scan, converged: converged && e0 - error > top,
                                       errorBound: nil, method: .closedForm, notes: ["closed form eps0 = \(e0) >= \(top), the end of the scan"])
            }
            let hi = grid.first { $0 > e0 } ?? top
            let lo = grid.last { $0 <= e0 } ?? 0
            return ThresholdResult(kind: .threshold, eps0: e0, bracket: [lo, hi], scan: scan, converged: converged,
                                   errorBound: error, method: .closedForm, notes: [])
        }
        var scan: [ThresholdResult.ScanPoint] = []
        for eps in grid { scan.append(try scanPoint(at: eps)) }
        var notes: [String] = []
        guard let lastNegative = scan.lastIndex(where: { $0.derivative < 0 }) else {
            let first = scan[0]
            if !first.signIsResolved { notes.append("the derivative at eps = \(first.eps) is \(first.derivative) +- \(first.derivativeError)\(first.atSearchBound ? " at a scale pinned on a search bound" : ""): its sign is not resolved") }
            return ThresholdResult(kind: .zero, eps0: 0, bracket: [0, grid[0]], scan: scan, converged: first.signIsResolved, notes: notes)
        }
        if lastNegative == scan.count - 1 {
            let last = scan[lastNegative]
            if !last.signIsResolved { notes.append("the derivative at eps = \(last.eps) is \(last.derivative) +- \(last.derivativeError)\(last.atSearchBound ? " at a scale pinned on a search bound" : ""): its sign is not resolved") }
            return ThresholdResult(kind: .none, eps0: nil, bracket: nil, scan: scan, converged: last.signIsResolved, notes: notes)
        }
        let left = scan[lastNegative], right = scan[lastNegative + 1]
        let lo = left.eps, hi = right.eps
        var worstError = max(left.derivativeError, right.derivativeError)
        var pinned = left.atSearchBound || right.atSearchBound
        let rootTolerance = 1e-9
        let root = try RootFinder.brent(in: lo, hi, absoluteTolerance: rootTolerance, relativeTolerance: 1e-9) { eps in
            let p = try scanPoint(at: eps)
            worstError = max(worstError, p.derivativeError)
            pinned = pinned || p.atSearchBound
            return p.derivative
        }
        // Sensitivity of the root to an error e in D: e / |dD/deps|, with the slope from the
        // bracket's secant (the scan cell is small; D is monotone across it).
        let slope = abs(right.derivative - left.derivative) / (hi - lo)
        let sensitivity = slope > 0 ? worstError / slope : .infinity
        let error = 2 * rootTolerance * max(1, abs(root.location)) + sensitivity
        var converged = root.converged && !pinned && error.isFinite && error < (hi - lo)
        if !left.signIsResolved || !right.signIsResolved { converged = false; notes.append("the derivative's sign change across [\(lo), \(hi)] is within its error bound") }
        if pinned { notes.append("a scale on the axis w2 = 0 is pinned at a search bound near the root") }
        if !root.converged { notes.append("the root finder stopped after \(root.iterations) iterations") }
        return ThresholdResult(kind: .threshold, eps0: root.location, bracket: [lo, hi], scan: scan, converged: converged,
                               errorBound: error, method: .rootOfDerivative, notes: notes)
    }
}

/// Models whose classes are exchangeable under the symmetric family: one exclusive feature per
/// class, and cross-class features that are either complement features (each carried by every
/// class but one: complement(K), paper3) or pair features (one per pair of classes:
/// pairwise(K)), in any column order, with one (mu, sigma) for the exclusive and one for the
/// cross features. Thresholds are defined on these models: every class's optimum has the same
/// (w1, w2), and eps in (0, muE / 2) is the range where the exclusive signal survives an l_inf
/// adversary.
public struct ExchangeableClassStructure: Sendable, Equatable {
    public enum Kind: String, Sendable { case complement, pairwise }
    public let kind: Kind
    public let classes: Int
    public let muE: Double, sigmaE: Double, muC: Double, sigmaC: Double, tau: Double
    /// Cross features that class y carries and a rival k lacks (the same for every pair):
    /// 1 for complement(K), K - 2 for pairwise(K) (1 at K = 3, where the two coincide).
    public let crossPerMargin: Int

    public init?(model: DataModel) {
        if let c = ComplementStructure(model: model) {
            kind = .complement; classes = c.classes
            muE = c.muE; sigmaE = c.sigmaE; muC = c.muC; sigmaC = c.sigmaC; tau = c.tau
            crossPerMargin = 1
            return
        }
        let k = model.classCount
        guard k >= 4, model.featureCount == k + k * (k - 1) / 2 else { return nil }
        var exclusive = [Int](repeating: -1, count: k)
        var pairs = Set<[Int]>(), cross: [Int] = []
        for f in 0..<model.featureCount {
            let carriers = (0..<k).filter { model.membership[$0][f] }
            switch carriers.count {
            case 1:
                guard exclusive[carriers[0]] < 0 else { return nil }
                exclusive[carriers[0]] = f
            case 2:
                guard pairs.insert(carriers).inserted else { return nil }
                cross.append(f)
            default:
                return nil
            }
        }
        guard !exclusive.contains(-1), pairs.count == k * (k - 1) / 2 else { return nil }
        let e0 = exclusive[0], c0 = cross[0]
        guard exclusive.allSatisfy({ model.mu[$0] == model.mu[e0] && model.sigma[$0] == model.sigma[e0] }),
              cross.allSatisfy({ model.mu[$0] == model.mu[c0] && model.sigma[$0] == model.sigma[c0] })
        else { return nil }
        kind = .pairwise; classes = k
        muE = model.mu[e0]; sigmaE = model.sigma[e0]; muC = model.mu[c0]; sigmaC = model.sigma[c0]; tau = model.tau
        crossPerMargin = k - 2
    }
}

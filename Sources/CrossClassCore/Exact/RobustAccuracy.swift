import Foundation
import GSL

/// Exact robust accuracy of linear classifiers (THEORY.md section 4.1).
///
/// For class y the robust margins m_k = (w_y - w_k).x + b_y - b_k - eps ||w_y - w_k||_*
/// (k != y) are jointly Gaussian, so P(all m_k > 0 | y) is an orthant probability.
public enum RobustAccuracy {
    /// The joint distribution of the K-1 robust margins of class y.
    public static func margins(
        model: DataModel, classifier: LinearClassifier, threat: ThreatModel, trueClass y: Int
    ) -> GaussianVector {
        let k = model.classCount, d = model.dimension
        let mean = model.mean(ofClass: y), variance = model.variance(ofClass: y)
        let w = classifier.weights
        let others = (0..<k).filter { $0 != y }
        var diffs: [[Double]] = []
        var m: [Double] = []
        for o in others {
            var v = [Double](repeating: 0, count: d)
            var dot = 0.0
            for f in 0..<d {
                v[f] = w[y, f] - w[o, f]
                dot += v[f] * mean[f]
            }
            let bias = classifier.bias.map { $0[y] - $0[o] } ?? 0
            m.append(dot + bias - threat.eps * threat.norm.dual(v))
            diffs.append(v)
        }
        let n = others.count
        var cov = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                var c = 0.0
                for f in 0..<d { c += diffs[i][f] * diffs[j][f] * variance[f] }
                cov[i * n + j] = c
                cov[j * n + i] = c
            }
        }
        return GaussianVector(mean: m, covariance: cov)
    }

    /// RA for any linear classifier (bivariate quadrature for K = 3, one-factor quadrature or
    /// Genz QMC beyond).
    public static func general(
        model: DataModel, classifier: LinearClassifier, threat: ThreatModel,
        orthant: OrthantProbability = OrthantProbability()
    ) throws -> Estimate {
        average(try perClass(model: model, classifier: classifier, threat: threat, orthant: orthant))
    }

    /// P(correct under attack | y) for each class y.
    public static func perClass(
        model: DataModel, classifier: LinearClassifier, threat: ThreatModel,
        orthant: OrthantProbability = OrthantProbability()
    ) throws -> [Estimate] {
        precondition(classifier.weights.rows == model.classCount && classifier.weights.columns == model.dimension)
        return try (0..<model.classCount).map { y in
            try orthant.positive(margins(model: model, classifier: classifier, threat: threat, trueClass: y))
        }
    }

    /// The uniform-prior average of per-class probabilities: its error is at most the largest
    /// class's, and it reports the least exact method used for any class.
    public static func average(_ perClass: [Estimate]) -> Estimate {
        Estimate(
            value: perClass.reduce(0) { $0 + $1.value } / Double(perClass.count),
            errorBound: perClass.map(\.errorBound).max() ?? 0,
            converged: perClass.allSatisfy(\.converged),
            method: perClass.map(\.method).max() ?? .point)
    }

    /// Whether `symmetric` integrates one class for all (complement structure: every class
    /// has the same robust accuracy).
    package static func symmetricIsPerClassEqual(model: DataModel) -> Bool { ComplementStructure(model: model) != nil }

    /// RA of the symmetric family W(w1, w2). On complement(K) models (paper3 included) with
    /// homogeneous feature parameters this is the closed-form one-dimensional integral
    ///   RA = integral phi(t) Phi((mA + sA t + mI - eps N) / sI)^(K-1) dt,
    /// where A = w1 x_Ey - w2 x_Cy is the factor shared by all K-1 margins, I_k = w2 x_Ck - w1 x_Ek
    /// the independent parts, and N the dual norm of w_y - w_k. Other models use `general`.
    /// `tolerance` is the absolute tolerance of that integral (complement models only).
    public static func symmetric(
        model: DataModel, w1: Double, w2: Double, threat: ThreatModel, tolerance: Double = 1e-13
    ) throws -> Estimate {
        guard let structure = ComplementStructure(model: model) else {
            return try general(
                model: model, classifier: .symmetric(model: model, w1: w1, w2: w2), threat: threat)
        }
        return try structure.correctProbability(w1: w1, w2: w2, threat: threat, tolerance: tolerance)
    }
}

/// A complement(K)-shaped model: class k has exclusive feature E_k and carries every cross
/// feature C_j except C_k; all exclusive features share (muE, sigmaE), all cross features share
/// (muC, sigmaC). paper3 is the K = 3 case.
public struct ComplementStructure: Sendable, Equatable {
    public let classes: Int
    public let exclusive: [Int]
    public let cross: [Int]
    public let muE: Double, sigmaE: Double, muC: Double, sigmaC: Double, tau: Double

    public init?(model: DataModel) {
        let k = model.classCount
        guard k >= 3, model.featureCount == 2 * k else { return nil }
        var exclusive = [Int](repeating: -1, count: k)
        var cross = [Int](repeating: -1, count: k)
        for f in 0..<model.featureCount {
            let carriers = (0..<k).filter { model.membership[$0][f] }
            if carriers.count == 1 {
                guard exclusive[carriers[0]] < 0 else { return nil }
                exclusive[carriers[0]] = f
            } else if carriers.count == k - 1 {
                let missing = (0..<k).first { !model.membership[$0][f] }!
                guard cross[missing] < 0 else { return nil }
                cross[missing] = f
            } else {
                return nil
            }
        }
        guard !exclusive.contains(-1), !cross.contains(-1) else { return nil }
        let muE = model.mu[exclusive[0]], sE = model.sigma[exclusive[0]]
        let muC = model.mu[cross[0]], sC = model.sigma[cross[0]]
        guard exclusive.allSatisfy({ model.mu[$0] == muE && model.sigma[$0] == sE }),
              cross.allSatisfy({ model.mu[$0] == muC && model.sigma[$0] == sC })
        else { return nil }
        self.classes = k
        self.exclusive = exclusive
        self.cross = cross
        self.muE = muE; self.sigmaE = sE; self.muC = muC; self.sigmaC = sC
        self.tau = model.tau
    }

    /// Dual norm of w_y - w_k: +-w1 on two exclusive and +-w2 on two cross features.
    public func dualNorm(w1: Double, w2: Double, norm: Norm) -> Double {
        switch norm {
        case .linf: return 2 * abs(w1) + 2 * abs(w2)
        case .l2: return (2 * (w1 * w1 + w2 * w2)).squareRoot()
        }
    }

    /// x^n for an integer n >= 0 by repeated squaring (the integrand's hot path: libm's pow
    /// with a floating exponent was 40% of a robust-accuracy evaluation).
    @inline(__always)
    static func power(_ x: Double, _ n: Int) -> Double {
        var result = 1.0, base = x, e = n
        while e > 0 {
            if e & 1 == 1 { result *= base }
            base *= base
            e >>= 1
        }
        return result
    }

    /// P(correct under attack | y), the same for every y by symmetry; `tolerance` is the
    /// absolute tolerance asked of the quadrature. With K = 3 (two margins, correlation
    /// sA^2 / (sA^2 + sI^2)) it is a bivariate normal orthant, taken by Genz's fixed rules when
    /// their error bound meets the tolerance.
    public func correctProbability(
        w1: Double, w2: Double, threat: ThreatModel, tolerance: Double = 1e-13
    ) throws -> Estimate {
        let mA = w1 * muE, sA = (w1 * w1 * sigmaE * sigmaE + w2 * w2 * tau * tau).squareRoot()
        let mI = w2 * muC, sI = (w2 * w2 * sigmaC * sigmaC + w1 * w1 * tau * tau).squareRoot()
        let shift = mA + mI - threat.eps * dualNorm(w1: w1, w2: w2, norm: threat.norm)
        let others = classes - 1
        if sI == 0 {
            // All margins equal A + shift - mA.
            let p = sA == 0 ? (shift > 0 ? 1.0 : 0.0) : Normal.cdf(shift / sA)
            return Estimate(value: p, errorBound: 1e-16, converged: true, method: .closedForm)
        }
        if sA == 0 {
            let p = Self.power(Normal.cdf(shift / sI), others)
            return Estimate(value: p, errorBound: 1e-15, converged: true, method: .closedForm)
        }
        if others == 2, tolerance >= BivariateNormal.errorBound {
            let v = sA * sA + sI * sI
            let h = -shift / v.squareRoot()
            // 1 - rho = sI^2 / v exactly: a tiny sI must still lower the probability.
            return Estimate(value: BivariateNormal.upper(h: h, k: h, rho: sA * sA / v, oneMinusAbsRho: sI * sI / v), errorBound: BivariateNormal.errorBound,
                            converged: true, method: .bivariateGenz)
        }
        let alpha = shift / sI, beta = sA / sI
        let cut = OrthantProbability.cut
        let q = try Integrator().integrate(
            over: -cut, cut, breakPoints: OrthantProbability.transitionPoints(center: -alpha / beta, width: 1 / beta),
            tolerance: Tolerance(absolute: tolerance)
        ) { t in
            Normal.pdf(t) * Self.power(Normal.cdf(alpha + beta * t), others)
        }
        return Estimate(
            value: min(1, max(0, q.value)), errorBound: q.absoluteError + OrthantProbability.tailMass,
            converged: q.converged, method: .oneFactor)
    }
}

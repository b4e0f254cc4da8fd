import Foundation
import GSL

/// The attribution metric of a linear classifier at population level, exactly
/// (THEORY.md section 6; derivation in Tests/Fixtures/ATTRIBUTION.md).
///
/// A_i = E[x' | y = i] * W[i] with x' = x (natural samples) or x' = x + delta*(x), the exact
/// worst-case l_inf perturbation of `attackObjective` (ce by default, as the paper's PGD
/// samples). E[x | y] is the model's class mean, so only E[delta*(x) | y] needs work:
///
/// - delta* moves each coordinate to a face of the box: delta*_f = eps s_f with s_f in {-1, 0, +1}
///   fixed by the maximising vertex of the zonotope {D delta} (D: rows w_y - w_k). s_f = 0 where
///   column f of D is zero (the loss does not depend on x_f; PGD's sign step is 0 there too).
/// - **one vertex for every x** when every column of D has one sign (no two classes k, k'
///   with w_y - w_k and w_y - w_k' of opposite signs at f) and the loss is non-increasing in
///   every margin (ce): the componentwise-lowest vertex lowers all margins at once, so it
///   maximises the loss at every x, and s_f = -sign(w_y[f] - w_k[f]). Always the case for the
///   symmetric family on complement(K) and pairwise(K) models (any w1, w2). Closed form.
/// - ce, K = 3, any W: the adversary's best shift depends on x only through r = d1 - d2, the
///   difference of the two clean margins (ClassPairCE: ce(d + Delta) = log(1 + e^{-d2}
///   (e^{-r - Delta1} + e^{-Delta2}))), so the maximising vertex is constant on r-intervals
///   ("strips") whose ends are closed-form tie points (as in ClassPairCE, here computed from
///   the differing columns so that near-zero columns keep their ties; `stripSigns`). Given y,
///   r ~ N(mr, sr^2), hence E[s_f | y] = sum over strips of s_f(strip) (Phi(b) - Phi(a)): a
///   closed form whose error is rounding (bounded from the tie points' rounding; r = mr
///   exactly when sr = 0). Entries of D below 1e-15 of the largest count as 0 (s_f = 0 on a
///   column of them), as in the quadrature below.
/// - otherwise (ls / trades, whose loss is not monotone in the margins, or the reference path
///   `usesVertexStrips = false`) the maximising vertex depends on the clean margins d (a
///   Gaussian vector of dimension K - 1): E[s_f | y] = sum_v P(vertex v maximises | y) s_f(v),
///   each probability a deterministic GSL quadrature over the region where v maximises (its
///   boundaries located by bisection), for K <= 3. K >= 4 without a common vertex is refused
///   (InputError), and so is l2 for adversarial samples (its maximiser is not a box vertex).
///   This path compares loss values, so it cannot tell vertices apart where every vertex's ce
///   is below InnerMaximum's tie guard 1e-13 (1 + |d|) (clean margins beyond ~30): it keeps the
///   first vertex there. The strips compare in log space and have no such limit (tested against
///   a 40-digit reference at W scaled by 10).
public struct ExactAttribution: Sendable {
    public let model: DataModel
    public let threat: ThreatModel
    /// The loss the adversary maximises (ce, ls or trades).
    public let attackObjective: Objective
    /// Absolute quadrature tolerance of each E[s_f | y] (the means' error is eps times it).
    public var tolerance: Double = 1e-9
    /// ce, K = 3: the strips' closed form (true) or the vertex-region quadrature, kept as the
    /// reference path for cross-checks (false).
    public var usesVertexStrips = true

    public init(model: DataModel, threat: ThreatModel, attackObjective: Objective = .ce) throws {
        switch attackObjective {
        case .ce, .ls, .trades: break
        default:
            throw InputError("attack objective '\(attackObjective)' is not allowed for the exact attribution: use ce, ls or trades (losses convex in the logits)")
        }
        self.model = model
        self.threat = threat
        self.attackObjective = attackObjective
    }

    /// E[x' | y] for every class, with a bound on the error of each entry.
    public struct ClassMeans: Sendable, Equatable, Codable {
        /// K rows of d entries.
        public var means: [[Double]]
        /// Bound on |entry - truth| over all entries (0 for closed forms).
        public var errorBound: Double
        public var converged: Bool
        /// "class mean" (natural), "common vertex" or "vertex strips" (closed forms) or "vertex
        /// regions (quadrature)"; the least exact over the classes.
        public var method: Estimate.Method
    }

    public struct Result: Sendable, Equatable, Codable {
        public var attribution: Attribution
        public var samples: AttributionSamples
        public var classMeans: ClassMeans
    }

    public func evaluate(_ classifier: LinearClassifier, samples: AttributionSamples, gauge: AttributionGauge) throws -> Result {
        let means = try classMeans(classifier, samples: samples)
        return Result(
            attribution: Attribution(classMeans: means.means, head: classifier.weights, gauge: gauge),
            samples: samples, classMeans: means)
    }

    public func classMeans(_ classifier: LinearClassifier, samples: AttributionSamples) throws -> ClassMeans {
        try classifier.validate(for: model)
        let k = model.classCount
        let natural = (0..<k).map { model.mean(ofClass: $0) }
        if samples == .natural || threat.eps == 0 {
            return ClassMeans(means: natural, errorBound: 0, converged: true, method: .classMean)
        }
        guard threat.norm == .linf else {
            throw InputError("exact adversarial attribution needs --norm linf (the l2 worst-case perturbation is not a box vertex); natural samples work with either norm")
        }
        var means = natural
        var error = 0.0
        var converged = true
        var method = Estimate.Method.commonVertex
        for y in 0..<k {
            let shift = try expectedSigns(classifier, trueClass: y)
            for f in 0..<model.dimension { means[y][f] += threat.eps * shift.signs[f] }
            error = max(error, threat.eps * shift.errorBound)
            converged = converged && shift.converged
            method = max(method, shift.method)
        }
        return ClassMeans(means: means, errorBound: error, converged: converged, method: method)
    }

    /// E[s(x) | y] with delta*(x) = eps s(x).
    func expectedSigns(_ classifier: LinearClassifier, trueClass y: Int) throws
        -> (signs: [Double], errorBound: Double, converged: Bool, method: Estimate.Method)
    {
        let d = model.dimension
        let others = (0..<model.classCount).filter { $0 != y }
        let differences = others.map { o in (0..<d).map { classifier.weights[y, $0] - classifier.weights[o, $0] } }
        if attackObjective.isMonotone, let common = Self.commonVertexSigns(differences) {
            return (common, 0, true, .commonVertex)
        }
        let m = differences.count
        guard m <= 2 else {
            throw InputError("exact adversarial attribution for \(model.classCount) classes needs a perturbation that is worst-case for every input (every feature's w_y - w_k of one sign across k, and a loss monotone in the margins, e.g. ce); this classifier/objective has none, and the vertex-region quadrature is implemented for K <= 3")
        }
        let set = try PerturbationSet(differences: differences, threat: threat)
        let patterns = try Self.vertexSignPatterns(set: set, differences: differences, eps: threat.eps)
        if attackObjective.isMonotone, let low = set.lowestVertex {
            // A lowest vertex within the set's own rounding tolerance (a column whose two signs
            // differ only at round-off): InnerMaximum uses it for every x, and so does this.
            guard let v = (0..<set.vertexCount).first(where: { v in (0..<m).allSatisfy { abs(set.vertices[v * m + $0] - low[$0]) <= 1e-12 * (abs(low[$0]) + 1) } }) else {
                throw NumericalError("the lowest vertex \(low) is not among the perturbation set's vertices")
            }
            return (patterns[v], 0, true, .commonVertex)
        }
        let clean = RobustAccuracy.margins(model: model, classifier: classifier, threat: .none, trueClass: y)
        if usesVertexStrips, attackObjective == .ce, m == 2 {
            let strips = try Self.stripSigns(
                differences: differences, mean: model.mean(ofClass: y), variance: model.variance(ofClass: y),
                meanDifference: clean.mean[0] - clean.mean[1], eps: threat.eps)
            return (strips.signs, strips.errorBound, strips.errorBound <= tolerance, .vertexStrips)
        }
        let engine = GaussianExpectation(tolerance: tolerance)
        let inner = InnerMaximum(set: set, objective: attackObjective, classes: model.classCount)
        // InnerMaximum labels each point with the index of its maximising vertex in
        // set.vertices (there is no common vertex here, so it scans them all); s_f is constant
        // on each vertex's region, and one quadrature per distinct column of sign patterns
        // (features with parallel generators share theirs, up to sign) gives E[s_f | y].
        var signs = [Double](repeating: 0, count: d)
        var errorBound = 0.0
        var converged = true
        var done: [[Double]: Double] = [:]
        for f in 0..<d {
            let column = patterns.map { $0[f] }
            if column.allSatisfy({ $0 == 0 }) { continue }
            if let value = done[column] { signs[f] = value; continue }
            if let value = done[column.map { -$0 }] { signs[f] = -value; continue }
            let e = try inner.withLoss { loss, _ in
                try engine.expectation(mean: clean.mean, covariance: clean.covariance) { point, piece in
                    _ = loss(point, &piece)
                    return column[piece]
                }
            }
            guard abs(e.value) <= 1 + e.errorBound + 1e-12 else {
                throw NumericalError("E[sign of delta*_\(f) | y = \(y + 1)] = \(e.value) is outside [-1, 1] (error bound \(e.errorBound))")
            }
            signs[f] = e.value
            done[column] = e.value
            errorBound = max(errorBound, e.errorBound)
            converged = converged && e.converged
        }
        return (signs, errorBound, converged, .vertexRegions)
    }

    /// E[s_f | y] for ce, K = 3, l_inf, in closed form: the maximising vertex is constant on
    /// strips of r = d1 - d2, and r ~ N(mr, sr^2) given y.
    ///
    /// psi_V(r) = log(e^{-r} e^{-V1} + e^{-V2}) is linear in (e^{-V1}, e^{-V2}) with positive
    /// weights, so as r grows the maximiser walks the lower-left chain of the zonotope from
    /// its lowest-V1 end to its lowest-V2 end, each vertex overtaken by the later one whose tie
    /// with it comes first. A tie of vertices A, B is
    ///   t = log|e^{-A1} - e^{-B1}| - log|e^{-A2} - e^{-B2}|,  with B_c - A_c = eps sum over the
    /// columns where their signs differ (not a difference of the two long sums: W with columns
    /// near 0, e.g. an optimum's noise columns at 1e-8, has vertices that differ by ~1e-8 whose
    /// ties would otherwise be lost to rounding).
    /// - Parameters:
    ///   - differences: the two rows w_y - w_k (k != y, in class order).
    ///   - mean, variance: the law of x | y per coordinate.
    ///   - meanDifference: mr, the mean of d1 - d2 (bias included).
    /// - Returns: the signs and a bound on their rounding error: each strip end moves by at most
    ///   the rounding of its two vertices' V and of the tie formula, which moves P(strip) by the
    ///   normal density there times the shift (twice where a runner-up's tie is within that
    ///   distance); plus a few ulps per normal CDF.
    static func stripSigns(
        differences unsnapped: [[Double]], mean: [Double], variance: [Double], meanDifference mr: Double, eps: Double
    ) throws -> (signs: [Double], errorBound: Double) {
        precondition(unsnapped.count == 2)
        let d = mean.count
        let u = Double.ulpOfOne
        let largest = unsnapped.flatMap { $0 }.maxMagnitude
        let rows = unsnapped.map { $0.map { abs($0) <= zeroColumn * largest ? 0 : $0 } }
        // Chain vertices: s_f = -sign(n . D_f) for normals n = (cos phi, sin phi) between
        // consecutive critical angles in [0, pi/2] (n orthogonal to a column of mixed signs).
        var angles: [Double] = [0, .pi / 2]
        for f in 0..<d where rows[0][f] != 0 && rows[1][f] != 0 && (rows[0][f] > 0) != (rows[1][f] > 0) {
            angles.append(atan(-rows[0][f] / rows[1][f]))
        }
        angles.sort()
        var patterns: [[Double]] = []
        for i in 0..<(angles.count - 1) where angles[i + 1] > angles[i] {
            let phi = 0.5 * (angles[i] + angles[i + 1])
            let pattern: [Double] = (0..<d).map { f in
                let p = cos(phi) * rows[0][f] + sin(phi) * rows[1][f]
                return p > 0 ? -1 : (p < 0 ? 1 : 0)
            }
            if !patterns.contains(pattern) { patterns.append(pattern) }
        }
        let vertices = patterns.map { s in (0..<2).map { c in eps * (0..<d).reduce(0.0) { $0 + rows[c][$1] * s[$1] } } }
        let rounding = Double(d + 4) * u
        let vertexError = (0..<2).map { c in rounding * eps * rows[c].reduce(0) { $0 + abs($1) } }
        // B_c - A_c from the differing columns only, and the tie of A and B (nil: B never
        // overtakes A, i.e. not later on the chain).
        func tie(_ a: Int, _ b: Int) -> Double? {
            var delta = [0.0, 0.0]
            for f in 0..<d where patterns[a][f] != patterns[b][f] {
                for c in 0..<2 { delta[c] += eps * rows[c][f] * (patterns[b][f] - patterns[a][f]) }
            }
            guard delta[0] > 0, delta[1] < 0 else { return nil }
            // log|e^{-A1} - e^{-B1}| = -A1 + log(1 - e^{-delta1}); the same for V2 with B lower.
            return (-vertices[a][0] + log(-expm1(-delta[0]))) - (-vertices[b][1] + log(-expm1(delta[1])))
        }
        var start = 0
        for v in vertices.indices where (vertices[v][0], vertices[v][1]) < (vertices[start][0], vertices[start][1]) { start = v }
        var sequence = [start]
        var ends: [(t: Double, ambiguous: Bool)] = []
        while sequence.count <= patterns.count {
            let current = sequence[sequence.count - 1]
            var best: (v: Int, t: Double)? = nil
            var runnerUp = Double.infinity
            for v in patterns.indices where v != current {
                guard let t = tie(current, v) else { continue }
                if let b = best, t >= b.t { runnerUp = min(runnerUp, t); continue }
                if let b = best { runnerUp = min(runnerUp, b.t) }
                best = (v, t)
            }
            guard let next = best else { break }
            let t = max(next.t, ends.last?.t ?? -.infinity)
            let shift = vertexError[0] + vertexError[1] + 4 * u * (abs(t) + Double(d + 4))
            ends.append((t, runnerUp - next.t <= 2 * shift))
            sequence.append(next.v)
        }
        guard sequence.count <= patterns.count else {
            throw NumericalError("the maximising vertex of r = d1 - d2 does not settle along the zonotope's chain (\(patterns.count) vertices)")
        }
        // r = (D_1 - D_2) . x + bias difference: its variance without cancellation.
        var vr = 0.0, meanTerms = 0.0
        for f in 0..<d {
            let c = rows[0][f] - rows[1][f]
            vr += c * c * variance[f]
            meanTerms += abs(c * mean[f])
        }
        let sr = vr.squareRoot()
        let meanError = rounding * (meanTerms + abs(mr))
        func shift(_ t: Double) -> Double { vertexError[0] + vertexError[1] + 4 * u * (abs(t) + Double(d + 4)) + meanError }
        var signs = [Double](repeating: 0, count: d)
        var bound = 0.0
        if sr == 0 {
            // r = mr for every x: the strip holding mr, unless mr is within rounding of an end.
            let i = ends.firstIndex { mr < $0.t } ?? ends.count
            signs = patterns[sequence[i]]
            for e in ends where abs(mr - e.t) <= (e.ambiguous ? 3 : 1) * shift(e.t) { bound = 2 }
            return (signs, bound)
        }
        let edges = [-Double.infinity] + ends.map(\.t) + [Double.infinity]
        for (i, v) in sequence.enumerated() {
            let za = (edges[i] - mr) / sr, zb = (edges[i + 1] - mr) / sr
            // P(strip) = Phi(zb) - Phi(za), from the upper tails above the mean (no cancellation).
            let p = za >= 0 ? Normal.upperTail(za) - Normal.upperTail(zb) : Normal.cdf(zb) - Normal.cdf(za)
            for f in 0..<d where patterns[v][f] != 0 { signs[f] += p * patterns[v][f] }
        }
        bound = Double(2 * sequence.count) * 4 * u
        for e in ends {
            let z = (e.t - mr) / sr
            let dz = (e.ambiguous ? 3 : 1) * shift(e.t) / sr + rounding * abs(z)
            // The density's largest value over [z - dz, z + dz] times the width; the strips on
            // either side move by it with opposite signs.
            let density = abs(z) <= dz ? Normal.inverseSqrt2Pi : Normal.pdf(abs(z) - dz)
            bound += 2 * min(1, density * dz)
        }
        for f in 0..<d where abs(signs[f]) > 1 {
            guard abs(signs[f]) <= 1 + bound + 1e-12 else {
                throw NumericalError("E[sign of delta*_\(f)] = \(signs[f]) is outside [-1, 1] (error bound \(bound))")
            }
            signs[f] = signs[f] > 0 ? 1 : -1
        }
        return (signs, bound)
    }

    /// Column f of D (entries w_y[f] - w_k[f] over k) counts as zero below this fraction of D's
    /// largest entry (PerturbationSet's threshold).
    static let zeroColumn = 1e-15

    /// s_f = -sign of column f when every column has one sign (the componentwise-lowest vertex
    /// of the zonotope); nil when some column has both signs.
    static func commonVertexSigns(_ differences: [[Double]]) -> [Double]? {
        let d = differences.first?.count ?? 0
        let scale = differences.flatMap { $0 }.maxMagnitude
        var signs = [Double](repeating: 0, count: d)
        for f in 0..<d {
            var positive = false, negative = false
            for row in differences {
                if row[f] > zeroColumn * scale { positive = true }
                if row[f] < -zeroColumn * scale { negative = true }
            }
            if positive && negative { return nil }
            signs[f] = positive ? -1 : (negative ? 1 : 0)
        }
        return signs
    }

    /// The box vertex (sign pattern over the d coordinates) behind each vertex of the zonotope,
    /// for m = K - 1 <= 2: the patterns s_f = sign(lambda . g_f) for lambda between consecutive
    /// directions orthogonal to some generator g_f = column f of D are exactly the vertices'
    /// patterns; each of `set`'s vertices is matched to the one that reproduces it.
    static func vertexSignPatterns(set: PerturbationSet, differences: [[Double]], eps: Double) throws -> [[Double]] {
        let m = differences.count, d = differences.first?.count ?? 0
        let scale = differences.flatMap { $0 }.maxMagnitude
        let columns = (0..<d).map { f in (0..<m).map { differences[$0][f] } }
        let live = columns.map { c in c.contains { abs($0) > zeroColumn * scale } }
        var directions: [[Double]] = []
        if m == 1 {
            directions = [[1], [-1]]
        } else {
            // Critical angles in [0, 2 pi): lambda orthogonal to g_f.
            var angles: [Double] = []
            for f in 0..<d where live[f] {
                let a = atan2(columns[f][1], columns[f][0]) + .pi / 2
                for t in [a, a + .pi] {
                    var u = t.truncatingRemainder(dividingBy: 2 * .pi)
                    if u < 0 { u += 2 * .pi }
                    angles.append(u)
                }
            }
            angles.sort()
            if angles.isEmpty { angles = [0] }
            for (i, a) in angles.enumerated() {
                let b = i + 1 < angles.count ? angles[i + 1] : angles[0] + 2 * .pi
                guard b - a > 1e-12 else { continue }
                let mid = 0.5 * (a + b)
                directions.append([cos(mid), sin(mid)])
            }
        }
        let patterns: [[Double]] = directions.map { lambda in
            (0..<d).map { f in
                guard live[f] else { return 0 }
                var dot = 0.0
                for c in 0..<m { dot += lambda[c] * columns[f][c] }
                return dot > 0 ? 1 : -1
            }
        }
        let points = patterns.map { s in (0..<m).map { c in (0..<d).reduce(0.0) { $0 + eps * s[$1] * columns[$1][c] } } }
        let tolerance = 1e-9 * max(eps * scale * Double(d), 1e-300)
        var out: [[Double]] = []
        for v in 0..<set.vertexCount {
            let vertex = (0..<m).map { set.vertices[v * m + $0] }
            guard let i = points.firstIndex(where: { p in zip(p, vertex).allSatisfy { abs($0 - $1) <= tolerance } }) else {
                throw NumericalError("zonotope vertex \(vertex) has no box-vertex sign pattern (the perturbation set is inconsistent)")
            }
            out.append(patterns[i])
        }
        return out
    }
}

/// Exact CAS and signed mean similarity of the symmetric family W(w1, w2), centred gauge, for
/// natural and adversarial (exact worst case) samples: the columns `sweep` and `path` report.
public struct SymmetricFamilyCAS: Sendable, Equatable, Codable {
    /// nil for an l2 threat model (its worst case is not a box vertex).
    public var adversarialCAS: Double?
    public var naturalCAS: Double
    public var adversarialMeanSimilarity: Double?
    public var naturalMeanSimilarity: Double
}

extension ExactAttribution {
    /// CAS of W(w1, w2) in the centred gauge (natural and adversarial samples, adversary
    /// maximising `attackObjective`, ce by default as the paper's PGD samples). Closed form for
    /// ce on complement / pairwise models; K = 3 quadrature for ls and trades.
    public static func symmetricFamilyCAS(
        model: DataModel, threat: ThreatModel, w1: Double, w2: Double, attackObjective: Objective = .ce
    ) throws -> SymmetricFamilyCAS {
        let exact = try ExactAttribution(model: model, threat: threat, attackObjective: attackObjective)
        let classifier = LinearClassifier.symmetric(model: model, w1: w1, w2: w2)
        let natural = try exact.evaluate(classifier, samples: .natural, gauge: .centred).attribution
        let adversarial = threat.norm == .linf ? try exact.evaluate(classifier, samples: .adversarial, gauge: .centred).attribution : nil
        return SymmetricFamilyCAS(
            adversarialCAS: adversarial?.cas, naturalCAS: natural.cas,
            adversarialMeanSimilarity: adversarial?.meanOffDiagonal, naturalMeanSimilarity: natural.meanOffDiagonal)
    }
}

/// Where the metric can register cross-class features at all: CAS of the symmetric family over
/// (eps / mu, w2 / w1), for both gauges and both sample kinds (ce adversary, l_inf).
public struct AttributionMapPoint: Sendable, Equatable, Codable {
    public var epsOverMu: Double
    public var ratio: Double
    public var adversarialCentred: Attribution
    public var adversarialRaw: Attribution
    public var naturalCentred: Attribution
    public var naturalRaw: Attribution
}

extension ExactAttribution {
    /// One point per (eps/mu, w2/w1) pair (eps/mu outer), with w1 = 1. Needs a model whose
    /// signal features share one mu (eps = (eps/mu) * mu).
    public static func casMap(model: DataModel, epsOverMu: [Double], ratios: [Double]) throws -> [AttributionMapPoint] {
        guard let mu = model.mu.first, model.mu.allSatisfy({ $0 == mu }), mu > 0 else {
            throw InputError("the attribution map needs a model whose features share one mu > 0 (eps is given as eps/mu); model '\(model.name)' has mu = \(model.mu)")
        }
        for e in epsOverMu { try Check.nonNegative(e, "eps/mu") }
        for r in ratios { try Check.finite(r, "w2/w1") }
        var out: [AttributionMapPoint] = []
        for e in epsOverMu {
            let exact = try ExactAttribution(model: model, threat: try ThreatModel(norm: .linf, eps: e * mu))
            for r in ratios {
                let w = LinearClassifier.symmetric(model: model, w1: 1, w2: r)
                let adversarial = try exact.classMeans(w, samples: .adversarial).means
                let natural = try exact.classMeans(w, samples: .natural).means
                out.append(AttributionMapPoint(
                    epsOverMu: e, ratio: r,
                    adversarialCentred: Attribution(classMeans: adversarial, head: w.weights, gauge: .centred),
                    adversarialRaw: Attribution(classMeans: adversarial, head: w.weights, gauge: .raw),
                    naturalCentred: Attribution(classMeans: natural, head: w.weights, gauge: .centred),
                    naturalRaw: Attribution(classMeans: natural, head: w.weights, gauge: .raw)))
            }
        }
        return out
    }

    /// For complement(K), symmetric family with w1, w2 > 0, centred gauge, ce adversary: the
    /// adversarial CAS is > 0 exactly when eps/mu < (K - 2)/(3K - 4) and w2/w1 exceeds this
    /// ratio (derivation in Tests/Fixtures/ATTRIBUTION.md); nil where no ratio suffices.
    public static func complementThresholdRatio(classes k: Int, epsOverMu e: Double) -> Double? {
        let kk = Double(k)
        let coefficient = (1 - e) * ((kk - 2) - (3 * kk - 4) * e)
        guard coefficient > 0 else { return nil }
        let right = e * (2 * (kk - 1) - (3 * kk - 4) * e)
        return max(right, 0).squareRoot() / coefficient.squareRoot()
    }
}

/// The Gaussian cross-class mixture (THEORY.md section 1, generalised).
///
/// K classes with a uniform prior; F signal features with membership matrix M. Under class y,
/// feature f is N(mu_f, sigma_f^2) when M[y, f] = 1 and N(0, tau^2) otherwise (exactly 0 when
/// tau = 0). `noiseDimensions` extra coordinates are N(0, noiseSigma^2) under every class and
/// follow the signal features. All coordinates are independent given the class.
public struct DataModel: Equatable, Sendable, Codable {
    public var name: String
    /// membership[y][f]: does class y carry feature f?
    public var membership: [[Bool]]
    public var mu: [Double]
    public var sigma: [Double]
    public var tau: Double
    public var noiseDimensions: Int
    public var noiseSigma: Double
    public var featureNames: [String]

    /// Largest number of extra noise coordinates accepted (keeps a typo from allocating GBs).
    public static let maxNoiseDimensions = 100_000
    public static let maxClasses = 1_000

    public var classCount: Int { membership.count }
    public var featureCount: Int { membership.first?.count ?? 0 }
    /// Input dimension d = F + noise dimensions.
    public var dimension: Int { featureCount + noiseDimensions }

    /// Validating initialiser: every user-reachable model goes through it.
    public init(
        name: String, membership: [[Bool]], mu: [Double], sigma: [Double], tau: Double = 0,
        noiseDimensions: Int = 0, noiseSigma: Double = 1, featureNames: [String]? = nil
    ) throws {
        guard membership.count >= 2 else {
            throw InputError(
                "model '\(name)': membership has \(membership.count) class row(s); at least 2 are needed")
        }
        guard membership.count <= Self.maxClasses else {
            throw InputError("model '\(name)': \(membership.count) classes; at most \(Self.maxClasses) are allowed")
        }
        let f = membership[0].count
        guard f >= 1 else { throw InputError("model '\(name)': membership rows are empty; at least 1 feature is needed") }
        for (y, row) in membership.enumerated() where row.count != f {
            throw InputError(
                "model '\(name)': membership row \(y + 1) has \(row.count) entries, row 1 has \(f); all rows must have the same length")
        }
        for y in 1..<membership.count {
            if let twin = membership[..<y].firstIndex(of: membership[y]) {
                throw InputError("model '\(name)': membership rows \(twin + 1) and \(y + 1) are identical; two classes with the same features cannot be told apart")
            }
        }
        guard mu.count == f else {
            throw InputError("model '\(name)': mu has \(mu.count) entries; it must be one number or \(f) (one per feature)")
        }
        guard sigma.count == f else {
            throw InputError("model '\(name)': sigma has \(sigma.count) entries; it must be one number or \(f) (one per feature)")
        }
        // The range in which the exact methods are verified (ExtremeParameterTests).
        for (i, m) in mu.enumerated() { try ParameterRange.checkModelMagnitude(m, name: "model '\(name)': mu[\(i + 1)]", allowZero: true) }
        for (i, s) in sigma.enumerated() {
            guard s > 0 else { throw InputError("model '\(name)': sigma[\(i + 1)] = \(s) is not allowed: it must be > 0") }
            try ParameterRange.checkModelMagnitude(s, name: "model '\(name)': sigma[\(i + 1)]", allowZero: false)
        }
        guard tau >= 0 else { throw InputError("model '\(name)': tau = \(tau) is not allowed: it must be >= 0") }
        try ParameterRange.checkModelMagnitude(tau, name: "model '\(name)': tau", allowZero: true)
        guard (0...Self.maxNoiseDimensions).contains(noiseDimensions) else {
            throw InputError("noise_dims = \(noiseDimensions) is not allowed: it must be an integer in 0...\(Self.maxNoiseDimensions)")
        }
        guard noiseSigma > 0 else { throw InputError("model '\(name)': noise_sigma = \(noiseSigma) is not allowed: it must be > 0") }
        try ParameterRange.checkModelMagnitude(noiseSigma, name: "model '\(name)': noise_sigma", allowZero: false)
        let names = featureNames ?? (1...f).map { "F\($0)" }
        guard names.count == f else {
            throw InputError("model '\(name)': feature_names has \(names.count) entries; it must have \(f)")
        }
        guard Set(names).count == names.count else {
            throw InputError("model '\(name)': feature_names contains duplicates; names must be unique")
        }
        self.name = name
        self.membership = membership
        self.mu = mu
        self.sigma = sigma
        self.tau = tau
        self.noiseDimensions = noiseDimensions
        self.noiseSigma = noiseSigma
        self.featureNames = names
    }

    // MARK: Structure

    public enum FeatureKind: String, Sendable, Codable {
        /// Carried by exactly one class.
        case exclusive
        /// Carried by two or more classes.
        case crossClass = "cross-class"
        /// Carried by no class (pure background).
        case unused
    }

    public func kind(ofFeature f: Int) -> FeatureKind {
        let count = membership.reduce(0) { $0 + ($1[f] ? 1 : 0) }
        switch count {
        case 0: return .unused
        case 1: return .exclusive
        default: return .crossClass
        }
    }

    /// Names of all d input coordinates (signal features then N1, N2, ...).
    public var coordinateNames: [String] {
        featureNames + (0..<noiseDimensions).map { "N\($0 + 1)" }
    }

    /// Mean of x under class y (length d).
    public func mean(ofClass y: Int) -> [Double] {
        var m = [Double](repeating: 0, count: dimension)
        for f in 0..<featureCount where membership[y][f] { m[f] = mu[f] }
        return m
    }

    /// Per-coordinate variance of x under class y (length d).
    public func variance(ofClass y: Int) -> [Double] {
        var v = [Double](repeating: noiseSigma * noiseSigma, count: dimension)
        for f in 0..<featureCount {
            v[f] = membership[y][f] ? sigma[f] * sigma[f] : tau * tau
        }
        return v
    }

    /// A copy with every feature's mu and/or sigma (and optionally tau, noise) replaced.
    public func with(
        mu newMu: Double? = nil, sigma newSigma: Double? = nil, tau newTau: Double? = nil,
        noiseDimensions newNoise: Int? = nil, noiseSigma newNoiseSigma: Double? = nil
    ) throws -> DataModel {
        if let newMu { try Check.finite(newMu, "mu") }
        if let newSigma { try Check.positive(newSigma, "sigma") }
        return try DataModel(
            name: name, membership: membership,
            mu: newMu.map { [Double](repeating: $0, count: featureCount) } ?? mu,
            sigma: newSigma.map { [Double](repeating: $0, count: featureCount) } ?? sigma,
            tau: newTau ?? tau, noiseDimensions: newNoise ?? noiseDimensions,
            noiseSigma: newNoiseSigma ?? noiseSigma, featureNames: featureNames)
    }
}

import CrossClassCore

// The `--model` grammar's value and its spelling (the model itself, DataModel, is in the core;
// naming a model may name a file, which needs the YAML reader).
extension ModelSource: CustomStringConvertible {
    public var description: String {
        switch self {
        case .paper3: return "paper3"
        case .complement(let k): return "complement:\(k)"
        case .pairwise(let k): return "pairwise:\(k)"
        case .file(let path): return path
        }
    }
}

/// A model as the user named it (source plus overrides): loads it and describes it in manifests.
public struct ModelSpecification: Sendable, Equatable {
    public var source: ModelSource
    public var mu: Double?
    public var sigma: Double?
    public var tau: Double?
    public var noiseDimensions: Int?
    public var noiseSigma: Double?

    public init(source: ModelSource = .paper3, mu: Double? = nil, sigma: Double? = nil, tau: Double? = nil,
                noiseDimensions: Int? = nil, noiseSigma: Double? = nil) {
        self.source = source; self.mu = mu; self.sigma = sigma; self.tau = tau
        self.noiseDimensions = noiseDimensions; self.noiseSigma = noiseSigma
    }

    public func load() throws -> DataModel {
        try source.load(mu: mu, sigma: sigma, tau: tau, noiseDimensions: noiseDimensions, noiseSigma: noiseSigma)
    }

    /// The flags as given (manifests record them beside the resolved model).
    public var manifestJSON: [String: JSONValue] {
        var c: [String: JSONValue] = ["model": .string(source.description)]
        if let mu { c["mu"] = .number(mu) }
        if let sigma { c["sigma"] = .number(sigma) }
        if let tau { c["tau"] = .number(tau) }
        if let noiseDimensions { c["noise_dims"] = .number(Double(noiseDimensions)) }
        if let noiseSigma { c["noise_sigma"] = .number(noiseSigma) }
        return c
    }
}

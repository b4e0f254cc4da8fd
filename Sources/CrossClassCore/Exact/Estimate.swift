import GSL

/// A computed number together with how good it is and how it was computed: the one result
/// type of the exact layer (robust accuracy, orthant probabilities, objectives, derivatives).
///
/// GSL's own `Quadrature` stays inside the wrapper target (it carries GSL's raw error estimate
/// and evaluation count); the exact layer turns it into an `Estimate` where it adds what GSL
/// cannot know (truncated tails, the method).
public struct Estimate: Sendable, Equatable, Codable {
    public var value: Double
    /// Bound on |value - truth| (quadrature error estimates + truncated tails; for QMC, 3.5
    /// standard errors over independent random shifts).
    public var errorBound: Double
    /// The requested tolerance was reached (a value that did not reach it keeps its honest
    /// `errorBound`).
    public var converged: Bool
    public var method: Method

    public init(value: Double, errorBound: Double, converged: Bool, method: Method) {
        self.value = value
        self.errorBound = errorBound
        self.converged = converged
        self.method = method
    }

    /// GSL's quadrature result plus the mass this computation truncated.
    init(_ q: Quadrature, tail: Double = 0, method: Method) {
        self.init(value: q.value, errorBound: q.absoluteError + tail, converged: q.converged, method: method)
    }

    /// How a value was computed, ordered from the most to the least exact, so that a value
    /// combined from several parts reports the least exact of them (`max`).
    public enum Method: String, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
        /// A degenerate Gaussian (zero variance): the integrand at one point.
        case point = "point"
        /// A closed form (normal CDF, independent product, a degenerate case, a known root).
        case closedForm = "closed-form"
        /// The class means themselves (natural samples of the attribution metric).
        case classMean = "class mean"
        /// Every x has the same worst-case vertex: a closed form (attribution).
        case commonVertex = "common vertex"
        /// The worst-case vertex constant on strips of one Gaussian coordinate (ce, K = 3,
        /// attribution): a sum of normal CDF differences, error at rounding level.
        case vertexStrips = "vertex strips (closed form)"
        /// A closed form in the law of the minimum of i.i.d. normals, with one 1-D quadrature.
        case closedFormOrderStatistic = "closed-form-order-statistic"
        /// Bivariate normal CDF by Genz's fixed Gauss-Legendre rules (error <= 1e-15, tested).
        case bivariateGenz = "bivariate-genz"
        /// Bivariate normal CDF by GSL quadrature of Plackett's identity.
        case bivariate = "bivariate-quadrature"
        /// One-factor covariance: conditioning on the common factor, GSL 1-D quadrature.
        case oneFactor = "one-factor-quadrature"
        /// Adaptive GSL quadrature in one whitened coordinate.
        case quadrature1D = "quadrature-1d"
        /// 1-D quadrature of a Laplace-type transform (exchangeable ce on complement(K)).
        case quadrature1DLaplace = "quadrature-1d-laplace"
        /// 1-D quadrature against the law of the minimum of i.i.d. normals.
        case quadrature1DOrderStatistic = "quadrature-1d-order-statistic"
        /// On the axis w2 = 0 (every margin the same Gaussian): 1-D quadrature with the adversary's
        /// vertex exact, and for the w2-derivative the expected order statistics (ls, K >= 4).
        case axisOrderStatistics = "quadrature-1d-axis"
        /// Fixed Gauss-Legendre panels in two independent Gaussian coordinates, kinks placed.
        case gaussLegendre2D = "gauss-legendre-2d"
        /// The same under l_2: panels in (d1 - d2, an independent coordinate), the ellipse's
        /// branch switch put in as a kink.
        case gaussLegendre2DL2 = "gauss-legendre-2d-l2"
        /// The exact gradient on the same panels.
        case gaussLegendre2DGradient = "gauss-legendre-2d-gradient"
        /// Nested adaptive GSL quadrature in two coordinates.
        case quadrature2D = "quadrature-2d"
        /// The same, using a symmetry to integrate half the plane.
        case quadrature2DSymmetric = "quadrature-2d-symmetric"
        /// Quadrature over the regions where the worst-case vertex is constant (attribution).
        case vertexRegions = "vertex regions (quadrature)"
        /// Richardson extrapolation of one-sided differences.
        case richardson = "richardson"
        /// One-sided derivative from a value at 0 and a value and exact derivative at steps s = h
        /// and h/2: 2 (f(s) - f(0)) / s - f'(s) (error O(s^2)), extrapolated in s.
        case hermiteDifference = "hermite-difference"
        /// A root of a derivative computed by quadrature (its error includes the derivative's).
        case rootOfDerivative = "root-of-derivative"
        /// Randomised lattice QMC (error: 3.5 standard errors over random shifts).
        case latticeQMC = "lattice-qmc"
        /// Genz's randomised QMC for orthant probabilities.
        case genzQMC = "genz-qmc"

        /// Fixed panels and orders: the value and its bound do not depend on the tolerance asked.
        public var isFixedRule: Bool { self == .gaussLegendre2D || self == .gaussLegendre2DL2 || self == .bivariateGenz }

        /// The name written to CSV, JSON and the console.
        public var description: String { rawValue }

        private var rank: Int { Self.allCases.firstIndex(of: self)! }
        public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
    }
}

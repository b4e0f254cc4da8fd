import GSL

/// ccsim's library: the Gaussian cross-class model, exact robust quantities, trainers,
/// attribution metrics and output helpers.
public enum CrossClassLibrary {
    public static let version = "0.1.0"
}

/// Versions of the numerical back ends.
public enum GSLInfo {
    public static var version: String { GSL.version }
    public static var blasProvider: String { BLAS.provider ?? "unknown" }
}

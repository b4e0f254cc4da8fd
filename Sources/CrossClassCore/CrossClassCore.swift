import GSL

/// ccsim's library: the Gaussian cross-class model, exact robust quantities, trainers,
/// attribution metrics and output helpers.
public enum CrossClassLibrary {
    public static let version = "0.2.0"
    /// The commit this build was made from ("+modified" when the tree had uncommitted
    /// changes; "unknown" outside a git checkout), embedded at build time.
    public static let commit = BuildInfo.commit
}

/// Versions of the numerical back ends.
public enum GSLInfo {
    public static var version: String { GSL.version }
    public static var blasProvider: String { BLAS.provider ?? "unknown" }
}

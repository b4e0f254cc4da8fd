import CGSL

/// Eigenvalues and eigenvectors of a real symmetric matrix (`gsl_eigen_symmv`).
public enum SymmetricEigen {
    /// The eigen-decomposition of the n x n symmetric matrix `a` (row-major; its lower triangle
    /// is read): eigenvalues ascending, and the unit eigenvectors, vectors[k] for values[k].
    public static func decompose(_ a: [Double], _ n: Int) throws -> (values: [Double], vectors: [[Double]]) {
        GSL.prepare()
        precondition(n >= 1 && a.count == n * n)
        let failure = GSLError(code: Int32(GSL_ENOMEM), context: "gsl_eigen_symmv: allocating for n = \(n)")
        guard let m = gsl_matrix_alloc(n, n) else { throw failure }
        defer { gsl_matrix_free(m) }
        guard let values = gsl_vector_alloc(n) else { throw failure }
        defer { gsl_vector_free(values) }
        guard let vectors = gsl_matrix_alloc(n, n) else { throw failure }
        defer { gsl_matrix_free(vectors) }
        guard let work = gsl_eigen_symmv_alloc(n) else { throw failure }
        defer { gsl_eigen_symmv_free(work) }
        for i in 0..<n { for j in 0..<n { gsl_matrix_set(m, i, j, a[i * n + j]) } }
        try GSL.check(gsl_eigen_symmv(m, values, vectors, work), "gsl_eigen_symmv")
        try GSL.check(gsl_eigen_symmv_sort(values, vectors, GSL_EIGEN_SORT_VAL_ASC), "gsl_eigen_symmv_sort")
        let lambda = (0..<n).map { gsl_vector_get(values, $0) }
        let v = (0..<n).map { k in (0..<n).map { i in gsl_matrix_get(vectors, i, k) } }
        return (lambda, v)
    }
}

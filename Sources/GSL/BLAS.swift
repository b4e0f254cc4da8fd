import CGSL

/// Dense matrix products through GSL's CBLAS interface. The executable links OpenBLAS ahead of
/// GSL's reference CBLAS, so these calls (and GSL's own) run on OpenBLAS; `BLAS.provider`
/// says which library actually answered.
public enum BLAS {
    public enum Transpose: Sendable {
        case none, transposed
        var cblas: CBLAS_TRANSPOSE_t { self == .none ? CblasNoTrans : CblasTrans }
    }

    /// C = alpha * op(A) * op(B) + beta * C, all row-major.
    /// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are the row strides as stored.
    @inline(__always)
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transA.cblas, transB.cblas, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha * op(A) x + beta * y, row-major A (rows x cols as stored).
    @inline(__always)
    public static func gemv(
        _ trans: Transpose, rows: Int, cols: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
        beta: Double, y: UnsafeMutablePointer<Double>
    ) {
        cblas_dgemv(
            CblasRowMajor, trans.cblas, Int32(rows), Int32(cols), alpha, a, Int32(lda),
            x, 1, beta, y, 1)
    }

    /// Sets OpenBLAS's thread count (returns false when the CBLAS in use is not OpenBLAS).
    /// ccsim parallelises across independent work items, so it runs BLAS on one thread: the
    /// trainer's matrices are small, and nested threading only adds contention.
    @discardableResult
    public static func setThreads(_ n: Int) -> Bool {
        ccsim_blas_set_threads(Int32(max(1, n))) != 0
    }

    /// The shared library that provides `cblas_dgemm` in this process (e.g.
    /// ".../libopenblas.so.0"), or nil if it cannot be determined.
    public static var provider: String? {
        guard let symbol = ccsim_dlsym(nil, "cblas_dgemm") else { return nil }
        var info = ccsim_dl_info()
        guard ccsim_dladdr(symbol, &info) != 0, let name = info.dli_fname else { return nil }
        return String(cString: name)
    }
}

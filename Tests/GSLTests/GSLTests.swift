import Foundation
import GSL
import Testing

@Suite("GSL wrapper")
struct GSLTests {
    @Test("quadrature: known integrals, break points, reals")
    func quadrature() throws {
        let integrator = Integrator()
        let a = try integrator.integrate(over: 0, .pi) { sin($0) }
        #expect(abs(a.value - 2) < 1e-13 && a.converged)
        let b = try integrator.integrate(over: -1, 2, breakPoints: [0]) { abs($0) }
        #expect(abs(b.value - 2.5) < 1e-13)
        let c = try integrator.integrateOverReals { Normal.pdf($0) }
        #expect(abs(c.value - 1) < 1e-12)
        let reversed = try integrator.integrate(over: 1, 0) { $0 }
        #expect(abs(reversed.value + 0.5) < 1e-15)
    }

    @Test("quadrature reports, does not hide, a tolerance it cannot reach")
    func quadratureFailure() throws {
        let tiny = Integrator(limit: 3)
        let r = try tiny.integrate(over: 0, 1, tolerance: Tolerance(absolute: 1e-15)) { 1 / ($0.squareRoot() + 1e-9) * sin(1 / ($0 + 1e-3)) }
        #expect(!r.converged)
        #expect(throws: GSLError.self) { try Integrator().integrate(over: 0, 1) { _ in .nan } }
    }

    @Test("minimiser: interior and boundary minima")
    func minimiser() throws {
        let m = try Minimizer1D.minimize(in: -3, 5) { ($0 - 1.234) * ($0 - 1.234) + 2 }
        #expect(abs(m.argument - 1.234) < 1e-7 && abs(m.value - 2) < 1e-12)
        let edge = try Minimizer1D.minimize(in: 0, 1) { $0 + 0.1 * $0 * $0 }
        #expect(edge.argument == 0)
        let nearEdge = try Minimizer1D.minimize(in: 0, 1) { ($0 - 1e-4) * ($0 - 1e-4) }
        #expect(abs(nearEdge.argument - 1e-4) < 1e-8)
    }

    @Test("minimiser from a known bracket: the three values are not evaluated again, the bracket closes to its width in few steps; a tie or an unordered bracket is declined")
    func refineFromBracket() throws {
        // cos on [2.5, 3.5] around pi, |x| ~ 3 (GSL's steps keep sqrt(eps) |x| ~ 4.5e-8 apart).
        var calls = 0
        let f = { (x: Double) -> Double in cos(x) }
        let m = try #require(try Minimizer1D.refine(lower: (2.5, f(2.5)), start: (3.0, f(3.0)), upper: (3.5, f(3.5)), width: 1e-7) { x in
            calls += 1
            return f(x)
        })
        #expect(m.converged && abs(m.argument - Double.pi) <= 1e-7 && abs(m.value + 1) <= 1e-14, "\(m)")
        // One evaluation an iteration, and one in GSL's set-up (Brent's first golden point):
        // none at the bracket's three points.
        #expect(calls == m.iterations + 1 && calls <= 20, "\(calls) evaluations in \(m.iterations) iterations: \(m)")
        // A width the minimiser cannot close to at this |x| is reported, not claimed.
        let tight = try #require(try Minimizer1D.refine(lower: (2.5, f(2.5)), start: (3.0, f(3.0)), upper: (3.5, f(3.5)), width: 1e-12, maxIterations: 60, f))
        #expect(!tight.converged)
        #expect(try Minimizer1D.refine(lower: (2.5, f(3.0)), start: (3.0, f(3.0)), upper: (3.5, f(3.5)), width: 1e-7, f) == nil)
        #expect(try Minimizer1D.refine(lower: (3.5, f(3.5)), start: (3.0, f(3.0)), upper: (2.5, f(2.5)), width: 1e-7, f) == nil)
    }

    @Test("symmetric eigen-decomposition: a known 2 x 2, and V diag(values) V' rebuilds a 5 x 5 with orthonormal V, values ascending")
    func symmetricEigen() throws {
        let two = try SymmetricEigen.decompose([2, 1, 1, 2], 2)
        #expect(abs(two.values[0] - 1) < 1e-14 && abs(two.values[1] - 3) < 1e-14, "\(two.values)")
        #expect(abs(abs(two.vectors[1][0]) - 0.5.squareRoot()) < 1e-14 && abs(two.vectors[1][0] - two.vectors[1][1]) < 1e-14, "\(two.vectors)")
        let n = 5
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i {
            let v = sin(Double(3 * i + 7 * j) + 0.5) + (i == j ? Double(i) - 2 : 0)
            a[i * n + j] = v; a[j * n + i] = v
        } }
        let (values, vectors) = try SymmetricEigen.decompose(a, n)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 }, "\(values)")
        #expect(values.contains { $0 < 0 } && values.contains { $0 > 0 }, "an indefinite matrix: \(values)")
        for i in 0..<n { for j in 0..<n {
            let rebuilt = (0..<n).reduce(0.0) { $0 + values[$1] * vectors[$1][i] * vectors[$1][j] }
            #expect(abs(rebuilt - a[i * n + j]) < 1e-13, "entry (\(i), \(j)): \(rebuilt) vs \(a[i * n + j])")
            let inner = (0..<n).reduce(0.0) { $0 + vectors[i][$1] * vectors[j][$1] }
            #expect(abs(inner - (i == j ? 1 : 0)) < 1e-13)
        } }
    }

    @Test("root finder: root, sign check")
    func roots() throws {
        let r = try RootFinder.brent(in: 0, 2) { $0 * $0 - 2 }
        #expect(abs(r.location - 2.0.squareRoot()) < 1e-12)
        #expect(throws: GSLError.self) { try RootFinder.brent(in: 2, 3) { $0 * $0 - 2 } }
    }

    @Test("a callback's own error reaches the caller (not GSL's report of a bad value), from the first evaluation on")
    func callbackErrors() throws {
        struct Refused: Error, Equatable { let at: Int }
        #expect(throws: Refused(at: 0)) {
            try MultiMinimizer.simplex(start: [1, 1], steps: [0.1, 0.1], sizeTolerance: 1e-6, maxIterations: 50) { _ in throw Refused(at: 0) }
        }
        var calls = 0
        #expect(throws: Refused(at: 5)) {
            try MultiMinimizer.simplex(start: [1, 1], steps: [0.1, 0.1], sizeTolerance: 1e-6, maxIterations: 50) { p in
                calls += 1
                if calls > 5 { throw Refused(at: 5) }
                return p[0] * p[0] + p[1] * p[1]
            }
        }
        #expect(throws: Refused(at: 1)) { try Minimizer1D.minimize(in: -1, 1) { _ in throw Refused(at: 1) } }
        #expect(throws: Refused(at: 2)) { try RootFinder.brent(in: -1, 1) { _ in throw Refused(at: 2) } }
        #expect(throws: Refused(at: 3)) { try Integrator().integrate(over: 0, 1) { _ in throw Refused(at: 3) } }
    }

    @Test("normal distribution functions")
    func normal() {
        #expect(abs(Normal.cdf(1.959963984540054) - 0.975) < 1e-15)
        #expect(abs(Normal.upperTail(10) - 7.619853024160527e-24) < 1e-36)
        #expect(abs(Normal.quantile(0.975) - 1.959963984540054) < 1e-12)
        #expect(abs(Normal.logCDF(-40) - (-804.6084420137538)) < 1e-9)
    }

    @Test("random source: reproducible and seed-sensitive")
    func random() {
        let a = RandomSource(seed: 5), b = RandomSource(seed: 5), c = RandomSource(seed: 6)
        let xa = (0..<10).map { _ in a.gaussian() }, xb = (0..<10).map { _ in b.gaussian() }
        #expect(xa == xb)
        #expect(xa != (0..<10).map { _ in c.gaussian() })
        #expect(RandomSource(seed: 0).uniform() != RandomSource(seed: 4356).uniform())
        let p = RandomSource(seed: 1).permutation(10)
        #expect(p.sorted() == Array(0..<10))
    }

    @Test("BLAS: dgemm is correct and served by OpenBLAS")
    func blas() {
        let a: [Double] = [1, 2, 3, 4, 5, 6]  // 2 x 3
        let b: [Double] = [7, 8, 9, 10, 11, 12]  // 3 x 2
        var c = [Double](repeating: 0, count: 4)
        BLAS.gemm(.none, .none, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        #expect(c == [58, 64, 139, 154])
        #expect(BLAS.provider?.contains("openblas") == true, "provider: \(BLAS.provider ?? "nil")")
    }
}

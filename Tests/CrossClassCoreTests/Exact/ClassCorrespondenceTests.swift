import CrossClassCore
import Foundation
import TestSupport
import Testing

/// `LinearPairCE` integrates a class once when the other classes' pair problems are its
/// permutations (paper3's symmetric W): same value and gradient as three integrations, no
/// correspondence where the model is not class-symmetric, and a Hessian assembled from one
/// class's orbits equal to central differences of the whole gradient.
@Suite("class symmetry of the full-W evaluator")
struct ClassCorrespondenceTests {
    static func evaluator(_ model: DataModel, norm: Norm = .linf, objective: Objective = .ce, symmetry: Bool) throws -> LinearPairCE {
        var e = try #require(LinearPairCE(model: model, threat: try ThreatModel(norm: norm, eps: 0.3), objective: objective))
        e.usesClassSymmetry = symmetry
        return e
    }

    /// A W off the symmetric family.
    static let general: Matrix = {
        let rows: [[Double]] = [[1.4, -0.15, 0.1, 0.0, 0.9, 1.2], [0.05, 1.7, -0.1, 1.1, 0.1, 0.8], [-0.2, 0.1, 1.5, 0.95, 1.05, -0.1]]
        var w = Matrix(rows: 3, columns: 6)
        for r in 0..<3 { for c in 0..<6 { w[r, c] = rows[r][c] } }
        return w
    }()

    /// W in the free layout the full-W optimiser uses (row 2 subtracted from every row).
    static func freeLayout(_ s: Matrix) -> Matrix {
        var w = Matrix(rows: 3, columns: s.columns)
        for r in 0..<2 { for c in 0..<s.columns { w[r, c] = s[r, c] - s[2, c] } }
        return w
    }

    static func freeSymmetric(_ model: DataModel, _ w1: Double, _ w2: Double) -> Matrix {
        freeLayout(LinearClassifier.symmetric(model: model, w1: w1, w2: w2).weights)
    }

    @Test("a symmetric W: one class rearranged equals three classes integrated (ce l_inf, ls l_2 on the working rule)")
    func sameAsThreeClasses() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for (norm, objective) in [(Norm.linf, Objective.ce), (.l2, .ls(alpha: 0.1))] {
            let w = Self.freeSymmetric(model, 1.47, 1.33)
            let a = try #require(try Self.evaluator(model, norm: norm, objective: objective, symmetry: true).evaluate(w))
            let b = try #require(try Self.evaluator(model, norm: norm, objective: objective, symmetry: false).evaluate(w))
            expectClose(a.value, b.value, tolerance: 1e-14, "\(objective) \(norm) value")
            for i in 0..<a.gradient.storage.count {
                expectClose(a.gradient.storage[i], b.gradient.storage[i], tolerance: 1e-13, "\(objective) \(norm) gradient entry \(i)")
            }
        }
    }

    @Test("a model that is not class-symmetric (one exclusive feature noisier): no class is taken for another, the bits are the three-class ones")
    func noFalseCorrespondence() throws {
        let base = try DataModel.paper3(mu: 1, sigma: 0.5)
        var sigma = [Double](repeating: 0.5, count: 6)
        sigma[0] = 0.6
        let model = try DataModel(name: "skewed", membership: base.membership, mu: .init(repeating: 1, count: 6), sigma: sigma)
        let w = Self.freeSymmetric(model, 1.47, 1.33)
        let a = try #require(try Self.evaluator(model, symmetry: true).evaluate(w))
        let b = try #require(try Self.evaluator(model, symmetry: false).evaluate(w))
        #expect(a.value == b.value)
        #expect(a.gradient.storage == b.gradient.storage)
        // And the symmetric paper3 value differs from it: the test sees the change of model.
        let c = try #require(try Self.evaluator(base, symmetry: true).evaluate(w))
        #expect(abs(c.value - a.value) > 1e-4)
    }

    @Test("the Hessian from the working rule's shares at W already integrated (a Newton run's last evaluation) has the same bits as the one that integrates them: ce under l_inf at a general W, trades:1 on lines under l_inf at a symmetric W (one class integrated, two rearranged)")
    func hessianFromEvaluatedShares() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for (objective, w) in [(Objective.ce, Self.freeLayout(Self.general)), (.trades(beta: 1), Self.freeSymmetric(model, 1.47, 1.33))] {
            let e = try Self.evaluator(model, objective: objective, symmetry: true)
            let a = try #require(e.freeHessian(w, step: 1e-4))
            let b = try #require(e.freeHessianFromEvaluatedShares(w, step: 1e-4))
            #expect(a == b, "\(objective)")
            #expect(a.contains { $0 != 0 })
        }
    }

    @Test("the Hessian from one class's orbits equals central differences of the whole gradient, at a symmetric and a general W")
    func hessian() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        let plain = try Self.evaluator(model, symmetry: false)
        for free in [Self.freeSymmetric(model, 1.47, 1.33), Self.freeLayout(Self.general)] {
            let h = 1e-4
            let fast = try #require(try Self.evaluator(model, symmetry: true).freeHessian(free, step: h))
            let n = 12
            for j in 0..<n {
                var up = free, down = free
                up[j / 6, j % 6] += h
                down[j / 6, j % 6] -= h
                let gu = try #require(plain.evaluate(up)).gradient, gd = try #require(plain.evaluate(down)).gradient
                for i in 0..<n {
                    let column = (gu[i / 6, i % 6] - gd[i / 6, i % 6]) / (2 * h)
                    expectClose(fast[i * n + j], column, tolerance: 2e-4 * (1 + abs(column)), "H[\(i), \(j)]")
                }
            }
        }
    }
}

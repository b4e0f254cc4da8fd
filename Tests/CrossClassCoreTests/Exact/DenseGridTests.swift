import CrossClassCore
import Foundation
import TestSupport
import Testing

/// Issue 12's "fast path equals the reference path to 1e-9 on a dense grid of (eps, sigma/mu,
/// scale, w2/w1)", for the objectives whose grids elsewhere are sparse: trades under l_inf (the
/// adaptive reference path takes ~0.1 s a point, so its whole grid runs in the suite), and ce,
/// ls and trades (beta 1 and 6) under l_2 (the reference path's certified maximum by Brent takes 0.6-2 s a
/// point: a subset in the suite, the whole grid in the slow tier). ce and ls under l_inf have
/// their dense grids in `FastPathTests`, the margin objectives in `ComplementExactTests`.
@Suite("fast == reference on dense grids (trades under l_inf; ce, ls and trades under l_2)")
struct DenseGridTests {
    /// One grid point: paper3 with (sigma, tau), eps, and W at `scale` = |(w1, w2)| with
    /// w2 / w1 = `ratio`.
    struct Point: CustomStringConvertible {
        var sigma: Double, tau: Double, eps: Double, scale: Double, ratio: Double
        var w1: Double { scale / (1 + ratio * ratio).squareRoot() }
        var w2: Double { ratio * w1 }
        var description: String { "sigma \(sigma) tau \(tau) eps \(eps) scale \(scale) w2/w1 \(ratio)" }
    }

    /// The grid: every combination of the given coordinates.
    static func grid(models: [(Double, Double)], eps: [Double], scales: [Double], ratios: [Double]) -> [Point] {
        models.flatMap { m in eps.flatMap { e in scales.flatMap { s in ratios.map { r in
            Point(sigma: m.0, tau: m.1, eps: e, scale: s, ratio: r)
        } } } }
    }

    /// The fast path at p: converged with a bound <= 1e-9, and within 1e-9 of the reference
    /// path (which is converged too).
    static func expectAgreement(_ objective: Objective, _ norm: Norm, at p: Point) throws {
        let model = try DataModel.paper3(mu: 1, sigma: p.sigma, tau: p.tau)
        let threat = try ThreatModel(norm: norm, eps: p.eps)
        var fast = RobustObjective(model: model, threat: threat, objective: objective, tolerance: 1e-10)
        fast.method = .fast
        var reference = fast
        reference.method = .reference
        let f = try fast.evaluate(w1: p.w1, w2: p.w2), r = try reference.evaluate(w1: p.w1, w2: p.w2)
        #expect(f.converged && f.errorBound <= 1e-9, "\(objective) \(norm) \(p): fast \(f)")
        #expect(r.converged, "\(objective) \(norm) \(p): reference \(r)")
        #expect(f.method != r.method, "\(objective) \(norm) \(p): both on \(f.method)")
        #expect(abs(f.value - r.value) <= 1e-9, "\(objective) \(norm) \(p): fast \(f.value) +- \(f.errorBound), reference \(r.value) +- \(r.errorBound)")
    }

    @Test("trades:1 and trades:6 under l_inf: fast == reference to 1e-9 on 4 eps x 2 (sigma, tau) x 3 scales x 3 w2/w1 (144 points)")
    func tradesUnderLinf() throws {
        let points = Self.grid(models: [(0.5, 0), (1, 0.2)], eps: [0.05, 0.2, 0.35, 0.49], scales: [0.5, 2, 5], ratios: [0, 0.4, 1.5])
        for beta in [1.0, 6.0] {
            for p in points { try Self.expectAgreement(.trades(beta: beta), .linf, at: p) }
        }
    }

    /// The l_2 grid: 3 (sigma, tau) x 3 eps x 2 scales x 3 w2/w1 (54 points an objective) in the
    /// slow tier; in the suite every seventh point (8 an objective, each coordinate value still
    /// met).
    static func l2Points() -> [Point] {
        let all = grid(models: [(0.5, 0), (1, 0), (1, 0.2)], eps: [0.1, 0.3, 0.45], scales: [1, 3], ratios: [0, 0.5, 1.5])
        return SlowTier.enabled ? all : all.enumerated().filter { $0.offset % 7 == 0 }.map(\.element)
    }

    /// One case per objective, so that the slow tier's 54 points each run on both cores.
    @Test("ce, ls:0.1, trades:1 and trades:6 under l_2: fast == reference to 1e-9 on 3 (sigma, tau) x 3 eps x 2 scales x 3 w2/w1 (every seventh point in the suite, all 54 in the slow tier)",
          arguments: [Objective.ce, .ls(alpha: 0.1), .trades(beta: 1), .trades(beta: 6)])
    func underL2(_ objective: Objective) throws {
        let points = Self.l2Points()
        #expect(Set(points.map(\.eps)).count == 3 && Set(points.map { [$0.sigma, $0.tau] }).count == 3 && Set(points.map(\.scale)).count == 2
                && Set(points.map(\.ratio)).count == 3, "the subset misses a coordinate value")
        for p in points { try Self.expectAgreement(objective, .l2, at: p) }
    }
}

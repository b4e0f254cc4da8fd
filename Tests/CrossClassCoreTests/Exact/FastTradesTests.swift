import CrossClassCore
import Foundation
import TestSupport
import Testing

/// Issue 12, trades on the fixed-rule path (`FastTradesAudit`; the solvers keep the adaptive
/// reference path for trades): the kinks along an inner line, where the best of the six
/// hexagon vertices changes, are certified roots (Descartes isolation of the critical points
/// of each vertex difference); checked here against a brute-force label scan, and the value
/// against the reference path.
@Suite("fast trades path")
struct FastTradesTests {
    /// KL(p_clean || p_adv) at vertex V, written out independently of the library.
    static func kl(_ v: (Double, Double), _ d1: Double, _ d2: Double, _ e: Double) -> Double {
        func softplus(_ a1: Double, _ a2: Double) -> Double {
            let top = max(0, -a1, -a2)
            return top + log(exp(-top) + exp(-a1 - top) + exp(-a2 - top))
        }
        let z = 1 + exp(-d1) + exp(-d2)
        let p1 = exp(-d1) / z, p2 = exp(-d2) / z
        return softplus(d1 + e * v.0, d2 + e * v.1) - softplus(d1, d2) + e * (p1 * v.0 + p2 * v.1)
    }

    static let vertices: [(Double, Double)] = [(-2, -2), (0, -2), (2, 0), (2, 2), (0, 2), (-2, 0)]

    @Test("inner kinks: the certified pattern equals a brute-force label scan (4000 points per line, 3 settings x 25 lines)")
    func innerKinksAgainstScan() throws {
        let settings: [(sigma: Double, tau: Double, eps: Double, w1: Double, w2: Double)] = [
            (0.5, 0, 0.3, 2.3, 1.4), (1, 0.2, 0.3, 3.58, 7.16), (0.25, 0, 0.49, 8, 0.5),
        ]
        var checked = 0
        for s in settings {
            let model = try DataModel.paper3(mu: 1, sigma: s.sigma, tau: s.tau)
            let threat = try ThreatModel(norm: .linf, eps: s.eps)
            for k in 0...24 {
                let z1 = -4 + 8 * Double(k) / 24
                let line = try #require(FastTradesAudit.innerPattern(model: model, threat: threat, beta: 1, w1: s.w1, w2: s.w2, z1: z1))
                #expect(line.pattern.count == line.kinks.count + 1)
                for j in 0..<4000 {
                    let z2 = 9 * (Double(j) + 0.5) / 4000
                    // Points next to a kink are ambiguous to rounding.
                    if line.kinks.contains(where: { abs($0 - z2) < 1e-6 }) { continue }
                    let u = line.su * z2
                    let values = Self.vertices.map { Self.kl($0, line.c + u, line.c - u, line.e) }
                    let order = values.indices.sorted { values[$0] > values[$1] }
                    // A clear winner only (ties to rounding far out along u do not matter).
                    guard values[order[0]] - values[order[1]] > 1e-9 * (1 + abs(values[order[0]])) else { continue }
                    let piece = line.kinks.filter { $0 < z2 }.count
                    checked += 1
                    #expect(line.pattern[piece] == order[0],
                            "sigma \(s.sigma) eps \(s.eps) W(\(s.w1), \(s.w2)) z1 \(z1) z2 \(z2): pattern \(line.pattern) kinks \(line.kinks), scan says \(order[0])")
                }
            }
        }
        #expect(checked > 100_000)
    }

    @Test("value: fast trades equals the reference within 2e-8 (measured gap: up to 6e-8 at margin scales ~8 with tau > 0; see PairObjective.init)")
    func valueAgainstReference() throws {
        let model = try DataModel.paper3(mu: 1, sigma: 0.5)
        for (beta, eps, w1, w2) in [(1.0, 0.3, 2.3, 1.4), (6.0, 0.05, 1.0, 0.3), (6.0, 0.49, 0.5, 0.2)] {
            let threat = try ThreatModel(norm: .linf, eps: eps)
            let fast = try #require(FastTradesAudit.estimate(model: model, threat: threat, beta: beta, w1: w1, w2: w2))
            var reference = RobustObjective(model: model, threat: threat, objective: .trades(beta: beta), tolerance: 1e-11)
            reference.method = .reference
            let r = try reference.evaluate(w1: w1, w2: w2)
            #expect(abs(fast.value - r.value) <= 2e-8, "beta \(beta) eps \(eps) W(\(w1), \(w2)): fast \(fast.value) (+- \(fast.errorBound)) reference \(r.value)")
        }
    }
}

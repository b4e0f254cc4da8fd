import CrossClassCore
import Foundation
import TestSupport
import Testing

/// Issue 12, trades on the fixed-rule path (`FastTradesAudit`, the solvers' path for trades):
/// the kinks along an inner line, where the best of the six hexagon vertices changes, are
/// certified roots (Descartes isolation of the critical points of each vertex difference);
/// checked here against a brute-force label scan, the value against independent scipy values,
/// and the error bound against a converged evaluation.
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

    /// The solvers follow the upper envelope (only the vertex differences that involve a best
    /// vertex are isolated). At every point of a fine scan the envelope's vertex has the largest
    /// term to rounding (1e-12 relative to the margins), and the clear winner (by 1e-9) where
    /// there is one. The patterns from all 15 differences are identical on 478 of the 726
    /// lines; where they differ, the labels there are read in ties to rounding, and at 10
    /// points (terms ~1e-10) the all-pairs label falls short of the best by more than rounding
    /// while the envelope's does not.
    /// Scans `points` equal cells of the line (c, su, e) (margins (c + su z2, c - su z2)),
    /// skipping points within 1e-6 of `skipNear`: the vertex that `pattern` and `kinks` give
    /// at each point has the best term to rounding, and is the clear winner (by 1e-9) where
    /// there is one. Returns the number of points with a clear winner.
    static func scanLabels(pattern: [Int], kinks: [Double], skipNear: [Double], c: Double, su: Double, e: Double, points: Int,
                           describe: (Double) -> String) -> Int {
        var clear = 0
        for j in 0..<points {
            let z2 = 9 * (Double(j) + 0.5) / Double(points)
            if skipNear.contains(where: { abs($0 - z2) < 1e-6 }) { continue }
            let u = su * z2
            let d1 = c + u, d2 = c - u
            let values = vertices.map { kl($0, d1, d2, e) }
            let mine = pattern[kinks.filter { $0 < z2 }.count]
            let rounding = 1e-12 * (1 + abs(d1) + abs(d2) + e)
            let order = values.indices.sorted { values[$0] > values[$1] }
            #expect(values[mine] >= values[order[0]] - rounding, "\(describe(z2)), terms \(values)")
            guard values[order[0]] - values[order[1]] > 1e-9 * (1 + abs(values[order[0]])) else { continue }
            clear += 1
            #expect(mine == order[0], "\(describe(z2)): scan says \(order[0])")
        }
        return clear
    }

    @Test("inner kinks: following the upper envelope agrees with all 15 vertex differences and with a label scan (6 settings x 121 lines, 1000 points per line)")
    func envelopeAgainstAllPairs() throws {
        let settings: [(sigma: Double, tau: Double, eps: Double, w1: Double, w2: Double)] = [
            (0.5, 0, 0.3, 2.3, 1.4), (1, 0.2, 0.3, 3.58, 7.16), (0.25, 0, 0.49, 8, 0.5),
            (1, 0, 0.35, 3, 6), (1, 0.2, 0.2, 14, 7.75), (1, 0.2, 0.49, 2.79, 1.11),
        ]
        var lines = 0, identical = 0, kinks = 0, clear = 0
        for s in settings {
            let model = try DataModel.paper3(mu: 1, sigma: s.sigma, tau: s.tau)
            let threat = try ThreatModel(norm: .linf, eps: s.eps)
            for k in 0...120 {
                let z1 = -9 + 18 * Double(k) / 120
                let envelope = try #require(FastTradesAudit.innerPattern(model: model, threat: threat, beta: 1, w1: s.w1, w2: s.w2, z1: z1))
                let all = try #require(FastTradesAudit.innerPattern(model: model, threat: threat, beta: 1, w1: s.w1, w2: s.w2, z1: z1, allPairs: true))
                let label = "sigma \(s.sigma) tau \(s.tau) eps \(s.eps) W(\(s.w1), \(s.w2)) z1 \(z1)"
                #expect(envelope.pattern.count == envelope.kinks.count + 1)
                lines += 1
                kinks += all.kinks.count
                if envelope.pattern == all.pattern && envelope.kinks == all.kinks { identical += 1 }
                clear += Self.scanLabels(pattern: envelope.pattern, kinks: envelope.kinks, skipNear: envelope.kinks + all.kinks,
                                         c: envelope.c, su: envelope.su, e: envelope.e, points: 1000) { z2 in
                    "\(label) z2 \(z2): envelope \(envelope.pattern) \(envelope.kinks), all pairs \(all.pattern) \(all.kinks)"
                }
            }
        }
        #expect(lines == 726)
        // Not vacuous: many kinks, most lines identical, most points with a clear winner.
        #expect(kinks > 700, "\(kinks) kinks")
        #expect(identical > 400, "\(identical) identical lines")
        #expect(clear > 300_000, "\(clear) points with a clear winner")
    }

    /// The integration continues each line's kinks from the previous line's of the same outer
    /// piece (`tradesContinued`). Checked on every line where it does not decline, as
    /// `envelopeAgainstAllPairs` checks the envelope: at 400 points per line the continued
    /// line's vertex has the best term to rounding, and it is the clear winner (by 1e-9)
    /// where there is one; every continued kink is a tie of its two vertices' terms to
    /// rounding, and most equal the certified kinks to 1e-12 (measured: 3913 of 4195 lines with
    /// the certified pattern, 2477 with its kinks to 1e-12). Far out (margins ~ -30) the
    /// terms tie to rounding over long stretches, where the two can put a kink or read a
    /// label differently (kinks up to 4e-4 apart were seen there), which the integrand does
    /// not see. Before the continued lines were certified (the critical points of each
    /// difference on each piece), 3 points at sigma = mu, W(3, 6) read a vertex 3.6e-11 below
    /// the best, and that setting's value moved by 1.2e-13.
    @Test("inner kinks: continued from the neighbouring line of the same outer piece, every line's labels are the best to rounding and its kinks the certified ones (6 settings, every working-rule node line, 400 points per line)")
    func continuedKinksAgainstScan() throws {
        let settings: [(sigma: Double, tau: Double, eps: Double, w1: Double, w2: Double)] = [
            (0.5, 0, 0.3, 2.3, 1.4), (1, 0.2, 0.3, 3.58, 7.16), (0.25, 0, 0.49, 8, 0.5),
            (1, 0, 0.35, 3, 6), (1, 0.2, 0.2, 14, 7.75), (1, 0.2, 0.49, 2.79, 1.11),
        ]
        let outcomes = try Parallel.map(settings) { s in
            try #require(FastTradesAudit.continuation(model: try DataModel.paper3(mu: 1, sigma: s.sigma, tau: s.tau),
                                                      threat: try ThreatModel(norm: .linf, eps: s.eps), beta: 6, w1: s.w1, w2: s.w2))
        }
        var lines = 0, declined = 0, samePattern = 0, clear = 0, kinks = 0, sameKinks = 0
        for (s, o) in zip(settings, outcomes) {
            let setting = "sigma \(s.sigma) tau \(s.tau) eps \(s.eps) W(\(s.w1), \(s.w2))"
            declined += o.declined
            for line in o.lines {
                lines += 1
                let continued = line.continued, certified = line.certified
                kinks += continued.kinks.count
                for (k, z2) in continued.kinks.enumerated() {
                    let u = line.su * z2
                    let d1 = line.c + u, d2 = line.c - u
                    let a = Self.kl(Self.vertices[continued.pattern[k]], d1, d2, line.e), b = Self.kl(Self.vertices[continued.pattern[k + 1]], d1, d2, line.e)
                    #expect(abs(a - b) <= 1e-12 * (1 + abs(d1) + abs(d2) + line.e), "\(setting) c \(line.c): kink \(z2) of \(continued), terms \(a) and \(b)")
                }
                if continued.pattern == certified.pattern {
                    samePattern += 1
                    if zip(continued.kinks, certified.kinks).allSatisfy({ abs($0 - $1) <= 1e-12 }) { sameKinks += 1 }
                }
                clear += Self.scanLabels(pattern: continued.pattern, kinks: continued.kinks, skipNear: continued.kinks + certified.kinks,
                                         c: line.c, su: line.su, e: line.e, points: 400) { z2 in
                    "\(setting) c \(line.c) z2 \(z2): continued \(continued), certified \(certified)"
                }
            }
        }
        // Not vacuous: many lines with kinks, most continued, most with the certified pattern
        // and kinks, many clear points.
        #expect(lines > 3000 && kinks > 3000 && lines >= 2 * declined, "\(lines) lines continued (\(declined) declined), \(kinks) kinks")
        #expect(samePattern * 10 >= lines * 9 && sameKinks * 2 >= lines, "\(samePattern) of \(lines) lines with the certified pattern, \(sameKinks) with its kinks")
        #expect(clear > 200_000, "\(clear) points with a clear winner")
    }

    /// The outer breaks located as roots of the event between two patterns
    /// (`PairObjective.locateEvents`): at each, the pattern from all 15 vertex differences (the
    /// independent reference of `innerPattern`) changes between 1e-7 before and 1e-7 after it;
    /// there are as many as the bisection finds, and the estimates agree within their bounds.
    /// (The bisection's breaks can be off the event: at a kink reaching z2 = 9 by up to 2.4e-7
    /// here.)
    @Test("breaks: located as event roots, the pattern changes there (+-1e-7, all 15 differences; 4 settings), as many as the bisection finds, estimates agree (6 settings, trades:1 and trades:6)")
    func eventBreaks() throws {
        let settings: [(beta: Double, sigma: Double, tau: Double, eps: Double, w1: Double, w2: Double)] = [
            (1, 0.5, 0, 0.3, 2.2777575, 1.3906931), (6, 0.5, 0, 0.3, 2.3, 1.4), (6, 1, 0.2, 0.3, 3.58, 7.16), (1, 0.25, 0, 0.49, 8, 0.5),
            (6, 1, 0, 0.35, 3, 6), (6, 1, 0.2, 0.49, 2.79, 1.11),
        ]
        let outcomes = try Parallel.map(settings) { s in
            let model = try DataModel.paper3(mu: 1, sigma: s.sigma, tau: s.tau)
            let threat = try ThreatModel(norm: .linf, eps: s.eps)
            let located = try #require(FastTradesAudit.breaks(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2))
            let flips = try located.map { b -> (Bool, String) in
                let delta = 1e-7 * max(1, abs(b))
                let before = try #require(FastTradesAudit.innerPattern(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2, z1: b - delta, allPairs: true))
                let after = try #require(FastTradesAudit.innerPattern(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2, z1: b + delta, allPairs: true))
                return (before.pattern != after.pattern, "\(before.pattern) \(before.kinks) -> \(after.pattern) \(after.kinks)")
            }
            return (located, flips,
                    try #require(FastTradesAudit.breaks(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2, bisected: true)),
                    try #require(FastTradesAudit.estimate(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2, tolerance: .infinity)),
                    try #require(FastTradesAudit.estimate(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2, tolerance: .infinity, bisectedBreaks: true)))
        }
        var breaks = 0, checked = 0
        for (s, (located, flips, bisected, value, reference)) in zip(settings, outcomes) {
            let label = "trades:\(s.beta) sigma \(s.sigma) tau \(s.tau) eps \(s.eps) W(\(s.w1), \(s.w2))"
            #expect(located.count == bisected.count, "\(label): breaks \(located) against bisected \(bisected)")
            // At W(3.58, 7.16) and W(3, 6) (w2 > w1, margin scales 7-8) far kinks between
            // vertices tied to rounding come and go along z1; both ways place breaks there (as
            // many), where the integrand is the same to rounding whichever vertex is taken.
            if s.w2 <= s.w1 {
                for (b, flip) in zip(located, flips) { #expect(flip.0, "\(label): no change of pattern at the break \(b): \(flip.1)") }
            }
            breaks += located.count
            if s.w2 <= s.w1 { checked += located.count }
            #expect(abs(value.value - reference.value) <= value.errorBound, "\(label): \(value.value) against \(reference.value) (bound \(value.errorBound))")
        }
        #expect(breaks >= 40 && checked >= 15, "\(breaks) breaks, \(checked) checked")
    }

    /// `FastTradesAudit.continued`'s outcome: the continued evaluation and the fresh one.
    typealias Continued = (continued: (value: Double, g1: Double, g2: Double, breaks: [Double]), replanned: Bool, freshPanels: Int,
                           fresh: (value: Double, g1: Double, g2: Double, breaks: [Double]))

    /// A continued evaluation equals the fresh one: the same breaks, the value to 1e-14 and the
    /// gradient to 1e-12.
    static func expectMatchesFresh(_ o: Continued, coarse: Bool, _ label: String) {
        #expect(o.continued.breaks.count == o.fresh.breaks.count, "\(label): breaks \(o.continued.breaks) against \(o.fresh.breaks)")
        // Event roots are located to 1e-12 (coarse: 1e-8); a break of no known event kind is
        // bisected, and placed where certified lines first resolve the change: within ~2e-9 of
        // the event here (1.85e-9 at trades:6, sigma 1, tau 0.2, eps 0.49, step 1e-2, where the
        // fresh plan's event root is 1.4e-9 from its own bisection), so 1e-8.
        let tolerance = coarse ? 1e-7 : 1e-8
        for (a, b) in zip(o.continued.breaks, o.fresh.breaks) { #expect(abs(a - b) <= tolerance * max(1, abs(b)), "\(label): break \(a) against \(b)") }
        #expect(abs(o.continued.value - o.fresh.value) <= 1e-14, "\(label): value \(o.continued.value) against \(o.fresh.value)")
        #expect(abs(o.continued.g1 - o.fresh.g1) <= 1e-12 && abs(o.continued.g2 - o.fresh.g2) <= 1e-12,
                "\(label): gradient (\(o.continued.g1), \(o.continued.g2)) against (\(o.fresh.g1), \(o.fresh.g2))")
    }

    /// An evaluation continued from a nearby one (the optimisers' steps: its breaks located
    /// again from there, `PairObjective.replan`) equals the same evaluated afresh: the same
    /// breaks (1e-8: a bisected break is placed to the certified lines' resolution) and value
    /// and gradient to rounding; and it is continued (not planned afresh) at the Newton steps'
    /// and the Hessian differences' distances.
    @Test("plan reuse: an evaluation continued from a nearby one equals a fresh one (breaks 1e-8, coarse rule 1e-7; value 1e-14, gradient 1e-12; steps 1e-6 to 1e-2, both rules)")
    func continuedPlan() throws {
        let settings: [(beta: Double, sigma: Double, tau: Double, eps: Double, w1: Double, w2: Double)] = [
            (1, 0.5, 0, 0.3, 2.2777575, 1.3906931), (6, 0.5, 0, 0.3, 0.5293, 0.3101), (6, 1, 0.2, 0.49, 2.79, 1.11), (1, 0.25, 0, 0.49, 8, 0.5),
        ]
        let steps = [(1e-6, 0.0), (0.0, 1e-6), (1e-3, -2e-3), (1e-2, 1e-2)]
        let cases = settings.flatMap { s in steps.flatMap { d in [false, true].map { (s, d, $0) } } }
        let outcomes = try Parallel.map(cases) { (s, d, coarse) in
            let model = try DataModel.paper3(mu: 1, sigma: s.sigma, tau: s.tau)
            let threat = try ThreatModel(norm: .linf, eps: s.eps)
            return try #require(FastTradesAudit.continued(model: model, threat: threat, beta: s.beta, from: (s.w1, s.w2),
                                                          to: (s.w1 * (1 + d.0), s.w2 * (1 + d.1)), coarse: coarse))
        }
        var replanned = 0
        for ((s, d, coarse), o) in zip(cases, outcomes) {
            let label = "trades:\(s.beta) sigma \(s.sigma) tau \(s.tau) eps \(s.eps) W(\(s.w1), \(s.w2)) step \(d) coarse \(coarse)"
            if o.replanned { replanned += 1 }
            Self.expectMatchesFresh(o, coarse: coarse, label)
        }
        // Not vacuous: the small steps are continued.
        #expect(replanned * 4 >= cases.count * 3, "\(replanned) of \(cases.count) continued")
    }

    /// The free-scale trades optimum at margin scales ~6 (eps 0.05: W(6.21, 5.75)), where a
    /// rough warm-up (the coarse rule on unsplit pieces) once left the working-rule Newton
    /// stalled for 60 iterations (4 minutes, not converged), and later stopped 1.5e-7 short of
    /// the working rule's stationary point (a step at F's rounding ended the search): it
    /// converges, to the
    /// minimiser found with the bisected breaks and fresh plans (efb513f: W(6.210533282709565,
    /// 5.75246582037841)) within the distance to which the working rule determines it there.
    /// The objective is flat at this scale (Hessian eigenvalues ~1e-3), so the gradient's
    /// quadrature error e moves the minimiser by up to ||H^-1|| e: that distance plus the
    /// Newton step left, |H^-1 g|, bounds where the exact minimiser is; the reference must lie
    /// within twice it, and it must be below 1e-8 |w| (the check is not vacuous).
    @Test("optimum: trades:6 at eps 0.05 (margin scales ~6) converges, to the reference minimiser within the distance its gradient's error allows")
    func largeScaleOptimum() throws {
        let model = try DataModel.paper3(), threat = try ThreatModel(norm: .linf, eps: 0.05)
        let o = try SymmetricOptimizer(model: model, threat: threat, objective: .trades(beta: 6), scale: .free).solve()
        #expect(o.converged, "\(o.notes)")
        let s = try #require(FastTradesAudit.stationarity(model: model, threat: threat, beta: 6, w1: o.w1, w2: o.w2))
        let h = s.hessian
        let det = h[0] * h[3] - h[1] * h[2]
        try #require(h[0] > 0 && det > 0, "Hessian \(h) not positive definite")
        let inverse = [h[3] / det, -h[1] / det, -h[2] / det, h[0] / det]
        let newton = (inverse[0] * s.gradient.0 + inverse[1] * s.gradient.1, inverse[2] * s.gradient.0 + inverse[3] * s.gradient.1)
        // ||H^-1||_2 = 1 / (smallest eigenvalue) for the symmetric positive definite H.
        let mean = 0.5 * (h[0] + h[3]), spread = (0.25 * (h[0] - h[3]) * (h[0] - h[3]) + h[1] * h[1]).squareRoot()
        let radius = (newton.0 * newton.0 + newton.1 * newton.1).squareRoot() + s.gradientError * 2.squareRoot() / (mean - spread)
        let distance = ((o.w1 - 6.210533282709565) * (o.w1 - 6.210533282709565) + (o.w2 - 5.75246582037841) * (o.w2 - 5.75246582037841)).squareRoot()
        #expect(distance <= 2 * radius, "W(\(o.w1), \(o.w2)): \(distance) from the reference, beyond twice \(radius)")
        #expect(radius <= 1e-8 * 8.47, "the minimiser is determined only to \(radius)")
    }

    /// The graded panels narrower than a quarter margin unit (left between the gradings of
    /// nearby centres), outer and inner, merge with their neighbours (`Panels.merged`): on the
    /// same rules, the value moves by rounding only, with 12 and with 24 points (measured with
    /// the inner merge alone: at most 1.8e-15 at |R| ~ 5.7; with 6 inner points, the coarse
    /// rule's, up to 1e-11). 5 settings from margin scale 1 to 27, both betas.
    @Test("panels: merging the narrowest graded panels (outer and inner) moves the value by rounding only (12 and 24 points; 3 settings, 5 in the slow tier)")
    func mergedPanels() throws {
        struct P: Sendable { var beta, sigma, tau, eps, w1, w2: Double }
        // The suite takes the margin scales' ends and one beta-1 setting; the slow tier all 5.
        let all = [P(beta: 6, sigma: 1, tau: 0.2, eps: 0.49, w1: 2.79, w2: 1.11), P(beta: 1, sigma: 0.5, tau: 0, eps: 0.3, w1: 2.2777, w2: 1.3907),
                   P(beta: 6, sigma: 0.5, tau: 0, eps: 0.05, w1: 6.2105, w2: 5.7525), P(beta: 6, sigma: 0.25, tau: 0, eps: 0.05, w1: 27.6, w2: 27.6),
                   P(beta: 1, sigma: 1.5, tau: 0, eps: 0.1, w1: 0.5, w2: 3)]
        let settings = SlowTier.enabled ? all : [all[1], all[3], all[4]]
        let outcomes = try Parallel.map(settings) { p -> [(Double, Double)?] in
            let model = try DataModel.paper3(mu: 1, sigma: p.sigma, tau: p.tau)
            let threat = try ThreatModel(norm: .linf, eps: p.eps)
            return [12, 24].map { n in
                guard let merged = FastTradesAudit.value(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2, outerSplits: 2, outerOrder: n, innerOrder: n),
                      let graded = FastTradesAudit.value(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2, outerSplits: 2, outerOrder: n, innerOrder: n,
                                                         gradedPanels: true) else { return nil }
                return (merged, graded)
            }
        }
        for (p, pairs) in zip(settings, outcomes) {
            for (n, pair) in zip([12, 24], pairs) {
                let (merged, graded) = try #require(pair, "\(p) declined")
                #expect(abs(merged - graded) <= 1e-14 * max(1, abs(graded)), "\(p), \(n) points: merged \(merged), graded \(graded)")
            }
        }
    }

    /// The certification's shortcuts (`tradesContinued`): the box bound of G_ab on an interval
    /// (no critical points solved where it is >= 0) never exceeds G_ab there, the vertex-term
    /// differences at the ends equal G_ab, and a vertex the terms find clearly best is `loss`'s
    /// label.
    @Test("certification shortcuts: the box bound is below G_ab on its interval (dense scan), end terms equal G_ab, a clearly best vertex is loss's label (4 settings, all 30 pairs)")
    func certificationShortcuts() throws {
        struct P: Sendable { var beta, sigma, tau, eps, w1, w2: Double }
        let settings = [P(beta: 1, sigma: 0.5, tau: 0, eps: 0.3, w1: 2.2777, w2: 1.3907), P(beta: 6, sigma: 1, tau: 0.2, eps: 0.49, w1: 2.79, w2: 1.11),
                        P(beta: 6, sigma: 0.5, tau: 0, eps: 0.05, w1: 6.2105, w2: 5.7525), P(beta: 1, sigma: 1.5, tau: 0, eps: 0.1, w1: 0.5, w2: 3)]
        var positive = 0, settled = 0, clear = 0
        for p in settings {
            let model = try DataModel.paper3(mu: 1, sigma: p.sigma, tau: p.tau)
            let threat = try ThreatModel(norm: .linf, eps: p.eps)
            let line = try #require(FastTradesAudit.innerPattern(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2, z1: 0))
            let top = 9 * line.su
            for z1 in stride(from: -3.0, through: 3.0, by: 1.5) {
                for (lo, hi) in [(0.0, 0.1 * top), (0.0, 0.5), (0.3, 1.2), (1, 4), (0.05 * top, 0.3 * top), (0.2 * top, top)] where hi > lo {
                    for a in 0..<6 {
                        for b in 0..<6 where b != a {
                            let r = try #require(FastTradesAudit.vertexBounds(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2, z1: z1,
                                                                             us: lo, ut: hi, a: a, b: b))
                            let box = try #require(r.box)
                            var lowest = Double.infinity
                            for k in 0...2000 { lowest = min(lowest, r.difference(lo + (hi - lo) * Double(k) / 2000)) }
                            let noise = 1e-13 * (1 + abs(lowest))
                            #expect(box <= lowest + noise, "\(p) z1 \(z1) [\(lo), \(hi)] (\(a), \(b)): box \(box) above the scanned minimum \(lowest)")
                            #expect(abs(r.atStart - r.difference(lo)) <= 1e-13 * (1 + abs(r.atStart)) && abs(r.atEnd - r.difference(hi)) <= 1e-13 * (1 + abs(r.atEnd)),
                                    "\(p) z1 \(z1) (\(a), \(b)): end terms \(r.atStart), \(r.atEnd) against \(r.difference(lo)), \(r.difference(hi))")
                            if r.clearlyBest {
                                clear += 1
                                #expect(r.label == a, "\(p) z1 \(z1) u \(lo): terms find \(a) clearly best, loss labels \(r.label)")
                            }
                            if lowest > 0 { positive += 1 }
                            if box >= 0 { settled += 1 }
                        }
                    }
                }
            }
        }
        // Not vacuous: the bound settles a share of the pairs with G_ab > 0 on the interval, and
        // some vertices are clearly best.
        #expect(settled * 10 >= positive, "box settled \(settled) of \(positive) pairs")
        #expect(clear > 0)
    }

    /// The written-out degree-6 Descartes count (`RealPolynomial.Fixed.signChangesDegree6`, every
    /// trades critical polynomial) equals the loops' count, which bounds the roots in the
    /// interval (found by a sign scan) with the same parity.
    @Test("Descartes counts: the written-out degree-6 count equals the loops' count and bounds the roots (same parity), 3000 random polynomials and intervals")
    func descartesCounts() throws {
        // SplitMix64: deterministic, so a failure reproduces from its trial.
        var state: UInt64 = 12
        func uniform() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(UInt64(1) << 53)
        }
        var withRoots = 0
        for trial in 0..<3000 {
            // Roots placed in (0.5, 4) for half the trials (so that counts above 0 occur), random
            // coefficients of mixed magnitude for the rest.
            var coefficients: [Double]
            if trial % 2 == 0 {
                coefficients = [uniform() < 0.5 ? -1 : 1]
                for _ in 0..<6 {
                    let root = 0.5 + 3.5 * uniform()
                    var next = [Double](repeating: 0, count: coefficients.count + 1)
                    for (k, c) in coefficients.enumerated() { next[k + 1] += c; next[k] -= root * c }
                    coefficients = next
                }
            } else {
                coefficients = (0..<7).map { _ in (uniform() - 0.5) * pow(10, 4 * uniform() - 2) }
            }
            let a = 0.3 + 2 * uniform(), b = a + 0.1 + 3 * uniform()
            let counts = FastTradesAudit.signChanges(coefficients, on: a, b)
            #expect(counts.written == counts.loops, "\(coefficients) on (\(a), \(b)): written \(String(describing: counts.written)), loops \(counts.loops)")
            func p(_ t: Double) -> Double { coefficients.reversed().reduce(0) { $0 * t + $1 } }
            var roots = 0
            var last = p(a)
            for k in 1...20000 {
                let v = p(a + (b - a) * Double(k) / 20000)
                if (v > 0) != (last > 0) && v != 0 && last != 0 { roots += 1 }
                if v != 0 { last = v }
            }
            if roots > 0 { withRoots += 1 }
            #expect(counts.loops >= roots && (counts.loops - roots) % 2 == 0, "\(coefficients) on (\(a), \(b)): \(counts.loops) sign changes, \(roots) roots")
        }
        #expect(withRoots > 300)
    }

    /// The long steps of the trades:1 optimum's coarse stage (paper3, eps 0.3), where pieces
    /// open or close near triple points between evaluations: the lost breaks' panels are planned
    /// afresh (`replan`) and the evaluation equals a fresh one.
    @Test("plan reuse across long steps: breaks lost near triple points are planned afresh in their panels only, and the evaluation equals a fresh one (breaks 1e-8, coarse 1e-7; value 1e-14, gradient 1e-12; the trades:1 optimum's path)")
    func partialReplan() throws {
        let path: [(Double, Double)] = [(2.015649436232441, 1.125841151130053), (2.2021317092628006, 1.2545615323679185),
                                        (2.2479559967637495, 1.3617950999432942), (2.2728519966816823, 1.3879051581442514),
                                        (2.2774767807376883, 1.3906795102463185)]
        let model = try DataModel.paper3()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let cases = (0..<(path.count - 1)).flatMap { k in [false, true].map { (k, $0) } }
        let outcomes = try Parallel.map(cases) { (k, coarse) in
            try #require(FastTradesAudit.continued(model: model, threat: threat, beta: 1, from: (path[k].0, path[k].1), to: (path[k + 1].0, path[k + 1].1),
                                                   coarse: coarse))
        }
        var partial = 0
        for ((k, coarse), o) in zip(cases, outcomes) {
            let label = "step \(k) coarse \(coarse)"
            if o.replanned && o.freshPanels > 0 { partial += 1 }
            Self.expectMatchesFresh(o, coarse: coarse, label)
        }
        // Not vacuous: some steps lose a break and plan only its panels afresh.
        #expect(partial >= 2, "\(partial) of \(cases.count) steps planned some panels afresh")
    }

    /// The Gaussian tails (|z| > 4, in z1 and in z2) take half the rules' order
    /// (`PairObjective.tailStart`): the estimate stays within its bound of the full-order one.
    @Test("tails: half-order rules beyond |z| = 4 give the full-order estimate within the reported bound (trades:1, trades:6; 4 settings)")
    func halvedTailRules() throws {
        let settings: [(beta: Double, sigma: Double, tau: Double, eps: Double, w1: Double, w2: Double)] = [
            (1, 0.5, 0, 0.3, 2.28, 1.39), (6, 1, 0.2, 0.49, 2.79, 1.11), (6, 0.5, 0, 0.1, 8, 7), (1, 0.25, 0, 0.49, 8, 0.5),
        ]
        let outcomes = try Parallel.map(settings) { s -> ((value: Double, errorBound: Double)?, (value: Double, errorBound: Double)?) in
            let model = try DataModel.paper3(mu: 1, sigma: s.sigma, tau: s.tau)
            let threat = try ThreatModel(norm: .linf, eps: s.eps)
            return (FastTradesAudit.estimate(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2),
                    FastTradesAudit.estimate(model: model, threat: threat, beta: s.beta, w1: s.w1, w2: s.w2, fullOrderTails: true))
        }
        for (s, (h, f)) in zip(settings, outcomes) {
            let label = "trades:\(s.beta) sigma \(s.sigma) tau \(s.tau) eps \(s.eps) W(\(s.w1), \(s.w2))"
            let halved = try #require(h, "\(label) declined"), full = try #require(f, "\(label) declined (full order)")
            #expect(abs(halved.value - full.value) <= halved.errorBound, "\(label): halved tails \(halved.value) (+- \(halved.errorBound)), full order \(full.value)")
            #expect(halved.errorBound <= 1e-10, "\(label): bound \(halved.errorBound)")
        }
    }

    /// Tests/Fixtures/trades_reference.json (Tests/Fixtures/scripts/trades_reference.py: scipy
    /// adaptive quad of adaptive quad between certified kinks).
    struct ScipyCase: Decodable {
        var beta, sigma, tau, eps, w1, w2, value, quadError: Double
    }

    /// The suite checks the five fixture cases with w2 <= w1 and sigma (w1 + w2) <= 10.5
    /// (including the one where the reference path is off by 2.5e-8; 5 s together); the other
    /// three (margin scales 9-25, w2 > w1 in one) cost 4-7 s each and run with
    /// CCSIM_SLOW_TESTS=1 (scripts/slow-tests).
    @Test("value: the fast trades estimate equals independent scipy values within its error bound, and to 1e-10 (beta 1 and 6; 5 cases, all 8 with CCSIM_SLOW_TESTS=1)")
    func valueAgainstScipy() throws {
        let all = try Fixtures.cases("trades_reference.json", of: ScipyCase.self)
        #expect(all.count == 8)
        let cases = SlowTier.enabled ? all : all.filter { $0.w2 <= $0.w1 && $0.sigma * ($0.w1 + $0.w2) <= 10.5 }
        #expect(cases.count == (SlowTier.enabled ? 8 : 5))
        let outcomes = try Parallel.map(cases) { c -> Estimate in
            let model = try DataModel.paper3(mu: 1, sigma: c.sigma, tau: c.tau)
            return try RobustObjective(model: model, threat: try ThreatModel(norm: .linf, eps: c.eps), objective: .trades(beta: c.beta), tolerance: 1e-10)
                .evaluate(w1: c.w1, w2: c.w2)
        }
        for (c, f) in zip(cases, outcomes) {
            let label = "trades:\(c.beta) sigma \(c.sigma) tau \(c.tau) eps \(c.eps) W(\(c.w1), \(c.w2))"
            #expect(f.method == Estimate.Method.gaussLegendre2D && f.converged, "\(label): \(f)")
            let difference = abs(f.value - c.value)
            // scipy's outer quad asked for 1e-12 absolute and reports its own estimate.
            #expect(difference <= f.errorBound + c.quadError + 1e-12, "\(label): fast \(f.value) (+- \(f.errorBound)) scipy \(c.value) (+- \(c.quadError))")
            #expect(difference <= 1e-10, "\(label): fast \(f.value) scipy \(c.value)")
        }
    }

    /// The adaptive reference path was 2.6e-8 below scipy on these cases while reporting
    /// 2.4e-11 (its label scans stepped over thin pieces); with scan cells of 0.01 margin units
    /// (GaussianExpectation.tradesScanCellWidth) it is within its own bound.
    @Test("value: the adaptive reference path equals the scipy values within its reported error bound (5 cases; all 8 with CCSIM_SLOW_TESTS=1)")
    func referenceAgainstScipy() throws {
        let all = try Fixtures.cases("trades_reference.json", of: ScipyCase.self)
        let cases = SlowTier.enabled ? all : all.filter { $0.w2 <= $0.w1 && $0.sigma * ($0.w1 + $0.w2) <= 10.5 }
        let outcomes = try Parallel.map(cases) { c -> Estimate in
            let model = try DataModel.paper3(mu: 1, sigma: c.sigma, tau: c.tau)
            var reference = RobustObjective(model: model, threat: try ThreatModel(norm: .linf, eps: c.eps), objective: .trades(beta: c.beta), tolerance: 1e-10)
            reference.method = .reference
            return try reference.evaluate(w1: c.w1, w2: c.w2)
        }
        for (c, r) in zip(cases, outcomes) {
            let label = "trades:\(c.beta) sigma \(c.sigma) tau \(c.tau) eps \(c.eps) W(\(c.w1), \(c.w2))"
            #expect(r.method != Estimate.Method.gaussLegendre2D && r.converged, "\(label): \(r)")
            #expect(abs(r.value - c.value) <= r.errorBound + c.quadError + 1e-12, "\(label): reference \(r.value) (+- \(r.errorBound)) scipy \(c.value) (+- \(c.quadError))")
        }
    }

    /// Where the halved pieces' bound shows the outer rule's error rather than rounding.
    static let outerErrorFloor = 1e-12

    /// The converged evaluation: 8 sub-pieces with the 24-point outer rule (twice the estimate's
    /// sub-pieces; at sigma = mu, tau 0.2, eps 0.49, W(2.79, 1.11) this setting is within 1e-13
    /// of 8 x 64 points) and the 12-point inner rule (its share is below 1e-14 there).
    /// The suite runs sigma = mu, tau 0.2 (the larger bounds), eps 0.49, at w2/w1 0 and 0.4;
    /// CCSIM_SLOW_TESTS=1 adds eps 0.05, sigma = mu/4 and w2/w1 = 2 (20 s more).
    @Test("error bound: covers the error against a converged evaluation (8 sub-pieces, 24-point outer rule), on the halved and on the quartered pieces, at margin scale 3, trades:6, sigma = mu, tau 0.2, eps 0.49, w2/w1 0 and 0.4 (a larger grid with CCSIM_SLOW_TESTS=1)")
    func boundCoversError() throws {
        struct Point: Sendable { var beta, sigma, tau, eps, w1, w2: Double }
        var points: [Point] = []
        let settings: [(Double, Double)] = SlowTier.enabled ? [(0.25, 0.0), (1.0, 0.2)] : [(1.0, 0.2)]
        for beta in [6.0] {
            for (sigma, tau) in settings {
                for eps in SlowTier.enabled ? [0.05, 0.49] : [0.49] {
                    for scale in [3.0] {
                        for ratio in SlowTier.enabled ? [0.0, 0.4, 2.0] : [0.0, 0.4] {
                            let w1 = scale / (1 + ratio * ratio).squareRoot()
                            points.append(Point(beta: beta, sigma: sigma, tau: tau, eps: eps, w1: w1, w2: ratio * w1))
                        }
                    }
                }
            }
        }
        let outcomes = try Parallel.map(points) { p -> ((value: Double, errorBound: Double)?, (value: Double, errorBound: Double)?, Double?) in
            let model = try DataModel.paper3(mu: 1, sigma: p.sigma, tau: p.tau)
            let threat = try ThreatModel(norm: .linf, eps: p.eps)
            return (FastTradesAudit.estimate(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2),
                    FastTradesAudit.estimate(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2, tolerance: .infinity),
                    FastTradesAudit.value(model: model, threat: threat, beta: p.beta, w1: p.w1, w2: p.w2, outerSplits: 8, outerOrder: 24, innerOrder: 12))
        }
        for (p, (estimate, halved, converged)) in zip(points, outcomes) {
            let label = "trades:\(p.beta) sigma \(p.sigma) tau \(p.tau) eps \(p.eps) W(\(p.w1), \(p.w2))"
            let e = try #require(estimate, "\(label) declined")
            let h = try #require(halved, "\(label) declined")
            let c = try #require(converged)
            #expect(abs(e.value - c) <= e.errorBound, "\(label): estimate \(e.value) (+- \(e.errorBound)) converged \(c)")
            #expect(e.errorBound <= 1e-10, "\(label): bound \(e.errorBound)")
            // The first stage (the optimisers' halved pieces), taken whatever its bound: the
            // bound still covers its error, and where the outer rule's error shows in it (above
            // 1e-12) it is the larger one (else the stage is moot). Below that both bounds are
            // the rounding term and the inner rule's share, which more outer pieces do not
            // reduce (measured: 1.15e-14 against 1.16e-14, 1.5e-13 against 2.2e-13).
            #expect(abs(h.value - c) <= h.errorBound, "\(label): halved pieces \(h.value) (+- \(h.errorBound)) converged \(c)")
            if h.errorBound > Self.outerErrorFloor {
                #expect(h.errorBound >= e.errorBound, "\(label): halved bound \(h.errorBound) against \(e.errorBound)")
            }
        }
        // The comparison is not vacuous: the suite's points (eps 0.49, sigma = mu) are above the floor.
        let compared = zip(points, outcomes).filter { p, o in p.eps == 0.49 && p.sigma == 1 && (o.1?.errorBound ?? 0) > Self.outerErrorFloor }
        #expect(compared.count >= 2, "halved bounds above \(Self.outerErrorFloor): \(outcomes.map { $0.1?.errorBound ?? .nan })")
        #expect(points.count == (SlowTier.enabled ? 12 : 2))
    }

    @Test("l_inf trades at a general W of a tau = 0.1 model with unequal means: the polygon's windows of kink structure are found by its third-best vertex, and the fixed rules meet 1e-10 and equal the reference path (one v panel's rules differed by 8.4e-6 before, 2.1e-8 after refinement)")
    func polygonWindows() throws {
        let membership = [[1, 0, 0, 1, 0, 1], [0, 1, 0, 1, 1, 0], [0, 0, 1, 0, 1, 1]].map { $0.map { $0 == 1 } }
        let model = try DataModel(name: "tau", membership: membership, mu: [1, 1.2, 0.8, 1, 1, 1], sigma: [Double](repeating: 0.5, count: 6), tau: 0.1)
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        // Near this model's full-W trades:1 optimum (where the Newton of stop 40 stopped).
        let rows = [[2.232261183503485, -0.0722385425951791, -1.213088364455802, 1.0200138350071193, -1.6444136139815038, -0.15683206706311198],
                    [-0.09691365887803513, 2.7612753425065435, -1.275599663249356, 0.8702396177895272, -0.2859989601331883, -1.9695367110525677],
                    [0, 0, 0, 0, 0, 0.0]]
        let w = Matrix(rows: 3, columns: 6, storage: rows.flatMap { $0 })
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        let fast = try #require(engine.estimate(w))
        #expect(fast.errorBound <= 1e-10, "error bound \(fast.errorBound)")
        var reference = RobustObjective(model: model, threat: threat, objective: .trades(beta: 1))
        reference.method = .reference
        let r = try reference.evaluate(LinearClassifier(weights: w))
        #expect(abs(fast.value - r.value) <= fast.errorBound + r.errorBound, "fast \(fast.value) reference \(r.value) (\(r.errorBound))")
    }

    @Test("l_inf inner maximum: screening the polygon's vertices (two exponentials a node and a lower bound on log(1 + x) without a logarithm) gives the same bits as evaluating every vertex -- value, maximising vertex and flat flag -- on 4000 random rows, budgets and margins, with nearly parallel and repeated columns (ties to rounding), tiny budgets (flat polygons) and margins beyond the screen's range; the softmaxes it hands the integration equal the clean and the best vertex's shifted margins' softmax computed here")
    func screenedVertices() throws {
        var rng = FastL2LSTests.Uniform(state: 0x2545F4914F6CDD1D)
        var cases = 0, flat = 0, close = 0, softmaxChecks = 0
        for case_ in 0..<4000 {
            let n = 2 + case_ % 5
            let first = (0..<n).map { _ in -2 + 4 * rng.next() }
            var second = (0..<n).map { _ in -2 + 4 * rng.next() }
            switch case_ % 4 {
            case 1: second = first.map { $0 + 1e-9 * rng.next() }              // d1 - d2 nearly constant
            case 2: second[n - 1] = second[0]; second[n - 2] = second[0]     // repeated entries
            default: break
            }
            let eps = case_ % 50 == 7 ? 1e-15 : 0.01 + 0.8 * rng.next()
            guard let a = LinfGeneralInnerMaximum(rows: [first, second], eps: eps, tradesBeta: 1, screened: true),
                  let b = LinfGeneralInnerMaximum(rows: [first, second], eps: eps, tradesBeta: 1, screened: false) else { continue }
            for _ in 0..<4 {
                let wide = case_ % 10 == 3 ? 400.0 : 10.0
                let q = wide * (-1 + 2 * rng.next()), r = 6 * (-1 + 2 * rng.next())
                let x = try #require(a.maximum(q: q, r: r)), y = try #require(b.maximum(q: q, r: r))
                let same = x.value.bitPattern == y.value.bitPattern && x.angle == y.angle && x.flat == y.flat
                // The softmaxes, against ce = log(1 + e^{-m1} + e^{-m2}), p_k = e^{-m_k} / (1 + e^{-m1} + e^{-m2}).
                if wide < 100, let s = a.softmaxes(q: q, r: r) {
                    let (d1, d2) = a.margins(q: q, r: r), (v1, v2) = a.shift(angle: x.angle)
                    for (got, m) in [(s.clean, (d1, d2)), (s.shifted, (d1 + v1, d2 + v2))] {
                        // Scaled by e^{-top}, top = max(0, -m1, -m2) (margins reach -6e9 here).
                        let top = max(0, -m.0, -m.1)
                        let sum = exp(-top) + exp(-m.0 - top) + exp(-m.1 - top)
                        let want = (top + log(sum), exp(-m.0 - top) / sum, exp(-m.1 - top) / sum)
                        let close = abs(got.0 - want.0) <= 1e-13 * (1 + abs(want.0)) && abs(got.1 - want.1) <= 1e-13 && abs(got.2 - want.2) <= 1e-13
                        #expect(close, "case \(case_): softmax \(got) against \(want) at margins \(m)")
                    }
                    softmaxChecks += 1
                }
                #expect(same,
                        "case \(case_) (rows \(first), \(second), eps \(eps), q \(q), r \(r)): screened \(x), every vertex \(y)")
                cases += 1
                if y.flat { flat += 1 }
            }
            close += a.vertexCount >= 4 ? 1 : 0
        }
        #expect(cases >= 12000 && flat >= 100 && close >= 1000 && softmaxChecks >= 10000,
                "\(cases) cases, \(flat) flat, \(close) with 4 or more vertices, \(softmaxChecks) softmaxes")
    }

    /// 16 s on one core: in the slow tier.
    @Test("Full W, trades:1, on a model whose classes all have their two margins equal at the symmetric start (m0 of bench/exact.py, l_inf eps 0.3; the fixed rules decline that start, and the simplex on values ran over 20 minutes): Newton from 1e-3 |x| off the start converges to a local minimum 0.06 below the symmetric optimum; R rises along 8 directions and every free entry both ways (slow)",
          .enabled(if: SlowTier.enabled))
    func declinedStart() throws {
        let model = try BundleNewtonTests.m0()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1))
        #expect(full.converged && full.method == .fast, "\(full.notes)")
        #expect(full.notes.first?.contains("decline the symmetric start") == true, "\(full.notes)")
        let gap = try #require(full.optimalityGap), bound = try #require(full.errorBound)
        #expect(full.value < full.symmetricValue - 0.05 && gap <= 1e-10, "\(full.value) against \(full.symmetricValue), gap \(gap)")
        // Independently of the optimiser's gradients and Hessian: values (one rule) rise from the
        // point along 8 directions and along every free entry both ways.
        let w = full.classifier.weights
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        let at = try #require(engine.evaluate(w))
        #expect(abs(at.value - full.value) <= 1e-9 + bound, "\(at.value) against \(full.value)")
        for (u, rise) in try randomDirectionRises(at: w, count: 8, seed: 5, step: 1e-3, { engine.evaluate($0)?.value }) {
            #expect(rise > 1e-9, "direction \(u): \(rise)")
        }
        for (entry, rise) in try freeEntryRises(engine, at: w, step: 1e-3).rises { #expect(rise > 1e-9, "entry \(entry): \(rise)") }
    }

    /// 8 s on one core (the whole r1 run): in the slow tier.
    @Test("Full W, trades:1, a random 3-class model whose optimum has a small curvature (smallest eigenvalue 1.1e-3) that the coarse rule's Hessian misses (indefinite there): the working rule's Hessian certifies the minimum; R rises along 8 directions (slow)",
          .enabled(if: SlowTier.enabled))
    func smallCurvature() throws {
        let model = try DataModel(name: "r1", membership: [[true, true, false], [false, true, true], [true, false, false]], mu: [1.42, 0.84, 1.22], sigma: [0.48, 0.41, 0.38])
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1))
        #expect(full.converged && full.method == .fast, "\(full.notes)")
        let gap = try #require(full.optimalityGap)
        #expect(full.value < full.symmetricValue - 0.05 && gap <= 1e-10, "\(full.value) against \(full.symmetricValue), gap \(gap)")
        let w = full.classifier.weights
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        for (u, rise) in try randomDirectionRises(at: w, count: 8, seed: 7, step: 1e-2, { engine.evaluate($0)?.value }) {
            #expect(rise > 1e-9, "direction \(u): \(rise)")
        }
    }

    /// 12 s of CPU (the whole q0 run under l_inf; 60 s before stop 66, 22 s before stop 73): in the slow tier.
    /// bench/run --random runs the same optimum end to end, and the suite holds a column nearly
    /// tied from where Newton stalled in `TiedFeatureTests`.
    @Test("Full W, trades:1, a random 3-class model whose feature 3 (class 2's alone) has its column vanish at the optimum: held at 0 on the wide v panels it ends below the run over all entries but NOT converged (the wide rule's noise), and held on the fine panels from there it converges, the tie certified, below the stalled point; R rises along 4 directions (slow)",
          .enabled(if: SlowTier.enabled))
    func nearlyTiedOnTheFinePanels() throws {
        let model = try FinerPanelsTests.q0()
        let threat = try ThreatModel(norm: .linf, eps: 0.3)
        let full = try FullOptimizer.solve(model: model, threat: threat, objective: .trades(beta: 1))
        #expect(full.converged && full.method == .fast, "\(full.notes)")
        // Before stop 66 the fine panels' run over all entries (24 s) came back to the tie first.
        #expect(full.notes.contains { $0.contains("feature 3 nearly tied; held tied there it ended below that") && $0.contains("held tied on the fine panels") }, "\(full.notes)")
        // Before stop 73 Newton over all entries first continued on the wide panels from its
        // stall (13 iterations back beside the tie, where held once more it ended NOT converged
        // again): 34 iterations in all, against 20 at stop 73.
        #expect(full.iterations <= 25, "\(full.iterations) iterations: \(full.notes)")
        let w = full.classifier.weights
        #expect((0..<3).allSatisfy { w[$0, 3] == w[2, 3] }, "feature 3's column: \((0..<3).map { w[$0, 3] })")
        // The value before stop 66 (the same optimum): 0.49663822571305927, bound 4.1e-12.
        let bound = try #require(full.errorBound)
        #expect(abs(full.value - 0.49663822571305927) < 1e-10 + bound, "\(full.value) +- \(bound)")
        // Where Newton stalled before (NOT converged): 0.4966850344162285.
        #expect(full.value < 0.4966850344162285 - 4e-5, "\(full.value)")
        let engine = try #require(LinearPairCE(model: model, threat: threat, objective: .trades(beta: 1)))
        for (u, rise) in try randomDirectionRises(at: w, count: 4, seed: 11, step: 1e-2, { engine.evaluate($0)?.value }) {
            #expect(rise > 1e-9, "direction \(u): \(rise)")
        }
    }

    /// 6 s on one core (a trades optimum and the reference path's values around it): in the slow
    /// tier; the suite keeps the face's certificate in HonestErrorTests.
    @Test("trades: where Newton stops at the face w1 = 0 but F falls into the family there, Newton runs again from beside the face and converges inside, below the face, with F rising around it (slow)",
          .enabled(if: SlowTier.enabled))
    func restartBesideTheFace() throws {
        // Before: NOT converged on the face (w2 = 20.77, dF/dw1(0+) = -7.1e-5 beyond its error).
        let model = try DataModel.complementThree(name: "weak-exclusive-sharp", exclusiveMean: 0.3, crossMean: 1.2, sigma: 0.3)
        let threat = try ThreatModel(norm: .linf, eps: 0.1)
        let o = try SymmetricOptimizer(model: model, threat: threat, objective: .trades(beta: 1)).solve()
        #expect(o.converged && o.w1 > 1 && !o.onExclusiveFace, "\(o)")
        let evaluator = RobustObjective(model: model, threat: threat, objective: .trades(beta: 1), tolerance: 1e-12)
        let face = try evaluator.evaluate(w1: 0, w2: 20.773365876829935).value
        #expect(o.value < face - 4e-5, "\(o.value) against the face's \(face)")
        for (d1, d2) in [(0.05, 0.0), (-0.05, 0.0), (0.0, 0.5), (0.0, -0.5), (0.05, 0.5), (-0.05, -0.5)] {
            let f = try evaluator.evaluate(w1: o.w1 + d1, w2: o.w2 + d2).value
            #expect(f > o.value, "F rises by \(f - o.value) at (\(d1), \(d2))")
        }
    }
}

import CrossClassCore
import Foundation
import TestSupport
import Testing

/// The v panels' layout is a function of W that must not flip with its last bits: the graded
/// gaps around a class's centre are 2, 6 and 18 margin units against a widest panel of 3 (the
/// wide panels) or 0.3 (the fine ones), whole numbers of widths, and ceil of the rounded
/// quotient gave n or n + 1 panels by rounding. On r1 of bench/ANALYSIS.md stop 70 (trades:1
/// under l_2) two points 2e-9 apart in W had 27 and 30 panels for class 0 and wide working values
/// 9.6e-9 apart, and Newton hopped between them (8 of 24 evaluations).
@Suite("v panels' layout continuous in W")
struct PanelLayoutTests {
    static func r1() throws -> DataModel {
        try DataModel(name: "r1", membership: [[true, true, false], [false, true, true], [true, false, false]],
                      mu: [1.42, 0.84, 1.22], sigma: [0.48, 0.41, 0.38])
    }

    /// Two of r1's wide-run points (stop 70), 2e-9 apart in W.
    static let points: [[Double]] = [
        [-0.8599280030249614, 3.828416102069148, -0.07628782434641496, -7.244705560834387, 3.793099301743461, 7.251133899044937],
        [-0.8599280051312825, 3.828416073245796, -0.07628782162813419, -7.244705568862266, 3.793099273336607, 7.251133915082697],
    ]

    static func matrix(_ x: [Double]) -> Matrix { Matrix(rows: 3, columns: 3, storage: x + [0, 0, 0]) }

    @Test("r1 under l_2 (trades:1): at two points 2e-9 apart in W the wide and the fine v panels' working rules agree to 1e-12 (R itself changes by under 1e-14 between them); before stop 70 the wide rule's values were 9.6e-9 apart")
    func twoPointsAgree() throws {
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        var wide = try #require(LinearPairCE(model: try Self.r1(), threat: threat, objective: .trades(beta: 1)))
        wide.parallel = true
        var fine = wide
        fine.vWidth = LinearPairCE.fineVWidth
        for engine in [wide, fine] {
            let a = try #require(engine.evaluate(Self.matrix(Self.points[0])))
            let b = try #require(engine.evaluate(Self.matrix(Self.points[1])))
            #expect(abs(a.value - b.value) <= 1e-12, "v width \(engine.vWidth): \(a.value) vs \(b.value)")
        }
    }

    @Test("r1 under l_2 (trades:1): along 24 steps of at most 7.3e-13 in each entry (a few ulps) from one of its wide-run points, the wide working rule's value moves by at most 1e-13 from step to step, never by a panel's jump (before stop 70: 6 jumps)")
    func noJumpsAlongALine() throws {
        let threat = try ThreatModel(norm: .l2, eps: 0.3)
        var wide = try #require(LinearPairCE(model: try Self.r1(), threat: threat, objective: .trades(beta: 1)))
        wide.parallel = true
        let x0 = Self.points[1]
        let direction = x0.indices.map { sin(Double($0) + 0.7) }
        var previous: Double? = nil
        for k in 0..<24 {
            let x = zip(x0, direction).map { $0 + Double(k) * 1e-13 * 7.3 * $1 }
            let value = try #require(wide.evaluate(Self.matrix(x))).value
            if let previous { #expect(abs(value - previous) <= 1e-13, "step \(k): \(previous) -> \(value)") }
            previous = value
        }
    }
}

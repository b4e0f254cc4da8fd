import CrossClass
import Foundation
import GSL
import TestSupport
import Testing

/// The numerical-range policy: model parameters from 1e-300 to 1e300, through model files;
/// each is either refused up front (naming the range) or gives the closed-form answer.
@Suite("Verified parameter ranges")
struct RangeTests {
    static let magnitudes: [Double] = [1e-300, 1e-100, 1e-31, 1e-30, 1e-8, 1, 1e8, 1e30, 1e31, 1e100, 1e300]

    static func model(mu: Double, sigma: Double, tau: Double = 0) throws -> DataModel {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ccsim-range-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("m.json")
        let text = """
            {"membership": [[1,0,0,0,1,1],[0,1,0,1,0,1],[0,0,1,1,1,0]], "mu": \(mu), "sigma": [\(Array(repeating: "\(sigma)", count: 6).joined(separator: ","))], "tau": \(tau)}
            """
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try ModelFile.load(path: file.path)
    }

    static func inRange(_ v: Double) -> Bool { v >= 1e-30 && v <= 1e30 }

    @Test("mu and sigma from 1e-300 to 1e300: refused outside [1e-30, 1e30], closed form inside",
          arguments: magnitudes)
    func muSigma(value: Double) throws {
        for (mu, sigma) in [(value, value * 0.5), (value, 1.0), (1.0, value)] {
            guard Self.inRange(mu), Self.inRange(sigma) else {
                #expect {
                    _ = try Self.model(mu: mu, sigma: sigma)
                } throws: { error in
                    (error as? InputError)?.message.contains("[1e-30, 1e30]") == true
                }
                continue
            }
            let m = try Self.model(mu: mu, sigma: sigma)
            let eps = 0.1 * mu
            let ra = try RobustAccuracy.symmetric(model: m, w1: 1, w2: 0, threat: ThreatModel(norm: .linf, eps: eps))
            let closed = Normal.cdf((mu - 2 * eps) / sigma)
            #expect(ra.converged && abs(ra.value - closed) < 1e-9, "mu \(mu) sigma \(sigma): \(ra.value) vs \(closed)")
            // With the cross-class weight, the exact value stays a probability and is finite.
            let withCross = try RobustAccuracy.symmetric(model: m, w1: 1, w2: 0.5, threat: ThreatModel(norm: .linf, eps: eps))
            #expect(withCross.value.isFinite && withCross.value >= 0 && withCross.value <= 1, "\(withCross.value)")
        }
    }

    @Test("tau from 1e-300 to 1e300: refused outside the range, accepted (and finite) inside", arguments: magnitudes)
    func tau(value: Double) throws {
        guard Self.inRange(value) else {
            #expect(throws: InputError.self) { _ = try Self.model(mu: 1, sigma: 0.5, tau: value) }
            return
        }
        let m = try Self.model(mu: 1, sigma: 0.5, tau: value)
        let ra = try RobustAccuracy.general(model: m, classifier: .symmetric(model: m, w1: 1, w2: 0.5), threat: ThreatModel(norm: .linf, eps: 0.1))
        #expect(ra.value.isFinite && ra.value >= 0 && ra.value <= 1)
    }
}

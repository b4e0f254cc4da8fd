import CrossClassCore
import Foundation
import GSL
import TestSupport
import Testing

@Suite("Trainer")
struct TrainerTests {
    static func network(_ arch: Network.Architecture, seed: UInt64) -> Network {
        var n = Network(architecture: arch, inputs: 6, hidden: 5, classes: 3, useBias: true)
        n.initialise(random: RandomSource(seed: seed))
        // Non-trivial weights so that every ReLU pattern and margin is exercised.
        for i in n.parameters.indices { n.parameters[i] *= 3 }
        return n
    }

    @Test("parameter gradients of every loss match finite differences, both architectures",
          arguments: [Network.Architecture.linear, .twoLayer])
    func gradients(arch: Network.Architecture) throws {
        let model = try DataModel.paper3()
        let data = Sampler(model: model).sample(count: 7, random: RandomSource(seed: 3))
        let x = data.inputs.storage
        let rng = RandomSource(seed: 4)
        let adv = x.map { $0 + 0.2 * (2 * rng.uniform() - 1) }
        let teacher = Self.network(.linear, seed: 9)
        let ws = Workspace(network: Self.network(arch, seed: 1), batch: 16)
        x.withUnsafeBufferPointer { teacher.forward($0.baseAddress!, count: 7, ws) }
        let teacherLogits = Array(ws.logits[0..<21])
        for loss in [TrainingLoss.ce, .ls(alpha: 0.2), .kd(temperature: 3, weight: 0.7), .trades(beta: 2), .hinge(kappa: 2)] {
            let net = Self.network(arch, seed: 1)
            let (_, g) = BatchObjective.evaluate(network: net, loss: loss, clean: x, adversarial: adv, labels: data.labels,
                                                 teacherLogits: teacherLogits, workspace: ws)
            func f(_ p: [Double]) -> Double {
                var m = net
                m.parameters = p
                let (l, _) = BatchObjective.evaluate(network: m, loss: loss, clean: x, adversarial: adv, labels: data.labels,
                                                     teacherLogits: teacherLogits, workspace: ws)
                return l.reduce(0, +) / Double(l.count)
            }
            var worst = 0.0
            for i in net.parameters.indices {
                let h = 1e-6
                var p = net.parameters, q = net.parameters
                p[i] += h; q[i] -= h
                let fd = (f(p) - f(q)) / (2 * h)
                worst = max(worst, abs(fd - g[i]))
            }
            #expect(worst < 1e-6, "\(arch) \(loss): largest gradient error \(worst)")
        }
    }

    @Test("input gradients (used by PGD) match finite differences", arguments: [Network.Architecture.linear, .twoLayer])
    func inputGradients(arch: Network.Architecture) throws {
        let net = Self.network(arch, seed: 2)
        let x: [Double] = [0.3, -0.2, 1.1, 0.5, 0.9, -0.4, 1.0, 0.1, 0.2, 0.7, -0.3, 0.8]
        let ws = Workspace(network: net, batch: 2)
        let dz: [Double] = [0.5, -1, 0.25, -0.3, 0.6, 0.1]
        var gx = [Double](repeating: 0, count: 12)
        x.withUnsafeBufferPointer { xp in
            net.forward(xp.baseAddress!, count: 2, ws)
            net.backward(xp.baseAddress!, count: 2, dLogits: dz, ws, gradient: nil, inputGradient: &gx)
        }
        func f(_ v: [Double]) -> Double {
            v.withUnsafeBufferPointer { net.forward($0.baseAddress!, count: 2, ws) }
            return (0..<6).reduce(0) { $0 + dz[$1] * ws.logits[$1] }
        }
        for i in 0..<12 {
            var a = x, b = x
            a[i] += 1e-6; b[i] -= 1e-6
            #expect(abs((f(a) - f(b)) / 2e-6 - gx[i]) < 1e-6)
        }
    }

    @Test("PGD on a linear model reaches the exact inner maximum (box-vertex brute force)", arguments: [0.0, 0.3])
    func pgdReachesExactMaximum(noise: Double) throws {
        let model = try DataModel.paper3()
        let data = Sampler(model: model).sample(count: 200, random: RandomSource(seed: 5))
        var net = Network(architecture: .linear, inputs: 6, hidden: 0, classes: 3, useBias: false)
        let w = LinearClassifier.symmetric(model: model, w1: 2, w2: 1.2).weights
        let rng = RandomSource(seed: 6)
        for i in 0..<18 { net.parameters[i] = w.storage[i] + noise * rng.gaussian() }
        let eps = 0.25
        let ws = Workspace(network: net, batch: 200)
        let q = data.labels.flatMap { y in (0..<3).map { $0 == y ? 1.0 : 0.0 } }
        // The symmetric family has a componentwise-lowest vertex, which one PGD run finds; a
        // perturbed W can have several local maxima on the box, hence restarts.
        let attack = AttackConfiguration(norm: .linf, eps: eps, steps: 20, randomStart: true, restarts: noise == 0 ? 1 : 10)
        let result = PGD(attack).attack(network: net, inputs: data.inputs.storage, count: 200, objective: .softTargets(q),
                                        workspace: ws, random: RandomSource(seed: 7))
        var worst = 0.0
        for s in 0..<200 {
            let x = Array(data.inputs.row(s)), y = data.labels[s]
            var best = -Double.infinity
            for mask in 0..<64 {
                let xp = (0..<6).map { x[$0] + ((mask >> $0) & 1 == 1 ? eps : -eps) }
                var z = [0.0, 0.0, 0.0]
                for c in 0..<3 { for j in 0..<6 { z[c] += net.parameters[c * 6 + j] * xp[j] } }
                let top = z.max()!
                best = max(best, top + log(z.reduce(0) { $0 + exp($1 - top) }) - z[y])
            }
            worst = max(worst, best - result.losses[s])
            // Every iterate stays in the ball.
            for j in 0..<6 { #expect(abs(result.inputs[s * 6 + j] - x[j]) <= eps + 1e-12) }
        }
        #expect(worst < 1e-9, "PGD (noise \(noise)) falls short of the exact inner maximum by \(worst)")
    }

    @Test("l2 random start is uniform in the ball: radius distribution eps * U^(1/d)")
    func l2RandomStart() throws {
        var net = Network(architecture: .linear, inputs: 6, hidden: 0, classes: 3, useBias: false)
        net.parameters = [Double](repeating: 0, count: net.parameters.count)
        let n = 4000
        let x = [Double](repeating: 0, count: n * 6)
        let ws = Workspace(network: net, batch: n)
        let attack = AttackConfiguration(norm: .l2, eps: 0.5, steps: 0, randomStart: true)
        let q = [Double](repeating: 1.0 / 3, count: n * 3)
        let r = PGD(attack).attack(network: net, inputs: x, count: n, objective: .softTargets(q), workspace: ws, random: RandomSource(seed: 8))
        var radii: [Double] = []
        for i in 0..<n {
            var s = 0.0
            for j in 0..<6 { s += r.inputs[i * 6 + j] * r.inputs[i * 6 + j] }
            radii.append(s.squareRoot())
        }
        #expect(radii.allSatisfy { $0 <= 0.5 + 1e-12 })
        // (radius / eps)^d is uniform on [0, 1]: mean 1/2, variance 1/12.
        let u = radii.map { pow($0 / 0.5, 6) }
        let mean = u.reduce(0, +) / Double(n)
        #expect(abs(mean - 0.5) < 4 * (1.0 / 12 / Double(n)).squareRoot())
    }

    @Test("a small population run converges to the exact optimum ratio within its derived tolerance")
    func populationConvergence() throws {
        var c = TrainingConfiguration(model: try DataModel.paper3(), eps: 0.2)
        c.loss = .ce
        c.useBias = false
        c.trainPerClass = nil
        c.stepsPerEpoch = 60
        c.batchSize = 256
        c.epochs = 40
        c.learningRate = 0.5
        c.schedule = .cosine
        c.weightDecay = 0
        c.zeroInitialisation = true
        c.testPerClass = 100
        c.trainEvaluationSize = 150
        c.evaluationAttack = AttackConfiguration(norm: .linf, eps: 0.2, steps: 5)
        let r = try Comparison.run(c, objective: .ce, scale: .free)
        #expect(r.withinTolerance, "trained \(r.trainedRatio) vs exact \(r.exactRatio), tolerance \(r.tolerance)")
        #expect(r.tolerance < 0.05)
    }

    @Test("same seed, identical logs; an interrupted run resumed from its checkpoint matches an uninterrupted one")
    func determinismAndResume() throws {
        var c = TrainingConfiguration(model: try DataModel.paper3().with(noiseDimensions: 4), eps: 0.15)
        c.architecture = .twoLayer
        c.width = 8
        c.epochs = 4
        c.trainPerClass = 60
        c.testPerClass = 40
        c.batchSize = 32
        c.loss = .trades(beta: 2)
        let a = try Trainer(c).run()
        let b = try Trainer(c).run()
        #expect(a.logs == b.logs)
        struct Stop: Error {}
        var saved: Checkpoint? = nil
        do {
            _ = try Trainer(c).run { log, checkpoint in
                if log.epoch == 2 { saved = checkpoint; throw Stop() }
            }
        } catch is Stop {}
        let checkpoint = try #require(saved)
        // Round trip through JSON, as --resume does.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ccsim-ck-\(getpid()).json").path
        try checkpoint.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let resumed = try Trainer(c, resume: Checkpoint.read(from: path)).run()
        #expect(resumed.logs == a.logs)
        #expect(resumed.network == a.network)
    }

    @Test("attribution metric: identical class attributions give CAS = K(K-1); orthogonal ones 0")
    func attribution() {
        let head = Matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        let features: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        let orthogonal = Attribution(features: features, labels: [0, 1, 2], head: head, gauge: .raw)
        #expect(orthogonal.cas == 0 && orthogonal[0, 0] == 1)
        let shared = Attribution(features: [1, 1, 1, 1, 1, 1, 1, 1, 1], labels: [0, 1, 2], head: Matrix([[1, 1, 1], [1, 1, 1], [1, 1, 1]]), gauge: .raw)
        #expect(abs(shared.cas - 6) < 1e-12)
    }
}

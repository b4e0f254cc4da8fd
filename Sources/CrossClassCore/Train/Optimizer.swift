import Foundation

/// Learning-rate schedules over a run of `epochs` epochs.
public enum Schedule: String, Sendable, Codable, CaseIterable {
    /// Constant learning rate.
    case constant
    /// Divide by 10 at 50% and 75% of the epochs (the official code's piecewise schedule).
    case step
    /// Cosine annealing from lr to 0 over the run.
    case cosine

    public func rate(base: Double, epoch: Int, epochs: Int) -> Double {
        switch self {
        case .constant: return base
        case .step:
            var r = base
            if epoch >= epochs / 2 { r /= 10 }
            if epoch >= (3 * epochs) / 4 { r /= 10 }
            return r
        case .cosine:
            return base * 0.5 * (1 + cos(Double.pi * Double(epoch) / Double(max(epochs, 1))))
        }
    }
}

/// SGD with momentum and (coupled) weight decay, or Adam; state is Codable for checkpoints.
public struct Optimizer: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case sgd, adam }

    public var kind: Kind
    public var momentum: Double
    public var weightDecay: Double
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    var velocity: [Double]
    var secondMoment: [Double]
    var steps: Int = 0

    public init(kind: Kind, parameters: Int, momentum: Double = 0.9, weightDecay: Double = 0) {
        self.kind = kind
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocity = [Double](repeating: 0, count: parameters)
        secondMoment = kind == .adam ? [Double](repeating: 0, count: parameters) : []
    }

    /// One update of `network.parameters` with gradient `g` (of the mean loss) at rate `lr`.
    /// Weight decay applies to weights, not biases (as in the official code's parameter groups
    /// it is applied to all; ccsim keeps biases out so that a bias-free model is unaffected).
    public mutating func step(_ network: inout Network, gradient g: inout [Double], lr: Double) {
        let n = g.count
        if weightDecay > 0 {
            var isBias = [Bool](repeating: false, count: n)
            for r in network.biasIndices { for i in r { isBias[i] = true } }
            for i in 0..<n where !isBias[i] { g[i] += weightDecay * network.parameters[i] }
        }
        if !network.useBias { for r in network.biasIndices { for i in r { g[i] = 0 } } }
        steps += 1
        switch kind {
        case .sgd:
            for i in 0..<n {
                velocity[i] = momentum * velocity[i] + g[i]
                network.parameters[i] -= lr * velocity[i]
            }
        case .adam:
            let c1 = 1 - pow(beta1, Double(steps)), c2 = 1 - pow(beta2, Double(steps))
            for i in 0..<n {
                velocity[i] = beta1 * velocity[i] + (1 - beta1) * g[i]
                secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g[i] * g[i]
                network.parameters[i] -= lr * (velocity[i] / c1) / ((secondMoment[i] / c2).squareRoot() + epsilon)
            }
        }
    }
}

import Foundation
import GSL

/// The training objective on one batch: the adversarial inputs the attack picks, and the loss
/// with its parameter gradient at them.
public enum BatchObjective {
    /// Adversarial inputs for `loss` (the attack maximises the same loss the trainer minimises:
    /// soft-target CE for ce/ls/kd, the KL term for TRADES, the worst margin for hinge).
    public static func adversarial(
        network: Network, loss: TrainingLoss, attack: AttackConfiguration, inputs xb: [Double], labels yb: [Int],
        teacherLogits: [Double]?, workspace ws: Workspace, random: RandomSource
    ) -> [Double] {
        let n = yb.count, k = network.classes
        let pgd = PGD(attack)
        switch loss {
        case .ce, .ls, .kd:
            let q = targets(loss, yb, k, teacherLogits)
            return pgd.attack(network: network, inputs: xb, count: n, objective: .softTargets(q), workspace: ws, random: random).inputs
        case .trades:
            xb.withUnsafeBufferPointer { network.forward($0.baseAddress!, count: n, ws) }
            let clean = Array(ws.logits[0..<(n * k)])
            return pgd.attack(network: network, inputs: xb, count: n, objective: .kl(cleanLogits: clean), workspace: ws, random: random).inputs
        case .hinge:
            return pgd.attack(network: network, inputs: xb, count: n, objective: .worstMargin(labels: yb), workspace: ws, random: random).inputs
        }
    }

    static func targets(_ loss: TrainingLoss, _ yb: [Int], _ k: Int, _ teacherLogits: [Double]?) -> [Double] {
        if let t = teacherLogits {
            return t.withUnsafeBufferPointer { BatchLoss.targets(loss, labels: yb[...], k: k, teacherLogits: $0.baseAddress!) }
        }
        return BatchLoss.targets(loss, labels: yb[...], k: k, teacherLogits: nil)
    }

    /// Per-sample losses and the gradient of their mean with respect to the parameters, at the
    /// given adversarial inputs (held fixed, as in PGD-AT).
    public static func evaluate(
        network: Network, loss: TrainingLoss, clean xb: [Double], adversarial adv: [Double], labels yb: [Int],
        teacherLogits: [Double]?, workspace ws: Workspace
    ) -> (losses: [Double], gradient: [Double]) {
        let n = yb.count, k = network.classes
        var gradient = [Double](repeating: 0, count: network.parameters.count)
        var losses = [Double](repeating: 0, count: n)
        var dz = [Double](repeating: 0, count: n * k)
        func backward(_ x: [Double], _ g: [Double]) {
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeBufferPointer { gp in
                    gradient.withUnsafeMutableBufferPointer { out in
                        network.backward(xp.baseAddress!, count: n, dLogits: gp.baseAddress!, ws, gradient: out.baseAddress!, inputGradient: nil)
                    }
                }
            }
        }
        func forward(_ x: [Double]) -> [Double] {
            x.withUnsafeBufferPointer { network.forward($0.baseAddress!, count: n, ws) }
            return Array(ws.logits[0..<(n * k)])
        }
        switch loss {
        case .ce, .ls, .kd:
            let q = targets(loss, yb, k, teacherLogits)
            let z = forward(adv)
            BatchLoss.softTarget(logits: z, targets: q, n: n, k: k, scale: 1 / Double(n), losses: &losses, dLogits: &dz)
            backward(adv, dz)
        case .hinge(let kappa):
            let z = forward(adv)
            z.withUnsafeBufferPointer { zp in
                BatchLoss.hinge(logits: zp.baseAddress!, labels: yb[...], k: k, kappa: kappa, scale: 1 / Double(n), losses: &losses, dLogits: &dz)
            }
            backward(adv, dz)
        case .trades(let beta):
            let clean = forward(xb)
            let adversarial = forward(adv)
            var klLoss = [Double](repeating: 0, count: n)
            var dClean = [Double](repeating: 0, count: n * k), dAdv = [Double](repeating: 0, count: n * k)
            var ceLoss = [Double](repeating: 0, count: n), dCE = [Double](repeating: 0, count: n * k)
            BatchLoss.kl(clean: clean, adversarial: adversarial, n: n, k: k, scale: beta / Double(n),
                         losses: &klLoss, dClean: &dClean, dAdversarial: &dAdv)
            let onehot = BatchLoss.targets(.ce, labels: yb[...], k: k, teacherLogits: nil)
            BatchLoss.softTarget(logits: clean, targets: onehot, n: n, k: k, scale: 1 / Double(n), losses: &ceLoss, dLogits: &dCE)
            for i in 0..<(n * k) { dClean[i] += dCE[i] }
            for i in 0..<n { losses[i] = ceLoss[i] + beta * klLoss[i] }
            // The workspace holds the adversarial pass: back-propagate it, then redo the clean one.
            backward(adv, dAdv)
            _ = forward(xb)
            backward(xb, dClean)
        }
        return (losses, gradient)
    }
}

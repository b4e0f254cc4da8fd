import Foundation
import GSL

/// A linear model f(x) = W x + b or a two-layer ReLU network f(x) = V relu(U x + b_u) + c,
/// in double precision, with all parameters in one flat vector (for the optimisers) and
/// batched forward/backward passes through BLAS (GSL's CBLAS interface on OpenBLAS).
public struct Network: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable, CaseIterable {
        case linear
        case twoLayer = "two-layer"
    }

    public let architecture: Architecture
    public let inputs: Int
    /// Hidden width (0 for linear).
    public let hidden: Int
    public let classes: Int
    /// When false the bias entries stay at zero (their gradient is masked).
    public let useBias: Bool
    /// Parameters: linear W (K x d), b (K); two-layer U (h x d), b_u (h), V (K x h), c (K).
    public var parameters: [Double]

    public init(architecture: Architecture, inputs: Int, hidden: Int, classes: Int, useBias: Bool) {
        precondition(inputs > 0 && classes >= 2 && (architecture == .linear || hidden > 0))
        self.architecture = architecture
        self.inputs = inputs
        self.hidden = architecture == .linear ? 0 : hidden
        self.classes = classes
        self.useBias = useBias
        let count = architecture == .linear
            ? classes * inputs + classes
            : hidden * inputs + hidden + classes * hidden + classes
        parameters = [Double](repeating: 0, count: count)
    }

    // MARK: Layout

    /// Offsets of the parameter blocks.
    var firstWeights: Range<Int> { 0..<(firstRows * inputs) }
    var firstBias: Range<Int> { firstWeights.upperBound..<(firstWeights.upperBound + firstRows) }
    var secondWeights: Range<Int> { firstBias.upperBound..<(firstBias.upperBound + classes * hidden) }
    var secondBias: Range<Int> { secondWeights.upperBound..<(secondWeights.upperBound + (architecture == .linear ? 0 : classes)) }
    /// Rows of the first weight matrix: K (linear) or h.
    var firstRows: Int { architecture == .linear ? classes : hidden }

    /// Indices of bias entries (masked when `useBias` is false; not weight-decayed).
    public var biasIndices: [Range<Int>] { architecture == .linear ? [firstBias] : [firstBias, secondBias] }

    /// The final linear layer as a K x (feature dim) matrix: W for linear, V for two-layer.
    public var head: Matrix {
        switch architecture {
        case .linear: return Matrix(rows: classes, columns: inputs, storage: Array(parameters[firstWeights]))
        case .twoLayer: return Matrix(rows: classes, columns: hidden, storage: Array(parameters[secondWeights]))
        }
    }

    /// The linear model as a `LinearClassifier` (for exact robust accuracy).
    public var linearClassifier: LinearClassifier? {
        guard architecture == .linear else { return nil }
        return LinearClassifier(weights: head, bias: useBias ? Array(parameters[firstBias]) : nil)
    }

    /// ||weights||_2 over all weight (non-bias) entries.
    public var weightNorm: Double {
        var s = 0.0
        for r in [firstWeights, secondWeights] { for i in r { s += parameters[i] * parameters[i] } }
        return s.squareRoot()
    }

    /// Default initialisation: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's nn.Linear),
    /// or zeros for a linear model when `zeroLinear`.
    public mutating func initialise(random: RandomSource, zeroLinear: Bool = false) {
        func fill(_ range: Range<Int>, fanIn: Int) {
            let bound = 1 / Double(fanIn).squareRoot()
            for i in range { parameters[i] = (2 * random.uniform() - 1) * bound }
        }
        if architecture == .linear && zeroLinear {
            for i in parameters.indices { parameters[i] = 0 }
            return
        }
        fill(firstWeights, fanIn: inputs)
        fill(firstBias, fanIn: inputs)
        if architecture == .twoLayer {
            fill(secondWeights, fanIn: hidden)
            fill(secondBias, fanIn: hidden)
        }
        if !useBias { for r in biasIndices { for i in r { parameters[i] = 0 } } }
    }
}

/// Scratch buffers for one batch size (reused across steps: no allocation in the hot path).
public final class Workspace {
    public let batch: Int
    let network: (inputs: Int, hidden: Int, classes: Int)
    /// n x h pre-activations and activations (two-layer).
    var pre: [Double]
    var act: [Double]
    /// n x K logits.
    public var logits: [Double]
    var dHidden: [Double]
    /// PGD's iterate and input gradient, kept between attacks so that a training step does not
    /// allocate (and page in) two fresh n x d arrays. The iterate is also what the attack
    /// returns; once the caller has dropped it, the next attack reuses the storage in place.
    var attackInputs: [Double] = []
    var attackGradient: [Double] = []

    public init(network: Network, batch: Int) {
        self.batch = batch
        self.network = (network.inputs, network.hidden, network.classes)
        pre = [Double](repeating: 0, count: batch * max(network.hidden, 1))
        act = pre
        logits = [Double](repeating: 0, count: batch * network.classes)
        dHidden = pre
    }
}

extension Network {
    /// Logits of the first `n` rows of `x` (n x d, row-major) into `ws.logits`.
    public func forward(_ x: UnsafePointer<Double>, count n: Int, _ ws: Workspace) {
        precondition(n <= ws.batch)
        let d = inputs, k = classes
        parameters.withUnsafeBufferPointer { p in
            let base = p.baseAddress!
            ws.logits.withUnsafeMutableBufferPointer { z in
                switch architecture {
                case .linear:
                    // Z = X W^T + b (block offsets hoisted: they are computed properties)
                    let bias = base + firstBias.lowerBound
                    for i in 0..<n { for c in 0..<k { z[i * k + c] = bias[c] } }
                    BLAS.gemm(.none, .transposed, m: n, n: k, k: d, alpha: 1, a: x, lda: d,
                              b: base + firstWeights.lowerBound, ldb: d, beta: 1, c: z.baseAddress!, ldc: k)
                case .twoLayer:
                    let h = hidden
                    let hiddenBias = base + firstBias.lowerBound, outputBias = base + secondBias.lowerBound
                    ws.pre.withUnsafeMutableBufferPointer { pre in
                        ws.act.withUnsafeMutableBufferPointer { act in
                            for i in 0..<n { for j in 0..<h { pre[i * h + j] = hiddenBias[j] } }
                            BLAS.gemm(.none, .transposed, m: n, n: h, k: d, alpha: 1, a: x, lda: d,
                                      b: base + firstWeights.lowerBound, ldb: d, beta: 1, c: pre.baseAddress!, ldc: h)
                            Self.relu(act.baseAddress!, pre.baseAddress!, n * h)
                            for i in 0..<n { for c in 0..<k { z[i * k + c] = outputBias[c] } }
                            BLAS.gemm(.none, .transposed, m: n, n: k, k: h, alpha: 1, a: act.baseAddress!, lda: h,
                                      b: base + secondWeights.lowerBound, ldb: h, beta: 1, c: z.baseAddress!, ldc: k)
                        }
                    }
                }
            }
        }
    }

    /// Back-propagates dL/dZ (n x K, already scaled as the caller wants) through the last
    /// `forward` on the same workspace. Adds the parameter gradient into `gradient` (if given)
    /// and writes dL/dX into `inputGradient` (if given).
    public func backward(
        _ x: UnsafePointer<Double>, count n: Int, dLogits: UnsafePointer<Double>, _ ws: Workspace,
        gradient: UnsafeMutablePointer<Double>?, inputGradient: UnsafeMutablePointer<Double>?
    ) {
        let d = inputs, k = classes
        parameters.withUnsafeBufferPointer { p in
            let base = p.baseAddress!
            switch architecture {
            case .linear:
                if let g = gradient {
                    // dW += dZ^T X ; db += colsum(dZ)
                    BLAS.gemm(.transposed, .none, m: k, n: d, k: n, alpha: 1, a: dLogits, lda: k, b: x, ldb: d,
                              beta: 1, c: g + firstWeights.lowerBound, ldc: d)
                    if useBias {
                        let gb = g + firstBias.lowerBound
                        for i in 0..<n { for c in 0..<k { gb[c] += dLogits[i * k + c] } }
                    }
                }
                if let gx = inputGradient {
                    // dX = dZ W
                    BLAS.gemm(.none, .none, m: n, n: d, k: k, alpha: 1, a: dLogits, lda: k,
                              b: base + firstWeights.lowerBound, ldb: d, beta: 0, c: gx, ldc: d)
                }
            case .twoLayer:
                let h = hidden
                ws.act.withUnsafeBufferPointer { act in
                    ws.pre.withUnsafeBufferPointer { pre in
                        ws.dHidden.withUnsafeMutableBufferPointer { dh in
                            if let g = gradient {
                                BLAS.gemm(.transposed, .none, m: k, n: h, k: n, alpha: 1, a: dLogits, lda: k,
                                          b: act.baseAddress!, ldb: h, beta: 1, c: g + secondWeights.lowerBound, ldc: h)
                                if useBias {
                                    let gc = g + secondBias.lowerBound
                                    for i in 0..<n { for c in 0..<k { gc[c] += dLogits[i * k + c] } }
                                }
                            }
                            // dH = dZ V, masked by the ReLU.
                            BLAS.gemm(.none, .none, m: n, n: h, k: k, alpha: 1, a: dLogits, lda: k,
                                      b: base + secondWeights.lowerBound, ldb: h, beta: 0, c: dh.baseAddress!, ldc: h)
                            Self.maskInactive(dh.baseAddress!, pre.baseAddress!, n * h)
                            if let g = gradient {
                                BLAS.gemm(.transposed, .none, m: h, n: d, k: n, alpha: 1, a: dh.baseAddress!, lda: h,
                                          b: x, ldb: d, beta: 1, c: g + firstWeights.lowerBound, ldc: d)
                                if useBias {
                                    let gb = g + firstBias.lowerBound
                                    for i in 0..<n { for j in 0..<h { gb[j] += dh[i * h + j] } }
                                }
                            }
                            if let gx = inputGradient {
                                BLAS.gemm(.none, .none, m: n, n: d, k: h, alpha: 1, a: dh.baseAddress!, lda: h,
                                          b: base + firstWeights.lowerBound, ldb: d, beta: 0, c: gx, ldc: d)
                            }
                        }
                    }
                }
            }
        }
    }

    /// dh[i] = 0 where pre[i] <= 0 (the ReLU's backward pass), four lanes at a time: a
    /// per-element branch mispredicts on about half the units and was a quarter of a
    /// two-layer training step.
    @inline(__always)
    static func maskInactive(_ dh: UnsafeMutablePointer<Double>, _ pre: UnsafePointer<Double>, _ count: Int) {
        let d = UnsafeMutableRawPointer(dh), p = UnsafeRawPointer(pre)
        let stride = MemoryLayout<Double>.stride
        var i = 0
        while i + 4 <= count {
            let a = p.loadUnaligned(fromByteOffset: i * stride, as: SIMD4<Double>.self)
            let v = d.loadUnaligned(fromByteOffset: i * stride, as: SIMD4<Double>.self)
            d.storeBytes(of: v.replacing(with: 0, where: a .<= 0), toByteOffset: i * stride, as: SIMD4<Double>.self)
            i += 4
        }
        while i < count {
            if pre[i] <= 0 { dh[i] = 0 }
            i += 1
        }
    }

    /// act[i] = max(0, pre[i]) (Swift's max: pre[i] when pre[i] >= 0, else 0), four lanes at
    /// a time.
    @inline(__always)
    static func relu(_ act: UnsafeMutablePointer<Double>, _ pre: UnsafePointer<Double>, _ count: Int) {
        let a = UnsafeMutableRawPointer(act), p = UnsafeRawPointer(pre)
        let stride = MemoryLayout<Double>.stride
        var i = 0
        while i + 4 <= count {
            let v = p.loadUnaligned(fromByteOffset: i * stride, as: SIMD4<Double>.self)
            a.storeBytes(of: v.replacing(with: 0, where: .!(v .>= 0)), toByteOffset: i * stride, as: SIMD4<Double>.self)
            i += 4
        }
        while i < count {
            act[i] = max(0, pre[i])
            i += 1
        }
    }

    /// Feature map g(x) for the attribution metric: x itself (linear) or relu(U x + b_u),
    /// for the first n rows of x; returns n x (feature dim).
    public func features(_ x: UnsafePointer<Double>, count n: Int, _ ws: Workspace) -> [Double] {
        switch architecture {
        case .linear:
            return Array(UnsafeBufferPointer(start: x, count: n * inputs))
        case .twoLayer:
            forward(x, count: n, ws)
            return Array(ws.act[0..<(n * hidden)])
        }
    }
}

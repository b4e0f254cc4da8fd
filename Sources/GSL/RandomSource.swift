import CGSL

/// A seeded pseudo-random source: GSL's MT19937 generator and its samplers.
///
/// Same seed, same stream, on every platform GSL supports; that is what makes ccsim's sampled
/// data and training runs reproducible byte for byte.
public final class RandomSource {
    private let rng: OpaquePointer
    public let seed: UInt64

    public init(seed: UInt64) {
        GSL.prepare()
        guard let r = gsl_rng_alloc(ccsim_rng_mt19937()) else {
            fatalError("gsl_rng_alloc failed: out of memory")
        }
        rng = OpaquePointer(r)
        self.seed = seed
        // MT19937 takes an unsigned long seed; GSL maps seed 0 to its default seed 4357,
        // which would make seeds 0 and 4357 identical, so shift by one.
        gsl_rng_set(UnsafeMutablePointer(rng), UInt(truncatingIfNeeded: seed &+ 1))
    }

    deinit { gsl_rng_free(UnsafeMutablePointer(rng)) }

    private var pointer: UnsafeMutablePointer<gsl_rng> { UnsafeMutablePointer(rng) }

    /// Uniform on [0, 1).
    public func uniform() -> Double { gsl_rng_uniform(pointer) }

    /// Uniform on (0, 1).
    public func uniformPositive() -> Double { gsl_rng_uniform_pos(pointer) }

    /// Uniform integer in 0..<n.
    public func integer(below n: Int) -> Int {
        precondition(n > 0)
        return Int(gsl_rng_uniform_int(pointer, UInt(n)))
    }

    /// N(0, sigma^2) by GSL's ziggurat method.
    public func gaussian(sigma: Double = 1) -> Double {
        gsl_ran_gaussian_ziggurat(pointer, sigma)
    }

    /// A random permutation of 0..<n (GSL's Fisher-Yates `gsl_ran_shuffle`).
    public func permutation(_ n: Int) -> [Int] {
        var indices = Array(0..<n)
        indices.withUnsafeMutableBufferPointer { buffer in
            if n > 1 {
                gsl_ran_shuffle(pointer, buffer.baseAddress, n, MemoryLayout<Int>.stride)
            }
        }
        return indices
    }

    /// The generator's complete internal state (for checkpoints: restoring it continues the
    /// stream exactly where it was).
    public var state: [UInt8] {
        get {
            let size = gsl_rng_size(pointer)
            let raw = gsl_rng_state(pointer)!
            return Array(UnsafeRawBufferPointer(start: raw, count: size))
        }
        set {
            let size = gsl_rng_size(pointer)
            precondition(newValue.count == size, "RNG state has \(newValue.count) bytes, expected \(size)")
            let raw = gsl_rng_state(pointer)!
            newValue.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: size) }
        }
    }

    /// A new independent-looking stream derived from this one (for sub-tasks that must not
    /// disturb the parent's sequence).
    public func split() -> RandomSource {
        let hi = UInt64(gsl_rng_get(pointer)) << 32
        return RandomSource(seed: hi | UInt64(gsl_rng_get(pointer)))
    }
}

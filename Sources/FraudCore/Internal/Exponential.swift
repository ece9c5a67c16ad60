/// A pure-Swift exponential and logistic function, for the same reason as ``Logarithm``: trained models
/// must give bit-identical scores in training, evaluation and serving, on every platform, without
/// Foundation or the C library.
///
/// `e^x = 2^k · e^r` with `k = round(x / ln 2)`, `|r| ≤ ln 2 / 2`; `e^r` by its Taylor series to `r^17`
/// (error below 1e-16 relative).
enum Exponential {
    /// `e^x`; 0 below −745, +infinity above 709.78, NaN for NaN.
    static func natural(_ x: Double) -> Double {
        guard !x.isNaN else { return x }
        if x > 709.78 { return .infinity }
        if x < -745 { return 0 }
        let k = Self.roundedHalfAwayFromZero(x / Logarithm.ln2)
        let r = x - k * Logarithm.ln2
        var term = 1.0
        var sum = 1.0
        for n in 1...17 {
            term *= r / Double(n)
            sum += term
        }
        // Scale by 2^k in two halves, so subnormal results (k < -1022) come out right.
        let half = Int(k) / 2
        return sum * Self.powerOfTwo(half) * Self.powerOfTwo(Int(k) - half)
    }

    /// `value.rounded()` (to nearest, ties away from zero, as C's `round`) without the library call, for
    /// `|value| < 2^52` (here at most 1,075): truncation is exact, and so is the difference it leaves.
    @inline(__always)
    static func roundedHalfAwayFromZero(_ value: Double) -> Double {
        let truncated = Double(Int64(value))
        let fraction = value - truncated
        if fraction >= 0.5 { return truncated + 1 }
        if fraction <= -0.5 { return truncated - 1 }
        return truncated
    }

    /// `2^exponent` for a normal result (`-1022...1023`; here at most 538 in magnitude), from its bits: what
    /// `Double(sign: .plus, exponent: exponent, significand: 1)` gives, without the call.
    @inline(__always)
    static func powerOfTwo(_ exponent: Int) -> Double {
        Double(bitPattern: UInt64(truncatingIfNeeded: exponent + 1_023) << 52)
    }

    /// The logistic function `1 / (1 + e^-x)`, in `0...1`.
    static func logistic(_ x: Double) -> Double {
        if x >= 0 {
            return 1 / (1 + natural(-x))
        }
        let e = natural(x)
        return e / (1 + e)
    }
}

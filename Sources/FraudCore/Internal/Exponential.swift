/// A pure-Swift exponential and logistic function, for the same reason as ``Logarithm``: trained models
/// must give bit-identical scores in training, evaluation and serving, on every platform, without
/// Foundation or the C library.
///
/// `e^x = 2^k · e^r` with `k = round(x / ln 2)` (as `x · (1 / ln 2)`), `|r| ≤ ln 2 / 2` (a hair more when
/// that product rounds across a half); `e^r` by its Taylor series to `r^17` (error below 1e-16 relative).
enum Exponential {
    /// 1 / ln 2.
    static let log2e = 1.442_695_040_888_963_407_359_924_681_001_892_137

    /// `e^x`; 0 below −745, +infinity above 709.78, NaN for NaN.
    static func natural(_ x: Double) -> Double {
        guard !x.isNaN else { return x }
        if x > 709.78 { return .infinity }
        if x < -745 { return 0 }
        let k = Self.roundedHalfAwayFromZero(x * Self.log2e)
        let r = x - k * Logarithm.ln2
        let sum = taylor(r)
        // Scale by 2^k in two halves, so subnormal results (k < -1022) come out right.
        let half = Int(k) / 2
        return sum * Self.powerOfTwo(half) * Self.powerOfTwo(Int(k) - half)
    }

    /// `e^r` for `|r| ≤ ln 2 / 2`: `Σ r^n / n!` for `n ≤ 17`, by Estrin's scheme — constant coefficients
    /// (folded by the compiler), no division, a dependency chain of five multiply-adds rather than seventeen
    /// multiplications.
    @inline(__always)
    static func taylor(_ r: Double) -> Double {
        let r2 = r * r
        let r4 = r2 * r2
        let r8 = r4 * r4
        let r16 = r8 * r8
        let a0 = 1 + r
        let a1 = 1.0 / 2 + r * (1.0 / 6)
        let a2 = 1.0 / 24 + r * (1.0 / 120)
        let a3 = 1.0 / 720 + r * (1.0 / 5_040)
        let a4 = 1.0 / 40_320 + r * (1.0 / 362_880)
        let a5 = 1.0 / 3_628_800 + r * (1.0 / 39_916_800)
        let a6 = 1.0 / 479_001_600 + r * (1.0 / 6_227_020_800)
        let a7 = 1.0 / 87_178_291_200 + r * (1.0 / 1_307_674_368_000)
        let a8 = 1.0 / 20_922_789_888_000 + r * (1.0 / 355_687_428_096_000)
        let b0 = a0 + r2 * a1
        let b1 = a2 + r2 * a3
        let b2 = a4 + r2 * a5
        let b3 = a6 + r2 * a7
        return ((b0 + r4 * b1) + r8 * (b2 + r4 * b3)) + r16 * a8
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

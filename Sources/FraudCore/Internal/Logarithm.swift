/// A pure-Swift natural logarithm, so features need neither Foundation nor the C library and give
/// bit-identical results on every platform (training and serving must agree).
///
/// `x = m · 2^e` with `m` folded into `[√½, √2)`; `ln m = 2·atanh(z)`, `z = (m−1)/(m+1)`, `|z| < 0.172`,
/// summed to `z^21` (error below 1e-15).
enum Logarithm {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// Natural logarithm of a positive finite `x`; `-infinity` for 0, NaN for negative or NaN input.
    static func natural(_ x: Double) -> Double {
        guard x > 0 else { return x == 0 ? -.infinity : .nan }
        guard x.isFinite else { return x }
        // ln 1: the series below gives exactly +0.0 here too (z = 0); a balance that adds up (error 0, a
        // signed-log10 input of 1) is the commonest argument, so skip the work.
        if x == 1 { return 0 }
        // `x.exponent` and `x.significand` (library calls), straight from the bits for a normal `x`.
        let bits = x.bitPattern
        let biasedExponent = Int(truncatingIfNeeded: bits >> 52)
        var exponent: Double
        var significand: Double  // [1, 2)
        if biasedExponent != 0 {
            exponent = Double(biasedExponent - 1_023)
            significand = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)
        } else {
            exponent = Double(x.exponent)  // subnormal
            significand = x.significand
        }
        if significand > 1.414_213_562_373_095_048_801_688_724_209_7 {
            significand /= 2
            exponent += 1
        }
        let z = (significand - 1) / (significand + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var denominator = 1.0
        for _ in 0..<11 {
            sum += term / denominator
            term *= z2
            denominator += 2
        }
        return 2 * sum + exponent * ln2
    }

    /// Base-10 logarithm, via ``natural(_:)``.
    static func base10(_ x: Double) -> Double {
        natural(x) / 2.302_585_092_994_045_684_017_991_454_684
    }
}

/// A pure-Swift natural logarithm, so features need neither Foundation nor the C library and give
/// bit-identical results on every platform (training and serving must agree).
///
/// `x = m · 2^e` with `m` folded into `[√½, √2)`; `ln m = 2·atanh(z)`, `z = (m−1)/(m+1)`, `|z| < 0.172`,
/// the series summed to `z^21` (error below 1e-15) as a polynomial with constant coefficients: one division
/// per logarithm (a division costs several multiplications' time and does not pipeline as well).
enum Logarithm {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// Natural logarithm of a positive finite `x`; `-infinity` for 0, NaN for negative or NaN input.
    static func natural(_ x: Double) -> Double {
        guard x > 0 else { return x == 0 ? -.infinity : .nan }
        guard x.isFinite else { return x }
        // ln 1: the series below gives exactly +0.0 here too (z = 0); a balance that adds up (error 0, a
        // signed-log10 input of 1) is the commonest argument, so skip the work.
        if x == 1 { return 0 }
        // `x.exponent` and `x.significand` (library calls), straight from the bits for a normal `x`, and the
        // significand folded into [√½, √2) without a branch (which the data would make unpredictable: about
        // half of all significands are above √2).
        let bits = x.bitPattern
        let biasedExponent = Int(truncatingIfNeeded: bits >> 52)
        var exponent: Double
        var significand: Double
        if biasedExponent != 0 {
            let mantissa = bits & 0x000F_FFFF_FFFF_FFFF
            // 1 when 1.mantissa > √2 (whose bits are 0x3FF6_A09E_667F_3BCD), else 0: the borrow of the
            // subtraction (both operands are below 2^52).
            let fold = (0x0006_A09E_667F_3BCD &- mantissa) >> 63
            exponent = Double(biasedExponent - 1_023 + Int(truncatingIfNeeded: fold))
            significand = Double(bitPattern: mantissa | ((0x3FF &- fold) << 52))
        } else {
            // Subnormal: the library calls.
            exponent = Double(x.exponent)
            significand = x.significand
            if significand > 1.414_213_562_373_095_048_801_688_724_209_7 {
                significand /= 2
                exponent += 1
            }
        }
        let z = (significand - 1) / (significand + 1)
        return twiceAtanh(z) + exponent * ln2
    }

    /// `2·atanh(z)` for `|z| < 0.172`: `2z·P(w)`, `w = z²`, `P(w) = 1 + w/3 + w²/5 + … + w¹⁰/21`, by
    /// Estrin's scheme — no division (the coefficients are constants, folded by the compiler) and a
    /// dependency chain of five multiply-adds rather than eleven.
    @inline(__always)
    static func twiceAtanh(_ z: Double) -> Double {
        let w = z * z
        let w2 = w * w
        let w4 = w2 * w2
        let w8 = w4 * w4
        let a0 = 1 + w * (1.0 / 3)
        let a1 = 1.0 / 5 + w * (1.0 / 7)
        let a2 = 1.0 / 9 + w * (1.0 / 11)
        let a3 = 1.0 / 13 + w * (1.0 / 15)
        let a4 = 1.0 / 17 + w * (1.0 / 19)
        let b0 = a0 + w2 * a1
        let b1 = a2 + w2 * a3
        let b2 = a4 + w2 * (1.0 / 21)
        return 2 * z * ((b0 + w4 * b1) + w8 * b2)
    }

    /// 1 / ln 10.
    static let log10e = 0.434_294_481_903_251_827_651_128_918_916_605_082

    /// Base-10 logarithm, via ``natural(_:)`` (times 1 / ln 10: no division).
    static func base10(_ x: Double) -> Double {
        natural(x) * log10e
    }
}

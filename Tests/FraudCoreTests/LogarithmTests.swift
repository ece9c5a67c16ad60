import Testing

@testable import FraudCore

@Suite("Logarithm")
struct LogarithmTests {
    @Test(
        "Natural logarithm matches known values",
        arguments: [
            (1.0, 0.0), (2.0, 0.693_147_180_559_945_3), (2.718_281_828_459_045, 1.0), (10.0, 2.302_585_092_994_046),
            (0.5, -0.693_147_180_559_945_3), (1e15, 34.538_776_394_910_684), (1.414_213_6, 0.346_573_616_886_212),
        ]
    )
    func natural(_ x: Double, _ expected: Double) {
        #expect(abs(Logarithm.natural(x) - expected) <= 1e-13 * max(1, abs(expected)))
    }

    @Test("Base 10 of powers of ten is exact to 1e-12", arguments: [1.0, 10, 100, 1e3, 1e9, 1e15])
    func base10(_ x: Double) {
        var expected = 0.0
        var value = x
        while value >= 10 {
            value /= 10
            expected += 1
        }
        #expect(abs(Logarithm.base10(x) - expected) < 1e-12)
    }

    @Test("ln 1 is exactly +0.0, as the series gives it, and its neighbours are not short-cut")
    func one() {
        #expect(Logarithm.natural(1).bitPattern == (0.0).bitPattern)
        #expect(Logarithm.base10(1).bitPattern == (0.0).bitPattern)
        #expect(Logarithm.natural(1.0.nextUp) > 0)
        #expect(Logarithm.natural(1.0.nextDown) < 0)
    }

    @Test("Edge inputs")
    func edges() {
        #expect(Logarithm.natural(0) == -.infinity)
        #expect(Logarithm.natural(-1).isNaN)
        #expect(Logarithm.natural(.infinity) == .infinity)
    }
}

/// The bit tricks that replace library calls (`exponent`, `significand`, `rounded()`, `Double(sign:exponent:
/// significand:)`) give the library's results, bit for bit.
@Suite("Logarithm and Exponential: library calls replaced by bit operations")
struct BitOperationTests {
    /// ``Logarithm/natural(_:)`` as first written, with the library calls.
    static func referenceNatural(_ x: Double) -> Double {
        guard x > 0 else { return x == 0 ? -.infinity : .nan }
        guard x.isFinite else { return x }
        if x == 1 { return 0 }
        var exponent = Double(x.exponent)
        var significand = x.significand
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
        return 2 * sum + exponent * Logarithm.ln2
    }

    /// ``Exponential/natural(_:)`` as first written.
    static func referenceExponential(_ x: Double) -> Double {
        guard !x.isNaN else { return x }
        if x > 709.78 { return .infinity }
        if x < -745 { return 0 }
        let k = (x / Logarithm.ln2).rounded()
        let r = x - k * Logarithm.ln2
        var term = 1.0
        var sum = 1.0
        for n in 1...17 {
            term *= r / Double(n)
            sum += term
        }
        let half = Int(k) / 2
        return sum * Double(sign: .plus, exponent: half, significand: 1)
            * Double(sign: .plus, exponent: Int(k) - half, significand: 1)
    }

    @Test("ln: random normal and subnormal inputs, powers of two and their neighbours")
    func logarithm() {
        var random = SystemRandomNumberGenerator()
        var inputs: [Double] = [.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1.5, 3, 0.75]
        for exponent in -1_074...1_023 {
            let power = Double(sign: .plus, exponent: exponent, significand: 1)
            inputs += [power, power.nextUp, power.nextDown]
        }
        for _ in 0..<50_000 {
            inputs.append(Double(bitPattern: UInt64.random(in: 1..<0x7FF0_0000_0000_0000, using: &random)))
            inputs.append(Double.random(in: 0..<1e9, using: &random))
        }
        var mismatches = 0
        for x in inputs where x > 0 && Logarithm.natural(x).bitPattern != Self.referenceNatural(x).bitPattern {
            mismatches += 1
        }
        #expect(mismatches == 0)
    }

    @Test("exp: random inputs over the whole range, halves and the cut-offs")
    func exponential() {
        var random = SystemRandomNumberGenerator()
        var inputs: [Double] = [0, -0.0, 709.78, -745, 709.7, -744.9, 1, -1]
        for k in -1_076...1_025 {
            let half = (Double(k) + 0.5) * Logarithm.ln2  // where `k` rounds one way or the other
            inputs += [half, half.nextUp, half.nextDown, Double(k) * Logarithm.ln2]
        }
        for _ in 0..<100_000 {
            inputs.append(Double.random(in: -745...709.78, using: &random))
            inputs.append(Double.random(in: -2...2, using: &random))
        }
        var mismatches = 0
        for x in inputs where Exponential.natural(x).bitPattern != Self.referenceExponential(x).bitPattern {
            mismatches += 1
        }
        #expect(mismatches == 0)
        #expect(Exponential.roundedHalfAwayFromZero(2.5) == 3)
        #expect(Exponential.roundedHalfAwayFromZero(-2.5) == -3)
        #expect(Exponential.roundedHalfAwayFromZero(0.499_999_999_999_999_94) == 0)
    }
}

import Glibc
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
    /// ``Logarithm/natural(_:)`` with the library calls its bit operations replace (same series).
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
        return Logarithm.twiceAtanh(z) + exponent * Logarithm.ln2
    }

    /// ``Exponential/natural(_:)`` with the library calls its bit operations replace (same series).
    static func referenceExponential(_ x: Double) -> Double {
        guard !x.isNaN else { return x }
        if x > 709.78 { return .infinity }
        if x < -745 { return 0 }
        let k = (x * Exponential.log2e).rounded()
        let r = x - k * Logarithm.ln2
        let sum = Exponential.taylor(r)
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

/// The polynomials (Estrin's scheme, constant coefficients, no division) against the C library, and against
/// the term-by-term series with a division per term that they replaced: the same function to within a few
/// units in the last place (the old series was within 4 ulp of the library for both), so a model trained with
/// either scores the same.
@Suite("Logarithm and Exponential: polynomials against the C library and the division series they replaced")
struct SeriesReplacementTests {
    /// `2·atanh(z)` as the term-by-term series with a division per term.
    static func divisionSeriesAtanh(_ z: Double) -> Double {
        let z2 = z * z
        var term = z
        var sum = 0.0
        var denominator = 1.0
        for _ in 0..<11 {
            sum += term / denominator
            term *= z2
            denominator += 2
        }
        return 2 * sum
    }

    /// `e^r` as the term-by-term series with a division per term.
    static func divisionSeriesExp(_ r: Double) -> Double {
        var term = 1.0
        var sum = 1.0
        for n in 1...17 {
            term *= r / Double(n)
            sum += term
        }
        return sum
    }

    /// Distance in units in the last place (same sign assumed).
    static func ulps(_ a: Double, _ b: Double) -> UInt64 {
        let x = a.bitPattern
        let y = b.bitPattern
        return x > y ? x - y : y - x
    }

    @Test("2·atanh over the reduced range |z| < 0.172: within 6 ulp of the library, 8 of the old series")
    func atanh() {
        var random = SystemRandomNumberGenerator()
        var worstLibrary: UInt64 = 0
        var worstSeries: UInt64 = 0
        var inputs: [Double] = [0.171_572_875_253_809_9, -0.171_572_875_253_809_9, 1e-300, 1e-9]
        for _ in 0..<100_000 {
            inputs.append(Double.random(in: -0.1716...0.1716, using: &random))
        }
        for z in inputs where z != 0 {
            worstLibrary = max(worstLibrary, Self.ulps(Logarithm.twiceAtanh(z), 2 * Glibc.atanh(z)))
            worstSeries = max(worstSeries, Self.ulps(Logarithm.twiceAtanh(z), Self.divisionSeriesAtanh(z)))
        }
        #expect(worstLibrary <= 6)
        #expect(worstSeries <= 8)
        #expect(Logarithm.twiceAtanh(0) == 0)
    }

    @Test("e^r over the reduced range |r| ≤ ln 2 / 2: within 4 ulp of the library, 6 of the old series")
    func exponential() {
        var random = SystemRandomNumberGenerator()
        var worstLibrary: UInt64 = 0
        var worstSeries: UInt64 = 0
        let bound = Logarithm.ln2 / 2 * 1.000_001
        var inputs: [Double] = [bound, -bound, 0, 1e-300, -1e-300]
        for _ in 0..<100_000 {
            inputs.append(Double.random(in: -bound...bound, using: &random))
        }
        for r in inputs {
            worstLibrary = max(worstLibrary, Self.ulps(Exponential.taylor(r), Glibc.exp(r)))
            worstSeries = max(worstSeries, Self.ulps(Exponential.taylor(r), Self.divisionSeriesExp(r)))
        }
        #expect(worstLibrary <= 4)
        #expect(worstSeries <= 6)
    }

    @Test("ln and exp over wide ranges: within 1e-15 relative of the library")
    func wideRange() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let x = Double.random(in: 1e-6...1e15, using: &random)
            let ln = Logarithm.natural(x)
            #expect(abs(ln - Glibc.log(x)) <= 1e-15 * max(1, abs(ln)))
            let y = Double.random(in: -700...700, using: &random)
            #expect(abs(Exponential.natural(y) - Glibc.exp(y)) <= 1e-13 * Glibc.exp(y))
        }
    }
}

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

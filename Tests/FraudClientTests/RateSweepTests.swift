import Testing

@testable import FraudClient

@Suite("Rate sweep")
struct RateSweepTests {
    /// A server that keeps p95 under target up to `capacity` req/s.
    private func measure(_ rate: Double, capacity: Double) -> RateSweep.Step {
        var step = RateSweep.Step(
            offeredRate: rate,
            achievedRate: min(rate, capacity * 1.02),
            p50Ms: 1,
            p95Ms: rate <= capacity ? 5 : 250,
            p99Ms: rate <= capacity ? 8 : 400,
            maxMs: 20,
            errors: 0,
            passed: false
        )
        step.passed = RateSweep.passes(step, targetP95Ms: 100)
        return step
    }

    private func run(_ sweep: inout RateSweep, capacity: Double) -> [Double] {
        var rates: [Double] = []
        while let rate = sweep.nextRate, rates.count < 50 {
            rates.append(rate)
            sweep.record(measure(rate, capacity: capacity))
        }
        return rates
    }

    @Test("doubles until the target breaks, then bisects between the best pass and the first failure")
    func growsThenBisects() {
        var sweep = RateSweep(startRate: 1000, growthFactor: 2, refinements: 3)
        let rates = run(&sweep, capacity: 11_000)
        #expect(rates == [1000, 2000, 4000, 8000, 16_000, 12_000, 10_000, 11_000])
        #expect(sweep.capacity == 11_000)
        #expect(sweep.steps.map(\.passed) == [true, true, true, true, false, false, true, true])
    }

    @Test("stops at the ceiling when everything passes")
    func stopsAtMax() {
        var sweep = RateSweep(startRate: 100, growthFactor: 3, refinements: 3, maxRate: 1000)
        let rates = run(&sweep, capacity: .infinity)
        #expect(rates == [100, 300, 900, 1000])
        #expect(sweep.capacity == 1000)
    }

    @Test("a failing first step bisects downwards from it")
    func firstStepFails() {
        var sweep = RateSweep(startRate: 1000, refinements: 2)
        let rates = run(&sweep, capacity: 300)
        #expect(rates == [1000, 500, 250])
        #expect(sweep.capacity == 250)
    }

    @Test("pass criteria: p95 target, no errors, at least 90 % of the offered rate answered")
    func passCriteria() {
        let good = RateSweep.Step(
            offeredRate: 1000,
            achievedRate: 950,
            p50Ms: 1,
            p95Ms: 99,
            p99Ms: 150,
            maxMs: 300,
            errors: 0,
            passed: false
        )
        #expect(RateSweep.passes(good, targetP95Ms: 100))
        var slow = good
        slow.p95Ms = 101
        #expect(!RateSweep.passes(slow, targetP95Ms: 100))
        var failing = good
        failing.errors = 1
        #expect(!RateSweep.passes(failing, targetP95Ms: 100))
        var behind = good
        behind.achievedRate = 850
        #expect(!RateSweep.passes(behind, targetP95Ms: 100))
    }

    @Test(
        "rates are rounded to three significant digits",
        arguments: [(12_345.0, 12_300.0), (999.6, 1000.0), (55.5, 56.0)]
    )
    func rounding(rate: Double, expected: Double) {
        #expect(RateSweep.rounded(rate) == expected)
    }
}

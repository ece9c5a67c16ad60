import FraudCore
import Testing

@Suite("Money formatting")
struct MoneyTests {
    @Test(
        "Cents format as units with two decimals",
        arguments: [
            (Int64(0), "0.00"), (5, "0.05"), (-5, "-0.05"), (99, "0.99"), (100, "1.00"), (18_100, "181.00"),
            (123_456, "1234.56"), (-123_456, "-1234.56"), (1_000_000_000_000_000, "10000000000000.00"),
            (.max, "92233720368547758.07"), (.min, "-92233720368547758.08"),
        ]
    )
    func formats(_ cents: Int64, _ expected: String) {
        #expect(Money.format(cents: cents) == expected)
    }
}

import FraudCore
import Testing

@Suite("Features")
struct FeatureExtractorTests {
    static func features(_ transaction: Transaction) -> Features {
        FeatureExtractor.features(for: transaction, origin: .unseen, destination: .unseen)
    }

    @Test("Balance errors follow the books: origin before − amount − after, destination before + amount − after")
    func balanceErrors() {
        let features = Self.features(
            Fixtures.transaction(
                type: .transfer,
                amountCents: 1_000,
                originBefore: 5_000,
                originAfter: 4_500,
                destination: "C9",
                destinationBefore: 200,
                destinationAfter: 1_000
            )
        )
        #expect(features.originBalanceErrorCents == -500)
        #expect(features.destinationBalanceErrorCents == 200)
        #expect(features.amountToOriginBalanceRatio == 0.2)
        #expect(!features.isOriginDrained)
        #expect(!features.isDestinationBalanceUnchanged)
    }

    @Test("The PaySim drain: origin emptied, mule balance unchanged")
    func drain() {
        let features = Self.features(Fixtures.paysimDrainTransfer)
        #expect(features.isOriginDrained)
        #expect(features.originBalanceErrorCents == 0)
        #expect(features.isDestinationBalanceUnchanged)
        #expect(features.destinationBalanceErrorCents == 18_100)
        #expect(features.amountToOriginBalanceRatio == 1)
        #expect(!features.isDestinationMerchant)
    }

    @Test(
        "Destination unchanged applies to TRANSFER / CASH_OUT to customers only",
        arguments: [
            (TransactionType.transfer, "C1", true), (.cashOut, "C1", true), (.payment, "M1", false),
            (.transfer, "M1", false), (.cashIn, "C1", false), (.debit, "C1", false),
        ]
    )
    func destinationUnchanged(_ type: TransactionType, _ destination: String, _ expected: Bool) {
        let features = Self.features(
            Fixtures.transaction(type: type, destination: destination, destinationBefore: 700, destinationAfter: 700)
        )
        #expect(features.isDestinationBalanceUnchanged == expected)
    }

    @Test(
        "Drained needs a funded origin ending at zero with amount ≥ balance",
        arguments: [
            (Int64(100), Int64(0), Int64(100), true), (100, 0, 150, true), (100, 0, 99, false), (0, 0, 100, false),
            (100, 1, 100, false),
        ]
    )
    func drained(_ before: Int64, _ after: Int64, _ amount: Int64, _ expected: Bool) {
        let features = Self.features(
            Fixtures.transaction(amountCents: amount, originBefore: before, originAfter: after)
        )
        #expect(features.isOriginDrained == expected)
    }

    @Test(
        "Hour of day is step % 24, never the raw step",
        arguments: [(UInt32(0), UInt8(0)), (23, 23), (24, 0), (743, 23), (250, 10)]
    )
    func hourOfDay(_ step: UInt32, _ hour: UInt8) {
        let features = Self.features(Fixtures.transaction(step: step))
        #expect(features.hourOfDay == hour)
        #expect(!features.values.contains(Double(step)) || step < 24)
    }

    @Test("Amount is on a log10 scale, the ratio is capped when the origin had nothing")
    func scales() {
        let features = Self.features(Fixtures.transaction(amountCents: 100_000, originBefore: 0, originAfter: 0))
        #expect(abs(features.log10AmountCents - 5) < 1e-12)
        #expect(features.amountToOriginBalanceRatio == Features.maxAmountToBalanceRatio)
    }

    @Test("Velocity snapshots are carried through and the vector matches its column names")
    func vector() {
        let origin = VelocitySnapshot(
            countLastStep: 2,
            amountLastStepCents: 300,
            countLast24Steps: 5,
            amountLast24StepsCents: 900,
            distinctCounterpartiesLast24Steps: 4,
            stepsSinceLastSeen: 3
        )
        let features = FeatureExtractor.features(
            for: Fixtures.paysimDrainTransfer,
            origin: origin,
            destination: .unseen
        )
        #expect(features.origin == origin)
        #expect(features.destination == .unseen)
        let values = features.values
        #expect(values.count == Features.columnNames.count)
        let named = Dictionary(uniqueKeysWithValues: zip(Features.columnNames, values))
        #expect(named["type_transfer"] == 1)
        #expect(named["type_payment"] == 0)
        #expect(named["origin_count_24"] == 5)
        #expect(named["origin_amount_24"] == 9)
        #expect(named["origin_steps_since_seen"] == 3)
        #expect(named["destination_seen_before"] == 0)
        #expect(named["destination_steps_since_seen"] == -1)
        #expect(named["origin_drained"] == 1)
    }

    @Test("Pure: the same inputs give identical features")
    func pure() {
        let transaction = Fixtures.paysimDrainCashOut
        let snapshot = VelocitySnapshot(countLastStep: 1, stepsSinceLastSeen: 0)
        let first = FeatureExtractor.features(for: transaction, origin: snapshot, destination: snapshot)
        let second = FeatureExtractor.features(for: transaction, origin: snapshot, destination: snapshot)
        #expect(first == second)
        #expect(first.values == second.values)
    }

    @Test("Unvalidated extremes saturate instead of trapping")
    func saturates() {
        let features = Self.features(
            Fixtures.transaction(amountCents: .max, originBefore: .min, originAfter: .max, destinationBefore: .max)
        )
        #expect(features.originBalanceErrorCents == .min)
        #expect(features.destinationBalanceErrorCents == .max)
    }
}

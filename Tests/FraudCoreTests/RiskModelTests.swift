import FraudCore
import Testing

@Suite("Risk model")
struct RiskModelTests {
    /// A model where every rule has a distinct positive weight.
    static let everything = RiskModel(
        version: "test",
        riskyTypeWeight: 0.01,
        originDrainedWeight: 0.02,
        originBalanceMismatchWeight: 0.03,
        destinationBalanceUnchangedWeight: 0.04,
        destinationBalanceMismatchWeight: 0.05,
        highAmountWeight: 0.06,
        originVelocity1hWeight: 0.07,
        originVelocity24hWeight: 0.08,
        destinationFanInWeight: 0.09,
        newOriginLargeAmountWeight: 0.10,
        nightHourWeight: 0.11
    )

    struct RuleCase: Sendable, CustomTestStringConvertible {
        var code: String
        var transaction: Transaction
        var origin = VelocitySnapshot(stepsSinceLastSeen: 1)
        var destination = VelocitySnapshot.unseen
        var detail: String
        var testDescription: String { code }
    }

    static let ruleCases: [RuleCase] = [
        RuleCase(
            code: "RISKY_TYPE",
            transaction: Fixtures.transaction(
                step: 12,
                type: .cashOut,
                amountCents: 5_000,
                destination: "C2",
                destinationBefore: 0,
                destinationAfter: 5_000
            ),
            detail: "CASH_OUT of 50.00 moves money out of the origin account"
        ),
        RuleCase(
            code: "ORIGIN_DRAINED",
            transaction: Fixtures.paysimDrainTransfer,
            detail: "origin balance 181.00 fully drained by a TRANSFER of 181.00"
        ),
        RuleCase(
            code: "ORIGIN_BALANCE_MISMATCH",
            transaction: Fixtures.transaction(amountCents: 1_000, originBefore: 5_000, originAfter: 4_500),
            detail: "origin balance went from 50.00 to 45.00 on a PAYMENT of 10.00 (off by -5.00)"
        ),
        RuleCase(
            code: "DESTINATION_BALANCE_UNCHANGED",
            transaction: Fixtures.transaction(
                step: 12,
                type: .transfer,
                amountCents: 25_000,
                destination: "C7",
                destinationBefore: 12_345,
                destinationAfter: 12_345
            ),
            detail: "destination balance stayed at 123.45 despite a TRANSFER of 250.00"
        ),
        RuleCase(
            code: "DESTINATION_BALANCE_MISMATCH",
            transaction: Fixtures.transaction(
                type: .cashIn,
                amountCents: 1_000,
                destination: "C7",
                destinationBefore: 2_000,
                destinationAfter: 2_500
            ),
            detail: "destination balance went from 20.00 to 25.00 on a CASH_IN of 10.00 (off by 5.00)"
        ),
        RuleCase(
            code: "HIGH_AMOUNT",
            transaction: Fixtures.transaction(amountCents: 150_000_000, originBefore: 0, originAfter: 0),
            detail: "PAYMENT of 1500000.00 is at or above 1000000.00"
        ),
        RuleCase(
            code: "ORIGIN_VELOCITY_1H",
            transaction: Fixtures.transaction(),
            origin: VelocitySnapshot(
                countLastStep: 4,
                amountLastStepCents: 123_400,
                countLast24Steps: 4,
                stepsSinceLastSeen: 0
            ),
            detail: "origin already made 4 transactions totalling 1234.00 in this hour (limit 3)"
        ),
        RuleCase(
            code: "ORIGIN_VELOCITY_24H",
            transaction: Fixtures.transaction(),
            origin: VelocitySnapshot(countLast24Steps: 12, amountLast24StepsCents: 99, stepsSinceLastSeen: 2),
            detail: "origin already made 12 transactions totalling 0.99 in the last 24 hours (limit 10)"
        ),
        RuleCase(
            code: "DESTINATION_FAN_IN",
            transaction: Fixtures.transaction(
                step: 12,
                type: .transfer,
                destination: "MULE",
                destinationBefore: 0,
                destinationAfter: 983_964
            ),
            destination: VelocitySnapshot(
                countLast24Steps: 30,
                distinctCounterpartiesLast24Steps: 16,
                stepsSinceLastSeen: 0
            ),
            detail: "destination dealt with 16 or more distinct accounts in the last 24 hours (limit 10)"
        ),
        RuleCase(
            code: "NEW_ORIGIN_LARGE_AMOUNT",
            transaction: Fixtures.transaction(amountCents: 30_000_000, originBefore: 0, originAfter: 0),
            origin: .unseen,
            detail: "origin account not seen before sends 300000.00 (limit 200000.00)"
        ),
        RuleCase(
            code: "NIGHT_HOUR",
            transaction: Fixtures.transaction(
                step: 24 * 7 + 3,
                type: .cashOut,
                amountCents: 5_000,
                destination: "C2",
                destinationBefore: 0,
                destinationAfter: 5_000
            ),
            detail: "CASH_OUT of 50.00 at hour 3 (night is 0-5)"
        ),
    ]

    @Test("Each rule fires with its code and a sentence with the figures", arguments: ruleCases)
    func rule(_ ruleCase: RuleCase) throws {
        let features = FeatureExtractor.features(
            for: ruleCase.transaction,
            origin: ruleCase.origin,
            destination: ruleCase.destination
        )
        let (_, reasons) = Self.everything.evaluate(features)
        let reason = try #require(reasons.first { $0.code == ruleCase.code })
        #expect(reason.detail == ruleCase.detail)
    }

    @Test("The default model lists no reason with weight 0")
    func zeroWeightsAreSilent() {
        let features = FeatureExtractor.features(
            for: Fixtures.transaction(amountCents: 1_000, originBefore: 5_000, originAfter: 4_500),
            origin: VelocitySnapshot(stepsSinceLastSeen: 1),
            destination: .unseen
        )
        #expect(RiskModel.default.originBalanceMismatchWeight == 0)
        let (score, reasons) = RiskModel.default.evaluate(features)
        #expect(reasons.isEmpty)
        #expect(score == 0)
        #expect(Self.everything.evaluate(features).reasons.map(\.code) == ["ORIGIN_BALANCE_MISMATCH"])
    }

    @Test("Reasons are heaviest first and their weights add up to the score")
    func ordering() {
        let features = FeatureExtractor.features(
            for: Fixtures.transaction(
                step: 2,
                type: .transfer,
                amountCents: 200_000_000,
                originBefore: 200_000_000,
                originAfter: 0,
                destination: "C5",
                destinationBefore: 0,
                destinationAfter: 0
            ),
            origin: .unseen,
            destination: .unseen
        )
        let (score, reasons) = Self.everything.evaluate(features)
        #expect(reasons.count >= 5)
        #expect(zip(reasons, reasons.dropFirst()).allSatisfy { $0.weight >= $1.weight })
        #expect(reasons.allSatisfy { $0.weight > 0 })
        #expect(abs(reasons.map(\.weight).reduce(0, +) - score) < 1e-4)
    }

    @Test("Ties keep rule order")
    func ties() {
        let flat = RiskModel(riskyTypeWeight: 0.2, originDrainedWeight: 0.2, destinationBalanceUnchangedWeight: 0.2)
        let (_, reasons) = flat.evaluate(
            FeatureExtractor.features(for: Fixtures.paysimDrainTransfer, origin: .unseen, destination: .unseen)
        )
        #expect(reasons.prefix(3).map(\.code) == ["RISKY_TYPE", "ORIGIN_DRAINED", "DESTINATION_BALANCE_UNCHANGED"])
    }

    @Test("The score is clamped to 1 while reasons keep their full weights")
    func clamps() {
        let heavy = RiskModel(riskyTypeWeight: 0.9, originDrainedWeight: 0.9)
        let (score, reasons) = heavy.evaluate(
            FeatureExtractor.features(for: Fixtures.paysimDrainTransfer, origin: .unseen, destination: .unseen)
        )
        #expect(score == 1)
        #expect(reasons.map(\.weight).reduce(0, +) > 1)
    }

    @Test("Float noise does not push a sum below its threshold: 0.1 + 0.7 scores exactly 0.8")
    func exactSums() {
        let (score, _) = RiskModel.default.evaluate(
            FeatureExtractor.features(
                for: Fixtures.transaction(
                    step: 12,
                    type: .cashOut,
                    amountCents: 18_100,
                    originBefore: 18_100,
                    originAfter: 0,
                    destination: "C1",
                    destinationBefore: 100,
                    destinationAfter: 18_200
                ),
                origin: VelocitySnapshot(stepsSinceLastSeen: 1),
                destination: .unseen
            )
        )
        #expect(score == 0.8)
        #expect(RiskEngineConfiguration().decision(for: score) == .decline)
    }

    @Test(
        "Decisions by threshold",
        arguments: [
            (Float(0), Decision.approve), (0.49, .approve), (0.5, .review), (0.79, .review), (0.8, .decline),
            (1, .decline),
        ]
    )
    func decisions(_ score: Float, _ decision: Decision) {
        #expect(RiskEngineConfiguration().decision(for: score) == decision)
    }
}

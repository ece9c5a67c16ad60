import FraudCore
import FraudModel
import Testing

@Suite("Reasons of trained models")
struct ReasonTests {
    static let drain = Transaction(
        transactionID: "drain", step: 1, type: .transfer, amountCents: 18_100,
        originAccount: "C1305486145", originBalanceBeforeCents: 18_100, originBalanceAfterCents: 0,
        destinationAccount: "C553264065", destinationBalanceBeforeCents: 0, destinationBalanceAfterCents: 0
    )

    @Test("The bundled model declines PaySim's drain with ORIGIN_DRAINED first, weights summing to the score")
    func bundledDrain() throws {
        var configuration = RiskEngineConfiguration()
        configuration.adoptThresholds(of: .bundled)
        let engine = RiskEngine(configuration: configuration, trainedModel: .bundled)
        let assessment = try #require(engine.score(Self.drain, label: .unspecified).assessment)
        #expect(assessment.decision == .decline)
        #expect(assessment.modelVersion == TrainedModel.bundled.version)
        let first = try #require(assessment.reasons.first)
        #expect(first.code == Reason.Code.originDrained)
        #expect(first.detail == "origin balance 181.00 fully drained by a TRANSFER of 181.00")
        let sum = assessment.reasons.reduce(Float(0)) { $0 + $1.weight }
        #expect(abs(sum - assessment.riskScore) < 1e-5)
        #expect(zip(assessment.reasons, assessment.reasons.dropFirst()).allSatisfy { $0.weight >= $1.weight })
    }

    @Test("An ordinary PAYMENT is approved with no reasons")
    func payment() throws {
        var configuration = RiskEngineConfiguration()
        configuration.adoptThresholds(of: .bundled)
        let engine = RiskEngine(configuration: configuration, trainedModel: .bundled)
        let payment = Transaction(
            transactionID: "p", step: 12, type: .payment, amountCents: 983_964,
            originAccount: "C1231006815", originBalanceBeforeCents: 17_013_600, originBalanceAfterCents: 16_029_636,
            destinationAccount: "M1979787155", destinationBalanceBeforeCents: 0, destinationBalanceAfterCents: 0
        )
        let assessment = try #require(engine.score(payment, label: .unspecified).assessment)
        #expect(assessment.decision == .approve)
        #expect(assessment.reasons.isEmpty)
    }

    @Test("Contributions add up to the logit minus the baseline (logistic: the intercept)")
    func contributions() {
        let model = ModelFileTests.logistic
        let features = FeatureExtractor.features(for: Self.drain, origin: .unseen, destination: .unseen)
        let total = model.contributions(features).reduce(0, +)
        #expect(abs(model.logit(features) - (model.logistic!.intercept + total)) < 1e-12)
        let trees = ModelFileTests.trees
        let treeTotal = trees.contributions(features).reduce(0, +)
        // Baseline for trees: base logit plus each tree's root value.
        #expect(abs(trees.logit(features) - (-6 + 0.01 + treeTotal)) < 1e-12)
    }
}

import FraudCore
import FraudModel
import Testing

@Suite("Train/serve parity")
struct ParityTests {
    /// Generated rows with linked accounts, so velocity features are not trivially zero.
    static let rows: [PaySimRow] = GeneratorTests.rows(rows: 15_000, seed: 3, fraudRate: 0.02)

    @Test("Training features equal what an independent velocity store and the extractor give")
    func features() throws {
        let (set, rejected) = TrainingSet.replay(Self.rows, inputs: ModelInputs.all)
        #expect(rejected == 0)
        #expect(set.count == Self.rows.count)
        // Served path, rebuilt from the public pieces: one store, origin then destination, then the extractor.
        let store = VelocityStore()
        var nonZeroVelocity = 0
        for (index, row) in Self.rows.enumerated() {
            let transaction = try Transaction.validated(row.transaction(id: "x\(index)"))
            let origin = store.observe(
                account: row.originAccount, counterparty: row.destinationAccount,
                amountCents: row.amountCents, step: row.step
            )
            let destination = store.observe(
                account: row.destinationAccount, counterparty: row.originAccount,
                amountCents: row.amountCents, step: row.step
            )
            let features = FeatureExtractor.features(for: transaction, origin: origin, destination: destination)
            if !destination.isUnseen { nonZeroVelocity += 1 }
            for (column, input) in set.inputs.enumerated() {
                #expect(set.value(row: index, column: column) == input.value(in: features))
            }
        }
        #expect(nonZeroVelocity > 100)
    }

    @Test("The engine's score(_:label:) gives exactly the training path's scores", arguments: [false, true])
    func scores(trees: Bool) throws {
        var trainer = ModelTrainer(
            kind: trees ? .gradientBoostedTrees : .logisticRegression,
            inputs: ModelInputs.all,
            version: "parity"
        )
        trainer.boosting.trees = 20
        let result = trainer.train(Self.rows)
        let offline = ModelTrainer.score(result.model, result.set)
        var configuration = RiskEngineConfiguration()
        configuration.adoptThresholds(of: result.model)
        let engine = RiskEngine(configuration: configuration, trainedModel: result.model)
        #expect(engine.modelVersion == "parity")
        var flagged = 0
        for (index, row) in Self.rows.enumerated() {
            let transaction = try Transaction.validated(row.transaction(id: Replay.transactionID(index)))
            let assessment = try #require(engine.score(transaction, label: .unspecified).assessment)
            #expect(Double(assessment.riskScore) == offline[index].score)
            if assessment.decision != .approve {
                flagged += 1
                // Reasons share the score.
                let sum = assessment.reasons.reduce(Float(0)) { $0 + $1.weight }
                #expect(abs(sum - assessment.riskScore) <= 1e-5 * max(1, assessment.riskScore))
                #expect(!assessment.reasons.isEmpty)
            } else {
                #expect(assessment.reasons.isEmpty)
            }
        }
        #expect(flagged > 100)
    }
}

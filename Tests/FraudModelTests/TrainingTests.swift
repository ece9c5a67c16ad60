import FraudCore
import FraudModel
import Testing

@Suite("Training and evaluation")
struct TrainingTests {
    /// 40,000 generated rows at a 2 % fraud rate, in step order.
    static let rows: [PaySimRow] = GeneratorTests.rows(rows: 40_000, seed: 11, fraudRate: 0.02)

    @Test("Trained on early steps, each model kind separates the classes on later ones",
          arguments: [TrainedModel.Kind.logisticRegression, .gradientBoostedTrees])
    func separates(kind: TrainedModel.Kind) throws {
        var trainer = ModelTrainer(kind: kind, inputs: ModelInputs.all, maxStep: 300, version: "test")
        trainer.boosting.trees = 40
        let result = trainer.train(Self.rows)
        #expect(result.set.count > 10_000)
        let report = EvaluationReport(
            data: "generated",
            rows: Self.rows,
            model: result.model,
            steps: 301...743,
            legitWeight: 1
        )
        let model = try #require(report.systems.first { $0.name == "model" })
        #expect(model.metrics.rocAUC > 0.99)
        #expect(model.metrics.auprc > 0.95)
        #expect(model.decline.recall > 0.9)
        #expect(model.decline.precision > 0.95)
        // The baselines are there, and PaySim's own flag is as weak as in the real data.
        let flag = try #require(report.systems.first { $0.name == "isFlaggedFraud" })
        #expect(flag.decline.recall < 0.05)
        #expect(report.systems.map(\.name) == ["model", "rules", "isFlaggedFraud"])
    }

    @Test("Logistic regression learns the drain signal: the drain inputs add up to a positive weight")
    func learnsDrain() throws {
        let trainer = ModelTrainer(kind: .logisticRegression, inputs: ModelInputs.withoutVelocity, version: "t")
        let model = trainer.train(Self.rows).model
        let weights = try #require(model.logistic?.weights)
        let drainSignals = model.inputs.indices.filter {
            ["origin_drained", "amount_to_origin_balance_ratio", "origin_balance_error"]
                .contains(model.inputs[$0].column) && model.inputs[$0].transform != .signedLog10
        }
        #expect(drainSignals.map { weights[$0] }.reduce(0, +) > 0)
        #expect(model.thresholds.review <= model.thresholds.decline)
        #expect(model.thresholds.decline > 0 && model.thresholds.decline <= 1)
    }
}

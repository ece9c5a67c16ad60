import ArgumentParser
import FraudCore
import FraudModel
import Foundation

/// `fraud-ctl train`: replays labelled rows through the engine's feature path and fits a model.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the scoring model on the engine's features (computed online, in step order)."
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case logistic
        case trees
    }

    enum InputSet: String, ExpressibleByArgument, CaseIterable {
        case all
        case noVelocity = "no-velocity"
    }

    @Option(parsing: .upToNextOption, help: "PaySim CSV files (merged, de-duplicated, replayed in step order).")
    var data: [String]

    @Option(help: "Model file to write (JSON).")
    var out: String

    @Option(help: "Train on steps 1...N only (evaluate on later steps).")
    var trainMaxStep: UInt32?

    @Option(help: "Weight of each legitimate training row (re-weights a down-sampled file to the natural rate).")
    var legitWeight: Double = 1

    @Option(help: "Model kind: logistic (regression) or trees (gradient boosting).")
    var kind: Kind = .logistic

    @Option(help: "Inputs: all, or no-velocity.")
    var inputs: InputSet = .all

    @Option(help: "L2 penalty (logistic: per unit of sample weight; trees: on leaf values).")
    var l2: Double?

    @Option(help: "Trees (boosting rounds).")
    var trees = 200

    @Option(help: "Tree depth.")
    var depth = 4

    @Option(help: "Learning rate (trees).")
    var learningRate = 0.1

    @Option(help: "Smallest Hessian weight of a tree child.")
    var minChildWeight = 1.0

    @Option(help: "DECLINE at the lowest score with this weighted precision on the training rows.")
    var declinePrecision = 0.99

    @Option(help: "REVIEW at the lowest score with this weighted precision on the training rows.")
    var reviewPrecision = 0.5

    @Option(help: "Version string stored in the model.")
    var version: String?

    @Option(help: "Also write FraudCore's TrainedModel+Bundled.swift (the compiled-in default) here.")
    var emitSwift: String?

    func run() throws {
        let start = ContinuousClock.now
        let files = try data.map { path throws(CSVFiles.Failure) in try CSVFiles.readRows(path) }
        let dataset = PaySimDataset(files: files)
        let kindName = kind == .logistic ? "lr" : "gbt"
        var trainer = ModelTrainer(
            kind: kind == .logistic ? .logisticRegression : .gradientBoostedTrees,
            inputs: inputs == .all ? ModelInputs.all : ModelInputs.withoutVelocity,
            maxStep: trainMaxStep ?? .max,
            legitWeight: legitWeight,
            declinePrecision: declinePrecision,
            reviewPrecision: reviewPrecision,
            version: version ?? "\(kindName)-paysim-steps-1-\(trainMaxStep.map(String.init) ?? "all")"
        )
        if let l2 {
            trainer.logistic.l2 = l2
            trainer.boosting.l2 = l2
        }
        trainer.boosting.trees = trees
        trainer.boosting.maxDepth = depth
        trainer.boosting.learningRate = learningRate
        trainer.boosting.minChildWeight = minChildWeight
        let command = (["fraud-ctl"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        let result = trainer.train(
            dataset.rows,
            provenance: [
                "data": data.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "),
                "command": command,
                "inputs": inputs.rawValue,
            ]
        )
        try CSVFiles.writeFile(out, result.model.jsonBytes())
        if let emitSwift {
            try CSVFiles.writeFile(emitSwift, Array(result.model.swiftSource(generatedBy: command).utf8))
        }
        let model = result.model
        print("trained \(model.version) (\(model.kind.rawValue), \(model.inputs.count) inputs) -> \(out)")
        print("  rows: \(model.training["rows"] ?? "?"), duplicates dropped: \(dataset.duplicates)")
        print("  fit: \(model.training["fit"] ?? "")")
        print(
            "  thresholds: REVIEW \(model.thresholds.review), DECLINE \(model.thresholds.decline)"
        )
        print(
            "  in-sample: AUPRC \(String(format: "%.6f", result.trainingMetrics.auprc)),"
                + " ROC-AUC \(String(format: "%.6f", result.trainingMetrics.rocAUC))"
        )
        if let logistic = model.logistic {
            print("  standardised weights (intercept \(String(format: "%.3f", logistic.intercept))):")
            for (input, weight) in zip(model.inputs, logistic.weights).sorted(by: { abs($0.1) > abs($1.1) }) {
                print("    \(String(format: "%+9.4f", weight))  \(input)")
            }
        }
        print("  took \(String(format: "%.1f", secondsSince(start))) s")
    }
}

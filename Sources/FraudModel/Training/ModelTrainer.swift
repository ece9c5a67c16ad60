public import FraudCore
import Foundation

/// Trains a ``TrainedModel`` end to end: replay through the engine's feature path, fit, choose thresholds.
public struct ModelTrainer: Sendable {
    /// Which model to fit.
    public var kind: TrainedModel.Kind
    /// Inputs to use.
    public var inputs: [TrainedModel.Input]
    /// Last step trained on (never the raw step as a feature: only to split time).
    public var maxStep: UInt32
    /// Weight of each legitimate training row (re-weights a down-sampled file to the natural fraud rate).
    public var legitWeight: Double
    /// DECLINE: lowest threshold with at least this weighted precision on the training rows.
    public var declinePrecision: Double
    /// REVIEW: lowest threshold with at least this weighted precision on the training rows.
    public var reviewPrecision: Double
    /// Logistic regression settings.
    public var logistic: LogisticRegressionTrainer
    /// Gradient boosting settings.
    public var boosting: GradientBoostingTrainer
    /// Version string written into the model.
    public var version: String

    /// Creates a trainer with the defaults `fraud-ctl train` uses.
    public init(
        kind: TrainedModel.Kind = .logisticRegression,
        inputs: [TrainedModel.Input] = ModelInputs.all,
        maxStep: UInt32 = .max,
        legitWeight: Double = 1,
        declinePrecision: Double = 0.99,
        reviewPrecision: Double = 0.5,
        logistic: LogisticRegressionTrainer = .init(),
        boosting: GradientBoostingTrainer = .init(),
        version: String = "trained"
    ) {
        self.kind = kind
        self.inputs = inputs
        self.maxStep = maxStep
        self.legitWeight = legitWeight
        self.declinePrecision = declinePrecision
        self.reviewPrecision = reviewPrecision
        self.logistic = logistic
        self.boosting = boosting
        self.version = version
    }

    /// What training produced.
    public struct Result: Sendable {
        /// The model, thresholds included.
        public var model: TrainedModel
        /// The training set (after replay).
        public var set: TrainingSet
        /// In-sample metrics (optimistic by construction; see `fraud-ctl evaluate` for honest ones).
        public var trainingMetrics: BinaryMetrics
        /// Training rows rejected by validation.
        public var rejected: Int
    }

    /// Trains on `rows` (event-time order), steps `1...maxStep`.
    ///
    /// - Parameters:
    ///   - rows: Rows in event-time order.
    ///   - provenance: Recorded in the model's `training` map (files, command line…).
    public func train(_ rows: [PaySimRow], provenance: [String: String] = [:]) -> Result {
        let (set, rejected) = TrainingSet.replay(rows, inputs: inputs, maxStep: maxStep, legitWeight: legitWeight)
        var model = TrainedModel(
            version: version,
            kind: kind,
            inputs: inputs,
            thresholds: .init(review: 0.5, decline: 0.9)
        )
        var note = ""
        switch kind {
        case .logisticRegression:
            let (parameters, iterations) = logistic.fit(set)
            model.logistic = parameters
            note = "l2 \(logistic.l2), \(iterations) Newton steps"
        case .gradientBoostedTrees:
            model.trees = boosting.fit(set)
            note =
                "\(boosting.trees) trees, depth \(boosting.maxDepth), learning rate \(boosting.learningRate), "
                + "l2 \(boosting.l2), min child weight \(boosting.minChildWeight), \(boosting.maxBins) bins"
        }
        let examples = Self.score(model, set)
        let decline = ThresholdChooser.lowestThreshold(precision: declinePrecision, examples)
        let review = min(ThresholdChooser.lowestThreshold(precision: reviewPrecision, examples), decline)
        model.thresholds = .init(review: Float(review), decline: Float(decline))
        let metrics = BinaryMetrics(examples)
        var training = provenance
        training["fit"] = note
        training["rows"] = "\(set.count) (\(set.labels.count(where: { $0 })) fraud), \(rejected) rejected by validation"
        training["steps"] = maxStep == .max ? "all" : "1-\(maxStep)"
        training["legit_weight"] = String(legitWeight)
        training["thresholds"] =
            "REVIEW: lowest with weighted precision >= \(reviewPrecision), DECLINE: >= \(declinePrecision) "
            + "(on the training rows, midway in logit to the next lower score)"
        training["training_auprc"] = format(metrics.auprc, 6)
        training["training_roc_auc"] = format(metrics.rocAUC, 6)
        model.training = training
        return Result(model: model, set: set, trainingMetrics: metrics, rejected: rejected)
    }

    /// Scores every row of `set` with `model`, exactly as the engine would (same logit code, same `Float`).
    public static func score(_ model: TrainedModel, _ set: TrainingSet) -> [ScoredExample] {
        let width = set.inputs.count
        return set.values.withUnsafeBufferPointer { values in
            (0..<set.count).map { row in
                let x = UnsafeBufferPointer(rebasing: values[(row * width)..<((row + 1) * width)])
                let score = TrainedModel.riskScore(logit: model.logit(inputValues: x))
                return ScoredExample(score: Double(score), isFraud: set.labels[row], weight: set.weights[row])
            }
        }
    }
}

extension TrainedModel {
    /// Swift source declaring ``TrainedModel/bundled`` from this model's JSON (the same bytes as the
    /// model file), for `Sources/FraudCore/TrainedModel/TrainedModel+Bundled.swift`.
    public func swiftSource(generatedBy command: String) -> String {
        let json = String(decoding: jsonBytes(), as: UTF8.self)
        return """
            // Generated by `\(command)`. Do not edit: retrain instead.
            // The JSON is byte for byte data/model.json.

            extension TrainedModel {
                /// The default model, trained on the bundled PaySim data (version `\(version)`): what the
                /// server uses when no model file is given.
                public static let bundled: TrainedModel = {
                    do {
                        return try TrainedModel(json: Array(bundledJSON.utf8))
                    } catch {
                        preconditionFailure("the bundled model does not decode: \\(error)")
                    }
                }()

                /// The bundled model's file.
                public static let bundledJSON = #\"\"\"
            \(json)\"\"\"#
            }

            """
    }
}

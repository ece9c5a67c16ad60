/// One scored example: the score, the truth and its weight (legitimate rows of a down-sampled file carry
/// the inverse sampling fraction).
public struct ScoredExample: Sendable, Hashable {
    /// The risk score (higher is riskier).
    public var score: Double
    /// The label.
    public var isFraud: Bool
    /// The weight.
    public var weight: Double

    /// Creates an example.
    public init(score: Double, isFraud: Bool, weight: Double = 1) {
        self.score = score
        self.isFraud = isFraud
        self.weight = weight
    }
}

/// Counts and rates of "score ≥ threshold" as the positive call.
public struct ThresholdMetrics: Sendable, Hashable, Codable {
    /// The threshold.
    public var threshold: Double
    /// Weighted frauds at or above the threshold.
    public var truePositives: Double
    /// Weighted legitimate rows at or above it.
    public var falsePositives: Double
    /// Weighted frauds below it.
    public var falseNegatives: Double
    /// Weighted legitimate rows below it.
    public var trueNegatives: Double
    /// Legitimate *rows* (unweighted) at or above it.
    public var falsePositiveRows: Int
    /// `TP / (TP + FN)`.
    public var recall: Double
    /// `TP / (TP + FP)` (1 when nothing is flagged).
    public var precision: Double
    /// `FP / (FP + TN)`.
    public var falsePositiveRate: Double
}

/// Weighted ranking metrics, computed exactly (ties handled as groups, like scikit-learn's
/// `roc_auc_score` and `average_precision_score` with `sample_weight`).
public struct BinaryMetrics: Sendable, Hashable, Codable {
    /// Fraud rows.
    public var positives: Int
    /// Legitimate rows.
    public var negatives: Int
    /// Weighted legitimate rows.
    public var negativeWeight: Double
    /// Area under the ROC curve: P(fraud scores above legit) + ½ P(tie).
    public var rocAUC: Double
    /// Average precision: Σ (recall_k − recall_{k−1}) · precision_k over distinct thresholds, descending.
    public var auprc: Double
    /// Best recall with a weighted false-positive rate ≤ 0.1 %, and the threshold giving it.
    public var recallAtFPR0001: Double
    /// The lowest threshold whose false-positive rate is ≤ 0.1 %.
    public var thresholdAtFPR0001: Double

    /// Computes the ranking metrics of `examples`.
    public init(_ examples: [ScoredExample]) {
        let sorted = examples.sorted { $0.score > $1.score }
        let totalPositive = sorted.reduce(0.0) { $0 + ($1.isFraud ? $1.weight : 0) }
        let totalNegative = sorted.reduce(0.0) { $0 + ($1.isFraud ? 0 : $1.weight) }
        positives = examples.count(where: \.isFraud)
        negatives = examples.count - positives
        negativeWeight = totalNegative
        var truePositive = 0.0
        var falsePositive = 0.0
        var area = 0.0
        var averagePrecision = 0.0
        var bestRecall = 0.0
        var bestThreshold = Double.infinity
        var index = 0
        while index < sorted.count {
            let score = sorted[index].score
            var groupPositive = 0.0
            var groupNegative = 0.0
            while index < sorted.count, sorted[index].score == score {
                if sorted[index].isFraud {
                    groupPositive += sorted[index].weight
                } else {
                    groupNegative += sorted[index].weight
                }
                index += 1
            }
            area += groupNegative * (truePositive + groupPositive / 2)
            truePositive += groupPositive
            falsePositive += groupNegative
            if groupPositive > 0, totalPositive > 0 {
                averagePrecision += groupPositive / totalPositive * truePositive / (truePositive + falsePositive)
            }
            if totalNegative > 0, falsePositive / totalNegative <= 0.001, totalPositive > 0 {
                bestRecall = truePositive / totalPositive
                bestThreshold = score
            }
        }
        rocAUC = totalPositive > 0 && totalNegative > 0 ? area / (totalPositive * totalNegative) : .nan
        auprc = totalPositive > 0 ? averagePrecision : .nan
        recallAtFPR0001 = bestRecall
        thresholdAtFPR0001 = bestThreshold
    }

    /// Confusion counts at `threshold`.
    public static func at(_ threshold: Double, _ examples: [ScoredExample]) -> ThresholdMetrics {
        var tp = 0.0
        var fp = 0.0
        var fn = 0.0
        var tn = 0.0
        var fpRows = 0
        for example in examples {
            switch (example.isFraud, example.score >= threshold) {
            case (true, true): tp += example.weight
            case (true, false): fn += example.weight
            case (false, true):
                fp += example.weight
                fpRows += 1
            case (false, false): tn += example.weight
            }
        }
        return ThresholdMetrics(
            threshold: threshold,
            truePositives: tp,
            falsePositives: fp,
            falseNegatives: fn,
            trueNegatives: tn,
            falsePositiveRows: fpRows,
            recall: tp + fn > 0 ? tp / (tp + fn) : .nan,
            precision: tp + fp > 0 ? tp / (tp + fp) : 1,
            falsePositiveRate: fp + tn > 0 ? fp / (fp + tn) : 0
        )
    }
}

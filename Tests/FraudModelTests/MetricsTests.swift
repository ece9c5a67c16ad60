import FraudModel
import Testing

@Suite("Metrics")
struct MetricsTests {
    /// Six examples, computed by hand:
    /// ```
    /// score  0.9  0.8  0.7  0.6  0.6  0.1
    /// label  F    L    F    L    F    L
    /// weight 1    2    1    1    1    1
    /// ```
    static let examples = [
        ScoredExample(score: 0.9, isFraud: true),
        ScoredExample(score: 0.8, isFraud: false, weight: 2),
        ScoredExample(score: 0.7, isFraud: true),
        ScoredExample(score: 0.6, isFraud: false),
        ScoredExample(score: 0.6, isFraud: true),
        ScoredExample(score: 0.1, isFraud: false),
    ]

    @Test("ROC-AUC: weighted pairs ranked right, ties count half")
    func rocAUC() {
        // Legit 0.8 (w 2): 1 fraud above → 2. Legit 0.6: 2 above + ½ tie → 2.5. Legit 0.1: 3 → 3.
        // (2 + 2.5 + 3) / (3 frauds × 4 legit weight) = 7.5 / 12.
        #expect(abs(BinaryMetrics(Self.examples).rocAUC - 0.625) < 1e-12)
    }

    @Test("AUPRC: average precision over distinct thresholds, weighted")
    func auprc() {
        // 0.9: P=1/1 (+1/3·1); 0.7: TP 2, FP 2 → 0.5 (+1/3·0.5); 0.6 (tie group): TP 3, FP 3 → 0.5 (+1/3·0.5).
        #expect(abs(BinaryMetrics(Self.examples).auprc - 2.0 / 3.0) < 1e-12)
    }

    @Test("Weighted precision, recall and FPR at a threshold")
    func threshold() {
        let at = BinaryMetrics.at(0.7, Self.examples)
        #expect(at.truePositives == 2)
        #expect(at.falsePositives == 2)
        #expect(at.falsePositiveRows == 1)
        #expect(abs(at.precision - 0.5) < 1e-12)
        #expect(abs(at.recall - 2.0 / 3.0) < 1e-12)
        #expect(abs(at.falsePositiveRate - 0.5) < 1e-12)
        let all = BinaryMetrics.at(0, Self.examples)
        #expect(all.recall == 1 && abs(all.precision - 3.0 / 7.0) < 1e-12)
        let none = BinaryMetrics.at(0.95, Self.examples)
        #expect(none.recall == 0 && none.precision == 1)
    }

    @Test("Recall at FPR <= 0.1 %: only the threshold above every legitimate row qualifies")
    func recallAtLowFPR() {
        let metrics = BinaryMetrics(Self.examples)
        #expect(abs(metrics.recallAtFPR0001 - 1.0 / 3.0) < 1e-12)
        #expect(metrics.thresholdAtFPR0001 == 0.9)
    }

    @Test("Threshold choice: lowest with the precision, halfway in logit to the next score")
    func chooser() {
        // Precision ≥ 0.9 only at 0.9; the next score is 0.8: odds √(9·4) = 6 → 6/7.
        let threshold = ThresholdChooser.lowestThreshold(precision: 0.9, Self.examples)
        #expect(abs(threshold - 6.0 / 7.0) < 1e-12)
        // Precision ≥ 0.5 holds down to the 0.6 group; the next score is 0.1.
        let low = ThresholdChooser.lowestThreshold(precision: 0.5, Self.examples)
        #expect(low < 0.6 && low > 0.1)
        #expect(ThresholdChooser.lowestThreshold(precision: 1.01, Self.examples) == 1)
    }
}

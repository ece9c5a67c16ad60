import Foundation

/// Picks decision thresholds on scored training data.
public enum ThresholdChooser {
    /// The lowest threshold whose weighted precision (of "score ≥ threshold") is at least `target`,
    /// placed halfway, in logit space, between the lowest score it keeps and the next lower score: the
    /// margin keeps a slightly different score on new data on the same side.
    ///
    /// - Parameters:
    ///   - target: Required precision, e.g. 0.99.
    ///   - examples: Scores in `0...1` with labels and weights.
    /// - Returns: The threshold in `0...1`; 1 when no threshold reaches the target.
    public static func lowestThreshold(precision target: Double, _ examples: [ScoredExample]) -> Double {
        let sorted = examples.sorted { $0.score > $1.score }
        var truePositive = 0.0
        var falsePositive = 0.0
        var chosen: Int?  // index of the first example below the chosen group
        var index = 0
        while index < sorted.count {
            let score = sorted[index].score
            while index < sorted.count, sorted[index].score == score {
                if sorted[index].isFraud {
                    truePositive += sorted[index].weight
                } else {
                    falsePositive += sorted[index].weight
                }
                index += 1
            }
            if truePositive > 0, truePositive / (truePositive + falsePositive) >= target {
                chosen = index
            }
        }
        guard let chosen, chosen > 0 else { return 1 }
        let kept = sorted[chosen - 1].score
        guard chosen < sorted.count else { return kept }
        return midpoint(kept, sorted[chosen].score)
    }

    /// The score halfway between `high` and `low` in logit space.
    public static func midpoint(_ high: Double, _ low: Double) -> Double {
        func logit(_ p: Double) -> Double {
            let clamped = min(max(p, 1e-15), 1 - 1e-15)
            return log(clamped / (1 - clamped))
        }
        let middle = (logit(high) + logit(low)) / 2
        let result = 1 / (1 + exp(-middle))
        // Never above the kept score (rounding at the extremes).
        return min(max(result, low), high)
    }
}

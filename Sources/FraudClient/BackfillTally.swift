public import FraudCore

/// What a backfill has seen so far: answers by outcome and the confusion matrix against the labels.
///
/// *Flagged* means the server did not approve (REVIEW or DECLINE); recall and precision are of the flag
/// against the `isFraud` label.
public struct BackfillTally: Codable, Sendable, Hashable {
    /// Answers that were new decisions.
    public var scored = 0
    /// Answers that were earlier decisions (idempotent replays of ids already scored).
    public var replayed = 0
    /// Rows written to the rejects file.
    public var rejected = 0
    /// Answers by decision.
    public var approved = 0
    public var reviewed = 0
    public var declined = 0
    /// Fraud rows flagged.
    public var truePositives = 0
    /// Legitimate rows flagged.
    public var falsePositives = 0
    /// Fraud rows approved.
    public var falseNegatives = 0
    /// Legitimate rows approved.
    public var trueNegatives = 0

    public init() {}

    /// Rows answered (scored or replayed).
    public var answered: Int { scored + replayed }

    /// Rows done: answered or rejected.
    public var done: Int { answered + rejected }

    /// Counts one answer.
    public mutating func record(_ decision: Decision, isFraud: Bool, replayed wasReplayed: Bool) {
        if wasReplayed { replayed += 1 } else { scored += 1 }
        switch decision {
        case .approve: approved += 1
        case .review: reviewed += 1
        case .decline: declined += 1
        }
        let flagged = decision != .approve
        switch (isFraud, flagged) {
        case (true, true): truePositives += 1
        case (false, true): falsePositives += 1
        case (true, false): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    /// Fraud rows flagged / fraud rows; `nil` without fraud rows.
    public var recall: Double? {
        let fraud = truePositives + falseNegatives
        return fraud == 0 ? nil : Double(truePositives) / Double(fraud)
    }

    /// Fraud rows flagged / rows flagged; `nil` when nothing was flagged.
    public var precision: Double? {
        let flagged = truePositives + falsePositives
        return flagged == 0 ? nil : Double(truePositives) / Double(flagged)
    }

    enum CodingKeys: String, CodingKey {
        case scored, replayed, rejected, approved, reviewed, declined
        case truePositives = "true_positives"
        case falsePositives = "false_positives"
        case falseNegatives = "false_negatives"
        case trueNegatives = "true_negatives"
    }
}

public import FraudCore

/// One decision as it is journaled and stored in the `decisions` table: the transaction, its label, the
/// engine's assessment and when it was made.
public struct DecisionRecord: Sendable, Hashable {
    /// The scored transaction (its `transactionID` is the table's primary key).
    public var transaction: Transaction
    /// The known outcome sent by a backfill; `.unspecified` (stored as NULL) for live traffic.
    public var label: Label
    /// The answer the client received.
    public var assessment: Assessment
    /// Microseconds the call spent inside the server (`server_time_us`).
    public var serverTimeMicros: UInt32
    /// When the decision was made, in microseconds since the Unix epoch (`scored_at`).
    public var scoredAtMicros: Int64

    /// Creates a record.
    public init(
        transaction: Transaction,
        label: Label,
        assessment: Assessment,
        serverTimeMicros: UInt32,
        scoredAtMicros: Int64
    ) {
        self.transaction = transaction
        self.label = label
        self.assessment = assessment
        self.serverTimeMicros = serverTimeMicros
        self.scoredAtMicros = scoredAtMicros
    }
}

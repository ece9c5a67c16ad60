/// Which decisions an analytics listing returns; every field is optional and they combine with AND.
public struct AnalyticsFilter: Sendable, Hashable {
    /// Origin or destination account.
    public var account: String?
    /// PaySim type names (`TRANSFER`, …); any of them.
    public var types: [String] = []
    /// Decision names (`APPROVE`, `REVIEW`, `DECLINE`); any of them.
    public var decisions: [String] = []
    /// Event-time range, inclusive.
    public var stepFrom: UInt32?
    /// Event-time range, inclusive.
    public var stepTo: UInt32?
    /// `scored_at` at or after, microseconds since the Unix epoch.
    public var sinceMicros: Int64?
    /// `scored_at` before, microseconds since the Unix epoch.
    public var untilMicros: Int64?
    /// Risk score range, inclusive.
    public var minScore: Float?
    /// Risk score range, inclusive.
    public var maxScore: Float?
    /// Rows per page.
    public var limit = 100
    /// Keyset position: the page starts after this (`scored_at` microseconds, `transaction_id`).
    public var after: PageCursor?

    /// Creates an empty filter (everything, newest first).
    public init() {}
}

/// A keyset pagination position: the last row of the previous page in the order
/// `scored_at DESC, transaction_id DESC`.
public struct PageCursor: Sendable, Hashable {
    /// `scored_at` of the last row, microseconds since the Unix epoch.
    public var scoredAtMicros: Int64
    /// `transaction_id` of the last row.
    public var transactionID: String

    /// Creates a cursor.
    public init(scoredAtMicros: Int64, transactionID: String) {
        self.scoredAtMicros = scoredAtMicros
        self.transactionID = transactionID
    }
}

/// One page of a listing.
public struct AnalyticsPage: Sendable {
    /// The rows, each a JSON object (text) built by PostgreSQL.
    public var itemsJSON: [String]
    /// Where the next page starts; `nil` on the last page.
    public var next: PageCursor?
}

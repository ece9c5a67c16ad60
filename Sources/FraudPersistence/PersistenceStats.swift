/// A snapshot of the decision log's counters, for health, metrics and logs.
public struct PersistenceStats: Sendable, Hashable {
    /// Highest journal sequence number written (sequence numbers never repeat, across restarts too).
    public var appendedSequence: UInt64
    /// Records appended by this process.
    public var appended: UInt64
    /// Highest sequence number committed to PostgreSQL (every record up to it is in `decisions`).
    public var committedSequence: UInt64
    /// Rows committed to PostgreSQL by this process (including replays of earlier runs' journal).
    public var committed: UInt64
    /// Records journaled but not yet committed (``appendedSequence`` − ``committedSequence``).
    public var backlog: UInt64
    /// Highest sequence number covered by an `fdatasync` (`.fsync` mode; equal to ``appendedSequence``
    /// in `.process` mode).
    public var durableSequence: UInt64
    /// Rows in the last committed batch.
    public var lastBatchSize: Int
    /// Time from the append of the newest record in the last batch to its commit, in milliseconds
    /// (0 for batches read back from the journal files).
    public var commitLagMillis: Double
    /// Whether a PostgreSQL URL was configured.
    public var isPostgresConfigured: Bool
    /// Whether the writer's last attempt to reach PostgreSQL succeeded.
    public var isPostgresReachable: Bool
    /// Files in the journal directory holding bytes that failed their checksum (`*.quarantine`), found at
    /// start-up or while reading back.
    public var quarantinedFiles: [String]
    /// Records PostgreSQL refused as data errors (kept in `rejected.log` in the journal directory).
    public var rejectedRows: UInt64
    /// Records waiting in the writer's in-memory queue.
    public var queuedInMemory: Int
    /// Whether the writer is holding back its PostgreSQL work for a burst (`--writer-priority defer`): the
    /// backlog grows until the burst ends, then the writer catches up.
    public var isWriterDeferring: Bool
}

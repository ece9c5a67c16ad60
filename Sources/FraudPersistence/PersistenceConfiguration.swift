/// How far a decision is durable when ``DecisionLog/append(_:)`` (and, for `.fsync`,
/// ``DecisionLog/whenDurable(_:_:)``) has returned.
public enum Durability: String, Sendable, Hashable, CaseIterable {
    /// The record is in the kernel (one `write(2)` to the journal segment) before the answer is sent:
    /// survives a crash or `kill -9` of the server and any PostgreSQL outage; not a power loss or
    /// kernel crash (the page cache is lost).
    case process
    /// The record is on stable storage (`fdatasync`, group commit: one sync covers every record waiting
    /// for it) before the answer is sent: also survives power loss.
    case fsync
}

/// Settings of a ``DecisionLog``.
public struct PersistenceConfiguration: Sendable {
    /// Where journal segments, the commit marker and quarantined bytes live (`--journal-dir`).
    public var journalDirectory: String
    /// libpq connection URI or `key=value` string (`--postgres-url` / `FRAUD_POSTGRES_URL`); `nil` keeps
    /// decisions in the journal only (the log says so at start-up).
    public var postgresURL: String?
    /// What a returned append guarantees (`--durability`).
    public var durability: Durability
    /// Records journaled but not yet committed to PostgreSQL before ``DecisionLog/hasCapacity`` turns
    /// false. Ignored when no PostgreSQL is configured (the journal then only grows).
    public var backlogCap: Int
    /// Most rows per PostgreSQL transaction. Batches only grow this large when the writer is behind (a
    /// backlog after an outage, or a burst); larger ones amortise the commit's WAL flush.
    public var batchSize: Int
    /// Longest a record waits for more records to fill a batch (a full batch goes at once).
    public var batchInterval: Duration
    /// A segment file is closed and a new one started once it would grow past this many bytes.
    public var segmentBytes: Int
    /// Records kept in memory for the writer; beyond it the writer reads them back from the segments.
    public var memoryQueueCapacity: Int
    /// How long ``DecisionLog/shutdown()`` keeps committing the backlog before it gives up (what is left
    /// stays in the journal and is replayed at the next start).
    public var shutdownTimeout: Duration
    /// How long one connection attempt to PostgreSQL may take (`connect_timeout`, whole seconds, min 2),
    /// unless the URL sets its own.
    public var connectTimeout: Duration
    /// How rows reach PostgreSQL. The default is the faster one on the benchmark (see ``InsertMethod``).
    public var insertMethod: InsertMethod
    /// How the PostgreSQL writer steps aside while the server is appending decisions (`--writer-priority`).
    /// `.idle` (the default) and `.low` lower the OS priority of the PostgreSQL backend serving the writer,
    /// when that backend is a process of this machine that may be changed (loopback or socket connection,
    /// same OS user or root); `.deferred` sends nothing to PostgreSQL until the burst is over. With either, a
    /// burst that saturates the cores is scored first and committed afterwards or on free cores: the journal
    /// holds the decisions meanwhile (durability is unchanged; only the commit lag grows). The writer thread
    /// runs at ``BackgroundPriority/low`` unless this is `.normal`. See ``WriterYield`` for when a burst
    /// ends: ``burstQuietPeriod`` without appends, a backlog over three quarters of ``backlogCap``, or
    /// ``maxYield``.
    public var writerPriority: WriterPriority
    /// Longest stretch of uninterrupted appends during which the writer steps aside (backend lowered, or
    /// PostgreSQL work deferred).
    public var maxYield: Duration
    /// How long appends must pause before a burst counts as over (the writer stops stepping aside).
    public var burstQuietPeriod: Duration

    /// How a batch is written.
    public enum InsertMethod: String, Sendable, Hashable, CaseIterable {
        /// `COPY` (text format) straight into `decisions` (one statement, atomic); if a row already exists
        /// (unique violation: a replay), the batch goes the `stagedCopy` way instead. The fastest.
        case copy
        /// `COPY` into a temporary table, then `INSERT … SELECT … ON CONFLICT DO NOTHING`, in one transaction.
        case stagedCopy
        /// One `INSERT … SELECT FROM unnest($1::text[], …) ON CONFLICT DO NOTHING` with array parameters.
        case unnest
    }

    /// Creates a configuration; every argument has a production default.
    public init(
        journalDirectory: String = "var/journal",
        postgresURL: String? = nil,
        durability: Durability = .process,
        backlogCap: Int = 1_000_000,
        batchSize: Int = 10_000,
        batchInterval: Duration = .milliseconds(10),
        segmentBytes: Int = 64 << 20,
        memoryQueueCapacity: Int = 100_000,
        shutdownTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        insertMethod: InsertMethod = .copy,
        writerPriority: WriterPriority = .idle,
        maxYield: Duration = .seconds(120),
        burstQuietPeriod: Duration = .milliseconds(500)
    ) {
        self.journalDirectory = journalDirectory
        self.postgresURL = postgresURL
        self.durability = durability
        self.backlogCap = backlogCap
        self.batchSize = batchSize
        self.batchInterval = batchInterval
        self.segmentBytes = segmentBytes
        self.memoryQueueCapacity = memoryQueueCapacity
        self.shutdownTimeout = shutdownTimeout
        self.connectTimeout = connectTimeout
        self.insertMethod = insertMethod
        self.writerPriority = writerPriority
        self.maxYield = maxYield
        self.burstQuietPeriod = burstQuietPeriod
    }

    /// Checks ranges.
    func validate() throws(PersistenceError) {
        func fail(_ message: String) -> PersistenceError {
            PersistenceError(code: .invalidConfiguration, message: message)
        }
        if journalDirectory.isEmpty { throw fail("journal directory is empty") }
        if backlogCap < 1 { throw fail("backlog cap must be >= 1 (got \(backlogCap))") }
        if batchSize < 1 || batchSize > 100_000 { throw fail("batch size must be 1...100000 (got \(batchSize))") }
        if batchInterval < .zero { throw fail("batch interval must be >= 0") }
        if segmentBytes < 4096 { throw fail("segment size must be >= 4096 bytes (got \(segmentBytes))") }
        if memoryQueueCapacity < 1 { throw fail("memory queue capacity must be >= 1") }
    }
}

import Glibc
public import Logging
import Synchronization

/// The decision log: every decision is appended to a local journal before its answer is sent, and
/// written asynchronously, in batches, to the PostgreSQL table `decisions`.
///
/// Guarantees (see ``Durability``): a decision for which ``append(_:)`` returned (and, in `.fsync` mode,
/// ``whenDurable(_:_:)`` reported success) reaches `decisions` exactly once — across PostgreSQL outages and
/// restarts, crashes and `kill -9` of the server (`.process`), and power loss (`.fsync`) — unless the journal
/// files themselves are damaged, in which case the damaged bytes are quarantined and reported. Rows are keyed
/// on `transaction_id`: a replay never duplicates one, and the first decision for an id wins.
///
/// Threads: appends run on the caller's thread (an event loop) and cost one `write(2)`; PostgreSQL is
/// written by a dedicated thread with its own libpq connection; `.fsync` mode adds a flusher thread that
/// group-commits `fdatasync`. Nothing here waits for PostgreSQL on the caller's thread.
///
/// One process per journal directory (an exclusive `flock` on `journal.lock`).
public final class DecisionLog: Sendable {
    /// The configuration given at creation.
    public let configuration: PersistenceConfiguration
    let journal: Journal
    let logger: Logger

    /// Opens (or creates) the journal directory and starts the writer.
    ///
    /// Scans every segment and verifies every checksum; a damaged part is moved to a `*.quarantine` file and
    /// logged, the intact records around it are kept. When a PostgreSQL URL is configured, waits (at most
    /// ``PersistenceConfiguration/connectTimeout`` + 5 s) for the writer's first connection, which applies
    /// the schema migrations under an advisory lock; if PostgreSQL is down the writer keeps retrying in the
    /// background and the journal takes the decisions meanwhile. Records from earlier runs that PostgreSQL
    /// has not committed are replayed by the writer.
    ///
    /// - Parameters:
    ///   - configuration: Directory, PostgreSQL URL, durability and limits.
    ///   - logger: Receives start-up, outage, quarantine and shutdown lines (nothing per decision). Defaults
    ///     to a logger labelled `fraud.persistence`.
    /// - Throws: ``PersistenceError``: `.invalidConfiguration` (ranges, unparsable URL), `.journalLocked`
    ///   (another process uses the directory), `.journalIO` (the directory cannot be created or read).
    public init(
        configuration: PersistenceConfiguration,
        logger: Logger = Logger(label: "fraud.persistence")
    ) throws(PersistenceError) {
        try configuration.validate()
        if let url = configuration.postgresURL, let problem = PGConnection.parseError(inURL: url) {
            throw PersistenceError(code: .invalidConfiguration, message: "PostgreSQL URL does not parse: \(problem)")
        }
        self.configuration = configuration
        self.logger = logger
        let journal = try Journal(configuration: configuration, logger: logger)
        self.journal = journal
        if configuration.durability == .fsync {
            journal.threadStarting()
            PersistenceThread.spawn(name: "fraud-jrnl-sync") { journal.runFlusher() }
        }
        if let url = configuration.postgresURL {
            journal.threadStarting()
            PersistenceThread.spawn(name: "fraud-pg-writer") {
                DecisionWriter(journal: journal, url: url, logger: logger).run()
            }
            if configuration.writerPriority != .normal {
                journal.threadStarting()
                PersistenceThread.spawn(name: "fraud-pg-yield") {
                    var yield = WriterYield(journal: journal, logger: logger)
                    yield.run()
                }
            }
            let limit = MonotonicTime.now() + configuration.connectTimeout + .seconds(5)
            let isReachable = journal.state.wait(
                on: journal.statusChanged,
                until: limit,
                for: { $0.firstConnectionAttemptDone },
                then: { state, _ in state.isPostgresReachable }
            )
            if !isReachable {
                logger.warning(
                    "PostgreSQL is not reachable at start-up: decisions are journaled and written when it is back",
                    metadata: [LogKey.path: "\(journal.directory)"]
                )
            }
        } else {
            logger.notice(
                "no PostgreSQL configured (--postgres-url / FRAUD_POSTGRES_URL): decisions are journaled only",
                metadata: [LogKey.path: "\(journal.directory)"]
            )
        }
    }

    deinit {
        // Dropped without shutdown(): stop the threads without flushing, like a crash. The journal keeps
        // everything; the next start replays it.
        let isOpen = journal.state.withLock { $0.phase == .running }
        if isOpen {
            logger.warning("decision log released without shutdown(); the next start replays its journal")
            journal.setPhase(.abandoned)
        }
    }

    /// Whether a new decision may be accepted: the backlog not yet committed to PostgreSQL is under
    /// ``PersistenceConfiguration/backlogCap`` and the journal is writable. Check it before scoring; when
    /// false, answer UNAVAILABLE and report NOT_SERVING. Becomes true again by itself as the writer
    /// catches up. Lock-free.
    public var hasCapacity: Bool {
        if journal.isFailed.load(ordering: .relaxed) { return false }
        guard configuration.postgresURL != nil else { return true }
        let appended = journal.appendedSequence.load(ordering: .relaxed)
        let committed = journal.committedSequence.load(ordering: .relaxed)
        return appended &- min(committed, appended) < UInt64(configuration.backlogCap)
    }

    /// Journals a decision.
    ///
    /// Cheap and non-blocking apart from the `write(2)` (never waits for PostgreSQL). In `.process` mode the
    /// record is in the kernel when this returns: answer the client. In `.fsync` mode, answer from
    /// ``whenDurable(_:_:)`` with the returned sequence number. Appending never refuses for backlog reasons
    /// (check ``hasCapacity`` before scoring instead).
    ///
    /// - Parameter record: The decision, as it will be stored.
    /// - Returns: The record's sequence number in the journal.
    /// - Throws: ``PersistenceError``: `.journalIO` (disk full, I/O error: the record is not journaled),
    ///   `.durabilityLost` (an earlier fdatasync failed), `.closed` (after ``shutdown()``).
    @discardableResult
    public func append(_ record: DecisionRecord) throws(PersistenceError) -> UInt64 {
        var framed = JournalFormat.FramedRecord(record)
        return try journal.append(one: &framed, record: record)
    }

    /// Journals several decisions with one `write(2)` (e.g. the answers of one stream read).
    ///
    /// - Returns: The sequence number of the last record (of the journal, if `records` is empty).
    /// - Throws: As ``append(_:)``; none of the records is journaled then.
    @discardableResult
    public func append(contentsOf records: [DecisionRecord]) throws(PersistenceError) -> UInt64 {
        if records.isEmpty { return journal.appendedSequence.load(ordering: .acquiring) }
        var framed = records.map(JournalFormat.FramedRecord.init)
        return try journal.append(&framed, records: records)
    }

    /// Runs `body` once the record with `sequence` is durable.
    ///
    /// In `.process` mode, and in `.fsync` mode when the sequence is already synced, `body` runs at once on
    /// the caller's thread; otherwise it runs on the flusher thread after the `fdatasync` that covers it
    /// (hop back to your event loop in `body`). Never blocks.
    ///
    /// - Parameters:
    ///   - sequence: A value returned by ``append(_:)``.
    ///   - body: Receives `.success`, or `.failure` with `.durabilityLost` when fdatasync failed (the answer
    ///     must then be an error) or `.closed` when the log shut down first.
    public func whenDurable(
        _ sequence: UInt64,
        _ body: @escaping @Sendable (Result<Void, PersistenceError>) -> Void
    ) {
        journal.whenDurable(sequence, body)
    }

    /// Decisions appended and not yet committed to PostgreSQL, read from two atomics without the journal's
    /// lock (which every scoring call takes): for pollers on low-priority threads, e.g. the dashboard's
    /// `/api/v1/live`, so that a poller preempted at the wrong moment never holds up scoring.
    public var backlog: UInt64 {
        let appended = journal.appendedSequence.load(ordering: .acquiring)
        let committed = journal.committedSequence.load(ordering: .acquiring)
        return appended &- min(committed, appended)
    }

    /// A snapshot of the counters (takes the journal's lock briefly).
    public var stats: PersistenceStats {
        let committed = journal.committedSequence.load(ordering: .relaxed)
        return journal.state.withLock { state in
            PersistenceStats(
                appendedSequence: state.lastSequence,
                appended: state.appendedByThisProcess,
                committedSequence: committed,
                committed: state.committedRows,
                backlog: state.lastSequence &- min(committed, state.lastSequence),
                durableSequence: configuration.durability == .fsync ? state.syncedSequence : state.lastSequence,
                lastBatchSize: state.lastBatchSize,
                commitLagMillis: state.commitLagMillis,
                isPostgresConfigured: configuration.postgresURL != nil,
                isPostgresReachable: state.isPostgresReachable,
                quarantinedFiles: state.quarantined,
                rejectedRows: state.rejectedRows,
                queuedInMemory: state.queue.count,
                isWriterDeferring: state.isWriterDeferring
            )
        }
    }

    /// Stops accepting appends, lets the writer commit the backlog for up to
    /// ``PersistenceConfiguration/shutdownTimeout`` (what is left stays in the journal for the next start),
    /// syncs and closes the journal, and releases the directory lock. Idempotent.
    public func shutdown() async {
        let wasRunning = journal.state.withLock { $0.phase == .running }
        guard wasRunning else {
            await journal.waitForThreads()
            return
        }
        journal.setPhase(.stopping(deadline: MonotonicTime.now() + configuration.shutdownTimeout))
        await journal.waitForThreads()
        journal.close(synchronize: true)
        let stats = self.stats
        logger.info(
            "decision log closed",
            metadata: [
                LogKey.appended: "\(stats.appended)", LogKey.committedRows: "\(stats.committed)",
                LogKey.backlog: "\(stats.backlog)",
            ]
        )
    }

    /// Stops the threads without flushing and closes the files, as a crash would leave them (tests).
    func simulateCrash() async {
        journal.setPhase(.abandoned)
        await journal.waitForThreads()
        journal.close(synchronize: false)
    }
}

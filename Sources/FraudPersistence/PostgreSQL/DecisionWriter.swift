import FraudCore
import Glibc
import Logging
import Synchronization

/// The PostgreSQL side of the log, on its own thread with its own connection: takes records from the
/// journal (memory queue, or the segment files for what the queue does not hold), batches them by size and
/// time, inserts them idempotently, then advances the commit marker. Reconnects with exponential back-off
/// (100 ms doubling to 5 s). Nothing here ever runs on an event loop.
///
/// Confined to its thread: create it inside the thread's closure.
final class DecisionWriter {
    /// A batch being committed: `records` cover every sequence number up to `through` that is still on
    /// disk (gaps are quarantined records).
    private struct Batch {
        var sequences: [UInt64]
        var records: [DecisionRecord]
        var through: UInt64
        /// Append time of the newest record, when the batch came from memory.
        var newestAppendedAt: MonotonicTime?
    }

    private enum Plan {
        case nothing
        case memory([Journal.QueuedRecord])
        case disk(through: UInt64, segments: [UInt64])
    }

    private static let minimumBackoff = Duration.milliseconds(100)
    private static let maximumBackoff = Duration.seconds(5)

    private let journal: Journal
    private let url: String
    private let logger: Logger
    private let inserter: BatchInserter
    private let batchSize: Int
    private let batchInterval: Duration
    private var connection: PGConnection?
    private var isMigrated = false
    private var reader: SegmentReader
    /// The next sequence number to commit.
    private var next: UInt64
    private var backoff = DecisionWriter.minimumBackoff
    private var lastFailureLog: MonotonicTime?
    private var failuresSinceLog = 0
    /// See ``PersistenceConfiguration/writerPriority``.
    private let priority: WriterPriority
    /// The current connection's backend, when it is a local process whose priority we may lower.
    private var backendPID: pid_t?

    init(journal: Journal, url: String, logger: Logger) {
        self.journal = journal
        self.url = url
        self.logger = logger
        self.inserter = BatchInserter(method: journal.configuration.insertMethod)
        self.batchSize = journal.configuration.batchSize
        self.batchInterval = journal.configuration.batchInterval
        self.reader = SegmentReader(directory: journal.directory)
        self.next = journal.committedSequence.load(ordering: .acquiring) + 1
        self.priority = journal.configuration.writerPriority
    }

    /// The thread's body; returns when the log stops.
    func run() {
        defer {
            journal.writerBackendPID.store(0, ordering: .relaxed)
            connection = nil
            journal.threadExited()
        }
        // Nice 10 rather than SCHED_IDLE for the thread itself: it takes the journal lock, and an idle-class
        // thread preempted while holding it would stall the event loops.
        if priority != .normal, let error = BackgroundPriority.low.applyToCurrentThread() {
            logger.notice("could not lower the decision writer thread's priority", metadata: [LogKey.error: "errno \(error)"])
        }
        var batch: Batch?
        while true {
            let phase = journal.state.withLock { $0.phase }
            var isStopping = false
            switch phase {
            case .abandoned, .closed:
                return
            case .stopping(let deadline):
                if MonotonicTime.now() >= deadline {
                    logLeftover(reason: "shutdown timeout")
                    return
                }
                isStopping = true
            case .running:
                break
            }
            if connection == nil && !connect() {
                if isStopping {
                    logLeftover(reason: "PostgreSQL unreachable at shutdown")
                    return
                }
                sleepBackoff()
                continue
            }
            if batch == nil {
                waitOutDeferral()
                batch = nextBatch()
                if batch == nil {
                    if isStopping && journal.state.withLock({ $0.lastSequence < next }) { return }
                    continue
                }
            }
            if commit(batch!) { batch = nil }
        }
    }

    // MARK: - Priority

    /// `--writer-priority defer`: while ``WriterYield`` defers PostgreSQL work (a burst), sleeps without
    /// touching PostgreSQL or the queued records (the appends' wake-ups go to ``Journal/writerWake``, which
    /// nobody waits on meanwhile, so they cost nothing). Returns at once when there is no deferral, and as
    /// soon as it is lifted or the phase changes.
    private func waitOutDeferral() {
        guard priority == .deferred else { return }
        let isDeferring = journal.state.withLock { state -> Bool in
            guard state.defersWrites && state.phase == .running else { return false }
            state.isWriterDeferring = true
            return true
        }
        guard isDeferring else { return }
        var isLifted = false
        while !isLifted {
            // A timed wait only as a safety net: lifting the deferral and phase changes broadcast.
            isLifted = journal.state.wait(
                on: journal.statusChanged,
                until: MonotonicTime.now() + .seconds(1),
                for: { !$0.defersWrites || $0.phase != .running },
                then: { state, isLifted in
                    if isLifted { state.isWriterDeferring = false }
                    return isLifted
                }
            )
        }
    }

    /// Publishes a new connection's backend for ``WriterYield`` when it is a local process.
    private func adoptBackend(of connection: PGConnection) {
        guard priority.backendPriority != nil else { return }
        let pid = BackendPriorityControl.localBackend(of: connection)
        backendPID = pid
        journal.writerBackendPID.store(pid ?? 0, ordering: .relaxed)
    }

    // MARK: - Connection

    private func connect() -> Bool {
        let timeout = Int(journal.configuration.connectTimeout.components.seconds)
        do {
            let opened = try PGConnection(
                url: url,
                applicationName: "fraud-server decision writer",
                connectTimeoutSeconds: timeout
            )
            if !isMigrated {
                try Migrations.apply(on: opened, logger: logger)
                isMigrated = true
            }
            try inserter.prepare(on: opened)
            adoptBackend(of: opened)
            connection = opened
            backoff = Self.minimumBackoff
            let wasReachable = journal.state.withLock { state in
                defer {
                    state.isPostgresReachable = true
                    state.firstConnectionAttemptDone = true
                }
                return state.isPostgresReachable
            }
            journal.statusChanged.broadcast()
            if !wasReachable {
                logger.info(
                    "decision writer connected to PostgreSQL",
                    metadata: [LogKey.backlog: "\(journal.appendedSequence.load(ordering: .relaxed) &- next &+ 1)"]
                )
            }
            lastFailureLog = nil
            failuresSinceLog = 0
            return true
        } catch {
            connection = nil
            markUnreachable(error, while: "connecting")
            return false
        }
    }

    private func markUnreachable(_ error: PostgresError, while activity: String) {
        // The backend is gone (or going): its pid may be reused by an unrelated process.
        if backendPID != nil {
            journal.writerBackendPID.store(0, ordering: .relaxed)
            backendPID = nil
        }
        journal.state.withLock { state in
            state.isPostgresReachable = false
            state.firstConnectionAttemptDone = true
        }
        journal.statusChanged.broadcast()
        logFailure(error, while: activity)
    }

    /// Logs the first failure of a run, then at most one line per 30 s with the count in between.
    private func logFailure(_ error: PostgresError, while activity: String) {
        let now = MonotonicTime.now()
        failuresSinceLog += 1
        if let last = lastFailureLog, now.nanoseconds(since: last) < 30_000_000_000 { return }
        logger.warning(
            "PostgreSQL \(activity) failed; decisions stay in the journal and are retried",
            metadata: [
                LogKey.error: "\(error.message)", LogKey.sqlState: "\(error.sqlState ?? "-")",
                LogKey.failures: "\(failuresSinceLog)", LogKey.retryIn: "\(Int(backoff.milliseconds))",
                LogKey.backlog: "\(journal.appendedSequence.load(ordering: .relaxed) &- next &+ 1)",
            ]
        )
        lastFailureLog = now
        failuresSinceLog = 0
    }

    /// Sleeps for the current back-off (woken early by a phase change), then doubles it.
    private func sleepBackoff() {
        let until = MonotonicTime.now() + backoff
        journal.state.wait(on: journal.writerWake, until: until, for: { $0.phase != .running }, then: { _, _ in })
        backoff = min(backoff * 2, Self.maximumBackoff)
    }

    // MARK: - Batching

    /// Waits for records (up to 1 s), lets a partial batch fill for up to `batchInterval` since its oldest
    /// record was appended, and takes it from memory or, for what memory does not hold, from disk.
    private func nextBatch() -> Batch? {
        let next = self.next
        let idleLimit = MonotonicTime.now() + .seconds(1)
        let hasWork = journal.state.wait(
            on: journal.writerWake,
            until: idleLimit,
            for: { $0.lastSequence >= next || $0.phase != .running },
            then: { state, _ in state.lastSequence >= next }
        )
        if !hasWork { return nil }
        let batchSize = UInt64(self.batchSize)
        let lingerUntil = journal.state.withLock { state -> MonotonicTime in
            guard state.phase == .running else { return MonotonicTime(nanoseconds: 0) }
            Self.dropCommitted(&state.queue, before: next)
            guard let head = state.queue.first, head.sequence == next else { return MonotonicTime(nanoseconds: 0) }
            return head.appendedAt + batchInterval
        }
        let plan = journal.state.wait(
            on: journal.writerWake,
            until: lingerUntil,
            for: { $0.lastSequence &- next &+ 1 >= batchSize || $0.phase != .running },
            then: { state, _ in Self.plan(&state, next: next, batchSize: Int(batchSize)) }
        )
        switch plan {
        case .nothing:
            return nil
        case .memory(let queued):
            return Batch(
                sequences: queued.map(\.sequence),
                records: queued.map(\.record),
                through: queued.last!.sequence,
                newestAppendedAt: queued.last!.appendedAt
            )
        case .disk(let through, let segments):
            return readBack(through: through, segments: segments)
        }
    }

    private static func dropCommitted(_ queue: inout RecordQueue, before next: UInt64) {
        while let head = queue.first, head.sequence < next { _ = queue.removeFirst() }
    }

    private static func plan(_ state: inout Journal.State, next: UInt64, batchSize: Int) -> Plan {
        dropCommitted(&state.queue, before: next)
        if let head = state.queue.first, head.sequence == next {
            var taken: [Journal.QueuedRecord] = []
            taken.reserveCapacity(min(batchSize, state.queue.count))
            var expected = next
            while taken.count < batchSize, let head = state.queue.first, head.sequence == expected {
                taken.append(state.queue.removeFirst())
                expected += 1
            }
            return .memory(taken)
        }
        guard state.lastSequence >= next else { return .nothing }
        let bound = state.queue.first.map { $0.sequence - 1 } ?? state.lastSequence
        return .disk(through: min(bound, next + UInt64(batchSize) - 1), segments: state.segments)
    }

    private func readBack(through: UInt64, segments: [UInt64]) -> Batch {
        var damages: [SegmentReader.Damage] = []
        let entries = reader.read(from: next, through: through, limit: batchSize, segments: segments) {
            damages.append($0)
        }
        for damage in damages {
            logger.error(
                "journal record failed its checksum while reading back; rest of the segment quarantined",
                metadata: [
                    LogKey.path: "\(damage.path)", LogKey.offset: "\(damage.offset)",
                    LogKey.quarantine: "\(damage.quarantine ?? "-")",
                ]
            )
            if let quarantine = damage.quarantine {
                journal.state.withLock { $0.quarantined.append(quarantine) }
            }
        }
        let covered = entries.count == batchSize ? entries.last!.sequence : through
        let expected = covered - next + 1
        if UInt64(entries.count) < expected {
            logger.notice(
                "journal sequence numbers missing on disk (quarantined earlier, or removed) skipped",
                metadata: [
                    LogKey.from: "\(next)", LogKey.through: "\(covered)",
                    LogKey.missing: "\(expected - UInt64(entries.count))",
                ]
            )
        }
        return Batch(sequences: entries.map(\.sequence), records: entries.map(\.record), through: covered)
    }

    // MARK: - Commit

    /// Inserts a batch; returns whether it is done (committed, or its refused rows set aside).
    private func commit(_ batch: Batch) -> Bool {
        guard let connection else { return false }
        if !batch.records.isEmpty {
            do {
                try inserter.insert(batch.records, on: connection)
            } catch {
                switch error.kind {
                case .connection:
                    self.connection = nil
                    markUnreachable(error, while: "insert")
                    return false
                case .other:
                    // E.g. the table was dropped or privileges changed: start over, migrations included.
                    self.connection = nil
                    isMigrated = false
                    markUnreachable(error, while: "insert")
                    sleepBackoff()
                    return false
                case .data:
                    guard insertRowByRow(batch, on: connection) else { return false }
                }
            }
        }
        let lag = batch.newestAppendedAt.map { Double(MonotonicTime.now().nanoseconds(since: $0)) / 1e6 }
        journal.markCommitted(through: batch.through, rows: batch.records.count, lagMillis: lag)
        next = batch.through + 1
        return true
    }

    /// After a data error: each row on its own; refused rows go to `rejected.log` with the error.
    private func insertRowByRow(_ batch: Batch, on connection: PGConnection) -> Bool {
        for (sequence, record) in zip(batch.sequences, batch.records) {
            do {
                try inserter.insert([record], on: connection)
            } catch {
                guard error.kind == .data else {
                    self.connection = nil
                    markUnreachable(error, while: "insert")
                    return false
                }
                reject(record, sequence: sequence, error: error)
            }
        }
        return true
    }

    private func reject(_ record: DecisionRecord, sequence: UInt64, error: PostgresError) {
        var line = Array("\(sequence)\t\(error.sqlState ?? "-")\t\(error.message.replacing("\t", with: " "))\t".utf8)
        record.appendCopyLine(to: &line)
        let path = journal.directory + "/" + JournalFormat.rejectedName
        do {
            let file = try JournalFile(path: path, flags: O_WRONLY | O_CREAT | O_APPEND)
            try file.writeAll(line)
            try file.synchronize()
        } catch let fileError {
            logger.critical(
                "could not record a refused row",
                metadata: [LogKey.error: "\(fileError)", LogKey.transactionID: "\(record.transaction.transactionID)"]
            )
        }
        journal.state.withLock { $0.rejectedRows += 1 }
        logger.error(
            "PostgreSQL refused a decision row; kept in \(JournalFormat.rejectedName)",
            metadata: [
                LogKey.transactionID: "\(record.transaction.transactionID)", LogKey.sequence: "\(sequence)",
                LogKey.sqlState: "\(error.sqlState ?? "-")", LogKey.error: "\(error.message)",
            ]
        )
    }

    private func logLeftover(reason: String) {
        let last = journal.state.withLock { $0.lastSequence }
        if last >= next {
            logger.warning(
                "decision writer stopped with records not yet in PostgreSQL; they stay in the journal and are replayed at the next start",
                metadata: [LogKey.reason: "\(reason)", LogKey.backlog: "\(last - next + 1)"]
            )
        }
    }
}

@available(*, unavailable)
extension DecisionWriter: Sendable {}

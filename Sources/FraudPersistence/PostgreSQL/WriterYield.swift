import Glibc
import Logging
import Synchronization

/// Lets the PostgreSQL writer step aside while the server is scoring a burst (see
/// ``PersistenceConfiguration/writerPriority``): a small thread that looks every 100 ms at the journal and
/// lowers the priority of the writer's PostgreSQL backend (a local process, published by the writer in
/// ``Journal/writerBackendPID``) while decisions are being appended, and restores it when
///
/// - appends stopped for half a second (the burst is over: PostgreSQL catches up at full speed),
/// - the backlog reached three quarters of ``PersistenceConfiguration/backlogCap`` (it is lowered again
///   only under half the cap), so that a long overload does not run into the cap, or
/// - it has been lowered for ``PersistenceConfiguration/maxYield`` without a pause in the appends, so that
///   a busy machine cannot starve PostgreSQL indefinitely.
///
/// Only scheduling changes: every decision is in the journal before its answer either way, and the writer
/// commits everything; the commit lag grows during a burst and shrinks after it.
///
/// It runs on its own thread, not the writer's, because the writer spends a burst blocked in a COPY that
/// the lowered backend works through slowly.
struct WriterYield {
    private let journal: Journal
    private let priority: BackgroundPriority
    private let logger: Logger
    private let tick = Duration.milliseconds(100)
    private let quietAfter = Duration.milliseconds(500)
    /// The backend whose priority this controls, and whether it is lowered now.
    private var pid: pid_t = 0
    private var isLowered = false
    private var lastAppended: UInt64 = 0
    private var lastAppendSeen = MonotonicTime(nanoseconds: 0)
    /// Start of the current stretch of appends without a pause.
    private var busySince: MonotonicTime?

    init(journal: Journal, logger: Logger) {
        self.journal = journal
        self.priority = journal.configuration.writerPriority
        self.logger = logger
    }

    /// The thread's body; returns when the log stops (restoring the backend first).
    mutating func run() {
        defer { journal.threadExited() }
        while true {
            let isRunning = journal.state.wait(
                on: journal.statusChanged,
                until: MonotonicTime.now() + tick,
                for: { $0.phase != .running },
                then: { state, _ in state.phase == .running }
            )
            guard isRunning else {
                if isLowered { _ = BackendPriorityControl.restore(pid) }
                return
            }
            step(now: MonotonicTime.now())
        }
    }

    private mutating func step(now: MonotonicTime) {
        let current = journal.writerBackendPID.load(ordering: .relaxed)
        if current != pid {
            // A new connection (its backend starts at normal priority) or none.
            pid = current
            isLowered = false
        }
        let appended = journal.appendedSequence.load(ordering: .relaxed)
        if appended != lastAppended {
            lastAppended = appended
            lastAppendSeen = now
            if busySince == nil { busySince = now }
        } else if now >= lastAppendSeen + quietAfter {
            busySince = nil
        }
        guard pid != 0 else { return }
        let committed = journal.committedSequence.load(ordering: .relaxed)
        let backlog = appended &- min(committed, appended)
        let cap = UInt64(journal.configuration.backlogCap)
        let backlogAllows = backlog < (isLowered ? cap / 4 * 3 : cap / 2)
        let yieldAllows = busySince.map { now < $0 + journal.configuration.maxYield } ?? false
        let shouldLower = busySince != nil && backlogAllows && yieldAllows
        if shouldLower && !isLowered {
            if let error = priority.apply(to: pid) {
                logger.notice(
                    "could not lower the priority of the decision writer's PostgreSQL backend; it keeps its own",
                    metadata: [LogKey.backendPID: "\(pid)", LogKey.error: "errno \(error)"]
                )
                journal.writerBackendPID.store(0, ordering: .relaxed)
                pid = 0
                return
            }
            isLowered = true
        } else if !shouldLower && isLowered {
            if let error = BackendPriorityControl.restore(pid) {
                logger.notice(
                    "could not restore the priority of the decision writer's PostgreSQL backend",
                    metadata: [LogKey.backendPID: "\(pid)", LogKey.error: "errno \(error)"]
                )
            }
            isLowered = false
            if busySince != nil {
                logger.info(
                    "the PostgreSQL writer stops yielding to scoring",
                    metadata: [
                        LogKey.backlog: "\(backlog)",
                        LogKey.reason: "\(backlogAllows ? "yielded for the longest allowed" : "backlog over 3/4 of its cap")",
                    ]
                )
            }
        }
    }
}

import Glibc
import Logging
import Synchronization

/// Lets the PostgreSQL writer step aside while the server is scoring a burst (see
/// ``PersistenceConfiguration/writerPriority``): a small thread that looks every 100 ms at the journal and,
/// while decisions are being appended, either lowers the priority of the writer's PostgreSQL backend (a local
/// process, published by the writer in ``Journal/writerBackendPID``; `.idle`, `.low`) or tells the writer to
/// send nothing to PostgreSQL at all (`.deferred`, through `Journal.State.defersWrites`). It stops stepping
/// aside when
///
/// - appends stopped for ``PersistenceConfiguration/burstQuietPeriod`` (the burst is over: PostgreSQL
///   catches up at full speed),
/// - the backlog reached three quarters of ``PersistenceConfiguration/backlogCap`` (it steps aside again
///   only under half the cap), so that a long overload does not run into the cap, or
/// - it has stepped aside for ``PersistenceConfiguration/maxYield`` without a pause in the appends, so that
///   a busy machine cannot starve PostgreSQL indefinitely.
///
/// Only the timing of PostgreSQL's work changes: every decision is in the journal before its answer either
/// way, and the writer commits everything; the commit lag grows during a burst and shrinks after it.
///
/// It runs on its own thread, not the writer's, because the writer spends a burst blocked in a COPY that
/// the lowered backend works through slowly (or, deferring, asleep).
struct WriterYield {
    private let journal: Journal
    private let priority: WriterPriority
    private let logger: Logger
    private let tick = Duration.milliseconds(100)
    private let quietAfter: Duration
    /// The backend whose priority this controls (`.idle`, `.low`).
    private var pid: pid_t = 0
    /// Whether the writer steps aside now: its backend lowered, or its PostgreSQL work deferred.
    private var isYielding = false
    private var lastAppended: UInt64 = 0
    private var lastAppendSeen = MonotonicTime(nanoseconds: 0)
    /// Start of the current stretch of appends without a pause.
    private var busySince: MonotonicTime?

    init(journal: Journal, logger: Logger) {
        self.journal = journal
        self.priority = journal.configuration.writerPriority
        self.quietAfter = journal.configuration.burstQuietPeriod
        self.logger = logger
    }

    /// The thread's body; returns when the log stops (restoring the backend, or lifting the deferral, first).
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
                if isYielding {
                    if priority.backendPriority != nil {
                        _ = BackendPriorityControl.restore(pid)
                    } else {
                        setDeferral(false)
                    }
                }
                return
            }
            step(now: MonotonicTime.now())
        }
    }

    private mutating func step(now: MonotonicTime) {
        let appended = journal.appendedSequence.load(ordering: .relaxed)
        if appended != lastAppended {
            lastAppended = appended
            lastAppendSeen = now
            if busySince == nil { busySince = now }
        } else if now >= lastAppendSeen + quietAfter {
            busySince = nil
        }
        if priority.backendPriority != nil {
            let current = journal.writerBackendPID.load(ordering: .relaxed)
            if current != pid {
                // A new connection (its backend starts at normal priority) or none.
                pid = current
                isYielding = false
            }
            guard pid != 0 else { return }
        }
        let committed = journal.committedSequence.load(ordering: .relaxed)
        let backlog = appended &- min(committed, appended)
        let cap = UInt64(journal.configuration.backlogCap)
        let backlogAllows = backlog < (isYielding ? cap / 4 * 3 : cap / 2)
        let yieldAllows = busySince.map { now < $0 + journal.configuration.maxYield } ?? false
        let shouldYield = busySince != nil && backlogAllows && yieldAllows
        guard shouldYield != isYielding else { return }
        if let backendPriority = priority.backendPriority {
            guard changeBackend(lower: shouldYield, to: backendPriority) else { return }
        } else {
            setDeferral(shouldYield)
        }
        isYielding = shouldYield
        if !shouldYield && busySince != nil {
            logger.info(
                "the PostgreSQL writer stops yielding to scoring",
                metadata: [
                    LogKey.backlog: "\(backlog)",
                    LogKey.reason: "\(backlogAllows ? "yielded for the longest allowed" : "backlog over 3/4 of its cap")",
                ]
            )
        }
    }

    /// Lowers or restores the backend; returns `false` when lowering failed (the backend is then left alone
    /// for good).
    private mutating func changeBackend(lower: Bool, to backendPriority: BackgroundPriority) -> Bool {
        if lower {
            if let error = backendPriority.applyToBackend(pid) {
                logger.notice(
                    "could not lower the priority of the decision writer's PostgreSQL backend; it keeps its own",
                    metadata: [LogKey.backendPID: "\(pid)", LogKey.error: "errno \(error)"]
                )
                journal.writerBackendPID.store(0, ordering: .relaxed)
                pid = 0
                return false
            }
        } else if let error = BackendPriorityControl.restore(pid) {
            logger.notice(
                "could not restore the priority of the decision writer's PostgreSQL backend",
                metadata: [LogKey.backendPID: "\(pid)", LogKey.error: "errno \(error)"]
            )
        }
        return true
    }

    /// Tells the writer to defer its PostgreSQL work, or to resume it (waking it at once).
    private func setDeferral(_ defers: Bool) {
        journal.state.withLock { $0.defersWrites = defers }
        if !defers { journal.statusChanged.broadcast() }
    }
}

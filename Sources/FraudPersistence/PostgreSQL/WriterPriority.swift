/// How the PostgreSQL writer makes room for scoring while decisions are being appended
/// (`--writer-priority`). Every choice keeps each decision in the journal before its answer and commits all
/// of them; they differ only in when PostgreSQL does the work. See ``WriterYield`` for when a burst ends.
public enum WriterPriority: String, Sendable, CaseIterable {
    /// The writer's local PostgreSQL backend runs at Linux `SCHED_IDLE` during a burst: it keeps committing,
    /// but only on a core nothing else wants.
    case idle
    /// The backend runs at nice 10 during a burst.
    case low
    /// No change: the writer commits at full priority all the time.
    case normal
    /// During a burst the writer sends nothing to PostgreSQL and formats no rows: the journal holds the
    /// decisions and the writer catches up once the burst is over (or a safety limit ends the deferral).
    /// Works with any PostgreSQL, local or not (no process priority is changed).
    case deferred = "defer"

    /// The OS priority given to the local backend during a burst; `nil` when none is changed.
    var backendPriority: BackgroundPriority? {
        switch self {
        case .idle: .idle
        case .low: .low
        case .normal, .deferred: nil
        }
    }
}

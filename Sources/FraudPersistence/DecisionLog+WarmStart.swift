import FraudCore
import Logging

extension DecisionLog {
    /// The decisions of the last `lastSteps` steps of event time, from the journal and PostgreSQL, oldest
    /// first (by step, then `scored_at`), for the engine to rebuild its velocity windows and idempotency
    /// cache after a restart.
    ///
    /// The window ends at the highest step seen in either source. A decision in both appears once (the
    /// journal's copy). When PostgreSQL is unreachable or has no schema yet, the journal alone is used and
    /// a warning logged.
    ///
    /// - Important: Blocking (reads the segment files and queries PostgreSQL through a server-side cursor).
    ///   Call it once at start-up, before serving, off any event loop.
    /// - Parameter lastSteps: Width of the window in steps (hours), e.g. 24.
    public func warmStartRecords(lastSteps: UInt32) -> [DecisionRecord] {
        var window = WarmStartWindow(lastSteps: lastSteps)
        let (segments, last) = journal.state.withLock { ($0.segments, $0.lastSequence) }
        // Journal first, then PostgreSQL: a segment removed in between was committed before its removal,
        // so the query still finds its rows.
        var reader = SegmentReader(directory: journal.directory)
        var from: UInt64 = 0
        var journalCount = 0
        while from <= last {
            let entries = reader.read(from: from, through: last, limit: 10_000, segments: segments) { _ in }
            guard let final = entries.last else { break }
            for entry in entries { window.add(entry.record, preferred: true) }
            journalCount += entries.count
            from = final.sequence + 1
        }
        var postgresCount = 0
        if let url = configuration.postgresURL {
            do {
                postgresCount = try loadFromPostgres(url: url, into: &window)
            } catch {
                logger.warning(
                    "warm start could not read PostgreSQL; using the journal only",
                    metadata: [LogKey.error: "\(error)"]
                )
            }
        }
        let records = window.sortedRecords()
        logger.info(
            "warm start records loaded",
            metadata: [
                LogKey.steps: "\(window.lowestStep.map { "\($0)...\(window.highestStep)" } ?? "none")",
                LogKey.fromJournal: "\(journalCount)", LogKey.fromPostgres: "\(postgresCount)",
                LogKey.records: "\(records.count)",
            ]
        )
        return records
    }

    private func loadFromPostgres(url: String, into window: inout WarmStartWindow) throws(PostgresError) -> Int {
        let connection = try PGConnection(
            url: url,
            applicationName: "fraud-server warm start",
            connectTimeoutSeconds: Int(configuration.connectTimeout.components.seconds)
        )
        let highestText = try connection.execute("SELECT max(step) FROM decisions").rows.first?.first ?? nil
        guard let highest = highestText.flatMap({ UInt32($0) }) else { return 0 }
        window.noteStep(highest)
        guard let lowest = window.lowestStep else { return 0 }
        try connection.execute("BEGIN READ ONLY")
        defer { _ = try? connection.execute("COMMIT") }
        try connection.execute(
            "DECLARE warm_start NO SCROLL CURSOR FOR SELECT \(DecisionRecord.selectList) FROM decisions "
                + "WHERE step >= \(lowest) ORDER BY step, scored_at"
        )
        var count = 0
        while true {
            let rows = try connection.execute("FETCH 20000 FROM warm_start").rows
            if rows.isEmpty { break }
            for row in rows {
                if let record = DecisionRecord(row: row) {
                    window.add(record, preferred: false)
                    count += 1
                }
            }
        }
        return count
    }
}

/// Keeps the records of the last `lastSteps` steps while they stream in (the highest step can still rise).
struct WarmStartWindow {
    let lastSteps: UInt32
    private(set) var highestStep: UInt32 = 0
    private var hasStep = false
    private var records: [String: DecisionRecord] = [:]

    init(lastSteps: UInt32) {
        self.lastSteps = lastSteps
    }

    /// The lowest step inside the window, `nil` before any record or when `lastSteps` is 0.
    var lowestStep: UInt32? {
        guard hasStep, lastSteps > 0 else { return nil }
        return highestStep >= lastSteps - 1 ? highestStep - (lastSteps - 1) : 0
    }

    mutating func noteStep(_ step: UInt32) {
        if !hasStep || step > highestStep {
            highestStep = step
            hasStep = true
            if records.count > 100_000 { prune() }
        }
    }

    /// Adds a record unless it is older than the window; `preferred` copies replace others of the same id.
    mutating func add(_ record: DecisionRecord, preferred: Bool) {
        noteStep(record.transaction.step)
        guard let lowest = lowestStep, record.transaction.step >= lowest else { return }
        let id = record.transaction.transactionID
        if preferred || records[id] == nil { records[id] = record }
    }

    private mutating func prune() {
        guard let lowest = lowestStep else { return }
        records = records.filter { $0.value.transaction.step >= lowest }
    }

    /// The window's records, oldest first.
    mutating func sortedRecords() -> [DecisionRecord] {
        prune()
        return records.values.sorted {
            ($0.transaction.step, $0.scoredAtMicros, $0.transaction.transactionID)
                < ($1.transaction.step, $1.scoredAtMicros, $1.transaction.transactionID)
        }
    }
}

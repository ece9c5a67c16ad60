/// The end-of-run report of `fraud-backfill`, printed and written by `--json-out`.
///
/// Counters are cumulative over every run that contributed to the checkpoint (a resumed backfill reports
/// the whole file); `thisRun` is the last run alone.
public struct BackfillSummary: Codable, Sendable, Hashable {
    /// What the last run did.
    public struct Run: Codable, Sendable, Hashable {
        /// Rows done in this run.
        public var rows: Int
        /// Wall time of this run.
        public var seconds: Double
        /// `rows / seconds`.
        public var rowsPerSecond: Double
        /// Position (rows in replay order) this run started from; 0 for a fresh start.
        public var resumedFromPosition: Int
        /// Line number of the last row done before this run; 0 for a fresh start.
        public var resumedAfterLine: Int
        /// Reconnects after lost streams or connections.
        public var reconnects: Int

        /// Creates the figures of one run (the rate is derived).
        public init(rows: Int, seconds: Double, resumedFromPosition: Int, resumedAfterLine: Int, reconnects: Int) {
            self.rows = rows
            self.seconds = seconds
            self.rowsPerSecond = seconds > 0 ? Double(rows) / seconds : 0
            self.resumedFromPosition = resumedFromPosition
            self.resumedAfterLine = resumedAfterLine
            self.reconnects = reconnects
        }

        enum CodingKeys: String, CodingKey {
            case rows, seconds
            case rowsPerSecond = "rows_per_s"
            case resumedFromPosition = "resumed_from_position"
            case resumedAfterLine = "resumed_after_line"
            case reconnects
        }
    }

    /// The input file as given.
    public var input: String
    /// Rows in the file.
    public var rows: Int
    /// Rows done (answered or rejected).
    public var done: Int
    /// Whether every row is done.
    public var complete: Bool
    /// The counters.
    public var tally: BackfillTally
    /// Fraud rows flagged (REVIEW or DECLINE) / fraud rows.
    public var recall: Double?
    /// Fraud rows flagged / rows flagged.
    public var precision: Double?
    /// Seconds over all runs.
    public var wallSeconds: Double
    /// The last run alone.
    public var thisRun: Run
    /// Why the run stopped early, or `nil`.
    public var failure: String?

    /// The summary of `checkpoint` (cumulative counters) after `thisRun`.
    public init(checkpoint: BackfillCheckpoint, thisRun: Run, failure: String?) {
        self.input = checkpoint.input
        self.rows = checkpoint.totalRows
        self.done = checkpoint.position
        self.complete = checkpoint.isComplete
        self.tally = checkpoint.tally
        self.recall = checkpoint.tally.recall
        self.precision = checkpoint.tally.precision
        self.wallSeconds = checkpoint.elapsedSeconds
        self.thisRun = thisRun
        self.failure = failure
    }

    enum CodingKeys: String, CodingKey {
        case input, rows, done, complete, tally, recall, precision
        case wallSeconds = "wall_s"
        case thisRun = "this_run"
        case failure
    }

    /// The summary for people (several lines, no trailing newline).
    public var text: String {
        let t = tally
        func percent(_ value: Double?) -> String {
            value.map { LoadReport.format($0 * 100, decimals: 1) + " %" } ?? "n/a"
        }
        var lines = [
            "backfill of \(input): \(done) of \(rows) rows done" + (complete ? "" : " (INCOMPLETE)"),
            "  rows scored \(t.scored)  replayed \(t.replayed)  rejects \(t.rejected)",
            "  decisions  APPROVE \(t.approved)  REVIEW \(t.reviewed)  DECLINE \(t.declined)",
            "  against isFraud (flagged = REVIEW or DECLINE): recall \(percent(recall))"
                + "  precision \(percent(precision))"
                + "  (TP \(t.truePositives) FP \(t.falsePositives) FN \(t.falseNegatives) TN \(t.trueNegatives))",
            "  wall time \(LoadReport.format(wallSeconds, decimals: 2)) s over all runs; "
                + "this run \(thisRun.rows) rows in \(LoadReport.format(thisRun.seconds, decimals: 2)) s"
                + " = \(LoadReport.format(thisRun.rowsPerSecond, decimals: 0)) rows/s"
                + (thisRun.resumedFromPosition > 0 ? ", resumed after line \(thisRun.resumedAfterLine)" : "")
                + (thisRun.reconnects > 0 ? ", \(thisRun.reconnects) reconnect(s)" : ""),
        ]
        if let failure { lines.append("  stopped: \(failure)") }
        return lines.joined(separator: "\n")
    }
}

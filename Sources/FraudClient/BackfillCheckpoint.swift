import Foundation

/// How far a backfill got, saved atomically (write to a temporary file, then rename) so a re-run of the same
/// command continues where the last one stopped.
///
/// `position` counts rows in replay order (see ``ReplayPlan``) that are fully done: answered by the server, or
/// written to the rejects file. Rows after it may have been sent and even answered; sending them again is
/// harmless because their ids are deterministic (`<prefix>-<line number>`) and the server is idempotent.
public struct BackfillCheckpoint: Codable, Sendable, Hashable {
    /// Format version.
    public var version = 1
    /// The input file as given.
    public var input: String
    /// Its size in bytes when the run started (a different size means a different file: no resume).
    public var inputBytes: UInt64
    /// The transaction id prefix.
    public var idPrefix: String
    /// Rows in the file.
    public var totalRows: Int
    /// Rows done, in replay order.
    public var position: Int
    /// Line number of the last row done (0 before the first).
    public var lastLine: Int
    /// Length of the rejects file that goes with `position` (a longer file is cut back on resume).
    public var rejectsBytes: UInt64
    /// Counters over the rows done.
    public var tally: BackfillTally
    /// Seconds spent in earlier runs (for the summary's wall time).
    public var elapsedSeconds: Double

    /// Creates a checkpoint (a fresh run: everything zero but the identity).
    public init(
        input: String,
        inputBytes: UInt64,
        idPrefix: String,
        totalRows: Int,
        position: Int = 0,
        lastLine: Int = 0,
        rejectsBytes: UInt64 = 0,
        tally: BackfillTally = BackfillTally(),
        elapsedSeconds: Double = 0
    ) {
        self.input = input
        self.inputBytes = inputBytes
        self.idPrefix = idPrefix
        self.totalRows = totalRows
        self.position = position
        self.lastLine = lastLine
        self.rejectsBytes = rejectsBytes
        self.tally = tally
        self.elapsedSeconds = elapsedSeconds
    }

    /// Whether every row is done.
    public var isComplete: Bool { position >= totalRows }

    /// Whether this checkpoint belongs to a run over `input` (same size) with the same id prefix.
    public func matches(input: String, inputBytes: UInt64, idPrefix: String) -> Bool {
        self.input == input && self.inputBytes == inputBytes && self.idPrefix == idPrefix
    }

    /// Reads a checkpoint.
    /// - Returns: `nil` when the file does not exist.
    /// - Throws: ``InputError`` when it exists but cannot be read or parsed.
    public static func load(from path: String) throws -> BackfillCheckpoint? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(BackfillCheckpoint.self, from: data)
        } catch {
            throw InputError("\(path): not a readable backfill checkpoint: \(error)")
        }
    }

    /// The checkpoint as JSON (sorted keys, one line).
    public var json: String {
        String(decoding: encoded(), as: UTF8.self)
    }

    private func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain integers, strings and doubles cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    /// - Throws: ``InputError`` when the file cannot be written.
    public func write(to path: String) throws {
        do {
            try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw InputError("\(path): cannot write checkpoint: \(error)")
        }
    }

    enum CodingKeys: String, CodingKey {
        case version, input
        case inputBytes = "input_bytes"
        case idPrefix = "id_prefix"
        case totalRows = "total_rows"
        case position
        case lastLine = "last_line"
        case rejectsBytes = "rejects_bytes"
        case tally
        case elapsedSeconds = "elapsed_s"
    }
}

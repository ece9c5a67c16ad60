import Glibc
import Logging

/// What the start-up scan of the journal directory found.
struct JournalScan: Sendable {
    /// First sequence numbers of the segments that remain, ascending.
    var segments: [UInt64] = []
    /// Highest intact sequence number on disk (0 when there is none).
    var lastSequence: UInt64 = 0
    /// Intact records on disk.
    var recordCount = 0
    /// Quarantine files written by this scan (paths).
    var quarantined: [String] = []
}

/// Verifies every segment at start-up: checksums, increasing sequence numbers, decodable payloads.
///
/// Damage is cut out, never papered over: the intact records of a damaged segment are rewritten into it
/// (temporary file + rename), the damaged bytes go to `<segment>.quarantine` (an operator can inspect them)
/// and the scan logs an error naming both. A damaged record is skipped by its length when the record after
/// it is intact; otherwise the scan searches forward for the next intact record, so a broken length field
/// costs only the bytes up to the next good record.
enum JournalScanner {
    /// Scans `directory`.
    ///
    /// - Throws: ``PersistenceError`` when a file cannot be read, written or renamed.
    static func scan(directory: String, logger: Logger) throws(PersistenceError) -> JournalScan {
        var result = JournalScan()
        var segments: [(first: UInt64, name: String)] = []
        for name in try FileSystem.listDirectory(directory) {
            if name.hasSuffix(".tmp") {
                // Half-written marker or segment rewrite from a crash; the original is intact.
                try FileSystem.remove(directory + "/" + name)
            } else if let first = JournalFormat.firstSequence(ofSegmentNamed: name) {
                segments.append((first, name))
            } else if name.hasSuffix(JournalFormat.quarantineSuffix) {
                result.quarantined.append(directory + "/" + name)
            }
        }
        segments.sort { $0.first < $1.first }
        for segment in segments {
            let path = directory + "/" + segment.name
            let kept = try scanSegment(path: path, after: result.lastSequence, into: &result, logger: logger)
            if kept { result.segments.append(segment.first) }
        }
        result.quarantined.sort()
        return result
    }

    /// Scans one segment; returns whether it remains (an empty or wholly damaged one is removed).
    private static func scanSegment(
        path: String,
        after previous: UInt64,
        into result: inout JournalScan,
        logger: Logger
    ) throws(PersistenceError) -> Bool {
        guard let bytes = try FileSystem.readFile(path) else { return false }
        let magic = JournalFormat.magic
        if bytes.count < magic.count && Array(magic.prefix(bytes.count)) == bytes {
            // Created but its header never fully written: no record was ever in it.
            try FileSystem.remove(path)
            return false
        }
        if Array(bytes.prefix(magic.count)) != magic {
            let quarantine = try quarantineWholeFile(path)
            result.quarantined.append(quarantine)
            logger.error(
                "journal segment has no valid header; whole file quarantined",
                metadata: [LogKey.path: "\(path)", LogKey.quarantine: "\(quarantine)", LogKey.bytes: "\(bytes.count)"]
            )
            return false
        }
        var intact: [Range<Int>] = []
        var damaged: [Range<Int>] = []
        var lastSequence = previous
        var count = 0
        var offset = magic.count
        while offset < bytes.count {
            if case .record(let sequence, let payload, let next) = JournalFormat.parse(bytes, at: offset),
                sequence > lastSequence,
                DecisionRecord(payload: bytes[payload]) != nil
            {
                intact.append(offset..<next)
                lastSequence = sequence
                count += 1
                offset = next
                continue
            }
            let resume = nextIntactRecord(in: bytes, after: offset, lastSequence: lastSequence)
            damaged.append(offset..<resume)
            offset = resume
        }
        result.recordCount += count
        result.lastSequence = lastSequence
        if damaged.isEmpty { return true }

        let quarantine = try writeQuarantine(for: path, bytes: bytes, ranges: damaged)
        result.quarantined.append(quarantine)
        let damagedBytes = damaged.reduce(0) { $0 + $1.count }
        logger.error(
            "journal segment damaged (checksum, truncation or sequence); intact records kept and replayed, damaged bytes quarantined",
            metadata: [
                LogKey.path: "\(path)", LogKey.quarantine: "\(quarantine)",
                LogKey.records: "\(count)", LogKey.bytes: "\(damagedBytes)",
                LogKey.damagedRanges: "\(damaged.map { "\($0.lowerBound)..<\($0.upperBound)" })",
            ]
        )
        if intact.isEmpty {
            try FileSystem.remove(path)
            return false
        }
        var rewritten = magic
        rewritten.reserveCapacity(bytes.count - damagedBytes)
        for range in intact { rewritten.append(contentsOf: bytes[range]) }
        // Synchronously: the intact records must not depend on the page cache for longer than the
        // original file did.
        try FileSystem.writeAtomically(rewritten, to: path, synchronize: true)
        return true
    }

    /// The offset of the next intact record after a damaged one at `offset`, or the end of `bytes`.
    ///
    /// First tries the damaged record's own length (a flipped payload byte leaves it right); then searches
    /// byte by byte, looking only where the sequence number is plausible before paying for a checksum.
    static func nextIntactRecord(in bytes: [UInt8], after offset: Int, lastSequence: UInt64) -> Int {
        let header = JournalFormat.recordHeaderSize
        func isIntact(at candidate: Int) -> Bool {
            guard case .record(let sequence, let payload, _) = JournalFormat.parse(bytes, at: candidate) else {
                return false
            }
            return sequence > lastSequence && DecisionRecord(payload: bytes[payload]) != nil
        }
        if bytes.count - offset >= header {
            let length = bytes.withUnsafeBytes {
                Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            }
            if length > 0 && length <= JournalFormat.maxPayloadSize {
                let next = offset + header + length
                if next == bytes.count { return next }
                if next < bytes.count && isIntact(at: next) { return next }
            }
        }
        // Search forward. A random position passes the sequence window with probability ~2^-36, so the
        // checksum runs almost only at real record starts.
        let window = lastSequence &+ (1 << 28)
        var candidate = offset + 1
        while candidate + header <= bytes.count {
            let sequence = bytes.withUnsafeBytes {
                UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: candidate + 8, as: UInt64.self))
            }
            if sequence > lastSequence && sequence <= window && isIntact(at: candidate) {
                return candidate
            }
            candidate += 1
        }
        return bytes.count
    }

    /// Writes the damaged ranges of a segment to a new `*.quarantine` file; returns its path.
    static func writeQuarantine(
        for path: String,
        bytes: [UInt8],
        ranges: [Range<Int>]
    ) throws(PersistenceError)
        -> String
    {
        let quarantine = freeQuarantinePath(for: path)
        var content: [UInt8] = []
        for range in ranges { content.append(contentsOf: bytes[range]) }
        try FileSystem.writeAtomically(content, to: quarantine, synchronize: true)
        return quarantine
    }

    /// Renames a whole file to a free `*.quarantine` name; returns it.
    static func quarantineWholeFile(_ path: String) throws(PersistenceError) -> String {
        let quarantine = freeQuarantinePath(for: path)
        try FileSystem.rename(path, to: quarantine)
        return quarantine
    }

    /// `<path>.quarantine`, or `<path>.<n>.quarantine` if taken.
    private static func freeQuarantinePath(for path: String) -> String {
        var candidate = path + JournalFormat.quarantineSuffix
        var number = 2
        while FileSystem.exists(candidate) {
            candidate = path + ".\(number)" + JournalFormat.quarantineSuffix
            number += 1
        }
        return candidate
    }
}

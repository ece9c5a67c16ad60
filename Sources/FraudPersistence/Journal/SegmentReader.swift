import Glibc

/// Reads records back from the segment files, in sequence order, remembering its position so that
/// consecutive calls continue where the last one stopped.
///
/// Used by the writer for records not held in memory (start-up replay, queue overflow) and by warm start.
/// Reads only what is known to be fully written (sequence numbers up to the caller's bound); an incomplete
/// record at the end of the active segment is left for a later call.
struct SegmentReader {
    /// A damaged record met while reading: the segment path and the byte offset.
    struct Damage: Error {
        var path: String
        var offset: Int64
        var quarantine: String?
    }

    /// One record read back.
    struct Entry {
        var sequence: UInt64
        var record: DecisionRecord
    }

    let directory: String
    private var file: JournalFile?
    private var firstSequence: UInt64 = 0
    /// Bytes read from `file` and not yet consumed, starting at file offset `bufferOffset`.
    private var buffer: [UInt8] = []
    private var bufferOffset: Int64 = 0
    private var position = 0
    /// The last sequence returned or skipped in the current segment.
    private var lastSequence: UInt64 = 0
    private static let chunk = 1 << 20

    init(directory: String) {
        self.directory = directory
    }

    /// Records with `from <= sequence <= through`, at most `limit`, from the segments in `segments`
    /// (first sequence numbers, ascending).
    ///
    /// - Parameter onDamage: Called for a record that fails its checksum; the rest of that segment is
    ///   skipped (its bytes are copied to a quarantine file first).
    mutating func read(
        from: UInt64,
        through: UInt64,
        limit: Int,
        segments: [UInt64],
        onDamage: (Damage) -> Void
    ) -> [Entry] {
        var entries: [Entry] = []
        guard from <= through, limit > 0, !segments.isEmpty else { return entries }
        if file == nil || from <= lastSequence || !segmentStillListed(segments) {
            guard open(segmentContaining: from, segments: segments, onDamage: onDamage) else { return entries }
        }
        while entries.count < limit {
            switch JournalFormat.parse(buffer, at: position) {
            case .record(let sequence, let payload, let next):
                if sequence > through { return entries }
                if sequence >= from {
                    guard let record = DecisionRecord(payload: buffer[payload]) else {
                        damaged(at: position, onDamage: onDamage)
                        if !advance(segments: segments, through: through, onDamage: onDamage) { return entries }
                        continue
                    }
                    entries.append(Entry(sequence: sequence, record: record))
                }
                lastSequence = sequence
                position = next
            case .truncated:
                if refill() { continue }
                // End of this segment's file: the next segment, if it can hold what is asked for.
                if !advance(segments: segments, through: through, onDamage: onDamage) { return entries }
            case .corrupt:
                damaged(at: position, onDamage: onDamage)
                if !advance(segments: segments, through: through, onDamage: onDamage) { return entries }
            }
        }
        return entries
    }

    private func segmentStillListed(_ segments: [UInt64]) -> Bool {
        segments.contains(firstSequence)
    }

    /// Opens the segment that holds `sequence` (the last one starting at or before it).
    private mutating func open(
        segmentContaining sequence: UInt64,
        segments: [UInt64],
        onDamage: (Damage) -> Void
    )
        -> Bool
    {
        let index = segments.lastIndex(where: { $0 <= sequence }) ?? 0
        return open(segments: segments, from: index, onDamage: onDamage)
    }

    private mutating func open(segments: [UInt64], from index: Int, onDamage: (Damage) -> Void) -> Bool {
        var index = index
        while index < segments.count {
            let path = directory + "/" + JournalFormat.segmentName(firstSequence: segments[index])
            if let opened = try? JournalFile(path: path, flags: O_RDONLY) {
                file = opened
                firstSequence = segments[index]
                buffer = []
                bufferOffset = 0
                position = 0
                lastSequence = segments[index] &- 1
                if refill(), buffer.count >= JournalFormat.magic.count,
                    Array(buffer.prefix(JournalFormat.magic.count)) == JournalFormat.magic
                {
                    position = JournalFormat.magic.count
                    return true
                }
                onDamage(Damage(path: path, offset: 0, quarantine: nil))
            }
            // Missing (already committed and removed) or unreadable: try the next one.
            index += 1
        }
        file = nil
        return false
    }

    /// Moves to the segment after the current one if it starts at or before `through`.
    private mutating func advance(segments: [UInt64], through: UInt64, onDamage: (Damage) -> Void) -> Bool {
        guard let index = segments.firstIndex(where: { $0 > firstSequence }), segments[index] <= through else {
            return false
        }
        return open(segments: segments, from: index, onDamage: onDamage)
    }

    /// Drops consumed bytes and reads the next chunk; `false` at end of file.
    private mutating func refill() -> Bool {
        guard let file else { return false }
        if position > 0 {
            buffer.removeFirst(position)
            bufferOffset += Int64(position)
            position = 0
        }
        guard let more = try? file.read(count: Self.chunk, at: bufferOffset + Int64(buffer.count)), !more.isEmpty
        else { return false }
        buffer.append(contentsOf: more)
        return true
    }

    /// Copies the rest of the current segment from `offset` to a quarantine file and reports it.
    private mutating func damaged(at offset: Int, onDamage: (Damage) -> Void) {
        let path = directory + "/" + JournalFormat.segmentName(firstSequence: firstSequence)
        let fileOffset = bufferOffset + Int64(offset)
        var quarantine: String?
        if let file, let size = try? file.size(), size > fileOffset,
            let rest = try? file.read(count: Int(size - fileOffset), at: fileOffset)
        {
            quarantine = try? JournalScanner.writeQuarantine(for: path, bytes: rest, ranges: [0..<rest.count])
        }
        onDamage(Damage(path: path, offset: fileOffset, quarantine: quarantine))
    }
}

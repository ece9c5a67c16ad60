import FraudCore

/// The on-disk layout of journal segments.
///
/// A segment is `journal-<first sequence as 16 hex digits>.seg`: an 8-byte magic `FRDJRNL1`, then
/// records `[u32 payload length][u32 CRC-32C][u64 sequence][payload]`, little-endian. The CRC covers
/// the payload, then the length, then the sequence (in that order, so the payload part is computed before
/// the append lock is taken). Sequence numbers increase strictly through a segment and across segments.
enum JournalFormat {
    /// First bytes of every segment.
    static let magic: [UInt8] = Array("FRDJRNL1".utf8)
    /// Bytes before a record's payload.
    static let recordHeaderSize = 16
    /// Largest payload accepted when reading (a decision is a few hundred bytes); a larger length field
    /// means damage.
    static let maxPayloadSize = 1 << 20
    /// Segment file name suffix.
    static let segmentSuffix = ".seg"
    /// Suffix of files holding damaged bytes.
    static let quarantineSuffix = ".quarantine"
    /// The commit marker's file name.
    static let markerName = "committed"
    /// The lock file's name (one process per journal directory).
    static let lockName = "journal.lock"
    /// Rows PostgreSQL refused, as text, for an operator.
    static let rejectedName = "rejected.log"

    /// `journal-<16 hex>.seg`.
    static func segmentName(firstSequence: UInt64) -> String {
        let hex = String(firstSequence, radix: 16)
        return "journal-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + segmentSuffix
    }

    /// The first sequence encoded in a segment name, or `nil` for other names.
    static func firstSequence(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasPrefix("journal-"), name.hasSuffix(segmentSuffix) else { return nil }
        let hex = name.dropFirst("journal-".count).dropLast(segmentSuffix.count)
        guard hex.count == 16 else { return nil }
        return UInt64(hex, radix: 16)
    }

    /// A record framed for writing: header space followed by the payload, with the checksum over the
    /// payload and length already computed. ``seal(sequence:)`` completes it under the append lock.
    struct FramedRecord: Sendable {
        /// Header (zeros until sealed) and payload.
        var bytes: [UInt8]
        private var checksum: CRC32C

        /// Encodes `record` and frames it.
        init(_ record: DecisionRecord) {
            // One allocation: reserve first, then the zeroed header.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(JournalFormat.recordHeaderSize + 256 + record.assessment.reasons.count * 96)
            bytes.append(contentsOf: repeatElement(0, count: JournalFormat.recordHeaderSize))
            record.encode(into: &bytes)
            self.init(bytesWithPayload: bytes)
        }

        /// Frames a payload already placed after `recordHeaderSize` zero bytes.
        init(bytesWithPayload bytes: [UInt8]) {
            let length = UInt32(bytes.count - JournalFormat.recordHeaderSize)
            var checksum = CRC32C()
            bytes.withUnsafeBytes {
                checksum.update(UnsafeRawBufferPointer(rebasing: $0[JournalFormat.recordHeaderSize...]))
            }
            checksum.update(littleEndian: length)
            self.bytes = bytes
            self.checksum = checksum
        }

        /// Writes length, checksum and sequence into the header.
        mutating func seal(sequence: UInt64) {
            var crc = checksum
            crc.update(littleEndian: sequence)
            let length = UInt32(bytes.count - JournalFormat.recordHeaderSize)
            bytes.withUnsafeMutableBytes { header in
                header.storeBytes(of: length.littleEndian, toByteOffset: 0, as: UInt32.self)
                header.storeBytes(of: crc.value.littleEndian, toByteOffset: 4, as: UInt32.self)
                header.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
            }
        }
    }

    /// What is at an offset of segment bytes.
    enum Parsed: Equatable {
        /// A record whose checksum matches; `next` is the offset after it.
        case record(sequence: UInt64, payload: Range<Int>, next: Int)
        /// Fewer bytes than the header or the payload length announces: a cut-off tail (or, while
        /// appending goes on, bytes not yet written).
        case truncated
        /// The length is implausible or the checksum does not match.
        case corrupt
    }

    /// Parses the record at `offset` of `bytes`.
    static func parse(_ bytes: [UInt8], at offset: Int) -> Parsed {
        let available = bytes.count - offset
        if available < recordHeaderSize { return .truncated }
        return bytes.withUnsafeBytes { raw in
            let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            let sequence = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            if length == 0 || length > maxPayloadSize { return .corrupt }
            if available - recordHeaderSize < length { return .truncated }
            let start = offset + recordHeaderSize
            var crc = CRC32C()
            crc.update(UnsafeRawBufferPointer(rebasing: raw[start..<start + length]))
            crc.update(littleEndian: UInt32(length))
            crc.update(littleEndian: sequence)
            if crc.value != stored { return .corrupt }
            return .record(sequence: sequence, payload: start..<start + length, next: start + length)
        }
    }
}

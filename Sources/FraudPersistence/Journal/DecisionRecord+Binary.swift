import FraudCore

/// The journal payload of a ``DecisionRecord``: a version byte, then every field in declaration order.
/// Integers are little-endian fixed width, strings a LEB128 length and UTF-8 bytes, floats their IEEE bits
/// (so a decoded record is bit-for-bit the appended one).
extension DecisionRecord {
    /// Payload format version (first byte).
    static let binaryFormatVersion: UInt8 = 1

    /// Appends the payload to `buffer`.
    func encode(into buffer: inout [UInt8]) {
        var writer = ByteWriter(buffer: buffer)
        buffer = []  // keeps the storage uniquely referenced while writing
        writer.write(Self.binaryFormatVersion)
        writer.write(transaction.transactionID)
        writer.write(transaction.step)
        writer.write(UInt8(truncatingIfNeeded: transaction.type.rawValue))
        writer.write(transaction.amountCents)
        writer.write(transaction.originAccount)
        writer.write(transaction.originBalanceBeforeCents)
        writer.write(transaction.originBalanceAfterCents)
        writer.write(transaction.destinationAccount)
        writer.write(transaction.destinationBalanceBeforeCents)
        writer.write(transaction.destinationBalanceAfterCents)
        writer.write(UInt8(truncatingIfNeeded: label.rawValue))
        writer.write(assessment.riskScore.bitPattern)
        writer.write(UInt8(truncatingIfNeeded: assessment.decision.rawValue))
        writer.writeLength(assessment.reasons.count)
        for reason in assessment.reasons {
            writer.write(reason.code)
            writer.write(reason.detail)
            writer.write(reason.weight.bitPattern)
        }
        writer.write(assessment.modelVersion)
        writer.write(serverTimeMicros)
        writer.write(scoredAtMicros)
        buffer = writer.buffer
    }

    /// Decodes a payload written by ``encode(into:)``.
    ///
    /// - Returns: `nil` when the bytes are not a valid payload (unknown version, bad enum value, wrong
    ///   length, invalid UTF-8).
    init?(payload: ArraySlice<UInt8>) {
        var reader = ByteReader(bytes: payload)
        guard reader.readUInt8() == Self.binaryFormatVersion,
            let transactionID = reader.readString(),
            let step: UInt32 = reader.readInteger(),
            let typeRaw = reader.readUInt8(), let type = TransactionType(rawValue: Int32(typeRaw)),
            let amount: Int64 = reader.readInteger(),
            let origin = reader.readString(),
            let originBefore: Int64 = reader.readInteger(),
            let originAfter: Int64 = reader.readInteger(),
            let destination = reader.readString(),
            let destinationBefore: Int64 = reader.readInteger(),
            let destinationAfter: Int64 = reader.readInteger(),
            let labelRaw = reader.readUInt8(), let label = Label(rawValue: Int32(labelRaw)),
            let scoreBits: UInt32 = reader.readInteger(),
            let decisionRaw = reader.readUInt8(), let decision = Decision(rawValue: Int32(decisionRaw)),
            let reasonCount = reader.readLength(), reasonCount <= reader.remaining
        else { return nil }
        var reasons: [Reason] = []
        reasons.reserveCapacity(reasonCount)
        for _ in 0..<reasonCount {
            guard let code = reader.readString(), let detail = reader.readString(),
                let weightBits: UInt32 = reader.readInteger()
            else { return nil }
            reasons.append(Reason(code: code, detail: detail, weight: Float(bitPattern: weightBits)))
        }
        guard let modelVersion = reader.readString(),
            let serverTime: UInt32 = reader.readInteger(),
            let scoredAt: Int64 = reader.readInteger(),
            reader.remaining == 0
        else { return nil }
        self.init(
            transaction: Transaction(
                transactionID: transactionID,
                step: step,
                type: type,
                amountCents: amount,
                originAccount: origin,
                originBalanceBeforeCents: originBefore,
                originBalanceAfterCents: originAfter,
                destinationAccount: destination,
                destinationBalanceBeforeCents: destinationBefore,
                destinationBalanceAfterCents: destinationAfter
            ),
            label: label,
            assessment: Assessment(
                riskScore: Float(bitPattern: scoreBits),
                decision: decision,
                reasons: reasons,
                modelVersion: modelVersion
            ),
            serverTimeMicros: serverTime,
            scoredAtMicros: scoredAt
        )
    }
}

/// Appends little-endian integers and length-prefixed strings to a byte array.
struct ByteWriter {
    var buffer: [UInt8]

    mutating func write(_ byte: UInt8) { buffer.append(byte) }

    mutating func write<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// LEB128 (7 bits per byte, high bit = more).
    mutating func writeLength(_ length: Int) {
        var value = UInt64(length)
        while value >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            writeLength(utf8.count)
            buffer.append(contentsOf: utf8)
        }
    }
}

/// Reads what ``ByteWriter`` wrote; every read returns `nil` past the end.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - index }

    mutating func readUInt8() -> UInt8? {
        guard index < bytes.endIndex else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func readInteger<Integer: FixedWidthInteger>() -> Integer? {
        let size = MemoryLayout<Integer>.size
        guard remaining >= size else { return nil }
        var value: Integer = 0
        for offset in 0..<size {
            value |= Integer(truncatingIfNeeded: bytes[index + offset]) << (8 * offset)
        }
        index += size
        return value
    }

    mutating func readLength() -> Int? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = readUInt8() {
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                return value <= UInt64(Int32.max) ? Int(value) : nil
            }
            shift += 7
            if shift > 35 { return nil }
        }
        return nil
    }

    mutating func readString() -> String? {
        guard let length = readLength(), length <= remaining else { return nil }
        let slice = bytes[index..<index + length]
        index += length
        return String(validating: slice, as: UTF8.self)
    }
}

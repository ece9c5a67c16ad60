public import FraudCore

/// The fields of a `fraud.v1.ScoreResponse` that a batch client checks per answer — which transaction, the
/// decision, whether it was a replay — read straight from the protobuf bytes.
///
/// Much cheaper than ``ScoreResponse/decode(protobuf:)``: no protobuf-c unpack, no strings for the reasons
/// and model version, no allocation. `fraud-backfill` uses it for every answer.
public struct ScoreResponseSummary: Sendable, Hashable {
    /// Where the `transaction_id` bytes are in the decoded message (empty when the field is absent).
    public var transactionIDRange: Range<Int>
    /// The decision.
    public var decision: Decision
    /// `true` when this is the earlier decision for a repeated `transaction_id`.
    public var replayed: Bool

    /// Reads the summary of a protobuf `fraud.v1.ScoreResponse`.
    ///
    /// - Parameter bytes: One message, without the gRPC length prefix.
    /// - Returns: The summary; `transactionIDRange` indexes into `bytes`.
    /// - Throws: `WireError.Code.undecodable` when the bytes are not a well-formed message or the decision is
    ///   missing or unknown.
    public static func decode(protobuf bytes: UnsafeRawBufferPointer) throws(WireError) -> ScoreResponseSummary {
        var reader = ProtobufFieldReader(bytes: bytes)
        var idRange = 0..<0
        var decisionValue: UInt64 = 0
        var replayed = false
        while reader.offset < bytes.count {
            guard let key = reader.varint() else { throw Self.malformed }
            switch (key >> 3, key & 7) {
            case (1, 2):
                guard let range = reader.lengthDelimited() else { throw Self.malformed }
                idRange = range
            case (3, 0):
                guard let value = reader.varint() else { throw Self.malformed }
                decisionValue = value
            case (7, 0):
                guard let value = reader.varint() else { throw Self.malformed }
                replayed = value != 0
            case (_, let wireType):
                guard reader.skip(wireType: wireType) else { throw Self.malformed }
            }
        }
        guard decisionValue <= UInt64(Int32.max), let decision = Decision(rawValue: Int32(decisionValue)) else {
            throw WireError(code: .undecodable, message: "ScoreResponse without a known decision (\(decisionValue))")
        }
        return ScoreResponseSummary(transactionIDRange: idRange, decision: decision, replayed: replayed)
    }

    /// Whether the message's `transaction_id` is `expected`.
    /// - Parameter bytes: The bytes the summary was decoded from.
    public func hasTransactionID(_ expected: String, in bytes: UnsafeRawBufferPointer) -> Bool {
        var expected = expected
        return expected.withUTF8 { utf8 in
            utf8.count == transactionIDRange.count
                && utf8.elementsEqual(UnsafeRawBufferPointer(rebasing: bytes[transactionIDRange]))
        }
    }

    private static let malformed = WireError(code: .undecodable, message: "not a valid fraud.v1.ScoreResponse protobuf")
}

/// Walks protobuf fields (varints, lengths, skips) over a byte buffer.
private struct ProtobufFieldReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    mutating func lengthDelimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return start..<offset
    }

    mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1, 5:
            let width = wireType == 1 ? 8 : 4
            guard bytes.count - offset >= width else { return false }
            offset += width
            return true
        case 2: return lengthDelimited() != nil
        default: return false  // groups (3, 4) are not used by this schema; 6, 7 do not exist
        }
    }
}

/// Splits a gRPC request body into length-prefixed messages (PROTOCOL-HTTP2.md "Length-Prefixed-Message").
///
/// Each message is a 1-byte compressed flag, a 4-byte big-endian length and the bytes. The limit is checked
/// as soon as the 5-byte prefix is known, *before* the body is buffered. Complete messages that arrive in
/// one chunk are handed out straight from the caller's bytes (no copy); only split messages are buffered.
///
/// - Important: Not thread-safe; owned by one stream on one event loop.
public struct MessageDeframer {
    /// The largest message body accepted, in bytes.
    public let maxMessageBytes: Int
    /// Bytes of a message that arrived split across chunks (prefix included).
    private var pending: [UInt8] = []

    /// Creates a deframer that refuses messages over `maxMessageBytes`.
    public init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Whether part of a message is waiting for more bytes (a stream ending now would be truncated).
    public var hasPartialMessage: Bool { !pending.isEmpty }

    /// Feeds a chunk of the body, calling `onMessage` for every message it completes, in order.
    ///
    /// - Parameters:
    ///   - chunk: bytes as received.
    ///   - onMessage: called with the message bytes; the pointer is valid only during the call.
    /// - Throws: `WireError` with `.messageTooLarge` or `.compressedWithoutEncoding`; the deframer must not
    ///   be used after a throw.
    public mutating func process(
        _ chunk: UnsafeRawBufferPointer,
        _ onMessage: (UnsafeRawBufferPointer) -> Void
    ) throws(WireError) {
        var rest = chunk[...]
        if !pending.isEmpty {
            // Complete the prefix first, then the body, from the front of the chunk.
            if pending.count < 5 {
                let take = min(5 - pending.count, rest.count)
                pending.append(contentsOf: rest.prefix(take))
                rest = rest.dropFirst(take)
                if pending.count < 5 { return }
            }
            let length = try Self.checkedLength(prefix: pending, limit: maxMessageBytes)
            let need = 5 + length - pending.count
            let take = min(need, rest.count)
            pending.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if pending.count < 5 + length { return }
            pending.withUnsafeBytes { whole in
                onMessage(UnsafeRawBufferPointer(rebasing: whole[5...]))
            }
            pending.removeAll(keepingCapacity: true)
        }
        // Fast path: whole messages straight from the chunk.
        while rest.count >= 5 {
            let start = rest.startIndex
            let length = try Self.checkedLength(
                flag: rest[start],
                bytes: (rest[start + 1], rest[start + 2], rest[start + 3], rest[start + 4]),
                limit: maxMessageBytes
            )
            guard rest.count >= 5 + length else { break }
            onMessage(UnsafeRawBufferPointer(rebasing: chunk[(start + 5)..<(start + 5 + length)]))
            rest = rest.dropFirst(5 + length)
        }
        if !rest.isEmpty {
            pending.append(contentsOf: rest)
        }
    }

    private static func checkedLength(prefix: [UInt8], limit: Int) throws(WireError) -> Int {
        try checkedLength(flag: prefix[0], bytes: (prefix[1], prefix[2], prefix[3], prefix[4]), limit: limit)
    }

    private static func checkedLength(
        flag: UInt8,
        bytes: (UInt8, UInt8, UInt8, UInt8),
        limit: Int
    ) throws(WireError) -> Int {
        if flag & 1 != 0 {
            throw WireError(
                code: .compressedWithoutEncoding,
                message: "message has the compressed flag set but the request declared no grpc-encoding"
            )
        }
        let length = Int(bytes.0) << 24 | Int(bytes.1) << 16 | Int(bytes.2) << 8 | Int(bytes.3)
        if length > limit {
            throw WireError(
                code: .messageTooLarge,
                message: "message of \(length) bytes exceeds the limit of \(limit) bytes"
            )
        }
        return length
    }
}

/// Writes the 5-byte gRPC message prefix (uncompressed) for a body of `length` bytes.
@inlinable
public func appendMessagePrefix(length: Int, to buffer: inout [UInt8]) {
    buffer.append(0)
    buffer.append(UInt8(truncatingIfNeeded: length >> 24))
    buffer.append(UInt8(truncatingIfNeeded: length >> 16))
    buffer.append(UInt8(truncatingIfNeeded: length >> 8))
    buffer.append(UInt8(truncatingIfNeeded: length))
}

/// Appends a length-prefixed message of `size` bytes that `pack` writes to the pointer it is given and whose
/// byte count it returns (a protobuf-c `…__pack`): packed on the stack and copied in with one `memcpy`, rather
/// than zero-filling `size` bytes of `buffer` first (`append(contentsOf: repeatElement(0, …))` appends byte
/// by byte).
@inline(__always)
func appendPackedMessage(size: Int, to buffer: inout [UInt8], _ pack: (UnsafeMutablePointer<UInt8>) -> Int) {
    appendMessagePrefix(length: size, to: &buffer)
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(size, 1)) { scratch in
        let written = pack(scratch.baseAddress!)
        precondition(written == size, "protobuf-c packed \(written) bytes, expected \(size)")
        buffer.append(contentsOf: UnsafeBufferPointer(start: scratch.baseAddress!, count: size))
    }
}

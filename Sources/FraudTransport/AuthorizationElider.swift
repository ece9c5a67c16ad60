#if canImport(Glibc)
import Glibc
#endif

/// Takes a repeated bearer token out of request HEADERS frames before nghttp2 decodes them.
///
/// nghttp2's HPACK encoder (h2load, our own client) sends `authorization` as a never-indexed literal, so the
/// same Huffman-coded token arrives with every call and nghttp2 would Huffman-decode and validate it every
/// time. The elider runs over the received bytes first: it follows the HTTP/2 frame boundaries across reads
/// and, in each request HEADERS frame that lies whole in one read (END_HEADERS set), walks the HPACK
/// representations. A literal `authorization` field that is *not* indexed (without indexing, or never
/// indexed) and whose encoded value bytes equal ``grantedEncodedValue`` is cut out of the block and the
/// frame length fixed; such literals do not touch the dynamic table, so nghttp2's decoder state stays
/// the same. The stream is reported as ``Finding/elided(streamID:)`` and its owner treats it as if it had
/// carried the granted token. Otherwise the bytes pass unmodified and a lone `authorization` literal is
/// reported as ``Finding/seen(streamID:encodedValue:)``, so that a grant for that call can adopt its
/// encoding.
///
/// Anything unusual — a frame split across reads, CONTINUATION, a frame over the default maximum frame size,
/// a malformed or truncated representation, more than one visible `authorization` field, an incrementally
/// indexed one — passes through unmodified and nghttp2 judges it as before.
///
/// - Important: Not thread-safe: one per connection, owned by its ``H2Session``, fed every received byte in
///   order (from the client preface on).
struct AuthorizationElider {
    /// What ``scan(_:mayElide:scratch:findings:)`` found in one whole request HEADERS frame.
    enum Finding: Equatable {
        /// The `authorization` field matched ``AuthorizationElider/grantedEncodedValue`` and was removed.
        case elided(streamID: Int32)
        /// The frame's only `authorization` field was left in place; these are its encoded value bytes
        /// (H bit and length prefix included).
        case seen(streamID: Int32, encodedValue: [UInt8])
    }

    /// Where one removal happens in the scanned bytes.
    private struct Edit {
        var frameStart: Int
        var frameLength: Int
        var removeStart: Int
        var removeEnd: Int
    }

    /// The encoded value (H bit, length, string) of the token the connection granted; empty for none.
    /// Set by the owner when a call whose field it saw as ``Finding/seen(streamID:encodedValue:)`` is granted.
    var grantedEncodedValue: [UInt8] = []
    /// Fields removed so far on this connection.
    private(set) var elidedCount = 0
    /// Bytes of the 24-byte client connection preface still to skip.
    private var prefaceLeft = 24
    /// A frame header that arrived split across reads, collected until it has all 9 bytes.
    private var partialHeader: [UInt8] = []
    /// Payload bytes of the current frame still to skip (it continues past the last read).
    private var payloadLeft = 0
    /// The highest stream id a HEADERS frame was seen on: a larger odd id opens a new request.
    private var lastStreamID: Int32 = 0
    private var edits: [Edit] = []

    private static let frameHeaderLength = 9
    /// SETTINGS_MAX_FRAME_SIZE as we leave it (the default): a longer frame is nghttp2's to refuse, so it is
    /// never shortened into an acceptable one.
    private static let maxFrameLength = 16_384
    private static let typeHeaders: UInt8 = 0x1
    private static let flagEndHeaders: UInt8 = 0x4
    private static let flagPadded: UInt8 = 0x8
    private static let flagPriority: UInt8 = 0x20
    /// `authorization` in the HPACK static table (RFC 7541 Appendix A).
    private static let authorizationIndex = 23
    /// `authorization` Huffman-coded (RFC 7541 Appendix B), for literal names.
    private static let huffmanAuthorization: [UInt8] = [0x1D, 0xA9, 0x9C, 0xF6, 0x1B, 0xD8, 0xD2, 0x63, 0xD5]
    /// Larger integers are not plausible in a header block (frames are at most 2^24 - 1 bytes).
    private static let integerLimit = 1 << 24

    /// Scans one read's bytes; removes the granted token's field where it safely can.
    /// - Parameters:
    ///   - bytes: the bytes received, in connection order.
    ///   - mayElide: whether the grant behind ``grantedEncodedValue`` still holds (same key generation,
    ///     not expired); when false nothing is removed, fields are only reported as seen.
    ///   - scratch: receives the rewritten bytes when something was removed (its old contents are replaced).
    ///   - findings: one finding is appended per whole request HEADERS frame with one `authorization`
    ///     literal, in frame order.
    /// - Returns: `true` when `scratch` holds the bytes to feed instead of `bytes`.
    mutating func scan(
        _ bytes: UnsafeRawBufferPointer,
        mayElide: Bool,
        scratch: inout [UInt8],
        findings: inout [Finding]
    ) -> Bool {
        let count = bytes.count
        var offset = 0
        if prefaceLeft > 0 {
            offset = min(prefaceLeft, count)
            prefaceLeft -= offset
        }
        while offset < count {
            if payloadLeft > 0 {
                let skipped = min(payloadLeft, count - offset)
                payloadLeft -= skipped
                offset += skipped
                continue
            }
            if !partialHeader.isEmpty || count - offset < Self.frameHeaderLength {
                let taken = min(Self.frameHeaderLength - partialHeader.count, count - offset)
                partialHeader.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + taken)]))
                offset += taken
                if partialHeader.count == Self.frameHeaderLength {
                    let header = partialHeader.withUnsafeBytes { FrameHeader($0, at: 0) }
                    partialHeader.removeAll(keepingCapacity: true)
                    _ = opensStream(header)
                    payloadLeft = header.length
                }
                continue
            }
            let header = FrameHeader(bytes, at: offset)
            let payloadStart = offset + Self.frameHeaderLength
            let end = payloadStart + header.length
            let isNewRequest = opensStream(header)
            if end > count {
                payloadLeft = end - count
                offset = count
                continue
            }
            if isNewRequest, header.flags & Self.flagEndHeaders != 0, header.length <= Self.maxFrameLength {
                examine(bytes, frameStart: offset, header: header, mayElide: mayElide, findings: &findings)
            }
            offset = end
        }
        guard !edits.isEmpty else { return false }
        rewrite(bytes, into: &scratch)
        edits.removeAll(keepingCapacity: true)
        return true
    }

    /// Notes a HEADERS frame's stream id; `true` when it opens a new client stream.
    private mutating func opensStream(_ header: FrameHeader) -> Bool {
        guard header.type == Self.typeHeaders, header.streamID > lastStreamID else { return false }
        lastStreamID = header.streamID
        return header.streamID & 1 == 1
    }

    /// Looks for the `authorization` literal in one whole HEADERS frame; records an edit and a finding.
    private mutating func examine(
        _ bytes: UnsafeRawBufferPointer,
        frameStart: Int,
        header: FrameHeader,
        mayElide: Bool,
        findings: inout [Finding]
    ) {
        var blockStart = frameStart + Self.frameHeaderLength
        var blockEnd = blockStart + header.length
        if header.flags & Self.flagPadded != 0 {
            guard blockStart < blockEnd else { return }
            let padding = Int(bytes[blockStart])
            blockStart += 1
            guard padding <= blockEnd - blockStart else { return }
            blockEnd -= padding
        }
        if header.flags & Self.flagPriority != 0 {
            blockStart += 5
            guard blockStart <= blockEnd else { return }
        }
        guard let field = Self.authorizationLiteral(bytes, from: blockStart, to: blockEnd) else { return }
        let value = UnsafeRawBufferPointer(rebasing: bytes[field.valueStart..<field.end])
        if mayElide, value.count == grantedEncodedValue.count,
            grantedEncodedValue.withUnsafeBytes({ memcmp($0.baseAddress!, value.baseAddress!, value.count) == 0 })
        {
            edits.append(
                Edit(frameStart: frameStart, frameLength: header.length, removeStart: field.start, removeEnd: field.end)
            )
            elidedCount += 1
            findings.append(.elided(streamID: header.streamID))
        } else {
            findings.append(.seen(streamID: header.streamID, encodedValue: Array(value)))
        }
    }

    /// Walks a whole header block. Returns the one non-indexing `authorization` literal in it, or nil when
    /// there is none, more than one visible `authorization` field, or the block does not parse exactly.
    private static func authorizationLiteral(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        to end: Int
    ) -> (start: Int, valueStart: Int, end: Int)? {
        var offset = start
        var found: (start: Int, valueStart: Int, end: Int)?
        var authorizationFields = 0
        while offset < end {
            let representationStart = offset
            let first = bytes[offset]
            if first & 0x80 != 0 {  // indexed field
                guard let index = readInteger(bytes, &offset, end: end, prefixBits: 7), index != 0 else { return nil }
                if index == authorizationIndex { authorizationFields += 1 }
                continue
            }
            if first & 0xE0 == 0x20 {  // dynamic table size update
                guard readInteger(bytes, &offset, end: end, prefixBits: 5) != nil else { return nil }
                continue
            }
            // Literal: with incremental indexing (01xxxxxx, 6-bit name index) or without / never indexed
            // (0000xxxx / 0001xxxx, 4-bit name index).
            let isIndexing = first & 0xC0 == 0x40
            guard let nameIndex = readInteger(bytes, &offset, end: end, prefixBits: isIndexing ? 6 : 4) else {
                return nil
            }
            var isAuthorization = nameIndex == authorizationIndex
            if nameIndex == 0 {
                guard let name = readString(bytes, &offset, end: end) else { return nil }
                let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[name.range])
                isAuthorization = isAuthorizationName(nameBytes, huffman: name.huffman)
            }
            let valueStart = offset
            guard readString(bytes, &offset, end: end) != nil else { return nil }
            guard isAuthorization else { continue }
            authorizationFields += 1
            if !isIndexing { found = (representationStart, valueStart, offset) }
        }
        guard offset == end, authorizationFields == 1 else { return nil }
        return found
    }

    private static func isAuthorizationName(_ name: UnsafeRawBufferPointer, huffman: Bool) -> Bool {
        if huffman { return name.elementsEqual(huffmanAuthorization) }
        return name.elementsEqual("authorization".utf8)
    }

    /// Reads an HPACK integer (RFC 7541 §5.1) with an `prefixBits`-bit prefix; nil when it runs past `end`
    /// or is implausibly large.
    private static func readInteger(
        _ bytes: UnsafeRawBufferPointer,
        _ offset: inout Int,
        end: Int,
        prefixBits: Int
    ) -> Int? {
        guard offset < end else { return nil }
        let mask = (1 << prefixBits) - 1
        var value = Int(bytes[offset]) & mask
        offset += 1
        guard value == mask else { return value }
        var shift = 0
        while true {
            guard offset < end, shift <= 21 else { return nil }
            let byte = Int(bytes[offset])
            offset += 1
            value += (byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { break }
        }
        return value < integerLimit ? value : nil
    }

    /// Reads an HPACK string literal (RFC 7541 §5.2): its bytes' range and whether they are Huffman-coded.
    private static func readString(
        _ bytes: UnsafeRawBufferPointer,
        _ offset: inout Int,
        end: Int
    ) -> (range: Range<Int>, huffman: Bool)? {
        guard offset < end else { return nil }
        let huffman = bytes[offset] & 0x80 != 0
        guard let length = readInteger(bytes, &offset, end: end, prefixBits: 7), length <= end - offset else {
            return nil
        }
        let range = offset..<(offset + length)
        offset += length
        return (range, huffman)
    }

    /// Copies `bytes` into `scratch` without the edited fields, each edited frame's length lowered.
    private func rewrite(_ bytes: UnsafeRawBufferPointer, into scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(bytes.count)
        var cursor = 0
        for edit in edits {
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[cursor..<edit.frameStart]))
            let length = edit.frameLength - (edit.removeEnd - edit.removeStart)
            scratch.append(UInt8(truncatingIfNeeded: length >> 16))
            scratch.append(UInt8(truncatingIfNeeded: length >> 8))
            scratch.append(UInt8(truncatingIfNeeded: length))
            let kept = (edit.frameStart + 3)..<edit.removeStart  // type, flags, stream id, block before the field
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[kept]))
            cursor = edit.removeEnd
        }
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[cursor...]))
    }
}

/// The 9-byte HTTP/2 frame header (RFC 9113 §4.1).
private struct FrameHeader {
    var length: Int
    var type: UInt8
    var flags: UInt8
    var streamID: Int32

    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        type = bytes[offset + 3]
        flags = bytes[offset + 4]
        streamID = Int32(bitPattern:
            (UInt32(bytes[offset + 5]) << 24 | UInt32(bytes[offset + 6]) << 16 | UInt32(bytes[offset + 7]) << 8
                | UInt32(bytes[offset + 8])) & 0x7FFF_FFFF)
    }
}

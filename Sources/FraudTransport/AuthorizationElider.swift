#if canImport(Glibc)
import Glibc
#endif

/// Takes a repeated bearer token out of request HEADERS frames before nghttp2 decodes them.
///
/// A client sends the same token with every call, in one of two ways. nghttp2's HPACK encoder (h2load, Python's
/// `h2`) sends `authorization` as a never-indexed literal, so the same Huffman-coded token arrives every time and
/// nghttp2 would decode and validate it every time. grpc-go, grpc-java and our own ``H2ClientSession`` index it
/// once per connection and then send a one-byte reference, which nghttp2 expands and validates (~260 bytes)
/// every time just the same. The elider runs over the received bytes first: it follows the HTTP/2 frame
/// boundaries across reads, walks every header block (HEADERS and CONTINUATION, requests and trailers alike)
/// and keeps a copy of the decoder's dynamic table (``HPACKDecoderTable``), entry for entry. In each request
/// HEADERS frame that lies whole in one read (END_HEADERS set) it looks for the block's only `authorization`
/// field and cuts it out (fixing the frame length) when it is
/// - a literal that is *not* indexed (without indexing, or never indexed) whose encoded value bytes equal
///   ``grantedEncodedValue``, or
/// - an indexed reference to a dynamic table entry whose value is ``grantedToken``.
///
/// Neither representation changes the dynamic table, so nghttp2's decoder state stays the same as if it had
/// decoded the field. The stream is reported as ``Finding/elided(streamID:)`` and its owner treats it as if it
/// had carried the granted token. Otherwise the bytes pass unmodified and a lone non-indexed `authorization`
/// literal is reported as ``Finding/seen(streamID:encodedValue:)``, so that a grant for that call can adopt its
/// encoding.
///
/// Anything unusual passes through unmodified and nghttp2 judges it as before: a frame split across reads,
/// CONTINUATION, a frame over the default maximum frame size, more than one `authorization` field, an
/// incrementally indexed one. A header block the elider cannot follow exactly (a decoding error, an index
/// outside the table, a table size update over SETTINGS_HEADER_TABLE_SIZE or after a field, a frame out of the
/// HEADERS/CONTINUATION sequence — all of them connection errors for nghttp2 too) makes it stop: from then on
/// it removes nothing on that connection (``isFollowing`` is false).
///
/// - Important: Not thread-safe: one per connection, owned by its ``H2Session``, fed every received byte in
///   order (from the client preface on).
struct AuthorizationElider {
    /// What ``scan(_:mayElide:scratch:findings:)`` found in one whole request HEADERS frame.
    enum Finding: Equatable {
        /// The `authorization` field was the granted token (a literal with ``AuthorizationElider/grantedEncodedValue``
        /// or an indexed reference to ``AuthorizationElider/grantedToken``) and was removed.
        case elided(streamID: Int32)
        /// The frame's only `authorization` field, a literal without indexing, was left in place; these are its
        /// encoded value bytes (H bit and length prefix included).
        case seen(streamID: Int32, encodedValue: [UInt8])
    }

    /// Where one removal happens in the scanned bytes.
    private struct Edit {
        var frameStart: Int
        var frameLength: Int
        var removeStart: Int
        var removeEnd: Int
    }

    /// The one `authorization` field of a header block, as ``walk(_:from:to:mayElide:)`` found it.
    private struct Field {
        var start: Int
        var valueStart: Int
        var end: Int
        /// An indexed reference (else a literal without indexing).
        var isIndexed: Bool
        /// An indexed reference to an entry whose value is ``AuthorizationElider/grantedToken`` (with `mayElide`).
        var isGrantedEntry: Bool
        /// The HPACK index of an indexed reference (0 for a literal).
        var entryIndex: Int

        func moved(by distance: Int) -> Field {
            var field = self
            field.start += distance
            field.valueStart += distance
            field.end += distance
            return field
        }
    }

    /// The encoded value (H bit, length, string) of the token the connection granted; empty for none.
    /// Set by the owner when a call whose field it saw as ``Finding/seen(streamID:encodedValue:)`` is granted.
    var grantedEncodedValue: [UInt8] = []
    /// The token the connection granted (decoded octets); empty for none. An indexed reference to a dynamic
    /// table entry holding exactly this value is removed (while the owner says the grant holds).
    var grantedToken: [UInt8] = []
    /// Fields removed so far on this connection.
    private(set) var elidedCount = 0
    /// Whether the elider still follows the connection's header blocks and dynamic table; once false it
    /// removes nothing more.
    private(set) var isFollowing = true
    /// The request decoder's dynamic table, as far as the elider needs it.
    private var table = HPACKDecoderTable()
    /// Bytes of the 24-byte client connection preface still to skip.
    private var prefaceLeft = 24
    /// A frame header that arrived split across reads, collected until it has all 9 bytes.
    private var partialHeader: [UInt8] = []
    /// Payload bytes of the current frame still to come (it continues past the last read).
    private var payloadLeft = 0
    /// The current frame when it is a HEADERS or CONTINUATION frame split across reads, and its payload so far.
    private var splitFrame: FrameHeader?
    private var splitPayload: [UInt8] = []
    /// The header block begun by a HEADERS frame without END_HEADERS, until its last CONTINUATION, and its
    /// stream (0: no block open).
    private var openBlock: [UInt8] = []
    private var openBlockStreamID: Int32 = 0
    /// The highest stream id a HEADERS frame was seen on: a larger odd id opens a new request.
    private var lastStreamID: Int32 = 0
    private var edits: [Edit] = []
    /// A Huffman-coded literal name, decoded.
    private var nameScratch: [UInt8] = []
    /// The last request header block walked that left the table as it was, and what the walk found (field
    /// offsets from the block's start): a client that repeats its block (ours: the same one-byte references;
    /// nghttp2's: the same literals) is not walked again while the table stays the same generation.
    private var cachedBlock: [UInt8] = []
    private var cachedGeneration = -1
    private var cachedAuthorizationFields = 0
    private var cachedField: Field?

    private static let frameHeaderLength = 9
    /// SETTINGS_MAX_FRAME_SIZE as we leave it (the default): a longer frame is nghttp2's to refuse, so it is
    /// never shortened into an acceptable one.
    private static let maxFrameLength = 16_384
    /// A longer header block (HEADERS + CONTINUATION) is not followed (nghttp2 allows 1 + 8 frames).
    private static let maxBlockLength = 16 * 16_384
    private static let typeHeaders: UInt8 = 0x1
    private static let typePushPromise: UInt8 = 0x5
    private static let typeContinuation: UInt8 = 0x9
    private static let flagEndHeaders: UInt8 = 0x4
    private static let flagPadded: UInt8 = 0x8
    private static let flagPriority: UInt8 = 0x20
    /// `authorization` Huffman-coded (RFC 7541 Appendix B), for literal names.
    private static let huffmanAuthorization: [UInt8] = [0x1D, 0xA9, 0x9C, 0xF6, 0x1B, 0xD8, 0xD2, 0x63, 0xD5]
    /// Larger integers are not plausible in a header block (frames are at most 2^24 - 1 bytes).
    private static let integerLimit = 1 << 24

    /// Entries in the followed dynamic table, and their size (for tests).
    var dynamicTableCount: Int { table.count }
    var dynamicTableSize: Int { table.size }

    /// Scans one read's bytes; removes the granted token's field where it safely can.
    /// - Parameters:
    ///   - bytes: the bytes received, in connection order.
    ///   - mayElide: whether the grant behind ``grantedEncodedValue`` and ``grantedToken`` still holds (same
    ///     key generation, not expired); when false nothing is removed, fields are only reported as seen.
    ///   - scratch: receives the rewritten bytes at its start when something was removed (it only grows, so
    ///     that a connection reuses it).
    ///   - findings: one finding is appended per whole request HEADERS frame whose one `authorization` field
    ///     is a literal without indexing or was removed, in frame order.
    /// - Returns: how many bytes at the start of `scratch` to feed instead of `bytes`, or nil to feed `bytes`.
    mutating func scan(
        _ bytes: UnsafeRawBufferPointer,
        mayElide: Bool,
        scratch: inout [UInt8],
        findings: inout [Finding]
    ) -> Int? {
        let count = bytes.count
        var offset = 0
        if prefaceLeft > 0 {
            offset = min(prefaceLeft, count)
            prefaceLeft -= offset
        }
        while offset < count {
            if payloadLeft > 0 {
                let taken = min(payloadLeft, count - offset)
                if splitFrame != nil {
                    splitPayload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + taken)]))
                }
                payloadLeft -= taken
                offset += taken
                if payloadLeft == 0 { finishSplitFrame(mayElide: mayElide, findings: &findings) }
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
                    if isHeaderBlockFrame(header) { splitFrame = header }
                    payloadLeft = header.length
                    if payloadLeft == 0 { finishSplitFrame(mayElide: mayElide, findings: &findings) }
                }
                continue
            }
            let header = FrameHeader(bytes, at: offset)
            let payloadStart = offset + Self.frameHeaderLength
            let end = payloadStart + header.length
            let isNewRequest = opensStream(header)
            let isBlockFrame = isHeaderBlockFrame(header)
            if end > count {
                payloadLeft = end - count
                if isBlockFrame {
                    splitFrame = header
                    splitPayload.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<count]))
                }
                offset = count
                continue
            }
            if isBlockFrame {
                follow(
                    header, in: bytes, payloadStart: payloadStart, frameStart: isNewRequest ? offset : nil,
                    mayElide: mayElide, findings: &findings)
            }
            offset = end
        }
        guard !edits.isEmpty else { return nil }
        let rewritten = rewrite(bytes, into: &scratch)
        edits.removeAll(keepingCapacity: true)
        return rewritten
    }

    /// Notes a HEADERS frame's stream id; `true` when it opens a new client stream.
    private mutating func opensStream(_ header: FrameHeader) -> Bool {
        guard header.type == Self.typeHeaders, header.streamID > lastStreamID else { return false }
        lastStreamID = header.streamID
        return header.streamID & 1 == 1
    }

    /// Whether the frame carries a header block fragment to follow; stops following on a frame out of the
    /// HEADERS/CONTINUATION sequence (RFC 9113 §6.10) or one nghttp2 refuses outright.
    private mutating func isHeaderBlockFrame(_ header: FrameHeader) -> Bool {
        guard isFollowing else { return false }
        let isContinuation = header.type == Self.typeContinuation
        if openBlockStreamID != 0 {
            guard isContinuation, header.streamID == openBlockStreamID else { return stopFollowing() }
        } else if isContinuation || header.type == Self.typePushPromise {
            return stopFollowing()
        }
        guard header.type == Self.typeHeaders || isContinuation else { return false }
        guard header.length <= Self.maxFrameLength, header.streamID != 0 else { return stopFollowing() }
        return true
    }

    @discardableResult
    private mutating func stopFollowing() -> Bool {
        isFollowing = false
        splitFrame = nil
        splitPayload = []
        openBlock = []
        openBlockStreamID = 0
        return false
    }

    /// The split frame's payload is complete: follow it (nothing in it is removed).
    private mutating func finishSplitFrame(mayElide: Bool, findings: inout [Finding]) {
        guard let header = splitFrame else { return }
        splitFrame = nil
        var payload: [UInt8] = []
        swap(&payload, &splitPayload)
        payload.withUnsafeBytes {
            follow(header, in: $0, payloadStart: 0, frameStart: nil, mayElide: mayElide, findings: &findings)
        }
        payload.removeAll(keepingCapacity: true)
        swap(&payload, &splitPayload)
    }

    /// Follows one HEADERS or CONTINUATION frame's fragment; a HEADERS frame with END_HEADERS is walked in
    /// place (and, when `frameStart` is given, may lose its `authorization` field), others are collected until
    /// the block's last frame.
    private mutating func follow(
        _ header: FrameHeader,
        in source: UnsafeRawBufferPointer,
        payloadStart: Int,
        frameStart: Int?,
        mayElide: Bool,
        findings: inout [Finding]
    ) {
        var blockStart = payloadStart
        var blockEnd = payloadStart + header.length
        if header.type == Self.typeHeaders {
            if header.flags & Self.flagPadded != 0 {
                guard blockStart < blockEnd else {
                    stopFollowing()
                    return
                }
                let padding = Int(source[blockStart])
                blockStart += 1
                guard padding <= blockEnd - blockStart else {
                    stopFollowing()
                    return
                }
                blockEnd -= padding
            }
            if header.flags & Self.flagPriority != 0 {
                blockStart += 5
                guard blockStart <= blockEnd else {
                    stopFollowing()
                    return
                }
            }
        }
        let isLast = header.flags & Self.flagEndHeaders != 0
        if header.type == Self.typeHeaders && isLast {
            examine(source, from: blockStart, to: blockEnd, frameStart: frameStart, header: header,
                    mayElide: mayElide, findings: &findings)
            return
        }
        openBlock.append(contentsOf: UnsafeRawBufferPointer(rebasing: source[blockStart..<blockEnd]))
        guard openBlock.count <= Self.maxBlockLength else {
            stopFollowing()
            return
        }
        if header.type == Self.typeHeaders { openBlockStreamID = header.streamID }
        guard isLast else { return }
        openBlockStreamID = 0
        var block: [UInt8] = []
        swap(&block, &openBlock)
        block.withUnsafeBytes {
            examine($0, from: 0, to: $0.count, frameStart: nil, header: header, mayElide: false, findings: &findings)
        }
        block.removeAll(keepingCapacity: true)
        if isFollowing { openBlock = block }  // keeps the capacity
    }

    /// Walks one whole header block (following the dynamic table); when it lies in the read at `frameStart`,
    /// records an edit and a finding for its `authorization` field.
    private mutating func examine(
        _ bytes: UnsafeRawBufferPointer,
        from blockStart: Int,
        to blockEnd: Int,
        frameStart: Int?,
        header: FrameHeader,
        mayElide: Bool,
        findings: inout [Finding]
    ) {
        let block = UnsafeRawBufferPointer(rebasing: bytes[blockStart..<blockEnd])
        var walked: (authorizationFields: Int, field: Field?)
        if frameStart != nil, cachedGeneration == table.generation, cachedBlock.withUnsafeBytes({ Self.isEqual($0, block) }) {
            // Same bytes, same table: the walk would find the same, and change nothing.
            walked = (cachedAuthorizationFields, cachedField?.moved(by: blockStart))
            if var field = walked.field, field.isIndexed {
                field.isGrantedEntry = mayElide && table.isAuthorization(at: field.entryIndex, withValue: grantedToken)
                walked.field = field
            }
        } else {
            let generation = table.generation
            guard let result = walk(bytes, from: blockStart, to: blockEnd, mayElide: mayElide) else {
                stopFollowing()
                return
            }
            walked = result
            if frameStart != nil, table.generation == generation {
                cachedBlock.removeAll(keepingCapacity: true)
                cachedBlock.append(contentsOf: block)
                cachedGeneration = generation
                cachedAuthorizationFields = result.authorizationFields
                cachedField = result.field?.moved(by: -blockStart)
            }
        }
        guard let frameStart, walked.authorizationFields == 1, let field = walked.field else { return }
        let isGranted: Bool
        if field.isIndexed {
            isGranted = field.isGrantedEntry
        } else {
            let value = UnsafeRawBufferPointer(rebasing: bytes[field.valueStart..<field.end])
            isGranted = mayElide && grantedEncodedValue.withUnsafeBytes { Self.isEqual($0, value) }
            if !isGranted { findings.append(.seen(streamID: header.streamID, encodedValue: Array(value))) }
        }
        guard isGranted else { return }
        edits.append(
            Edit(frameStart: frameStart, frameLength: header.length, removeStart: field.start, removeEnd: field.end)
        )
        elidedCount += 1
        findings.append(.elided(streamID: header.streamID))
    }

    /// Walks a whole header block as nghttp2's decoder will, applying its table size updates and insertions to
    /// ``table``. Returns how many `authorization` fields it has and the last one that may be removed (an
    /// indexed reference or a literal without indexing), or nil when the block does not decode.
    private mutating func walk(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        to end: Int,
        mayElide: Bool
    ) -> (authorizationFields: Int, field: Field?)? {
        var offset = start
        var field: Field?
        var authorizationFields = 0
        var mayResize = true  // size updates only before the first field (RFC 7541 §4.2)
        while offset < end {
            let representationStart = offset
            let first = bytes[offset]
            if first & 0x80 != 0 {  // indexed field
                guard let index = Self.readInteger(bytes, &offset, end: end, prefixBits: 7), index != 0 else {
                    return nil
                }
                mayResize = false
                if index == HPACKDecoderTable.authorizationIndex {
                    authorizationFields += 1
                    field = nil  // an empty value: never the grant
                } else if index >= 62 {
                    guard let name = table.name(at: index) else { return nil }
                    guard name.isAuthorization else { continue }
                    authorizationFields += 1
                    let isGranted = mayElide && table.isAuthorization(at: index, withValue: grantedToken)
                    field = Field(
                        start: representationStart, valueStart: offset, end: offset, isIndexed: true,
                        isGrantedEntry: isGranted, entryIndex: index)
                }
                continue
            }
            if first & 0xE0 == 0x20 {  // dynamic table size update
                guard mayResize, let size = Self.readInteger(bytes, &offset, end: end, prefixBits: 5),
                    table.resize(to: size)
                else { return nil }
                continue
            }
            mayResize = false
            // Literal: with incremental indexing (01xxxxxx, 6-bit name index) or without / never indexed
            // (0000xxxx / 0001xxxx, 4-bit name index).
            let isIndexing = first & 0xC0 == 0x40
            guard let nameIndex = Self.readInteger(bytes, &offset, end: end, prefixBits: isIndexing ? 6 : 4) else {
                return nil
            }
            var isAuthorization = nameIndex == HPACKDecoderTable.authorizationIndex
            var nameLength = 0
            if nameIndex == 0 {
                guard let name = Self.readString(bytes, &offset, end: end) else { return nil }
                let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[name.range])
                if isIndexing && name.huffman {
                    nameScratch.removeAll(keepingCapacity: true)
                    guard HPACKHuffman.decode(nameBytes, into: &nameScratch) else { return nil }
                    nameLength = nameScratch.count
                    isAuthorization = nameScratch.elementsEqual("authorization".utf8)
                } else {
                    nameLength = nameBytes.count
                    isAuthorization = Self.isAuthorizationName(nameBytes, huffman: name.huffman)
                }
            } else if nameIndex < 62 {
                if isIndexing { nameLength = HPACKDecoderTable.staticNameLength(at: nameIndex) }
            } else {
                guard let name = table.name(at: nameIndex) else { return nil }
                nameLength = name.length
                isAuthorization = name.isAuthorization
            }
            let valueStart = offset
            guard let value = Self.readString(bytes, &offset, end: end) else { return nil }
            if isIndexing {
                let valueBytes = UnsafeRawBufferPointer(rebasing: bytes[value.range])
                var entry = HPACKDecoderTable.Entry(
                    size: 0, nameLength: nameLength, isAuthorization: isAuthorization, value: [])
                var valueLength = valueBytes.count
                if isAuthorization {
                    if value.huffman {
                        guard HPACKHuffman.decode(valueBytes, into: &entry.value) else { return nil }
                    } else {
                        entry.value = Array(valueBytes)
                    }
                    valueLength = entry.value.count
                } else if value.huffman {
                    guard let decoded = HPACKHuffman.decodedCount(valueBytes) else { return nil }
                    valueLength = decoded
                }
                entry.size = nameLength + valueLength + 32
                table.add(entry)
            }
            guard isAuthorization else { continue }
            authorizationFields += 1
            field = isIndexing
                ? nil
                : Field(start: representationStart, valueStart: valueStart, end: offset, isIndexed: false,
                        isGrantedEntry: false, entryIndex: 0)
        }
        guard offset == end else { return nil }
        return (authorizationFields, field)
    }

    /// Whether two non-empty byte strings are equal.
    private static func isEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && a.count > 0 && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
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

    /// Copies `bytes` to the start of `scratch` without the edited fields, each edited frame's length lowered.
    /// - Returns: the number of bytes written.
    private func rewrite(_ bytes: UnsafeRawBufferPointer, into scratch: inout [UInt8]) -> Int {
        var count = bytes.count
        for edit in edits { count -= edit.removeEnd - edit.removeStart }
        if scratch.count < count { scratch.append(contentsOf: repeatElement(0, count: count - scratch.count)) }
        scratch.withUnsafeMutableBytes { output in
            var written = 0
            func copy(_ range: Range<Int>) {
                UnsafeMutableRawBufferPointer(rebasing: output[written..<(written + range.count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[range]))
                written += range.count
            }
            var cursor = 0
            for edit in edits {
                copy(cursor..<edit.frameStart)
                let length = edit.frameLength - (edit.removeEnd - edit.removeStart)
                output[written] = UInt8(truncatingIfNeeded: length >> 16)
                output[written + 1] = UInt8(truncatingIfNeeded: length >> 8)
                output[written + 2] = UInt8(truncatingIfNeeded: length)
                written += 3
                copy((edit.frameStart + 3)..<edit.removeStart)  // type, flags, stream id, block before the field
                cursor = edit.removeEnd
            }
            copy(cursor..<bytes.count)
        }
        return count
    }
}

/// The 9-byte HTTP/2 frame header (RFC 9113 §4.1).
private struct FrameHeader {
    var length: Int
    var type: UInt8
    var flags: UInt8
    var streamID: Int32

    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        type = bytes[offset + 3]
        flags = bytes[offset + 4]
        streamID = Int32(bitPattern:
            (UInt32(bytes[offset + 5]) << 24 | UInt32(bytes[offset + 6]) << 16 | UInt32(bytes[offset + 7]) << 8
                | UInt32(bytes[offset + 8])) & 0x7FFF_FFFF)
    }
}

import CNGHTTP2
import Foundation
import Testing

@testable import FraudTransport

/// nghttp2's own HPACK encoder and decoder, one of each, keeping their dynamic tables across blocks as a
/// connection does.
private final class HPACK {
    private var deflater: OpaquePointer?
    private var inflater: OpaquePointer?

    init() {
        precondition(nghttp2_hd_deflate_new(&deflater, 4096) == 0)
        precondition(nghttp2_hd_inflate_new(&inflater) == 0)
    }

    deinit {
        nghttp2_hd_deflate_del(deflater)
        nghttp2_hd_inflate_del(inflater)
    }

    /// Encodes one header block as nghttp2 would send it (it never indexes `authorization`).
    func encode(_ headers: [(String, String)]) -> [UInt8] {
        let names = headers.map { Array($0.0.utf8) }
        let values = headers.map { Array($0.1.utf8) }
        var pointers: [UnsafeMutablePointer<UInt8>] = []
        defer { pointers.forEach { $0.deallocate() } }
        func copy(_ bytes: [UInt8]) -> UnsafeMutablePointer<UInt8> {
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            pointer.initialize(from: bytes, count: bytes.count)
            pointers.append(pointer)
            return pointer
        }
        var nva = headers.indices.map { index in
            nghttp2_nv(
                name: copy(names[index]), value: copy(values[index]), namelen: names[index].count,
                valuelen: values[index].count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        }
        let bound = nghttp2_hd_deflate_bound(deflater, &nva, nva.count)
        var block = [UInt8](repeating: 0, count: bound)
        let written = nghttp2_hd_deflate_hd(deflater, &block, bound, &nva, nva.count)
        precondition(written >= 0, "nghttp2_hd_deflate_hd: \(written)")
        return Array(block.prefix(written))
    }

    /// Entries in the decoder's dynamic table and their size (RFC 7541 §4.1).
    var tableCount: Int { nghttp2_hd_inflate_get_num_table_entries(inflater) - 61 }
    var tableSize: Int { nghttp2_hd_inflate_get_dynamic_table_size(inflater) }

    /// The decoder's dynamic table entry at HPACK index `index` (62 and up).
    func entry(at index: Int) -> (String, String)? {
        guard let nv = nghttp2_hd_inflate_get_table_entry(inflater, index) else { return nil }
        return (
            String(decoding: UnsafeBufferPointer(start: nv.pointee.name, count: nv.pointee.namelen), as: UTF8.self),
            String(decoding: UnsafeBufferPointer(start: nv.pointee.value, count: nv.pointee.valuelen), as: UTF8.self)
        )
    }

    /// Decodes one header block; nil when nghttp2 refuses it.
    func decode(_ block: [UInt8]) -> [(String, String)]? {
        var headers: [(String, String)] = []
        var offset = 0
        while true {
            var nv = nghttp2_nv()
            var flags: Int32 = 0
            let consumed = block.withUnsafeBufferPointer {
                nghttp2_hd_inflate_hd2(inflater, &nv, &flags, $0.baseAddress! + offset, $0.count - offset, 1)
            }
            if consumed < 0 { return nil }
            offset += consumed
            if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                headers.append((
                    String(decoding: UnsafeBufferPointer(start: nv.name, count: nv.namelen), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(start: nv.value, count: nv.valuelen), as: UTF8.self)
                ))
            }
            if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                nghttp2_hd_inflate_end_headers(inflater)
                return headers
            }
            if consumed == 0 && offset == block.count { return nil }
        }
    }
}

private let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
private let emptySettings: [UInt8] = [0, 0, 0, 0x4, 0, 0, 0, 0, 0]
private let token = "Bearer " + String(repeating: "eyJhbGciOiJFUzI1NiJ9.", count: 11)

private func requestHeaders(_ authorization: String? = token) -> [(String, String)] {
    var headers = [
        (":method", "POST"), (":scheme", "http"), (":path", "/fraud.v1.FraudScoring/Score"),
        (":authority", "127.0.0.1:50051"), ("content-type", "application/grpc"), ("te", "trailers"),
    ]
    if let authorization { headers.insert(("authorization", authorization), at: 4) }
    headers.append(("grpc-timeout", "5S"))
    return headers
}

/// An HTTP/2 frame; HEADERS get END_HEADERS unless `flags` says otherwise.
private func frame(type: UInt8 = 1, flags: UInt8 = 0x4, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
    let length = payload.count
    return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
            UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
        + payload
}

private struct Frame {
    var type: UInt8
    var flags: UInt8
    var stream: UInt32
    var payload: [UInt8]

    /// The header block fragment of a HEADERS frame (padding and priority fields left out).
    var block: [UInt8] {
        var start = 0
        var end = payload.count
        if flags & 0x8 != 0 {
            end -= Int(payload[0])
            start = 1
        }
        if flags & 0x20 != 0 { start += 5 }
        return Array(payload[start..<end])
    }
}

/// Splits bytes after the preface into frames; nil when the lengths do not add up.
private func frames(_ bytes: [UInt8]) -> [Frame]? {
    var offset = preface.count
    var result: [Frame] = []
    while offset < bytes.count {
        guard bytes.count - offset >= 9 else { return nil }
        let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        guard bytes.count - offset - 9 >= length else { return nil }
        let stream = UInt32(bytes[offset + 5]) << 24 | UInt32(bytes[offset + 6]) << 16
            | UInt32(bytes[offset + 7]) << 8 | UInt32(bytes[offset + 8])
        result.append(Frame(type: bytes[offset + 3], flags: bytes[offset + 4], stream: stream,
                            payload: Array(bytes[(offset + 9)..<(offset + 9 + length)])))
        offset += 9 + length
    }
    return result
}

/// The elider fed reads in order, as H2Session feeds it; keeps what it output.
private struct Harness {
    var elider = AuthorizationElider()
    var output: [UInt8] = []
    var findings: [AuthorizationElider.Finding] = []
    var rewrites = 0
    /// Kept across reads, as H2Session keeps it: rewritten bytes go to its start, stale ones follow.
    var scratch: [UInt8] = []

    mutating func feed(_ bytes: [UInt8], mayElide: Bool = true) {
        findings.removeAll()
        let rewritten = bytes.withUnsafeBytes { elider.scan($0, mayElide: mayElide, scratch: &scratch, findings: &findings) }
        if rewritten != nil { rewrites += 1 }
        output += rewritten.map { Array(scratch.prefix($0)) } ?? bytes
    }

    /// Feeds a first request so that the token's encoding is known, as after a grant.
    mutating func learn(_ firstRequest: [UInt8]) -> [UInt8] {
        feed(preface + emptySettings + frame(stream: 1, firstRequest), mayElide: false)
        guard case .seen(1, let encoded)? = findings.first else { return [] }
        elider.grantedEncodedValue = encoded
        return encoded
    }
}

/// A literal without indexing (0000xxxx) or with incremental indexing (01xxxxxx), static name index 23,
/// plain value.
private func handmadeAuthorization(incremental: Bool, value: String = token) -> [UInt8] {
    let bytes = Array(value.utf8)
    let name: [UInt8] = incremental ? [0x40 | 23] : [0x0F, 23 - 15]
    return name + integer(bytes.count, prefixBits: 7) + bytes
}

/// An HPACK integer (RFC 7541 §5.1), first byte's flag bits zero.
private func integer(_ value: Int, prefixBits: Int) -> [UInt8] {
    let mask = (1 << prefixBits) - 1
    guard value >= mask else { return [UInt8(value)] }
    var bytes = [UInt8(mask)]
    var rest = value - mask
    while rest >= 128 {
        bytes.append(UInt8(rest & 0x7F | 0x80))
        rest >>= 7
    }
    return bytes + [UInt8(rest)]
}

@Suite("Authorization elider (HPACK pre-pass)")
struct AuthorizationEliderTests {
    @Test("nghttp2 sends authorization never-indexed; the granted encoding is removed and decoding stays in step")
    func removesGrantedToken() throws {
        let encoder = HPACK()
        let blocks = (0..<4).map { _ in encoder.encode(requestHeaders()) }
        // The premise: never indexed (0001xxxx), name index 23 = 15 + 8, in every block.
        #expect(blocks.allSatisfy { block in (0..<(block.count - 1)).contains { block[$0] == 0x1F && block[$0 + 1] == 0x08 } })

        var harness = Harness()
        let encoded = harness.learn(blocks[0])
        #expect(encoded.count > 100 && encoded[0] & 0x80 != 0)  // Huffman-coded
        harness.feed(frame(stream: 3, blocks[1]) + frame(type: 0, flags: 1, stream: 3, [0, 0, 0, 0, 0])
            + frame(stream: 5, blocks[2]) + frame(stream: 7, blocks[3]))
        #expect(harness.findings == [.elided(streamID: 3), .elided(streamID: 5), .elided(streamID: 7)])
        #expect(harness.elider.elidedCount == 3)

        let decoder = HPACK()
        let decoded = try #require(frames(harness.output)).filter { $0.type == 1 }.map { decoder.decode($0.block) }
        #expect(decoded.count == 4)
        #expect(decoded[0]?.map(\.0) == requestHeaders().map(\.0))
        for request in decoded.dropFirst() {
            let headers = try #require(request)
            #expect(headers.map(\.0) == requestHeaders(nil).map(\.0))
            #expect(headers.map(\.1) == requestHeaders(nil).map(\.1))
        }
    }

    @Test("PADDED and PRIORITY HEADERS frames: the field goes, padding and priority stay", arguments: [
        UInt8(0x8), 0x20, 0x28,
    ])
    func paddedAndPriority(flags: UInt8) throws {
        let encoder = HPACK()
        let first = encoder.encode(requestHeaders())
        let second = encoder.encode(requestHeaders())
        var harness = Harness()
        _ = harness.learn(first)
        var payload: [UInt8] = []
        let padding: [UInt8] = [0xAB, 0xCD, 0xEF]
        if flags & 0x8 != 0 { payload.append(UInt8(padding.count)) }
        if flags & 0x20 != 0 { payload += [0, 0, 0, 1, 200] }
        payload += second
        if flags & 0x8 != 0 { payload += padding }
        harness.feed(frame(flags: 0x4 | flags, stream: 3, payload))
        #expect(harness.findings == [.elided(streamID: 3)])

        let rewritten = try #require(frames(harness.output)?.last)
        #expect(rewritten.flags == 0x4 | flags)
        if flags & 0x8 != 0 {
            #expect(rewritten.payload.first == UInt8(padding.count))
            #expect(Array(rewritten.payload.suffix(padding.count)) == padding)
        }
        if flags & 0x20 != 0 {
            let start = flags & 0x8 != 0 ? 1 : 0
            #expect(Array(rewritten.payload[start..<(start + 5)]) == [0, 0, 0, 1, 200])
        }
        let decoder = HPACK()
        _ = decoder.decode(first)
        #expect(decoder.decode(rewritten.block)?.map(\.0) == requestHeaders(nil).map(\.0))
    }

    @Test("a frame split across reads passes unmodified, and the next whole one is handled again")
    func splitFrame() throws {
        let encoder = HPACK()
        let blocks = (0..<4).map { _ in encoder.encode(requestHeaders()) }
        var harness = Harness()
        _ = harness.learn(blocks[0])
        let split = frame(stream: 3, blocks[1])
        harness.feed(Array(split.prefix(40)))
        harness.feed(Array(split.dropFirst(40)))
        // The frame header itself split, too.
        let headerSplit = frame(stream: 5, blocks[2])
        harness.feed(Array(headerSplit.prefix(4)))
        harness.feed(Array(headerSplit.dropFirst(4)) + frame(stream: 7, blocks[3]))
        #expect(harness.findings == [.elided(streamID: 7)])
        #expect(harness.rewrites == 1)
        let output = try #require(frames(harness.output)).filter { $0.type == 1 }
        #expect(output.map(\.stream) == [1, 3, 5, 7])
        #expect(output[1].block == blocks[1] && output[2].block == blocks[2])
        let decoder = HPACK()
        let decoded = output.map { decoder.decode($0.block)?.map(\.0) }
        #expect(decoded == [requestHeaders().map(\.0), requestHeaders().map(\.0), requestHeaders().map(\.0),
                            requestHeaders(nil).map(\.0)])
    }

    @Test("a different token is left in place and reported with its own encoding")
    func differentToken() throws {
        let encoder = HPACK()
        let first = encoder.encode(requestHeaders())
        let other = encoder.encode(requestHeaders("Bearer something.else.entirely"))
        var harness = Harness()
        let granted = harness.learn(first)
        let bytes = frame(stream: 3, other)
        harness.feed(bytes)
        #expect(harness.rewrites == 0)
        guard case .seen(3, let encoded)? = harness.findings.first else {
            Issue.record("expected a seen finding, got \(harness.findings)")
            return
        }
        #expect(encoded != granted)
        #expect(Array(harness.output.suffix(bytes.count)) == bytes)
    }

    @Test("nothing is removed while the grant does not hold")
    func grantNotValid() {
        let encoder = HPACK()
        let first = encoder.encode(requestHeaders())
        let second = encoder.encode(requestHeaders())
        var harness = Harness()
        let granted = harness.learn(first)
        harness.feed(frame(stream: 3, second), mayElide: false)
        #expect(harness.rewrites == 0)
        #expect(harness.findings == [.seen(streamID: 3, encodedValue: granted)])
    }

    @Test("an authorization literal with incremental indexing is never removed")
    func incrementalIndexing() throws {
        let encoder = HPACK()
        let first = encoder.encode(requestHeaders(nil))
        let second = encoder.encode(requestHeaders(nil))
        var harness = Harness()
        harness.feed(preface + emptySettings + frame(stream: 1, first + handmadeAuthorization(incremental: true)))
        #expect(harness.findings.isEmpty)
        harness.elider.grantedEncodedValue = Array(handmadeAuthorization(incremental: true).dropFirst())
        let bytes = frame(stream: 3, second + handmadeAuthorization(incremental: true))
        harness.feed(bytes)
        #expect(harness.rewrites == 0 && harness.findings.isEmpty)
        #expect(Array(harness.output.suffix(bytes.count)) == bytes)
        let decoder = HPACK()
        _ = decoder.decode(first + handmadeAuthorization(incremental: true))
        #expect(decoder.decode(second + handmadeAuthorization(incremental: true))?.last?.1 == token)
    }

    @Test("a literal without indexing is removed, also under a Huffman-coded literal name")
    func withoutIndexingAndLiteralName() throws {
        let encoder = HPACK()
        let first = encoder.encode(requestHeaders(nil))
        let second = encoder.encode(requestHeaders(nil))
        let third = encoder.encode(requestHeaders(nil))
        let plain = handmadeAuthorization(incremental: false)
        // Never indexed, literal name "authorization" Huffman-coded (9 bytes), same value.
        let huffmanName: [UInt8] = [0x10, 0x80 | 9, 0x1D, 0xA9, 0x9C, 0xF6, 0x1B, 0xD8, 0xD2, 0x63, 0xD5]
        let literalName = huffmanName + plain.dropFirst(2)
        var harness = Harness()
        harness.feed(preface + emptySettings + frame(stream: 1, first + plain), mayElide: false)
        guard case .seen(1, let encoded)? = harness.findings.first else {
            Issue.record("expected a seen finding, got \(harness.findings)")
            return
        }
        harness.elider.grantedEncodedValue = encoded
        harness.feed(frame(stream: 3, second + plain) + frame(stream: 5, literalName + third))
        #expect(harness.findings == [.elided(streamID: 3), .elided(streamID: 5)])

        // nghttp2 reads the handmade literal name as `authorization` (the unmodified block).
        let check = HPACK()
        _ = check.decode(first)
        _ = check.decode(second)
        #expect(check.decode(literalName + third)?.first.map { $0.0 + ": " + $0.1 } == "authorization: " + token)

        let decoder = HPACK()
        let decoded = try #require(frames(harness.output)).filter { $0.type == 1 }.map { decoder.decode($0.block) }
        #expect(decoded[1]?.map(\.0) == requestHeaders(nil).map(\.0))
        #expect(decoded[2]?.map(\.0) == requestHeaders(nil).map(\.0))
    }

    @Test("unusual blocks pass unmodified", arguments: [
        "two authorization fields", "static index 23 as well", "truncated value", "CONTINUATION follows",
        "old stream id", "even stream id", "frame over the maximum frame size",
    ])
    func unusual(kind: String) {
        let encoder = HPACK()
        let first = encoder.encode(requestHeaders())
        let second = encoder.encode(requestHeaders())
        let bare = encoder.encode(requestHeaders(nil))
        var harness = Harness()
        let granted = harness.learn(first)
        let literal = [0x1F, 0x08] + granted
        let bytes: [UInt8] = switch kind {
        case "two authorization fields": frame(stream: 3, second + literal)
        case "static index 23 as well": frame(stream: 3, second + [0x80 | 23])
        case "truncated value": frame(stream: 3, bare + Array(literal.dropLast()))  // ends inside the value
        case "CONTINUATION follows": frame(flags: 0, stream: 3, second) + frame(type: 9, stream: 3, [])
        case "old stream id": frame(stream: 1, second)
        case "frame over the maximum frame size":  // 16,384 is the limit; without the field it would fit
            frame(stream: 3, second + [0x00, 5] + Array("x-pad".utf8) + integer(16_384 - second.count, prefixBits: 7)
                + Array(repeating: UInt8(ascii: "a"), count: 16_384 - second.count))
        default: frame(stream: 2, second)
        }
        harness.feed(bytes)
        #expect(harness.rewrites == 0)
        #expect(harness.findings.allSatisfy { if case .elided = $0 { false } else { true } })
        #expect(Array(harness.output.suffix(bytes.count)) == bytes)
    }

    @Test("the pre-pass costs far less than the Huffman decode it saves", .enabled(if: ProcessInfo.processInfo.environment["FRAUD_ELIDER_BENCH"] != nil))
    func cost() {
        let encoder = HPACK()
        let blocks = (0..<33).map { _ in encoder.encode(requestHeaders()) }
        let data = frame(type: 0, flags: 1, stream: 0, Array(repeating: 0, count: 60))
        var harness = Harness()
        _ = harness.learn(blocks[0])
        var read: [UInt8] = []
        for (index, block) in blocks.dropFirst().enumerated() {
            let stream = UInt32(3 + 2 * index)
            read += frame(stream: stream, block) + frame(type: 0, flags: 1, stream: stream, Array(data.dropFirst(9)))
        }
        let iterations = 3000
        var scratch: [UInt8] = []
        var findings: [AuthorizationElider.Finding] = []
        let elider = harness.elider
        let clock = ContinuousClock()
        // Each iteration sees 32 new requests: pretend a fresh connection each time, minus the preface.
        let elapsed = clock.measure {
            for _ in 0..<iterations {
                var copy = elider
                findings.removeAll(keepingCapacity: true)
                _ = read.withUnsafeBytes { copy.scan($0, mayElide: true, scratch: &scratch, findings: &findings) }
            }
        }
        let nanos = Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9
        print("elider: \(read.count) bytes, 32 calls per read: \(nanos / Double(iterations * 32)) ns per call (scan + rewrite)")
        #expect(findings.count == 32)
    }

    @Test(
        "H2ClientSession sends H2RequestHead's :scheme (https over TLS); nghttp2's encoding sends a never-indexed authorization the elider finds, our own an indexed one it leaves alone",
        arguments: [H2ClientSession.HeaderEncoding.nghttp2, .own]
    )
    func clientRequestHead(encoding: H2ClientSession.HeaderEncoding) throws {
        let client = H2ClientSession(headerEncoding: encoding)
        let head = H2RequestHead(
            path: "/fraud.v1.FraudScoring/Score",
            authority: "127.0.0.1:50051",
            headers: [("content-type", "application/grpc"), ("te", "trailers"), ("authorization", token)],
            scheme: "https"
        )
        #expect(client.submitRequest(head: head, body: [0, 0, 0, 0, 0]) > 0)
        var bytes: [UInt8] = []
        #expect(client.produceOutput { bytes.append(contentsOf: $0) })
        let headers = try #require(frames(bytes)?.first { $0.type == 1 })
        let fields = try #require(HPACK().decode(headers.block))
        #expect(fields.map(\.0) == [":method", ":scheme", ":path", ":authority", "content-type", "te", "authorization"])
        #expect(fields.first { $0.0 == ":scheme" }?.1 == "https")
        #expect(fields.first { $0.0 == "authorization" }?.1 == token)
        var harness = Harness()
        #expect(harness.learn(headers.block).isEmpty == (encoding == .own))
    }
}

// MARK: - Indexed references and the followed dynamic table

/// HPACK's Huffman code built independently from the code lengths (canonical code, RFC 7541 Appendix B).
private let huffmanCodes: [(code: UInt32, length: Int)] = {
    let lengths = HPACKHuffman.codeLengths.map(Int.init)
    var codes = [(code: UInt32, length: Int)](repeating: (0, 0), count: lengths.count)
    var code: UInt32 = 0
    var previous = 0
    for (rank, symbol) in lengths.indices.sorted(by: { (lengths[$0], $0) < (lengths[$1], $1) }).enumerated() {
        if rank > 0 { code = (code + 1) << UInt32(lengths[symbol] - previous) }
        previous = lengths[symbol]
        codes[symbol] = (code, lengths[symbol])
    }
    return codes
}()

private func huffmanEncode(_ bytes: [UInt8]) -> [UInt8] {
    var output: [UInt8] = []
    var pending: UInt64 = 0
    var pendingBits = 0
    for byte in bytes {
        let (code, length) = huffmanCodes[Int(byte)]
        pending = pending << UInt64(length) | UInt64(code)
        pendingBits += length
        while pendingBits >= 8 {
            output.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingBits - 8)))
            pendingBits -= 8
        }
    }
    if pendingBits > 0 {
        output.append(UInt8(truncatingIfNeeded: pending << UInt64(8 - pendingBits)) | UInt8(0xFF >> pendingBits))
    }
    return output
}

/// An HPACK string literal (RFC 7541 §5.2), Huffman-coded or not.
private func string(_ bytes: [UInt8], huffman: Bool) -> [UInt8] {
    let body = huffman ? huffmanEncode(bytes) : bytes
    var prefix = integer(body.count, prefixBits: 7)
    if huffman { prefix[0] |= 0x80 }
    return prefix + body
}

/// A literal representation: `kind` 0x40 (incremental indexing), 0x00 (without) or 0x10 (never indexed).
private func literal(kind: UInt8, nameIndex: Int, name: String? = nil, value: [UInt8], huffman: Bool) -> [UInt8] {
    var bytes = integer(nameIndex, prefixBits: kind == 0x40 ? 6 : 4)
    bytes[0] |= kind
    if let name { bytes += string(Array(name.utf8), huffman: huffman) }
    return bytes + string(value, huffman: huffman)
}

private func indexed(_ index: Int) -> [UInt8] {
    var bytes = integer(index, prefixBits: 7)
    bytes[0] |= 0x80
    return bytes
}

private func sizeUpdate(_ size: Int) -> [UInt8] {
    var bytes = integer(size, prefixBits: 5)
    bytes[0] |= 0x20
    return bytes
}

/// A deterministic generator (SplitMix64), so a failure can be replayed.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Authorization elider: indexed references and the dynamic table")
struct AuthorizationEliderIndexedTests {
    @Test("Huffman decoding: RFC 7541 C.4 examples, every symbol as nghttp2 decodes it, invalid strings refused")
    func huffman() throws {
        let examples: [(String, [UInt8])] = [
            ("www.example.com", [0xF1, 0xE3, 0xC2, 0xE5, 0xF2, 0x3A, 0x6B, 0xA0, 0xAB, 0x90, 0xF4, 0xFF]),
            ("no-cache", [0xA8, 0xEB, 0x10, 0x64, 0x9C, 0xBF]),
            ("custom-key", [0x25, 0xA8, 0x49, 0xE9, 0x5B, 0xA9, 0x7D, 0x7F]),
            ("custom-value", [0x25, 0xA8, 0x49, 0xE9, 0x5B, 0xB8, 0xE8, 0xB4, 0xBF]),
        ]
        for (text, encoded) in examples {
            var decoded: [UInt8] = []
            #expect(encoded.withUnsafeBytes { HPACKHuffman.decode($0, into: &decoded) })
            #expect(decoded == Array(text.utf8))
            #expect(encoded.withUnsafeBytes { HPACKHuffman.decodedCount($0) } == text.utf8.count)
            #expect(huffmanEncode(Array(text.utf8)) == encoded)
        }
        // Every octet alone and all of them in one string, checked against nghttp2's decoder.
        let decoder = HPACK()
        for value in (0...255).map({ [UInt8($0)] }) + [Array(0...255)] {
            let encoded = huffmanEncode(value)
            var decoded: [UInt8] = []
            #expect(encoded.withUnsafeBytes { HPACKHuffman.decode($0, into: &decoded) })
            #expect(decoded == value)
            let block = literal(kind: 0x00, nameIndex: 0, name: "x", value: value, huffman: true)
            let nghttp2 = try #require(decoder.decode(block))
            #expect(Array(nghttp2[0].1.utf8) == value || value.contains { $0 >= 0x80 })
        }
        // Invalid: a zero bit in the padding, eight bits of padding, EOS itself.
        for invalid: [UInt8] in [[0x00], [0x07, 0xFF], [0xFF], [0xFF, 0xFF, 0xFF, 0xFF]] {
            var decoded: [UInt8] = []
            #expect(!invalid.withUnsafeBytes { HPACKHuffman.decode($0, into: &decoded) }, "\(invalid)")
            #expect(invalid.withUnsafeBytes { HPACKHuffman.decodedCount($0) } == nil)
            let block = [0x00, 0x01, UInt8(ascii: "x")] + [0x80 | UInt8(invalid.count)] + invalid
            #expect(HPACK().decode(block) == nil, "nghttp2 refuses \(invalid) too")
        }
    }

    @Test("our own client indexes the token once; later one-byte references to it are removed, decoding stays in step")
    func ownClientIndexedToken() throws {
        var encoder = HPACKRequestEncoder()
        let fields = requestHeaders().map { HPACKRequestEncoder.Field(name: $0.0, value: $0.1) }
        let blocks = (0..<4).map { _ in
            var block: [UInt8] = []
            encoder.encode(fields, into: &block)
            return block
        }
        #expect(blocks[2].count == fields.count)  // one-byte references only
        var harness = Harness()
        harness.feed(preface + emptySettings + frame(stream: 1, blocks[0]))
        #expect(harness.findings.isEmpty)  // incremental indexing: nothing to report or remove
        harness.elider.grantedToken = Array(token.utf8)
        harness.feed(frame(stream: 3, blocks[1]) + frame(stream: 5, blocks[2]))
        harness.feed(frame(stream: 7, blocks[3]), mayElide: false)  // the grant does not hold: left in place
        #expect(harness.elider.elidedCount == 2)

        let decoder = HPACK()
        let reference = HPACK()
        let output = try #require(frames(harness.output)).filter { $0.type == 1 }
        for (index, frame) in output.enumerated() {
            let decoded = try #require(decoder.decode(frame.block))
            let original = try #require(reference.decode(blocks[index]))
            let expected = index == 1 || index == 2 ? original.filter { $0.0 != "authorization" } : original
            #expect(decoded.map { $0.0 + ": " + $0.1 } == expected.map { $0.0 + ": " + $0.1 })
            #expect(decoder.tableSize == reference.tableSize && decoder.tableCount == reference.tableCount)
        }
        #expect(harness.elider.dynamicTableCount == decoder.tableCount)
        #expect(harness.elider.dynamicTableSize == decoder.tableSize)
    }

    @Test("a reference to an entry that no longer holds the token (evicted, table resized) is left in place")
    func evictedEntry() throws {
        let granted = Array(token.utf8)
        var harness = Harness()
        harness.elider.grantedToken = granted
        let first = literal(kind: 0x40, nameIndex: 23, value: granted, huffman: true)  // index 62
        harness.feed(preface + emptySettings + frame(stream: 1, [0x83] + first))
        harness.feed(frame(stream: 3, [0x83, 0x80 | 62]))
        #expect(harness.findings == [.elided(streamID: 3)])
        // A large entry evicts the token; index 62 is now that entry.
        let big = Array(repeating: UInt8(ascii: "z"), count: 4_000)
        harness.feed(frame(stream: 5, [0x83] + literal(kind: 0x40, nameIndex: 0, name: "x-big", value: big, huffman: false)))
        harness.feed(frame(stream: 7, [0x83, 0x80 | 62]))
        #expect(harness.findings.isEmpty)
        // Indexed again, then a size update to 0 empties the table: a reference would be an error, and the
        // token's new index after re-adding it is removed again.
        harness.feed(frame(stream: 9, [0x83] + first))
        harness.feed(frame(stream: 11, sizeUpdate(0) + sizeUpdate(4096) + [0x83] + first + [0x80 | 62]))
        #expect(harness.findings.isEmpty)  // two authorization fields in the block
        harness.feed(frame(stream: 13, [0x83, 0x80 | 62]))
        #expect(harness.findings == [.elided(streamID: 13)])
        // The same block again (not walked again: same bytes, same table) is judged by the current grant.
        harness.feed(frame(stream: 15, [0x83, 0x80 | 62]))
        #expect(harness.findings == [.elided(streamID: 15)])
        harness.elider.grantedToken = Array("Bearer another".utf8)
        harness.feed(frame(stream: 17, [0x83, 0x80 | 62]))
        #expect(harness.findings.isEmpty)
        harness.elider.grantedToken = granted
        harness.feed(frame(stream: 19, [0x83, 0x80 | 62]))
        #expect(harness.findings == [.elided(streamID: 19)])
        #expect(harness.elider.isFollowing)

        let decoder = HPACK()
        for frame in try #require(frames(harness.output)).filter({ $0.type == 1 }) {
            #expect(decoder.decode(frame.block) != nil)
        }
        #expect(harness.elider.dynamicTableSize == decoder.tableSize)
        #expect(harness.elider.dynamicTableCount == decoder.tableCount)
    }

    @Test("a block it cannot follow stops all removal on the connection", arguments: [
        "size update over the settings", "size update after a field", "index outside the table",
        "invalid Huffman string", "CONTINUATION without HEADERS", "DATA inside a header block",
    ])
    func stopsFollowing(kind: String) {
        let granted = Array(token.utf8)
        var harness = Harness()
        harness.elider.grantedToken = granted
        let first = literal(kind: 0x40, nameIndex: 23, value: granted, huffman: true)
        harness.feed(preface + emptySettings + frame(stream: 1, [0x83] + first))
        harness.feed(frame(stream: 3, [0x83, 0x80 | 62]))
        #expect(harness.findings == [.elided(streamID: 3)])
        let bad: [UInt8] = switch kind {
        case "size update over the settings": frame(stream: 5, sizeUpdate(4097) + [0x83])
        case "size update after a field": frame(stream: 5, [0x83] + sizeUpdate(100))
        case "index outside the table": frame(stream: 5, [0x83, 0x80 | 63])
        case "invalid Huffman string": frame(stream: 5, [0x83, 0x40, 0x01, UInt8(ascii: "x"), 0x81, 0x00])
        case "CONTINUATION without HEADERS": frame(type: 9, stream: 5, [0x83])
        default: frame(flags: 0, stream: 5, [0x83]) + frame(type: 0, flags: 1, stream: 5, [0, 0, 0, 0, 0])
        }
        harness.feed(bad)
        #expect(!harness.elider.isFollowing)
        harness.feed(frame(stream: 7, [0x83, 0x80 | 62]))
        #expect(harness.findings.isEmpty)
        #expect(harness.rewrites == 1)
    }

    @Test("random header blocks, frames and reads: the followed table is nghttp2's, only the granted token goes",
          arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func randomised(seed: UInt64) throws {
        var random = SeededGenerator(state: seed)
        let granted = Array(token.utf8)
        let otherToken = Array("Bearer other.token.value".utf8)
        let names = ["x-a", "x-bb", "grpc-timeout", "user-agent", "authorization", "x-long-header-name"]
        let reference = HPACK()  // decodes the unmodified blocks, to choose valid indexes and to compare
        var harness = Harness()
        harness.elider.grantedToken = granted
        var wire: [UInt8] = preface + emptySettings
        var originals: [(stream: UInt32, block: [UInt8])] = []
        var nextStream: UInt32 = 1
        var blocksWithGrantedReference = 0

        for _ in 0..<300 {
            var block: [UInt8] = []
            var dynamicCount = reference.tableCount
            if Int.random(in: 0..<10, using: &random) == 0 {
                let size = Int.random(in: 0...4096, using: &random)
                block += sizeUpdate(size)
                block += sizeUpdate(4096)
                dynamicCount = 0  // conservatively: no dynamic references in this block
            }
            block += [0x83, 0x86]  // :method POST, :scheme http
            // References first (the table as it stands), then literals (which may add and evict).
            for _ in 0..<Int.random(in: 0...3, using: &random) where dynamicCount > 0 {
                block += indexed(62 + Int.random(in: 0..<dynamicCount, using: &random))
            }
            if dynamicCount > 0, Bool.random(using: &random) {
                // The granted token's entry, when the table holds it.
                if let index = (62..<(62 + dynamicCount)).first(where: {
                    reference.entry(at: $0).map { $0.0 == "authorization" && Array($0.1.utf8) == granted } ?? false
                }) {
                    block += indexed(index)
                    blocksWithGrantedReference += 1
                }
            }
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let kind: UInt8 = [0x40, 0x40, 0x00, 0x10].randomElement(using: &random)!
                let huffman = Bool.random(using: &random)
                let name = names.randomElement(using: &random)!
                let value: [UInt8] = switch Int.random(in: 0..<6, using: &random) {
                case 0: granted
                case 1: otherToken
                case 2: Array(repeating: UInt8(ascii: "v"), count: Int.random(in: 1000...4200, using: &random))
                default: (0..<Int.random(in: 0...40, using: &random)).map { _ in UInt8.random(in: 0x21...0x7E, using: &random) }
                }
                let nameIndex = name == "authorization" && Bool.random(using: &random) ? 23 : 0
                block += literal(kind: kind, nameIndex: nameIndex, name: nameIndex == 0 ? name : nil, value: value,
                                 huffman: huffman)
            }
            guard reference.decode(block) != nil else {
                Issue.record("generated an invalid block")
                return
            }
            // Trailers on an open stream now and then; otherwise a new request.
            let stream: UInt32
            if nextStream > 1, Int.random(in: 0..<8, using: &random) == 0 {
                stream = nextStream - 2
            } else {
                stream = nextStream
                nextStream += 2
            }
            originals.append((stream, block))
            // One HEADERS frame, or HEADERS + CONTINUATION split at a random point.
            if block.count > 2, Int.random(in: 0..<4, using: &random) == 0 {
                let cut = Int.random(in: 1..<block.count, using: &random)
                wire += frame(flags: 0, stream: stream, Array(block[..<cut]))
                wire += frame(type: 9, stream: stream, Array(block[cut...]))
            } else {
                wire += frame(stream: stream, block)
            }
            wire += frame(type: 0, flags: 1, stream: stream, [0, 0, 0, 0, 0])
        }
        // Reads cut at random points.
        var offset = 0
        while offset < wire.count {
            let length = min(wire.count - offset, Int.random(in: 1...3000, using: &random))
            harness.feed(Array(wire[offset..<(offset + length)]))
            offset += length
        }
        #expect(harness.elider.isFollowing)
        #expect(harness.elider.elidedCount > 0 && blocksWithGrantedReference > 0)

        // nghttp2 decodes the output in step; each block is its original, less at most one authorization
        // field holding the granted token.
        let decoder = HPACK()
        let check = HPACK()
        var blocks: [[UInt8]] = []
        var continued: [UInt8] = []
        for frame in try #require(frames(harness.output)) where frame.type == 1 || frame.type == 9 {
            continued += frame.type == 1 ? frame.block : frame.payload
            if frame.flags & 0x4 != 0 {
                blocks.append(continued)
                continued = []
            }
        }
        #expect(blocks.count == originals.count)
        var removed = 0
        for (block, original) in zip(blocks, originals) {
            let decoded = try #require(decoder.decode(block)).map { $0.0 + ": " + $0.1 }
            let expected = try #require(check.decode(original.block)).map { $0.0 + ": " + $0.1 }
            if decoded != expected {
                let grantedField = "authorization: " + token
                #expect(expected.count(where: { $0.hasPrefix("authorization: ") }) == 1)
                #expect(expected.filter { $0 != grantedField } == decoded)
                removed += 1
            }
            #expect(decoder.tableSize == check.tableSize && decoder.tableCount == check.tableCount)
        }
        #expect(removed == harness.elider.elidedCount)
        #expect(harness.elider.dynamicTableSize == decoder.tableSize)
        #expect(harness.elider.dynamicTableCount == decoder.tableCount)
    }
}

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

    mutating func feed(_ bytes: [UInt8], mayElide: Bool = true) {
        var scratch: [UInt8] = []
        findings.removeAll()
        let rewritten = bytes.withUnsafeBytes { elider.scan($0, mayElide: mayElide, scratch: &scratch, findings: &findings) }
        if rewritten { rewrites += 1 }
        output += rewritten ? scratch : bytes
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

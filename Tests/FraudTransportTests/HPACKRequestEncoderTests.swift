import CNGHTTP2
import Testing

@testable import FraudTransport

/// nghttp2's HPACK decoder, keeping its dynamic table across blocks as the server's does.
private final class Inflater {
    private var inflater: OpaquePointer?

    init() { precondition(nghttp2_hd_inflate_new(&inflater) == 0) }
    deinit { nghttp2_hd_inflate_del(inflater) }

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

private let longToken = "Bearer " + String(repeating: "eyJhbGciOiJFUzI1NiJ9", count: 15)

private func request(authorization: String = longToken, timeout: String? = nil) -> [(String, String)] {
    var fields = [
        (":method", "POST"), (":scheme", "https"), (":path", "/fraud.v1.FraudScoring/Score"),
        (":authority", "127.0.0.1:50051"), ("content-type", "application/grpc"), ("te", "trailers"),
        ("authorization", authorization),
    ]
    if let timeout { fields.append(("grpc-timeout", timeout)) }
    return fields
}

private func same(_ a: [(String, String)]?, _ b: [(String, String)]) -> Bool {
    guard let a, a.count == b.count else { return false }
    return zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

@Suite("HPACKRequestEncoder (against nghttp2's decoder)")
struct HPACKRequestEncoderTests {
    @Test("stable fields are indexed once, then sent as one-byte references; grpc-timeout stays a literal")
    func indexesOnce() {
        var encoder = HPACKRequestEncoder()
        let inflater = Inflater()
        var sizes: [Int] = []
        for call in 0..<5 {
            let fields = request(timeout: "\(100 + call)m")
            var block: [UInt8] = []
            encoder.encode(fields.map { HPACKRequestEncoder.Field(name: $0.0, value: $0.1) }, into: &block)
            #expect(same(inflater.decode(block), fields))
            sizes.append(block.count)
        }
        #expect(sizes[0] > longToken.utf8.count)
        // 7 one-byte fields, then `grpc-timeout` as a literal without indexing (1 + 1 + 12 + 1 + 4 bytes: no
        // static name).
        #expect(sizes.dropFirst().allSatisfy { $0 == 7 + 19 })
        // :path, :authority, content-type, te and authorization (:method POST and :scheme https are static).
        #expect(encoder.entryCount == 5)
    }

    @Test("a grpc-timeout that repeats is indexed from its second use; one that varies never is")
    func repeatedTimeout() {
        var encoder = HPACKRequestEncoder()
        let inflater = Inflater()
        var sizes: [Int] = []
        for timeout in ["1000m", "1000m", "1000m", "250m", "1000m"] {
            let fields = request(timeout: timeout)
            var block: [UInt8] = []
            encoder.encode(fields.map { HPACKRequestEncoder.Field(name: $0.0, value: $0.1) }, into: &block)
            #expect(same(inflater.decode(block), fields))
            sizes.append(block.count)
        }
        // Literal without indexing, literal with incremental indexing, then one byte; 250m is new (a literal),
        // and 1000m, still in the table, is a one-byte reference again.
        #expect(sizes[1] > 8 && sizes[2] == 8 && sizes[3] == 7 + 19 && sizes[4] == 8, "\(sizes)")
    }

    @Test("a new token gets its own entry; old entries are evicted in order and references stay right")
    func evictionKeepsStep() {
        var encoder = HPACKRequestEncoder()
        let inflater = Inflater()
        for call in 0..<200 {
            // 40 distinct tokens, each used five times in a row: many insertions and evictions of 4 KiB.
            let fields = request(authorization: longToken + String(call / 5))
            var block: [UInt8] = []
            encoder.encode(fields.map { HPACKRequestEncoder.Field(name: $0.0, value: $0.1) }, into: &block)
            #expect(same(inflater.decode(block), fields), "call \(call)")
            // A new token's entry may evict the small fields (oldest first): they come back on the next call.
            if call % 5 >= 2 { #expect(block.count == 7, "call \(call)") }
        }
    }

    @Test("dynamic table size updates shrink, empty and regrow the table as the decoder's")
    func sizeUpdates() {
        var encoder = HPACKRequestEncoder()
        let inflater = Inflater()
        let fields = request().map { HPACKRequestEncoder.Field(name: $0.0, value: $0.1) }
        func call(sizeUpdate: Int?) -> Int {
            var block: [UInt8] = []
            if let sizeUpdate {
                HPACKRequestEncoder.appendInteger(sizeUpdate, prefixBits: 5, flags: 0x20, to: &block)
                encoder.apply(sizeUpdate: sizeUpdate)
            }
            let prefix = block.count
            encoder.encode(fields, into: &block)
            #expect(same(inflater.decode(block), request()))
            return block.count - prefix
        }
        #expect(call(sizeUpdate: nil) > 100)
        #expect(call(sizeUpdate: nil) == 7)
        #expect(call(sizeUpdate: 0) > 100)  // emptied, nothing fits: literals
        #expect(encoder.entryCount == 0)
        #expect(call(sizeUpdate: nil) > 100)
        #expect(call(sizeUpdate: 300) > 100)  // the four small fields (224 bytes) fit again, the token does not
        #expect(call(sizeUpdate: nil) < longToken.utf8.count + 20 && encoder.entryCount == 4)
        #expect(call(sizeUpdate: 4_096) > 100)  // regrown: the token is inserted again
        #expect(call(sizeUpdate: nil) == 7)
    }

    @Test("integers with a full prefix take continuation bytes and read back")
    func integers() {
        for prefixBits in [4, 5, 6, 7] {
            for value in [0, 1, (1 << prefixBits) - 2, (1 << prefixBits) - 1, 1 << prefixBits, 127, 128, 300, 16_383, 1 << 20] {
                var bytes: [UInt8] = []
                HPACKRequestEncoder.appendInteger(value, prefixBits: prefixBits, flags: 0, to: &bytes)
                var offset = 0
                let read = bytes.withUnsafeBytes { HPACKRequestEncoder.readInteger($0, at: &offset, prefixBits: prefixBits) }
                #expect(read == value && offset == bytes.count, "\(value) with \(prefixBits) bits")
            }
        }
    }
}

/// The header blocks of the HEADERS frames in `bytes` (whole frames after the 24-byte preface when `preface`).
private func headerBlocks(_ bytes: [UInt8], preface: Bool) -> [[UInt8]] {
    var blocks: [[UInt8]] = []
    var offset = preface ? 24 : 0
    while offset + 9 <= bytes.count {
        let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        if bytes[offset + 3] == 0x1 {
            #expect(bytes[offset + 4] & 0x4 != 0)  // END_HEADERS: no CONTINUATION for these
            blocks.append(Array(bytes[(offset + 9)..<(offset + 9 + length)]))
        }
        offset += 9 + length
    }
    return blocks
}

@Suite("H2ClientSession's own header encoding (on the wire)")
struct H2ClientHeaderEncodingTests {
    @Test("the server's SETTINGS_HEADER_TABLE_SIZE reaches the encoder through nghttp2's size update")
    func followsServerTableSize() {
        let client = H2ClientSession()
        let inflater = Inflater()
        var bytes: [UInt8] = []
        _ = client.produceOutput { bytes.append(contentsOf: $0) }
        #expect(headerBlocks(bytes, preface: true).isEmpty)
        let fields = request()
        let head = H2RequestHead(
            path: fields[2].1, authority: fields[3].1, headers: Array(fields[4...]))
        let expected = fields.map { $0.0 == ":scheme" ? ($0.0, "http") : $0 }
        func exchange(settings tableSize: UInt32?, calls: Int) -> [Int] {
            if let tableSize {
                let frame: [UInt8] = [0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 0x1] + withUnsafeBytes(of: tableSize.bigEndian, Array.init)
                _ = frame.withUnsafeBytes { client.receive($0) }
            }
            for _ in 0..<calls { client.submitRequest(head: head, body: [0, 0, 0, 0, 0]) }
            var out: [UInt8] = []
            _ = client.produceOutput { out.append(contentsOf: $0) }
            return headerBlocks(out, preface: false).map { block in
                #expect(same(inflater.decode(block), expected))
                return block.count
            }
        }
        let first = exchange(settings: nil, calls: 3)
        #expect(first.count == 3 && first[0] > 200 && first[1] == 7 && first[2] == 7)
        let emptied = exchange(settings: 0, calls: 2)  // every field a literal from now on
        #expect(emptied.count == 2 && emptied.allSatisfy { $0 > 200 })
        let regrown = exchange(settings: 4_096, calls: 3)
        #expect(regrown.count == 3 && regrown[0] > 200 && regrown[1] == 7 && regrown[2] == 7)
    }

    @Test("heads made per call, or used alternately, each get their own fields on the wire")
    func headsPerCall() {
        let client = H2ClientSession()
        let inflater = Inflater()
        var expected: [[(String, String)]] = []
        let shared = H2RequestHead(path: "/fraud.v1.FraudScoring/Score", headers: [("authorization", "Bearer shared")])
        for call in 0..<60 {
            let token = "Bearer t\(call % 7)"
            if call % 3 == 0 {
                client.submitRequest(head: shared, body: [0, 0, 0, 0, 0])
                expected.append([(":method", "POST"), (":scheme", "http"), (":path", "/fraud.v1.FraudScoring/Score"),
                                 (":authority", "localhost"), ("authorization", "Bearer shared")])
            } else {
                // A fresh head each call: its storage may reuse the address of one already freed.
                client.submitRequest(
                    head: H2RequestHead(path: "/p\(call % 2)", headers: [("authorization", token)]),
                    body: [0, 0, 0, 0, 0])
                expected.append([(":method", "POST"), (":scheme", "http"), (":path", "/p\(call % 2)"),
                                 (":authority", "localhost"), ("authorization", token)])
            }
            var out: [UInt8] = []
            _ = client.produceOutput { out.append(contentsOf: $0) }
            for block in headerBlocks(out, preface: call == 0) {
                #expect(same(inflater.decode(block), expected.removeFirst()), "call \(call)")
            }
        }
        #expect(expected.isEmpty)
    }

    @Test("nghttp2's encoding, when asked for, sends authorization as a literal on every call")
    func nghttp2Encoding() {
        let client = H2ClientSession(headerEncoding: .nghttp2)
        let inflater = Inflater()
        let fields = request()
        let head = H2RequestHead(path: fields[2].1, authority: fields[3].1, headers: Array(fields[4...]))
        for _ in 0..<3 { client.submitRequest(head: head, body: [0, 0, 0, 0, 0]) }
        var out: [UInt8] = []
        _ = client.produceOutput { out.append(contentsOf: $0) }
        let blocks = headerBlocks(out, preface: true)
        #expect(blocks.count == 3)
        for block in blocks {
            #expect(same(inflater.decode(block), fields.map { $0.0 == ":scheme" ? ($0.0, "http") : $0 }))
            #expect(block.count > 150)  // the token, Huffman-coded, every time
        }
    }
}

/// HPACK (RFC 7541) encoding of request header blocks, for ``H2ClientSession``, which writes the header block of
/// every request itself rather than through nghttp2's encoder.
///
/// nghttp2's encoder never indexes `authorization`: it sends it as a never-indexed literal, Huffman-coded, on
/// every call, so a client that sends the same bearer token on every call Huffman-codes ~260 bytes per call and
/// the server decodes them again. Like grpc-go and grpc-java, this encoder inserts each stable field into the
/// dynamic table once (a literal with incremental indexing, raw octets) and refers to it by a one-byte index
/// from then on: after the first call, a call's whole header block is a few bytes. A field whose value may
/// change from call to call (`grpc-timeout`) is indexed only once the same value comes a second time in a row
/// (a client with one fixed deadline), and sent as a literal without indexing otherwise, so varying deadlines
/// never churn the table.
///
/// The encoder mirrors the server's decoder table: every insertion and eviction follows RFC 7541 §4, and
/// dynamic table size updates that precede a block (nghttp2 writes them when the server's
/// SETTINGS_HEADER_TABLE_SIZE arrives) are applied with ``apply(sizeUpdate:)`` before the block is encoded.
/// A compression context is per connection and per direction: one encoder per client session.
struct HPACKRequestEncoder {
    /// One request field, prepared once (see ``H2RequestHead``).
    struct Field: Sendable {
        var name: [UInt8]
        var value: [UInt8]
        /// Index of the exact (name, value) pair in the static table, 0 if none.
        var staticPair: Int
        /// Index of the name in the static table, 0 if none.
        var staticName: Int
        /// Whether the field goes into the dynamic table (false: a literal without indexing on every call).
        var isIndexed: Bool
        /// Whether the value may change from call to call: indexed only when repeated (see the type's notes).
        var isVariable: Bool

        /// Entry size per RFC 7541 §4.1.
        var size: Int { name.count + value.count + 32 }

        init(name: String, value: String) {
            self.name = Array(name.utf8)
            self.value = Array(value.utf8)
            staticPair = Self.staticPairs.firstIndex { $0.0 == name && $0.1 == value }.map { $0 + 1 } ?? 0
            staticName = Self.staticNames[name] ?? 0
            isVariable = Self.variableNames.contains(name)
            isIndexed = staticPair == 0
        }

        /// The static table's (name, value) pairs a request may use, at their indexes 1… (RFC 7541 Appendix A).
        private static let staticPairs: [(String, String)] = [
            (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
            (":scheme", "http"), (":scheme", "https"),
        ]
        /// Names of the static table a request may use.
        private static let staticNames: [String: Int] = [
            ":authority": 1, ":method": 2, ":path": 4, ":scheme": 6, "accept-encoding": 16, "authorization": 23,
            "content-type": 31, "user-agent": 58,
        ]
        /// Fields whose value differs from call to call.
        private static let variableNames: Set<String> = ["grpc-timeout"]
    }

    /// The dynamic table, oldest first (the newest entry has index 62).
    private var entries: [(name: [UInt8], value: [UInt8])] = []
    private var size = 0
    /// The decoder's maximum table size: SETTINGS_HEADER_TABLE_SIZE's default until a size update says otherwise.
    private(set) var maxSize = 4_096
    /// Bumped whenever the table changes, so a caller may reuse a block encoded at the same generation.
    private(set) var generation = 0
    /// The value each variable field last had, to index it when it repeats.
    private var lastVariableValues: [[UInt8]: [UInt8]] = [:]

    /// Entries in the table.
    var entryCount: Int { entries.count }

    /// Applies a dynamic table size update that the block about to be sent starts with.
    mutating func apply(sizeUpdate newSize: Int) {
        maxSize = newSize
        evict(toFit: 0)
        generation &+= 1
    }

    /// Appends the representation of `fields` (in order) to `block`, updating the table as the decoder will.
    /// - Returns: whether every field went as an index (static or dynamic): then, as long as the table does
    ///   not change (``generation``), encoding the same fields again gives the same bytes.
    @discardableResult
    mutating func encode(_ fields: [Field], into block: inout [UInt8]) -> Bool {
        var allIndexed = true
        for field in fields {
            if field.staticPair != 0 {
                Self.appendInteger(field.staticPair, prefixBits: 7, flags: 0x80, to: &block)
            } else if let position = entries.lastIndex(where: { $0.name == field.name && $0.value == field.value }) {
                Self.appendInteger(62 + (entries.count - 1 - position), prefixBits: 7, flags: 0x80, to: &block)
            } else if field.isIndexed && field.size <= maxSize && isRepeated(field) {
                appendLiteral(field, prefixBits: 6, flags: 0x40, to: &block)
                evict(toFit: field.size)
                entries.append((field.name, field.value))
                size += field.size
                generation &+= 1
                allIndexed = false
            } else {
                appendLiteral(field, prefixBits: 4, flags: 0x00, to: &block)
                allIndexed = false
            }
        }
        return allIndexed
    }

    /// Whether a variable field has the value it had last time (recording this one); always true for others.
    private mutating func isRepeated(_ field: Field) -> Bool {
        guard field.isVariable else { return true }
        let previous = lastVariableValues.updateValue(field.value, forKey: field.name)
        return previous == field.value
    }

    private func appendLiteral(_ field: Field, prefixBits: Int, flags: UInt8, to block: inout [UInt8]) {
        Self.appendInteger(field.staticName, prefixBits: prefixBits, flags: flags, to: &block)
        if field.staticName == 0 { Self.appendString(field.name, to: &block) }
        Self.appendString(field.value, to: &block)
    }

    /// Evicts the oldest entries until `incoming` more bytes fit (all of them when it does not fit at all).
    private mutating func evict(toFit incoming: Int) {
        var removed = 0
        while removed < entries.count && size + incoming > maxSize {
            size -= entries[removed].name.count + entries[removed].value.count + 32
            removed += 1
        }
        if removed > 0 { entries.removeFirst(removed) }
    }

    /// A string literal without Huffman coding (RFC 7541 §5.2).
    static func appendString(_ bytes: [UInt8], to block: inout [UInt8]) {
        appendInteger(bytes.count, prefixBits: 7, flags: 0, to: &block)
        block.append(contentsOf: bytes)
    }

    /// An integer with an N-bit prefix (RFC 7541 §5.1); `flags` fills the bits above the prefix.
    static func appendInteger(_ value: Int, prefixBits: Int, flags: UInt8, to block: inout [UInt8]) {
        let limit = (1 << prefixBits) - 1
        guard value >= limit else {
            block.append(flags | UInt8(value))
            return
        }
        block.append(flags | UInt8(limit))
        var rest = value - limit
        while rest >= 128 {
            block.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        block.append(UInt8(rest))
    }

    /// Reads an integer with an N-bit prefix at `offset`; nil when the bytes end first or it overflows.
    static func readInteger(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, prefixBits: Int) -> Int? {
        guard offset < bytes.count else { return nil }
        let limit = (1 << prefixBits) - 1
        var value = Int(bytes[offset]) & limit
        offset += 1
        guard value == limit else { return value }
        var shift = 0
        while offset < bytes.count, shift <= 28 {
            let byte = Int(bytes[offset])
            offset += 1
            value += (byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}

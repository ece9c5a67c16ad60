#if canImport(Glibc)
import Glibc
#endif

/// The request decoder's HPACK dynamic table (RFC 7541 §2.3.2, §4) as ``AuthorizationElider`` follows it:
/// the size of every entry, and which entries are `authorization` fields, with their values, so that an
/// indexed reference to the granted token can be recognised before nghttp2 expands it.
///
/// Entries are added and evicted exactly as nghttp2's inflater does (sizes count decoded octets plus 32; an
/// entry larger than the table empties it and is not added). The maximum size starts at, and may never exceed,
/// SETTINGS_HEADER_TABLE_SIZE, which the server leaves at its default of 4,096.
struct HPACKDecoderTable {
    /// One dynamic table entry.
    struct Entry {
        /// Name length + value length + 32 (decoded octets).
        var size: Int
        /// Name length in octets (a literal that refers to this entry's name counts it again).
        var nameLength: Int
        var isAuthorization: Bool
        /// The value, kept only for `authorization` entries (empty otherwise).
        var value: [UInt8]
    }

    /// SETTINGS_HEADER_TABLE_SIZE as the server leaves it: the most a size update may ask for.
    static let settingsMaxSize = 4_096
    /// Entries with the smallest index (62) last, the oldest first.
    private var entries: [Entry] = []
    /// Sum of the entries' sizes.
    private(set) var size = 0
    /// The current maximum size (the last dynamic table size update, or the settings value).
    private(set) var maxSize = settingsMaxSize

    /// Bumped by every change (insertion, eviction, size update): equal generations mean an equal table.
    private(set) var generation = 0

    /// Entries in the table.
    var count: Int { entries.count }

    /// The name of the entry at HPACK index `index` (62 and up); nil when the table holds no such entry.
    func name(at index: Int) -> (length: Int, isAuthorization: Bool)? {
        let position = entries.count - 1 - (index - 62)
        guard index >= 62, position >= 0 else { return nil }
        return (entries[position].nameLength, entries[position].isAuthorization)
    }

    /// Whether the entry at HPACK index `index` is an `authorization` field whose value is `token` (non-empty).
    func isAuthorization(at index: Int, withValue token: [UInt8]) -> Bool {
        let position = entries.count - 1 - (index - 62)
        guard index >= 62, position >= 0, entries[position].isAuthorization, !token.isEmpty else { return false }
        return entries[position].value.withUnsafeBytes { value in
            token.withUnsafeBytes { token in
                value.count == token.count && memcmp(value.baseAddress!, token.baseAddress!, token.count) == 0
            }
        }
    }

    /// Applies a dynamic table size update; false when it exceeds the settings value (a decoding error).
    mutating func resize(to newSize: Int) -> Bool {
        guard newSize <= Self.settingsMaxSize else { return false }
        generation &+= 1
        maxSize = newSize
        evict(toFit: 0)
        return true
    }

    /// Inserts a field, evicting the oldest entries first (RFC 7541 §4.4).
    mutating func add(_ entry: Entry) {
        generation &+= 1
        evict(toFit: entry.size)
        guard entry.size <= maxSize else { return }
        entries.append(entry)
        size += entry.size
    }

    private mutating func evict(toFit incoming: Int) {
        var removed = 0
        while removed < entries.count && size + incoming > maxSize {
            size -= entries[removed].size
            removed += 1
        }
        if removed > 0 { entries.removeFirst(removed) }
    }

    /// Name length of the static table's entry `index` (1…61, RFC 7541 Appendix A).
    static func staticNameLength(at index: Int) -> Int {
        staticNameLengths[index]
    }

    private static let staticNameLengths: [Int] = [0] + staticNames.map(\.utf8.count)

    /// Static table index of `authorization`.
    static let authorizationIndex = 23

    private static let staticNames = [
        ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status", ":status",
        ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding", "accept-language",
        "accept-ranges", "accept", "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
        "content-disposition", "content-encoding", "content-language", "content-length", "content-location",
        "content-range", "content-type", "cookie", "date", "etag", "expect", "expires", "from", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "link", "location",
        "max-forwards", "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh", "retry-after",
        "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via",
        "www-authenticate",
    ]
}

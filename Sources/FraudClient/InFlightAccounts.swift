/// Accounts with rows in flight and the stream (lane) they are on, for a replay that spreads rows over several
/// streams but keeps each account's rows on one stream while any is unanswered (`fraud-backfill --streams N`).
///
/// Keys are account hashes. An open-addressing table with linear probing and backward-shift deletion
/// (no tombstones), multiplicative hashing of the key: about four probes per row where a `Dictionary` spent
/// SipHash on each of its four to eight lookups. Two accounts whose hashes are equal, or differ only where
/// 0 is mapped to 1, share an entry: they are kept on one lane, which is stricter, never wrong.
public struct InFlightAccounts: Sendable {
    /// One slot: 16 bytes, so a probe touches one cache line. `key == 0` is an empty slot.
    private struct Entry {
        var key: UInt64
        var lane: Int32
        var rows: Int32
        static let empty = Entry(key: 0, lane: 0, rows: 0)
    }

    private var entries: [Entry]
    private var mask: Int
    private var shift: UInt64
    /// Accounts held.
    public private(set) var count = 0

    /// An empty table with room for `capacity` accounts before it grows.
    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        entries = Array(repeating: .empty, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private static func stored(_ key: Int) -> UInt64 {
        let value = UInt64(bitPattern: Int64(key))
        return value == 0 ? 1 : value
    }

    @inline(__always)
    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func slot(of key: UInt64) -> (index: Int, found: Bool) {
        var index = home(key)
        while true {
            let current = entries[index].key
            if current == key { return (index, true) }
            if current == 0 { return (index, false) }
            index = (index + 1) & mask
        }
    }

    /// The lane the account's rows in flight are on, if any.
    public func lane(of key: Int) -> Int? {
        let (index, found) = slot(of: Self.stored(key))
        return found ? Int(entries[index].lane) : nil
    }

    /// Records one more row of the account in flight; the lane is set when the account was not in flight
    /// (an account already in flight keeps its lane).
    public mutating func add(_ key: Int, lane: Int) {
        let stored = Self.stored(key)
        var (index, found) = slot(of: stored)
        if found {
            entries[index].rows += 1
            return
        }
        if (count + 1) * 2 > entries.count {
            grow()
            index = slot(of: stored).index
        }
        entries[index] = Entry(key: stored, lane: Int32(lane), rows: 1)
        count += 1
    }

    /// One row of the account answered; the account leaves the table with its last row. Unknown keys are
    /// ignored.
    public mutating func release(_ key: Int) {
        let (index, found) = slot(of: Self.stored(key))
        guard found else { return }
        if entries[index].rows > 1 {
            entries[index].rows -= 1
            return
        }
        remove(at: index)
        count -= 1
    }

    /// Backward-shift deletion: moves later entries of the probe run into the hole so lookups need no
    /// tombstones.
    private mutating func remove(at removed: Int) {
        var hole = removed
        var index = (removed + 1) & mask
        while entries[index].key != 0 {
            let wanted = home(entries[index].key)
            // The entry may move into the hole when its home is not in (hole, index] cyclically.
            let distanceToEntry = (index - wanted) & mask
            let distanceToHole = (index - hole) & mask
            if distanceToEntry >= distanceToHole {
                entries[hole] = entries[index]
                hole = index
            }
            index = (index + 1) & mask
        }
        entries[hole] = .empty
    }

    private mutating func grow() {
        let old = entries
        let size = entries.count * 2
        entries = Array(repeating: .empty, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        for entry in old where entry.key != 0 {
            entries[slot(of: entry.key).index] = entry
        }
    }
}

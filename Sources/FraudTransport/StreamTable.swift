/// Values by HTTP/2 stream id, for the streams one connection has open (server: `H2Session`; client:
/// `FraudClient`'s connection handler).
///
/// Open addressing with linear probing on `id >> 1`: client stream ids are odd and grow by 2, so calls open at
/// the same time sit in neighbouring slots, and a lookup is a shift, a mask and a compare instead of a
/// `Dictionary`'s SipHash. Removal shifts the following entries back (no tombstones), so the table never needs
/// rebuilding while the number of open streams stays put.
package struct StreamTable<Value> {
    /// 0 = empty (stream id 0 is the connection, never a call).
    private var keys: [Int32]
    private var values: [Value?]
    private var mask: Int
    /// Number of entries.
    package private(set) var count = 0

    /// - Parameter capacity: Expected open streams (rounded up to a power of two, kept at most half full).
    package init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: nil, count: size)
        mask = size - 1
    }

    package var isEmpty: Bool { count == 0 }

    private func home(_ key: Int32) -> Int { Int(truncatingIfNeeded: key >> 1) & mask }

    private func position(of key: Int32) -> Int? {
        var index = home(key)
        while true {
            let found = keys[index]
            if found == key { return index }
            if found == 0 { return nil }
            index = (index + 1) & mask
        }
    }

    /// The value for `key`, or `nil`.
    package subscript(key: Int32) -> Value? {
        guard let index = position(of: key) else { return nil }
        return values[index]
    }

    /// Whether `key` is present.
    package func contains(_ key: Int32) -> Bool { position(of: key) != nil }

    /// Adds or replaces the value for `key` (a positive stream id).
    package mutating func insert(_ value: Value, for key: Int32) {
        precondition(key > 0, "stream ids are positive")
        if (count + 1) * 2 > keys.count { grow() }
        var index = home(key)
        while keys[index] != 0 && keys[index] != key { index = (index + 1) & mask }
        if keys[index] == 0 {
            keys[index] = key
            count += 1
        }
        values[index] = value
    }

    /// Removes and returns the value for `key`.
    @discardableResult
    package mutating func removeValue(for key: Int32) -> Value? {
        guard var hole = position(of: key) else { return nil }
        let removed = values[hole]
        // Backward-shift deletion: move up every following entry whose home is not between the hole and it.
        var next = hole
        while true {
            next = (next + 1) & mask
            let candidate = keys[next]
            if candidate == 0 { break }
            let want = home(candidate)
            let stays = hole <= next ? (hole < want && want <= next) : (hole < want || want <= next)
            if stays { continue }
            keys[hole] = candidate
            values[hole] = values[next]
            hole = next
        }
        keys[hole] = 0
        values[hole] = nil
        count -= 1
        return removed
    }

    /// Every entry, in ascending key order.
    package func sortedEntries() -> [(key: Int32, value: Value)] {
        var entries: [(key: Int32, value: Value)] = []
        entries.reserveCapacity(count)
        for index in keys.indices where keys[index] != 0 {
            if let value = values[index] { entries.append((keys[index], value)) }
        }
        return entries.sorted { $0.key < $1.key }
    }

    /// Removes everything, keeping the storage.
    package mutating func removeAll() {
        for index in keys.indices where keys[index] != 0 {
            keys[index] = 0
            values[index] = nil
        }
        count = 0
    }

    private mutating func grow() {
        let old = zip(keys, values).filter { $0.0 != 0 }
        let size = keys.count * 2
        keys = Array(repeating: 0, count: size)
        values = Array(repeating: nil, count: size)
        mask = size - 1
        count = 0
        for (key, value) in old {
            if let value { insert(value, for: key) }
        }
    }
}

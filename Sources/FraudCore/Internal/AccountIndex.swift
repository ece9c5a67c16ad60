/// An open-addressing hash index from an account code to its slot in ``AccountTable``'s dense slot array,
/// holding the code itself: a lookup compares codes in the index and never reads a slot, so an account costs
/// one cache line of index and one of slot (and the slot has no room to spare for the code anyway).
///
/// Each bucket is two words: the code, then the code's 32-bit hash in the high half and `slot + 1` in the
/// low half (0 when empty). Linear probing from `hash & mask`; removal shifts later entries back (no
/// tombstones); growth rehashes from the stored hashes. At most 3/4 full; grows by doubling. The same
/// scheme as ``SlotIndex``, which indexes keys it does not hold.
///
/// The caller guarantees a code is inserted once, and gives the same hash for a code every time.
struct AccountIndex: Sendable {
    /// Two words per bucket; copied before a write when shared (copy on write).
    private var words: HugePageWords
    private var mask: Int
    /// Entries held.
    private(set) var count = 0

    /// Bytes per bucket, for ``PrefetchHint``.
    static let bucketShift: UInt = 4

    init() {
        let size = 16
        words = HugePageWords(zeroedCount: 2 * size)
        mask = size - 1
    }

    /// Buckets allocated (a power of two).
    var bucketCount: Int { mask + 1 }

    /// Heap bytes held.
    var memoryFootprint: Int { 32 + words.count * MemoryLayout<UInt64>.stride }

    /// The buckets' address and byte mask, published for lock-free prefetch hints (``PrefetchHint``).
    var prefetchHint: (base: UInt, byteMask: UInt) {
        (UInt(bitPattern: words.base), UInt(mask) << Self.bucketShift)
    }

    @inline(__always)
    private static func entry(hash: UInt32, slot: Int) -> UInt64 {
        UInt64(hash) << 32 | UInt64(UInt32(truncatingIfNeeded: slot + 1))
    }

    /// The slot of `code`, if held.
    @inline(__always)
    func find(code: UInt64, hash: UInt32) -> Int? {
        let words = self.words.base
        var position = Int(hash) & mask
        while true {
            let entry = words[2 * position + 1]
            if entry == 0 { return nil }
            if UInt32(truncatingIfNeeded: entry >> 32) == hash, words[2 * position] == code {
                return Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
            }
            position = (position + 1) & mask
        }
    }

    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&words) {
            words = words.copy()
        }
    }

    /// Adds `code` at `slot`; the caller ensures the code is not present yet.
    @inline(__always)
    mutating func insert(code: UInt64, hash: UInt32, slot: Int) {
        if (count + 1) * 4 > bucketCount * 3 {
            grow()
        }
        makeUnique()
        let words = self.words.base
        var position = Int(hash) & mask
        while words[2 * position + 1] != 0 {
            position = (position + 1) & mask
        }
        words[2 * position] = code
        words[2 * position + 1] = Self.entry(hash: hash, slot: slot)
        count += 1
    }

    /// Points the entry (`hash`, `slot`) at `newSlot`; the entry must exist.
    mutating func moveEntry(hash: UInt32, from slot: Int, to newSlot: Int) {
        makeUnique()
        let position = self.position(of: hash, slot: slot)
        words.base[2 * position + 1] = Self.entry(hash: hash, slot: newSlot)
    }

    /// Removes the entry (`hash`, `slot`), which must exist, and returns its code. Later entries of the probe
    /// run move back into the hole when their home position allows.
    @discardableResult
    mutating func remove(hash: UInt32, slot: Int) -> UInt64 {
        makeUnique()
        var hole = position(of: hash, slot: slot)
        let mask = self.mask
        let words = self.words.base
        let removed = words[2 * hole]
        var position = (hole + 1) & mask
        while words[2 * position + 1] != 0 {
            let home = Int(truncatingIfNeeded: words[2 * position + 1] >> 32) & mask
            // The entry may fill the hole when its home is not in the (cyclic) range (hole, position].
            if (position &- home) & mask >= (position &- hole) & mask {
                words[2 * hole] = words[2 * position]
                words[2 * hole + 1] = words[2 * position + 1]
                hole = position
            }
            position = (position + 1) & mask
        }
        words[2 * hole] = 0
        words[2 * hole + 1] = 0
        count -= 1
        return removed
    }

    private func position(of hash: UInt32, slot: Int) -> Int {
        let entry = Self.entry(hash: hash, slot: slot)
        let words = self.words.base
        var position = Int(hash) & mask
        while words[2 * position + 1] != entry {
            precondition(words[2 * position + 1] != 0, "AccountIndex: entry not found")
            position = (position + 1) & mask
        }
        return position
    }

    private mutating func grow() {
        let old = words
        let oldSize = bucketCount
        let size = oldSize * 2
        words = HugePageWords(zeroedCount: 2 * size)
        mask = size - 1
        let mask = self.mask
        let target = words.base
        for index in 0..<oldSize {
            let entry = old.base[2 * index + 1]
            guard entry != 0 else { continue }
            var position = Int(truncatingIfNeeded: entry >> 32) & mask
            while target[2 * position + 1] != 0 {
                position = (position + 1) & mask
            }
            target[2 * position] = old.base[2 * index]
            target[2 * position + 1] = entry
        }
        withExtendedLifetime(old) {}
    }
}

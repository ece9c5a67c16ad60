/// An open-addressing hash index from a 32-bit hash to a slot number of a dense array kept by the owner
/// (``AccountTable``'s slots, ``IdempotencyTable``'s ring).
///
/// Each bucket is one `UInt64`: the key's 32-bit hash in the high half, `slot + 1` in the low half, 0 when
/// empty. Linear probing from `hash & mask`; the hash doubles as a tag, so a probe touches the owner's slot
/// (to compare the full key) only when all 32 bits match. Since a bucket holds its own hash, growth rehashes
/// without touching the slots, and removal shifts later entries back (no tombstones, so probe sequences
/// never degrade). At most 3/4 full; grows by doubling.
///
/// The index does not know keys: the caller compares them in `find` and guarantees a key is inserted once.
struct SlotIndex: Sendable {
    /// The buckets; copied before a write when shared (copy on write).
    private var buckets: HugePageWords
    private var mask: Int
    /// Entries held.
    private(set) var count = 0

    /// Creates an empty index with room for `minimumCapacity` entries before it first grows.
    init(minimumCapacity: Int = 0) {
        var size = 16
        while size * 3 / 4 < minimumCapacity {
            size *= 2
        }
        buckets = HugePageWords(zeroedCount: size)
        mask = size - 1
    }

    /// log2 of the bytes per bucket, for ``PrefetchHint``.
    static let bucketShift: UInt = 3

    /// Buckets allocated (a power of two).
    var bucketCount: Int { buckets.count }

    /// Heap bytes held.
    var memoryFootprint: Int { 32 + buckets.count * MemoryLayout<UInt64>.stride }

    /// Prefetches the bucket where a lookup of `hash` starts.
    @inline(__always)
    func prefetchHomeBucket(hash: UInt32) {
        Prefetch.write(UnsafeRawPointer(buckets.base + (Int(hash) & mask)))
    }

    /// The buckets' address and mask, published for lock-free prefetch hints (``PrefetchHint``).
    var prefetchHint: (base: UInt, mask: UInt) {
        (UInt(bitPattern: buckets.base), UInt(mask))
    }

    /// Calls `body` with the slot of every entry whose hash is `hash` (candidates: the caller's keys may
    /// still differ), in probe order, without looking at the slots.
    @inline(__always)
    func forEachCandidate(hash: UInt32, _ body: (Int) -> Void) {
        let buckets = self.buckets.base
        var position = Int(hash) & mask
        while true {
            let bucket = buckets[position]
            if bucket == 0 { return }
            if UInt32(truncatingIfNeeded: bucket >> 32) == hash {
                body(Int(truncatingIfNeeded: bucket & 0xFFFF_FFFF) - 1)
            }
            position = (position + 1) & mask
        }
    }

    /// The slot of the entry with `hash` for which `matches(slot)` is true, if any.
    @inline(__always)
    func find(hash: UInt32, where matches: (Int) -> Bool) -> Int? {
        let buckets = self.buckets.base
        var position = Int(hash) & mask
        while true {
            let bucket = buckets[position]
            if bucket == 0 { return nil }
            if UInt32(truncatingIfNeeded: bucket >> 32) == hash {
                let slot = Int(truncatingIfNeeded: bucket & 0xFFFF_FFFF) - 1
                if matches(slot) { return slot }
            }
            position = (position + 1) & mask
        }
    }

    /// Copies the buckets when another index shares them.
    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&buckets) {
            buckets = buckets.copy()
        }
    }

    /// Adds an entry; the caller ensures its key is not present yet.
    @inline(__always)
    mutating func insert(hash: UInt32, slot: Int) {
        if (count + 1) * 4 > buckets.count * 3 {
            grow()
        }
        makeUnique()
        let entry = UInt64(hash) << 32 | UInt64(UInt32(truncatingIfNeeded: slot + 1))
        let buckets = self.buckets.base
        var position = Int(hash) & mask
        while buckets[position] != 0 {
            position = (position + 1) & mask
        }
        buckets[position] = entry
        count += 1
    }

    /// Points the entry (`hash`, `slot`) at `newSlot`; the entry must exist.
    mutating func moveEntry(hash: UInt32, from slot: Int, to newSlot: Int) {
        makeUnique()
        let position = self.position(of: hash, slot: slot)
        buckets.base[position] = UInt64(hash) << 32 | UInt64(UInt32(truncatingIfNeeded: newSlot + 1))
    }

    /// Removes the entry (`hash`, `slot`); it must exist. Later entries of the probe run move back into the
    /// hole when their home position allows, so lookups never need tombstones.
    mutating func remove(hash: UInt32, slot: Int) {
        makeUnique()
        var hole = position(of: hash, slot: slot)
        let mask = self.mask
        let buckets = self.buckets.base
        var position = (hole + 1) & mask
        while buckets[position] != 0 {
            let home = Int(truncatingIfNeeded: buckets[position] >> 32) & mask
            // The entry may fill the hole when its home is not in the (cyclic) range (hole, position].
            if (position &- home) & mask >= (position &- hole) & mask {
                buckets[hole] = buckets[position]
                hole = position
            }
            position = (position + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
    }

    private func position(of hash: UInt32, slot: Int) -> Int {
        let entry = UInt64(hash) << 32 | UInt64(UInt32(truncatingIfNeeded: slot + 1))
        let buckets = self.buckets.base
        var position = Int(hash) & mask
        while buckets[position] != entry {
            precondition(buckets[position] != 0, "SlotIndex: entry not found")
            position = (position + 1) & mask
        }
        return position
    }

    private mutating func grow() {
        let old = buckets
        let size = old.count * 2
        buckets = HugePageWords(zeroedCount: size)
        mask = size - 1
        let mask = self.mask
        let target = buckets.base
        for index in 0..<old.count {
            let entry = old.base[index]
            guard entry != 0 else { continue }
            var position = Int(truncatingIfNeeded: entry >> 32) & mask
            while target[position] != 0 {
                position = (position + 1) & mask
            }
            target[position] = entry
        }
        withExtendedLifetime(old) {}
    }
}

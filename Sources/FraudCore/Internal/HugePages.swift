internal import CFraudMemory
import Synchronization

/// The engine's big tables (account slots, spilled lists, the idempotency ring and index) are read at
/// random: with 10 M accounts nearly every lookup misses the TLB as well as the cache. Their storage is
/// therefore advised to use transparent huge pages (`madvise(MADV_HUGEPAGE)`) before any of it is touched,
/// so one TLB entry covers 2 MiB instead of 4 KiB. `CFraudMemory` is imported here (advice, ``Prefetch``,
/// ``HugePageWords``) and by ``AccountTable`` for its slot storage.
enum HugePages {
    /// Buffers smaller than this are left alone (they cannot hold a whole 2 MiB page anyway).
    static let minimumBytes = 4 << 20

    /// Advises `buffer`'s memory to use huge pages when it is large enough; pages already present are
    /// collapsed when `collapse` is true. Advice only: failures (no THP) change nothing but speed.
    @inline(__always)
    static func advise<Element>(_ buffer: UnsafeMutableBufferPointer<Element>, collapse: Bool = false) {
        let bytes = buffer.count * MemoryLayout<Element>.stride
        guard bytes >= minimumBytes, let base = buffer.baseAddress else { return }
        _ = CFraudMemory_adviseHugePages(UnsafeMutableRawPointer(base), bytes, collapse ? 1 : 0)
    }
}

/// Cache-line prefetch hints (`__builtin_prefetch`): they never fault and never change a result, so a stale
/// or dangling address only wastes the hint.
enum Prefetch {
    @inline(__always)
    static func read(_ address: UnsafeRawPointer) {
        CFraudMemory_prefetch(address)
    }

    @inline(__always)
    static func write(_ address: UnsafeRawPointer) {
        CFraudMemory_prefetchForWriting(address)
    }

    /// Every cache line of `byteCount` bytes from `address`, for writing.
    @inline(__always)
    static func write(_ address: UnsafeRawPointer, byteCount: Int) {
        var offset = 0
        while offset < byteCount {
            CFraudMemory_prefetchForWriting(address + offset)
            offset += 64
        }
        CFraudMemory_prefetchForWriting(address + (byteCount - 1))
    }
}

/// Where an index's buckets live (``SlotIndex``, ``AccountTable``'s slots), published by the index's owner under its
/// lock and read without it to prefetch the bucket a later lookup will start at. A stale value only wastes
/// the hint: prefetching never faults.
final class PrefetchHint: Sendable {
    private let base = Atomic<UInt>(0)
    /// The bucket mask shifted by the bucket size's log2: `hash << shift & byteMask` is the home bucket's offset.
    private let byteMask = Atomic<UInt>(0)

    /// Records the index's current buckets (call under the owner's lock after it may have grown). Stores only
    /// what changed (the index grows rarely): an unconditional store on every call would take the line away
    /// from every other core that reads the hint, a cross-core miss on their next prefetch.
    @inline(__always)
    func publish(_ index: SlotIndex) {
        let (base, mask) = index.prefetchHint
        publish(base: base, byteMask: mask << SlotIndex.bucketShift)
    }

    @inline(__always)
    func publish(_ table: AccountTable) {
        let (base, byteMask) = table.prefetchHint
        publish(base: base, byteMask: byteMask)
    }

    @inline(__always)
    private func publish(base: UInt, byteMask: UInt) {
        if self.base.load(ordering: .relaxed) != base { self.base.store(base, ordering: .relaxed) }
        if self.byteMask.load(ordering: .relaxed) != byteMask { self.byteMask.store(byteMask, ordering: .relaxed) }
    }

    /// Prefetches the home bucket of `hash` in an index with buckets of `1 << shift` bytes, if one was published.
    @inline(__always)
    func prefetchBucket(hash: UInt32, shift: UInt = SlotIndex.bucketShift) {
        let base = self.base.load(ordering: .relaxed)
        guard base != 0,
            let address = UnsafeRawPointer(bitPattern: base &+ ((UInt(hash) &<< shift) & byteMask.load(ordering: .relaxed)))
        else { return }
        Prefetch.read(address)
    }

    /// Prefetches the home bucket of `hash` and the bucket after it (the first one again after the last).
    @inline(__always)
    func prefetchBucketAndNext(hash: UInt32, shift: UInt) {
        let base = self.base.load(ordering: .relaxed)
        let byteMask = self.byteMask.load(ordering: .relaxed)
        let home = (UInt(hash) &<< shift) & byteMask
        guard base != 0,
            let first = UnsafeRawPointer(bitPattern: base &+ home),
            let second = UnsafeRawPointer(bitPattern: base &+ ((home &+ (1 &<< shift)) & byteMask))
        else { return }
        Prefetch.read(first)
        Prefetch.read(second)
    }
}

extension Array {
    /// An array of `count` copies of `element` whose storage was advised to use huge pages before it was
    /// written (see ``HugePages``).
    static func hugePageAdvised(repeating element: Element, count: Int) -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            HugePages.advise(buffer)
            buffer.initialize(repeating: element)
            initialized = count
        }
    }

    /// Appends `element`; when the storage is full it is replaced by one of twice the capacity, advised to
    /// use huge pages before the elements are moved in (one allocation, as `append` itself would make).
    @inline(__always)
    mutating func appendHugePageAdvised(_ element: Element) {
        if count == capacity {
            growHugePageAdvised()
        }
        append(element)
    }

    @inline(never)
    private mutating func growHugePageAdvised() {
        let newCapacity = Swift.max(16, capacity * 2)
        guard newCapacity * MemoryLayout<Element>.stride >= HugePages.minimumBytes else {
            reserveCapacity(newCapacity)
            return
        }
        let old = self
        self = []
        self = [Element](unsafeUninitializedCapacity: newCapacity) { buffer, initialized in
            HugePages.advise(buffer)
            old.withUnsafeBufferPointer { source in
                _ = buffer.initialize(fromContentsOf: source)
            }
            initialized = old.count
        }
    }
}

/// A fixed number of zeroed `UInt64`s, owned by this object: from 2 MiB up a mapping of its own aligned to
/// 2 MiB and advised to use huge pages (``SlotIndex`` buckets, read at random), smaller ones from `calloc`.
///
/// Shared by value types that copy it before writing when it is not uniquely referenced (copy on write),
/// and only ever written under their owner's lock, hence `@unchecked Sendable`.
final class HugePageWords: @unchecked Sendable {
    /// The first word.
    let base: UnsafeMutablePointer<UInt64>
    /// Words held.
    let count: Int

    /// `count` zero words; traps when out of memory.
    init(zeroedCount count: Int) {
        guard let raw = CFraudMemory_allocateZeroed(count * MemoryLayout<UInt64>.stride) else {
            preconditionFailure("HugePageWords: out of memory for \(count) words")
        }
        self.base = raw.bindMemory(to: UInt64.self, capacity: count)
        self.count = count
    }

    deinit {
        CFraudMemory_deallocate(base, count * MemoryLayout<UInt64>.stride)
    }

    /// A copy with the same contents.
    func copy() -> HugePageWords {
        let copy = HugePageWords(zeroedCount: count)
        copy.base.update(from: base, count: count)
        return copy
    }
}

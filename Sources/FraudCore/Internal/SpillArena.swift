/// Short lists of small values (the buckets and counterparty marks that busier accounts spill), kept in
/// fixed-size blocks of one growable store per velocity shard instead of one heap array per account.
///
/// A list is a `UInt32` handle (0 = empty, else its first block + 1) held by its owner; blocks of a list are
/// chained, all full but the last. Elements are only appended or overwritten in place, so a list keeps its
/// order exactly as an array would. Released lists' blocks are reused, so once the store has grown to the
/// working set, spilling allocates nothing. Lists here are short (≤ 23 elements), so walking the chain
/// is cheap.
struct SpillArena<Element: Sendable>: Sendable {
    /// Elements per block.
    static var blockSize: Int { 4 }

    private var storage: [Element] = []
    /// Elements used in each block.
    private var counts: [UInt8] = []
    /// The next block of each block's list, + 1; 0 at the end.
    private var nexts: [UInt32] = []
    private var freeBlocks: [UInt32] = []
    /// Fills unused positions of new blocks.
    private let filler: Element

    init(filler: Element) {
        self.filler = filler
    }

    /// Blocks in use or free.
    var blockCount: Int { counts.count }

    /// Blocks on the free list.
    var freeBlockCount: Int { freeBlocks.count }

    /// Heap bytes held.
    var memoryFootprint: Int {
        4 * 32 + storage.capacity * MemoryLayout<Element>.stride + counts.capacity + nexts.capacity * 4
            + freeBlocks.capacity * 4
    }

    /// Elements in `list`.
    func count(_ list: UInt32) -> Int {
        var total = 0
        var block = list
        while block != 0 {
            total += Int(counts[Int(block - 1)])
            block = nexts[Int(block - 1)]
        }
        return total
    }

    /// Block `block` of a list (the list's handle, then each `next`): the storage positions of its elements
    /// (read them with ``element(at:)``) and the next block, 0 after the last. For loops without closures:
    /// `var block = list; while block != 0 { let (elements, next) = arena.block(block); …; block = next }`.
    @inline(__always)
    func block(_ block: UInt32) -> (elements: Range<Int>, next: UInt32) {
        let start = Int(block - 1) * Self.blockSize
        return (start..<start + Int(counts[Int(block - 1)]), nexts[Int(block - 1)])
    }

    /// The element at a storage position from ``block(_:)``.
    @inline(__always)
    func element(at storagePosition: Int) -> Element {
        storage[storagePosition]
    }

    /// The position of the first element of `list` that satisfies `predicate`.
    @inline(__always)
    func firstIndex(_ list: UInt32, where predicate: (Element) -> Bool) -> Int? {
        var block = list
        var position = 0
        while block != 0 {
            let start = Int(block - 1) * Self.blockSize
            for offset in 0..<Int(counts[Int(block - 1)]) {
                if predicate(storage[start + offset]) { return position }
                position += 1
            }
            block = nexts[Int(block - 1)]
        }
        return nil
    }

    /// Storage index of element `position` of `list` (which must exist).
    private func storageIndex(_ list: UInt32, _ position: Int) -> Int {
        var block = list
        var remaining = position
        while remaining >= Self.blockSize {
            block = nexts[Int(block - 1)]
            remaining -= Self.blockSize
        }
        precondition(block != 0 && remaining < Int(counts[Int(block - 1)]), "SpillArena: position out of range")
        return Int(block - 1) * Self.blockSize + remaining
    }

    /// Prefetches the first block of `list` (its elements, count and link), for writing.
    @inline(__always)
    func prefetchHead(_ list: UInt32) {
        guard list != 0 else { return }
        let block = Int(list - 1)
        storage.withUnsafeBufferPointer { storage in
            guard let base = storage.baseAddress else { return }
            Prefetch.write(
                UnsafeRawPointer(base + block * Self.blockSize),
                byteCount: Self.blockSize * MemoryLayout<Element>.stride
            )
        }
        counts.withUnsafeBufferPointer { counts in
            if let base = counts.baseAddress { Prefetch.write(UnsafeRawPointer(base + block)) }
        }
        nexts.withUnsafeBufferPointer { nexts in
            if let base = nexts.baseAddress { Prefetch.write(UnsafeRawPointer(base + block)) }
        }
    }

    /// Element `position` of `list`.
    subscript(list: UInt32, position: Int) -> Element {
        get { storage[storageIndex(list, position)] }
        set { storage[storageIndex(list, position)] = newValue }
    }

    /// Appends `element` to `list`, starting the list or a new block when needed.
    mutating func append(_ element: Element, to list: inout UInt32) {
        guard list != 0 else {
            list = newBlock(with: element)
            return
        }
        var block = list
        while nexts[Int(block - 1)] != 0 {
            block = nexts[Int(block - 1)]
        }
        let used = Int(counts[Int(block - 1)])
        if used < Self.blockSize {
            storage[Int(block - 1) * Self.blockSize + used] = element
            counts[Int(block - 1)] += 1
        } else {
            let next = newBlock(with: element)
            nexts[Int(block - 1)] = next
        }
    }

    /// Frees every block of `list` and empties it.
    mutating func release(_ list: inout UInt32) {
        var block = list
        while block != 0 {
            let next = nexts[Int(block - 1)]
            counts[Int(block - 1)] = 0
            nexts[Int(block - 1)] = 0
            freeBlocks.append(block)
            block = next
        }
        list = 0
    }

    private mutating func newBlock(with element: Element) -> UInt32 {
        let block: UInt32
        if let free = freeBlocks.popLast() {
            block = free
        } else {
            storage.appendHugePageAdvised(element)
            for _ in 1..<Self.blockSize {
                storage.appendHugePageAdvised(filler)
            }
            counts.appendHugePageAdvised(0)
            nexts.appendHugePageAdvised(0)
            block = UInt32(counts.count)
        }
        storage[Int(block - 1) * Self.blockSize] = element
        counts[Int(block - 1)] = 1
        prefetchNextBlock()
        return block
    }

    /// Prefetches, for writing, the block the next ``newBlock(with:)`` will fill: the last free block, or the
    /// storage just past the end. Each shard's arena grows by a block now and then, dozens of events apart —
    /// too sparse a stream for the hardware prefetcher — so without this every new block's line is a
    /// store miss. (Past the end of the buffer the address may be unmapped: a prefetch never faults.)
    @inline(__always)
    private func prefetchNextBlock() {
        let block = freeBlocks.last.map { Int($0) - 1 } ?? counts.count
        storage.withUnsafeBufferPointer { storage in
            guard let base = storage.baseAddress else { return }
            Prefetch.write(
                UnsafeRawPointer(base + block * Self.blockSize),
                byteCount: Self.blockSize * MemoryLayout<Element>.stride
            )
        }
        counts.withUnsafeBufferPointer { counts in
            if let base = counts.baseAddress { Prefetch.write(UnsafeRawPointer(base + block)) }
        }
        nexts.withUnsafeBufferPointer { nexts in
            if let base = nexts.baseAddress { Prefetch.write(UnsafeRawPointer(base + block)) }
        }
    }
}

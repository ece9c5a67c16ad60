import Synchronization

/// Remembers recent transaction ids with the fingerprint of their payload and the decision given, so a
/// retried transaction gets its earlier decision back and is never counted twice.
///
/// Sharded by a hash of the id, one lock per shard. Bounded: each shard holds `capacity / shardCount`
/// ids (at least one) and forgets its oldest id first (FIFO, a ring of keys). An id forgotten this way
/// would be scored afresh if it came back, so size the capacity to cover the retry horizon.
public final class IdempotencyCache: Sendable {
    /// A shard: its records behind one lock.
    final class Shard: Sendable {
        let table: Mutex<IdempotencyTable>
        /// The index's buckets, for ``IdempotencyCache/prefetch(hash:)``.
        let indexHint = PrefetchHint()
        /// The table's id count as of its last insert, so that ``IdempotencyCache/count`` (read by the admin
        /// port) takes no shard lock.
        let held = Atomic<Int>(0)

        init(capacity: Int) {
            table = Mutex(IdempotencyTable(capacity: capacity))
            table.withLock { indexHint.publish($0.index) }
        }

        /// Publishes the table's prefetch hint; call under the lock after an insert.
        @inline(__always)
        func publishHints(_ table: borrowing IdempotencyTable) {
            indexHint.publish(table.index)
            held.store(table.count, ordering: .relaxed)
        }
    }

    /// What is kept per id.
    public struct Record: Sendable, Hashable {
        /// ``Transaction/fingerprint`` of the payload first seen with the id.
        public var fingerprint: UInt64
        /// The decision given the first time.
        public var assessment: Assessment

        /// Creates a record.
        public init(fingerprint: UInt64, assessment: Assessment) {
            self.fingerprint = fingerprint
            self.assessment = assessment
        }
    }

    /// Upper bound on ids held (over all shards).
    public let capacity: Int
    let shards: [Shard]
    /// ``shards`` again, unretained: the hot paths borrow a shard through it without a retain/release pair.
    /// `shards` keeps them alive.
    private let borrowedShards: [Unmanaged<Shard>]

    /// Runs `body` with the shard of `hash`, borrowed without retaining it.
    @inline(__always)
    private func withShard<Result>(_ hash: UInt64, _ body: (Shard) -> Result) -> Result {
        borrowedShards[hash.shardIndex(count: borrowedShards.count)]._withUnsafeGuaranteedRef(body)
    }

    /// Creates an empty cache.
    ///
    /// - Parameters:
    ///   - capacity: Upper bound on ids held; each shard gets an equal share (at least 1).
    ///   - shardCount: Number of independently locked shards (at least 1).
    public init(capacity: Int = 2_000_000, shardCount: Int = 64) {
        precondition(shardCount > 0, "shardCount must be positive")
        precondition(capacity > 0, "capacity must be positive")
        let perShard = max(1, capacity / shardCount)
        self.capacity = perShard * shardCount
        self.shards = (0..<shardCount).map { _ in Shard(capacity: perShard) }
        self.borrowedShards = shards.map { Unmanaged.passUnretained($0) }
    }

    /// Looks the id up and, only when it is new, runs `assess` and stores its result — all while holding
    /// the id's shard lock, so concurrent copies of one id run `assess` exactly once.
    ///
    /// - Parameters:
    ///   - transactionID: The idempotency key.
    ///   - fingerprint: ``Transaction/fingerprint`` of the payload.
    ///   - assess: Scores the transaction. Runs under the lock: it may take other (velocity) locks, but
    ///     must never call back into this cache.
    /// - Returns: `.scored` with the new assessment, `.replayed` with the stored one when the payload
    ///   matches, or `.conflict` when the id was used for a different payload.
    public func resolve(
        transactionID: String,
        fingerprint: UInt64,
        assess: () -> Assessment
    ) -> ScoreOutcome {
        resolve(transactionID: transactionID, hash: IdentifierHash.hash(transactionID), fingerprint: fingerprint, assess: assess)
    }

    /// ``resolve(transactionID:fingerprint:assess:)`` with the id's ``IdentifierHash/hash(_:)`` computed by the caller.
    @inline(__always)
    func resolve(
        transactionID: String,
        hash: UInt64,
        fingerprint: UInt64,
        assess: () -> Assessment
    ) -> ScoreOutcome {
        withShard(hash) { shard in shard.table.withLock { table in
            if let record = table.record(for: transactionID, hash: hash) {
                guard record.fingerprint == fingerprint else {
                    return .conflict(
                        ValidationError(
                            field: "transaction.transaction_id",
                            rule: "was already used for a different transaction"
                        )
                    )
                }
                return .replayed(record.assessment)
            }
            let assessment = assess()
            table.insert(transactionID, hash: hash, Record(fingerprint: fingerprint, assessment: assessment))
            shard.publishHints(table)
            return .scored(assessment)
        } }
    }

    /// Like ``resolve(transactionID:fingerprint:assess:)``, with a commit step that may fail: `commit` runs
    /// under the id's lock with each new decision, before anyone can be answered `replayed` with it.
    ///
    /// When `commit` fails the result is nil, and the decision is kept *pending*: the engine has counted it
    /// (velocity), so the next call with the id and the same payload does not assess again — it commits the
    /// kept decision again and, once that succeeds, gets it as `.scored` (nil again while commits keep
    /// failing). A retry after a failed journal write is so counted once, and answered with the decision
    /// made the first time.
    ///
    /// - Parameters:
    ///   - assessAndCommit: Makes the decision for a new id (and counts it), then records it durably; returns
    ///     the decision and whether recording succeeded (one closure: the path every new id takes).
    ///   - commit: Records a pending decision again (the rare path); `false` = could not.
    public func resolveIfCommitted(
        transactionID: String,
        fingerprint: UInt64,
        assessAndCommit: () -> (assessment: Assessment, isCommitted: Bool),
        commit: (Assessment) -> Bool
    ) -> ScoreOutcome? {
        resolveIfCommitted(
            transactionID: transactionID,
            hash: IdentifierHash.hash(transactionID),
            fingerprint: fingerprint,
            assessAndCommit: assessAndCommit,
            commit: commit
        )
    }

    /// ``resolveIfCommitted(transactionID:fingerprint:assess:)`` with the id's ``IdentifierHash/hash(_:)`` computed by
    /// the caller.
    @inline(__always)
    func resolveIfCommitted(
        transactionID: String,
        hash: UInt64,
        fingerprint: UInt64,
        assessAndCommit: () -> (assessment: Assessment, isCommitted: Bool),
        commit: (Assessment) -> Bool
    ) -> ScoreOutcome? {
        withShard(hash) { shard in shard.table.withLock { table in
            if let (position, record) = table.entry(for: transactionID, hash: hash) {
                guard record.fingerprint == fingerprint else {
                    return .conflict(
                        ValidationError(
                            field: "transaction.transaction_id",
                            rule: "was already used for a different transaction"
                        )
                    )
                }
                guard table.isPending(position) else { return .replayed(record.assessment) }
                // Decided and counted before, but not committed: commit that decision, never a second one.
                guard commit(record.assessment) else { return nil }
                table.settle(position)
                return .scored(record.assessment)
            }
            let (assessment, isCommitted) = assessAndCommit()
            table.insert(transactionID, hash: hash, Record(fingerprint: fingerprint, assessment: assessment))
            if !isCommitted {
                table.markPending(transactionID, hash: hash)
            }
            shard.publishHints(table)
            return isCommitted ? .scored(assessment) : nil
        } }
    }

    /// Whether `transactionID` is held with a decision whose commit failed (for tests and diagnostics).
    public func isPending(_ transactionID: String) -> Bool {
        let hash = IdentifierHash.hash(transactionID)
        return shards[hash.shardIndex(count: shards.count)].table.withLock { table in
            table.entry(for: transactionID, hash: hash).map { table.isPending($0.position) } ?? false
        }
    }

    /// Prefetch hint for a later ``resolve(transactionID:hash:fingerprint:assess:)`` of an id with
    /// ``IdentifierHash`` `hash`: the index bucket its lookup starts at. Takes no lock and changes nothing.
    @inline(__always)
    func prefetch(hash: UInt64) {
        withShard(hash) { shard in shard.indexHint.prefetchBucket(hash: IdempotencyTable.indexHash(hash)) }
    }

    /// The record kept for `transactionID`, if any.
    public func record(for transactionID: String) -> Record? {
        let hash = IdentifierHash.hash(transactionID)
        return shards[hash.shardIndex(count: shards.count)].table.withLock { table in
            table.record(for: transactionID, hash: hash)
        }
    }

    /// Bytes of memory the cache's tables hold (index, records, eviction ring), over all shards, not counting
    /// heap storage owned by the assessments themselves (reason arrays and strings).
    public var memoryFootprint: Int {
        shards.reduce(0) { total, shard in total + shard.table.withLock { $0.memoryFootprint } }
    }

    /// Ids currently held, over all shards. Takes no lock: each shard's count as of its last insert.
    public var count: Int {
        shards.reduce(0) { total, shard in total + shard.held.load(ordering: .relaxed) }
    }
}

/// One idempotency shard: a ring of entries in insertion order (FIFO eviction overwrites the oldest) and a
/// ``SlotIndex`` from the id's hash to its ring position. Each entry keeps its id's hash, so evicting it
/// needs no rehashing and a lookup compares strings only when all 64 bits match.
struct IdempotencyTable: Sendable {
    struct Entry: Sendable {
        var transactionID: String
        /// the id's ``IdentifierHash``, as used for the shard.
        var hash: UInt64
        var record: IdempotencyCache.Record
    }

    private(set) var index = SlotIndex()
    /// Entries in insertion order; grows to `capacity`, then `oldest` marks the entry to overwrite next.
    private var ring: [Entry] = []
    private var oldest = 0
    /// Ring positions whose decision could not be committed (a failed journal write): rare, so a set beside
    /// the ring rather than a flag in every entry (which would push an entry past its 64 bytes).
    private var pending: Set<Int> = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { ring.count }

    /// Heap bytes held by the index and the ring, not by the assessments' own arrays and strings.
    var memoryFootprint: Int {
        index.memoryFootprint + 32 + ring.capacity * MemoryLayout<Entry>.stride
    }

    @inline(__always)
    static func indexHash(_ hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: hash)
    }

    func record(for transactionID: String) -> IdempotencyCache.Record? {
        record(for: transactionID, hash: IdentifierHash.hash(transactionID))
    }

    /// The record of `transactionID`, whose ``IdentifierHash/hash(_:)`` is `hash`.
    @inline(__always)
    func record(for transactionID: String, hash: UInt64) -> IdempotencyCache.Record? {
        entry(for: transactionID, hash: hash)?.record
    }

    /// The ring position and record of `transactionID`, whose ``IdentifierHash/hash(_:)`` is `hash`.
    @inline(__always)
    func entry(for transactionID: String, hash: UInt64) -> (position: Int, record: IdempotencyCache.Record)? {
        ring.withUnsafeBufferPointer { ring in
            index.find(hash: Self.indexHash(hash)) { position in
                ring[position].hash == hash && ring[position].transactionID == transactionID
            }.map { ($0, ring[$0].record) }
        }
    }

    /// Whether the entry at `position` holds a decision whose commit failed.
    @inline(__always)
    func isPending(_ position: Int) -> Bool {
        !pending.isEmpty && pending.contains(position)
    }

    /// Marks the entry just inserted for `transactionID` as not committed.
    mutating func markPending(_ transactionID: String, hash: UInt64) {
        if let (position, _) = entry(for: transactionID, hash: hash) {
            pending.insert(position)
        }
    }

    /// The entry at `position` is committed now.
    mutating func settle(_ position: Int) {
        pending.remove(position)
    }

    mutating func insert(_ transactionID: String, _ record: IdempotencyCache.Record) {
        insert(transactionID, hash: IdentifierHash.hash(transactionID), record)
    }

    /// Stores a new id, forgetting the oldest one when full. The id must not be present.
    @inline(__always)
    mutating func insert(_ transactionID: String, hash: UInt64, _ record: IdempotencyCache.Record) {
        let entry = Entry(transactionID: transactionID, hash: hash, record: record)
        if ring.count < capacity {
            index.insert(hash: Self.indexHash(hash), slot: ring.count)
            ring.appendHugePageAdvised(entry)
        } else {
            index.remove(hash: Self.indexHash(ring[oldest].hash), slot: oldest)
            index.insert(hash: Self.indexHash(hash), slot: oldest)
            if !pending.isEmpty {
                pending.remove(oldest)
            }
            ring[oldest] = entry
            oldest = oldest + 1 == capacity ? 0 : oldest + 1
            prefetchForNextInserts()
        }
    }

    /// The shard's next insert overwrites `ring[oldest]` and removes its id from the index; the one after
    /// that, `ring[oldest + 1]`. Both are cold by then (dozens of other shards run in between), so fetch
    /// now the index bucket of the next evicted id (its entry was prefetched by the previous insert) and the
    /// entry after it: the misses overlap with the rest of the work instead of stalling the next insert.
    @inline(__always)
    private func prefetchForNextInserts() {
        ring.withUnsafeBufferPointer { ring in
            guard let base = ring.baseAddress else { return }
            index.prefetchHomeBucket(hash: Self.indexHash(ring[oldest].hash))
            let after = oldest + 1 == capacity ? 0 : oldest + 1
            Prefetch.write(UnsafeRawPointer(base + after), byteCount: MemoryLayout<Entry>.size)
        }
    }
}

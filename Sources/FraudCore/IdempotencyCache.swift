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

        init(capacity: Int) {
            table = Mutex(IdempotencyTable(capacity: capacity))
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
        let shard = shards[FNV1a.hash(transactionID).shardIndex(count: shards.count)]
        return shard.table.withLock { table in
            if let record = table.record(for: transactionID) {
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
            table.insert(transactionID, Record(fingerprint: fingerprint, assessment: assessment))
            return .scored(assessment)
        }
    }

    /// Like ``resolve(transactionID:fingerprint:assess:)``, but `assess` may refuse (return nil): then the id
    /// is not recorded and the result is nil.
    public func resolveIfCommitted(
        transactionID: String,
        fingerprint: UInt64,
        assess: () -> Assessment?
    ) -> ScoreOutcome? {
        let shard = shards[FNV1a.hash(transactionID).shardIndex(count: shards.count)]
        return shard.table.withLock { table in
            if let record = table.record(for: transactionID) {
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
            guard let assessment = assess() else { return nil }
            table.insert(transactionID, Record(fingerprint: fingerprint, assessment: assessment))
            return .scored(assessment)
        }
    }

    /// The record kept for `transactionID`, if any.
    public func record(for transactionID: String) -> Record? {
        shards[FNV1a.hash(transactionID).shardIndex(count: shards.count)].table.withLock { table in
            table.record(for: transactionID)
        }
    }

    /// Bytes of memory the cache's tables hold (index, records, eviction ring), over all shards, not counting
    /// heap storage owned by the assessments themselves (reason arrays and strings).
    public var memoryFootprint: Int {
        shards.reduce(0) { total, shard in total + shard.table.withLock { $0.memoryFootprint } }
    }

    /// Ids currently held, over all shards.
    public var count: Int {
        shards.reduce(0) { total, shard in total + shard.table.withLock { $0.count } }
    }
}

/// One idempotency shard: records by id plus a ring of ids in insertion order for FIFO eviction.
struct IdempotencyTable: Sendable {
    private var records: [String: IdempotencyCache.Record] = [:]
    /// Ids in insertion order; grows to `capacity`, then `oldest` marks the slot to overwrite next.
    private var ring: [String] = []
    private var oldest = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { records.count }

    var memoryFootprint: Int {
        let index = records.capacity * (MemoryLayout<String>.stride + MemoryLayout<IdempotencyCache.Record>.stride)
        return index + index / 64 + ring.capacity * MemoryLayout<String>.stride
    }

    func record(for transactionID: String) -> IdempotencyCache.Record? {
        records[transactionID]
    }

    /// Stores a new id, forgetting the oldest one when full. The id must not be present.
    mutating func insert(_ transactionID: String, _ record: IdempotencyCache.Record) {
        if ring.count < capacity {
            ring.append(transactionID)
        } else {
            records.removeValue(forKey: ring[oldest])
            ring[oldest] = transactionID
            oldest = oldest + 1 == capacity ? 0 : oldest + 1
        }
        records[transactionID] = record
    }
}

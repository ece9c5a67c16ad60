import Synchronization

/// Per-account transaction velocity, kept in memory in hash-sharded maps and keyed by *event* time.
///
/// Time is the transaction's `step` (hours since the ledger's start), never the wall clock, so replaying
/// a sequence gives exactly the figures it gave live. Each account keeps per-step buckets for the last
/// ``windowSteps`` steps, its last seen step, and up to ``maxTrackedCounterparties`` recent
/// counterparties. Events may arrive out of order within the window.
///
/// Memory is bounded two ways: accounts idle for more than ``idleEvictionSteps`` steps (relative to the
/// newest step their shard has seen) are forgotten — lazily, a few slots per event — and each shard holds
/// at most `maxAccounts / shardCount` accounts: when full, it evicts its least recently seen eighth.
///
/// Thread-safe: every call takes exactly one shard lock, briefly, and never two at once.
public final class VelocityStore: Sendable {
    /// A shard: its accounts behind one lock.
    final class Shard: Sendable {
        let table: Mutex<AccountTable>
        /// The table's slots, for ``VelocityStore/prefetch(mixedHash:code:indexHash:)``.
        let slotHint = PrefetchHint()
        /// The table's account count as of its last change, so that ``VelocityStore/accountCount`` (polled by
        /// the admin port) takes no shard lock from a low-priority thread that a scoring thread could then
        /// wait for.
        let held = Atomic<Int>(0)

        init(capacity: Int, idleEvictionSteps: UInt32) {
            table = Mutex(AccountTable(capacity: capacity, idleEvictionSteps: idleEvictionSteps))
            table.withLock { slotHint.publish($0) }
        }
    }

    /// Length of the long window, in steps (hours); the short window is the event's own step.
    public static let windowSteps: UInt32 = 24
    /// Most counterparties remembered per account; distinct counts saturate at this value.
    public static let maxTrackedCounterparties = 16

    /// Steps without activity after which an account is forgotten.
    public let idleEvictionSteps: UInt32
    /// Upper bound on accounts held (over all shards).
    public let maxAccounts: Int
    let shards: [Shard]
    /// ``shards`` again, unretained: the hot paths borrow a shard through it without a retain/release pair
    /// (an atomic read-modify-write each). `shards` keeps them alive.
    private let borrowedShards: [Unmanaged<Shard>]

    /// Runs `body` with the shard of the account whose ``AccountKey/mixedHash`` is `mixedHash`, borrowed
    /// without retaining it.
    @inline(__always)
    private func withShard<Result>(mixedHash: UInt64, _ body: (Shard) -> Result) -> Result {
        borrowedShards[UInt64.shardIndex(mixed: mixedHash, count: borrowedShards.count)]._withUnsafeGuaranteedRef(body)
    }

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - shardCount: Number of independently locked shards (at least 1).
    ///   - idleEvictionSteps: Steps without activity after which an account is forgotten.
    ///   - maxAccounts: Upper bound on accounts held; each shard gets an equal share (at least 1).
    public init(shardCount: Int = 16, idleEvictionSteps: UInt32 = 48, maxAccounts: Int = 4_000_000) {
        precondition(shardCount > 0, "shardCount must be positive")
        precondition(maxAccounts > 0, "maxAccounts must be positive")
        self.idleEvictionSteps = idleEvictionSteps
        let perShard = max(1, maxAccounts / shardCount)
        self.maxAccounts = perShard * shardCount
        self.shards = (0..<shardCount).map { _ in
            Shard(capacity: perShard, idleEvictionSteps: idleEvictionSteps)
        }
        self.borrowedShards = shards.map { Unmanaged.passUnretained($0) }
    }

    /// Returns the account's figures *before* this transaction, then records it, in one critical section.
    ///
    /// - Parameters:
    ///   - account: The account whose velocity is read and updated.
    ///   - counterparty: The other side of the transaction (for distinct-counterparty counts).
    ///   - amountCents: The amount, added to the step's total.
    ///   - step: Event time in hours.
    /// - Returns: The snapshot as of `step`, not including this transaction.
    public func observe(account: String, counterparty: String, amountCents: Int64, step: UInt32) -> VelocitySnapshot {
        observe(
            AccountKey(account),
            counterpartyHash: AccountKey(counterparty).counterpartyHash,
            amountCents: amountCents,
            step: step
        )
    }

    /// ``observe(account:counterparty:amountCents:step:)`` with the hashing done by the caller (outside
    /// any lock). With `readsSnapshot` false the event is recorded but the figures are not read back (the
    /// result is ``VelocitySnapshot/unseen``): for a caller whose model reads no velocity figure.
    func observe(
        _ key: AccountKey,
        counterpartyHash: UInt32,
        amountCents: Int64,
        step: UInt32,
        readsSnapshot: Bool = true
    ) -> VelocitySnapshot {
        withShard(mixedHash: key.mixedHash) { shard in
            shard.table.withLock { table in
                let snapshot = table.observe(
                    key,
                    counterpartyHash: counterpartyHash,
                    amountCents: amountCents,
                    step: step,
                    readsSnapshot: readsSnapshot
                )
                shard.slotHint.publish(table)
                shard.held.store(table.count, ordering: .relaxed)
                return snapshot
            }
        }
    }

    /// Prefetch hint for a later ``observe(_:counterpartyHash:amountCents:step:)`` of the account with these
    /// key parts (none without a compact code): the slot its lookup starts at, which holds the account
    /// itself unless an earlier account of the same home took it, and the slot after it. At the tables'
    /// load (up to 3/4, ≈ 0.6 with 10 M accounts) a lookup goes past its home slot about 30 % of the time,
    /// half of those no further than the next slot, and with the home slot alone prefetched that next line
    /// was a miss in four lookups of ten that needed it (`rdtscp` around the load). The two are in one page
    /// but for one home in 64: no extra page walk. Takes no lock and changes nothing.
    @inline(__always)
    func prefetch(mixedHash: UInt64, code: UInt64, indexHash: UInt32) {
        guard code != 0 else { return }
        withShard(mixedHash: mixedHash) { shard in
            shard.slotHint.prefetchBucketAndNext(hash: indexHash, shift: AccountTable.slotShift)
        }
    }

    /// The account's figures as of `step`, without recording anything.
    ///
    /// - Parameters:
    ///   - account: The account to look up.
    ///   - step: The step the windows end at.
    /// - Returns: The snapshot, or ``VelocitySnapshot/unseen`` for an unknown or idle account.
    public func snapshot(account: String, step: UInt32) -> VelocitySnapshot {
        let key = AccountKey(account)
        return shards[UInt64.shardIndex(mixed: key.mixedHash, count: shards.count)].table.withLock { table in
            table.snapshot(key, step: step)
        }
    }

    /// Bytes of memory the store's tables hold (slots, index, spilled per-account arrays), over all shards:
    /// its own count, for capacity planning and the benchmark. Walks every account; not for the hot path.
    public var memoryFootprint: Int {
        shards.reduce(0) { total, shard in total + shard.table.withLock { $0.memoryFootprint } }
    }

    /// Accounts currently held, over all shards (idle ones not yet swept included). Takes no lock: each
    /// shard's count as of its last change, so a sum taken while scoring runs may lag by the calls in flight.
    public var accountCount: Int {
        shards.reduce(0) { total, shard in total + shard.held.load(ordering: .relaxed) }
    }
}

extension RiskEngine {
    /// Transactions of a batch whose memory is prefetched together by ``score(batch:commit:outcome:)``.
    public static let batchWindow = 8

    /// What scoring needs from a transaction's strings, computed once, before any lock (trivial, so a
    /// window of them lives on the stack): one cache line. The accounts' hashes are not kept — only
    /// what they are for (the shard's mix, the counterparty mark; the fingerprint is computed in pass 1).
    struct BatchKeys {
        var idHash: UInt64
        var fingerprint: UInt64
        var originCode: UInt64
        var originMixedHash: UInt64
        var destinationCode: UInt64
        var destinationMixedHash: UInt64
        var originIndexHash: UInt32
        var originCounterpartyHash: UInt32
        var destinationIndexHash: UInt32
        var destinationCounterpartyHash: UInt32
    }

    /// Scores `transactions` in order, with exactly the results, state changes and `commit` calls of
    /// ``score(_:label:commit:)`` called on each in turn — also when several of them share an account or an
    /// id — but faster: the engine's memory for a window of ``batchWindow`` transactions is prefetched
    /// while the window before it is scored, so the cache misses of different transactions overlap instead
    /// of following one another.
    ///
    /// Windows are software-pipelined: window *k + 1* is prepared — every string hashed, then the id's
    /// index bucket and both accounts' home slots and the slots after them prefetched back to back (no
    /// lock) — before window *k* is scored, each transaction exactly as ``score(_:label:commit:)`` does.
    /// Preparing changes nothing, so the batch is observably a sequence of single calls (other threads may
    /// interleave their calls between those of the batch, as between single calls).
    ///
    /// Why this shape (measured, `fraud-core-bench`, 10 M accounts): a prefetch whose address misses the
    /// TLB holds up retirement until its page walk ends (in this KVM guest a nested walk, itself a memory
    /// access), so 24 prefetches issued together overlap their walks where 24 spread between the hashing
    /// of each transaction paid them one after another; and a window prefetched one window ahead gives its
    /// first transaction as much time for its lines to arrive as its last.
    ///
    /// - Parameters:
    ///   - transactions: Validated transactions, scored in their order.
    ///   - commit: Called with the transaction's index in `transactions` and each fresh assessment (or the
    ///     pending one of an id whose earlier commit failed), under the id's idempotency lock, as in
    ///     ``score(_:label:commit:)``; `false` keeps the decision pending.
    ///   - outcome: Called once per transaction, in order, with its index and the outcome (`nil` when
    ///     `commit` refused), before the next transaction is scored.
    public func score(
        batch transactions: ArraySlice<Transaction>,
        commit: (Int, Assessment) -> Bool,
        outcome: (Int, consuming ScoreOutcome?) -> Void
    ) {
        let window = Self.batchWindow
        // Two windows' keys: the one being scored and the one prepared ahead of it.
        withUnsafeTemporaryAllocation(of: BatchKeys.self, capacity: 2 * window) { keys in
            guard let base = keys.baseAddress else { return }
            var start = transactions.startIndex
            var end = min(start + window, transactions.endIndex)
            prepare(transactions, start..<end, into: base)
            var half = 0
            while start < end {
                let nextEnd = min(end + window, transactions.endIndex)
                prepare(transactions, end..<nextEnd, into: base + (1 - half) * window)
                scoreWindow(transactions, start..<end, keys: base + half * window, commit: commit, outcome: outcome)
                start = end
                end = nextEnd
                half = 1 - half
            }
        }
    }

    /// Computes the keys of `transactions[range]` into `keys` (initialising `range.count` elements), then
    /// prefetches what scoring them will read first. Takes no lock and changes nothing.
    @inline(__always)
    private func prepare(
        _ transactions: ArraySlice<Transaction>,
        _ range: Range<Int>,
        into keys: UnsafeMutablePointer<BatchKeys>
    ) {
        for index in range {
            // Field by field rather than `keys(of: transactions[index])`, which copies the whole transaction
            // (retaining and releasing its three strings) first; and the strings read in place, through a
            // buffer pointer: through the slice's subscript each would be copied (retained and released)
            // for the call it is passed to.
            let (idHash, originHash, originCode, destinationHash, destinationCode) =
                transactions.withUnsafeBufferPointer { buffer in
                    let position = index - transactions.startIndex
                    let origin = AccountKey.hashAndCode(of: buffer[position].originAccount)
                    let destination = AccountKey.hashAndCode(of: buffer[position].destinationAccount)
                    return (
                        IdentifierHash.hash(buffer[position].transactionID), origin.hash, origin.code,
                        destination.hash, destination.code
                    )
                }
            let fingerprint = transactions[index].fingerprint(
                transactionIDHash: idHash,
                originHash: originHash,
                destinationHash: destinationHash
            )
            // The keys' derived hashes only: no name (scoreWindow passes it where a table needs it).
            let origin = AccountKey(account: "", hash: originHash, code: originCode)
            let destination = AccountKey(account: "", hash: destinationHash, code: destinationCode)
            (keys + (index - range.lowerBound)).initialize(
                to: BatchKeys(
                    idHash: idHash,
                    fingerprint: fingerprint,
                    originCode: originCode,
                    originMixedHash: origin.mixedHash,
                    destinationCode: destinationCode,
                    destinationMixedHash: destination.mixedHash,
                    originIndexHash: origin.indexHash,
                    originCounterpartyHash: origin.counterpartyHash,
                    destinationIndexHash: destination.indexHash,
                    destinationCounterpartyHash: destination.counterpartyHash
                )
            )
        }
        // The window's prefetches back to back, after all of its hashing, so that their page walks overlap.
        for offset in 0..<range.count {
            let key = keys[offset]
            idempotency.prefetch(hash: key.idHash)
            velocity.prefetch(
                mixedHash: key.originMixedHash,
                code: key.originCode,
                indexHash: key.originIndexHash
            )
            velocity.prefetch(
                mixedHash: key.destinationMixedHash,
                code: key.destinationCode,
                indexHash: key.destinationIndexHash
            )
        }
    }

    /// Scores `transactions[range]`, whose keys ``prepare(_:_:into:)`` computed into `keys`, as
    /// ``score(_:label:commit:)`` would one by one.
    @inline(__always)
    private func scoreWindow(
        _ transactions: ArraySlice<Transaction>,
        _ range: Range<Int>,
        keys: UnsafeMutablePointer<BatchKeys>,
        commit: (Int, Assessment) -> Bool,
        outcome: (Int, consuming ScoreOutcome?) -> Void
    ) {
        for index in range {
            let key = keys[index - range.lowerBound]
            let figures = TransactionFigures(transactions[index], destinationCode: key.destinationCode)
            // The name only where the table needs it (no compact code: interned), so that building the key
            // retains no string.
            let origin = AccountKey(
                account: key.originCode == 0 ? transactions[index].originAccount : "",
                code: key.originCode,
                mixedHash: key.originMixedHash,
                indexHash: key.originIndexHash,
                counterpartyHash: key.originCounterpartyHash
            )
            let destination = AccountKey(
                account: key.destinationCode == 0 ? transactions[index].destinationAccount : "",
                code: key.destinationCode,
                mixedHash: key.destinationMixedHash,
                indexHash: key.destinationIndexHash,
                counterpartyHash: key.destinationCounterpartyHash
            )
            let result = idempotency.resolveIfCommitted(
                transactionID: transactions[index].transactionID,
                hash: key.idHash,
                fingerprint: key.fingerprint
            ) {
                let assessment = assess(
                    observe(
                        figures,
                        origin: origin,
                        destination: destination,
                        readsVelocity: decisionReadsVelocity
                    )
                )
                return (assessment, commit(index, assessment))
            } commit: { assessment in
                commit(index, assessment)
            }
            outcome(index, result)
        }
    }
}

extension RiskEngine {
    /// Scores like ``score(_:label:)`` and runs `commit` with a fresh assessment while the id's idempotency
    /// lock is still held: a concurrent duplicate can only be answered `replayed` after `commit` succeeded.
    /// The server uses it to journal a decision before anyone can see it.
    ///
    /// - Parameters:
    ///   - transaction: A validated transaction.
    ///   - label: Accepted for the caller's records; never used to score.
    ///   - commit: Called for a fresh decision (not for replays or conflicts). Returning `false` (a failed
    ///     journal write, which the caller reports as an error) keeps the decision pending: velocity has
    ///     counted the transaction once, and a retry with the same id and payload is not scored again —
    ///     `commit` is called with the decision made the first time, and on success the retry gets it as
    ///     `.scored`. See ``IdempotencyCache/resolveIfCommitted(transactionID:fingerprint:assessAndCommit:commit:)``.
    /// - Returns: The outcome, or `nil` when `commit` refused.
    public func score(
        _ transaction: Transaction,
        label: Label,
        commit: (Assessment) -> Bool
    ) -> ScoreOutcome? {
        _ = label
        let (idHash, origin, destination, fingerprint) = Self.keys(of: transaction)
        prefetch(idHash: idHash, origin: origin, destination: destination)
        let figures = TransactionFigures(transaction, destinationCode: destination.code)
        return idempotency.resolveIfCommitted(
            transactionID: transaction.transactionID,
            hash: idHash,
            fingerprint: fingerprint,
            assessAndCommit: {
                let assessment = assess(
                    observe(figures, origin: origin, destination: destination, readsVelocity: decisionReadsVelocity)
                )
                return (assessment, commit(assessment))
            },
            commit: commit
        )
    }

    /// Prefetches the index bucket the id's lookup starts at and the accounts' home slots and the slots after
    /// them (no lock; see ``VelocityStore/prefetch(mixedHash:code:indexHash:)``), so that their
    /// cache misses overlap instead of following one another.
    @inline(__always)
    func prefetch(idHash: UInt64, origin: AccountKey, destination: AccountKey) {
        idempotency.prefetch(hash: idHash)
        velocity.prefetch(mixedHash: origin.mixedHash, code: origin.code, indexHash: origin.indexHash)
        velocity.prefetch(
            mixedHash: destination.mixedHash,
            code: destination.code,
            indexHash: destination.indexHash
        )
    }

    /// Rebuilds state from a decision made before a restart (warm start): the velocity windows count it and
    /// the idempotency cache answers its id with the stored assessment. The model is not run.
    ///
    /// Feed decisions oldest first, before serving.
    public func restore(_ transaction: Transaction, assessment: Assessment) {
        let (idHash, origin, destination, fingerprint) = Self.keys(of: transaction)
        _ = idempotency.resolve(transactionID: transaction.transactionID, hash: idHash, fingerprint: fingerprint) {
            _ = observe(TransactionFigures(transaction), origin: origin, destination: destination, readsVelocity: false)
            return assessment
        }
    }
}

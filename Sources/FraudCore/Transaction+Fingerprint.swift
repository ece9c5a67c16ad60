extension Transaction {
    /// A 64-bit FNV-1a hash of every field of the transaction, used to tell a genuine retry (same id, same
    /// payload) from a conflicting reuse of an id.
    ///
    /// Deterministic across processes. The label is not part of a transaction and so never counts: a retry
    /// that only adds a label is still a retry. Not collision-resistant against a deliberate attacker, who
    /// could at worst get their own earlier decision back.
    public var fingerprint: UInt64 {
        var hasher = FNV1a()
        hasher.combine(transactionID)
        hasher.combine(UInt64(step))
        hasher.combine(UInt64(UInt32(bitPattern: type.rawValue)))
        hasher.combine(UInt64(bitPattern: amountCents))
        hasher.combine(originAccount)
        hasher.combine(UInt64(bitPattern: originBalanceBeforeCents))
        hasher.combine(UInt64(bitPattern: originBalanceAfterCents))
        hasher.combine(destinationAccount)
        hasher.combine(UInt64(bitPattern: destinationBalanceBeforeCents))
        hasher.combine(UInt64(bitPattern: destinationBalanceAfterCents))
        return hasher.value
    }
}

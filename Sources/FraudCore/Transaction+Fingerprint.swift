extension Transaction {
    /// A 64-bit hash of every field of the transaction, used to tell a genuine retry (same id, same payload)
    /// from a conflicting reuse of an id.
    ///
    /// The strings enter as their hash and length (the id's ``IdentifierHash`` and the accounts' hashes of
    /// `AccountKey.hashAndCode(of:)`, which the engine computes anyway, for shards and counterparties), the
    /// numbers as whole words; each word is mixed by a multiply and
    /// xor-shift, the result by MurmurHash3's finaliser. Deterministic across processes. The label is not
    /// part of a transaction and so never counts: a retry that only adds a label is still a retry. Not
    /// collision-resistant against a deliberate attacker, who could at worst get their own earlier decision
    /// back.
    public var fingerprint: UInt64 {
        fingerprint(
            transactionIDHash: IdentifierHash.hash(transactionID),
            originHash: AccountKey.hashAndCode(of: originAccount).hash,
            destinationHash: AccountKey.hashAndCode(of: destinationAccount).hash
        )
    }

    /// ``fingerprint`` from the hashes of the three strings, computed by the caller.
    @inline(__always)
    func fingerprint(transactionIDHash: UInt64, originHash: UInt64, destinationHash: UInt64) -> UInt64 {
        var hasher = WordHasher()
        hasher.combine(transactionIDHash)
        hasher.combine(UInt64(transactionID.utf8.count))
        hasher.combine(UInt64(step) << 32 | UInt64(UInt32(bitPattern: type.rawValue)))
        hasher.combine(UInt64(bitPattern: amountCents))
        hasher.combine(originHash)
        hasher.combine(UInt64(originAccount.utf8.count))
        hasher.combine(UInt64(bitPattern: originBalanceBeforeCents))
        hasher.combine(UInt64(bitPattern: originBalanceAfterCents))
        hasher.combine(destinationHash)
        hasher.combine(UInt64(destinationAccount.utf8.count))
        hasher.combine(UInt64(bitPattern: destinationBalanceBeforeCents))
        hasher.combine(UInt64(bitPattern: destinationBalanceAfterCents))
        return hasher.value.mixed
    }
}

/// Mixes 64-bit words into a running hash: `(h ^ w) · k`, then `h ^ (h >> 29)`; order-dependent.
struct WordHasher: Sendable {
    private(set) var value: UInt64 = FNV1a.offsetBasis

    @inline(__always)
    mutating func combine(_ word: UInt64) {
        var h = (value ^ word) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        value = h
    }
}

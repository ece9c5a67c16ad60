extension Transaction {
    /// Longest accepted `transaction_id`, in bytes (printable ASCII, so also in characters).
    public static let maxTransactionIDLength = 128
    /// Longest accepted account name, in bytes (printable ASCII, so also in characters).
    public static let maxAccountLength = 64
    /// Largest accepted amount or balance: 10^15 cents (10 trillion units). Keeps every sum and
    /// difference of a few amounts far from `Int64` overflow.
    public static let maxCents: Int64 = 1_000_000_000_000_000

    /// Checks every field of a wire transaction and returns the typed ``Transaction``.
    ///
    /// Fields are checked in wire order and the first failure is thrown. Field names in the error are the
    /// wire paths (`transaction.amount_cents`), rules say what is wrong with the figure
    /// (`must be > 0 (got -5)`). `step` accepts any value.
    ///
    /// - Parameter raw: The transaction as decoded from the wire.
    /// - Returns: The validated transaction.
    /// - Throws: ``ValidationError`` naming the first offending field.
    public static func validated(_ raw: RawTransaction) throws(ValidationError) -> Transaction {
        try checkIdentifier(
            raw.transactionID,
            field: "transaction.transaction_id",
            limit: maxTransactionIDLength
        )
        let type = try checkType(raw.typeRawValue)
        try checkAmount(raw.amountCents)
        try checkIdentifier(raw.originAccount, field: "transaction.origin_account", limit: maxAccountLength)
        try checkBalance(raw.originBalanceBeforeCents, field: "transaction.origin_balance_before_cents")
        try checkBalance(raw.originBalanceAfterCents, field: "transaction.origin_balance_after_cents")
        try checkIdentifier(
            raw.destinationAccount,
            field: "transaction.destination_account",
            limit: maxAccountLength
        )
        try checkBalance(
            raw.destinationBalanceBeforeCents,
            field: "transaction.destination_balance_before_cents"
        )
        try checkBalance(raw.destinationBalanceAfterCents, field: "transaction.destination_balance_after_cents")
        return Transaction(
            transactionID: raw.transactionID,
            step: raw.step,
            type: type,
            amountCents: raw.amountCents,
            originAccount: raw.originAccount,
            originBalanceBeforeCents: raw.originBalanceBeforeCents,
            originBalanceAfterCents: raw.originBalanceAfterCents,
            destinationAccount: raw.destinationAccount,
            destinationBalanceBeforeCents: raw.destinationBalanceBeforeCents,
            destinationBalanceAfterCents: raw.destinationBalanceAfterCents
        )
    }

    /// Non-empty, at most `limit` bytes, every byte printable ASCII (0x21...0x7E, so no spaces).
    private static func checkIdentifier(_ value: String, field: String, limit: Int) throws(ValidationError) {
        let length = value.utf8.count
        if length == 0 {
            throw ValidationError(field: field, rule: "is empty")
        }
        if length > limit {
            throw ValidationError(field: field, rule: "is \(length) characters long, limit is \(limit)")
        }
        // One pass over the bytes in place (every native String has them contiguous); `&-` folds both bounds
        // into one unsigned comparison.
        let isBad = { (byte: UInt8) in byte &- 0x21 > 0x7E - 0x21 }
        let offset =
            value.utf8.withContiguousStorageIfAvailable { $0.firstIndex(where: isBad) }
            ?? value.utf8.firstIndex(where: isBad).map { value.utf8.distance(from: value.utf8.startIndex, to: $0) }
        if let offset {
            throw ValidationError(
                field: field,
                rule: "contains a non-printable or non-ASCII character at offset \(offset)"
            )
        }
    }

    private static func checkType(_ rawValue: Int32) throws(ValidationError) -> TransactionType {
        if rawValue == 0 {
            throw ValidationError(field: "transaction.type", rule: "is TRANSACTION_TYPE_UNSPECIFIED")
        }
        guard let type = TransactionType(rawValue: rawValue) else {
            throw ValidationError(field: "transaction.type", rule: "has unknown value \(rawValue)")
        }
        return type
    }

    private static func checkAmount(_ cents: Int64) throws(ValidationError) {
        if cents <= 0 {
            throw ValidationError(field: "transaction.amount_cents", rule: "must be > 0 (got \(cents))")
        }
        if cents > maxCents {
            throw ValidationError(field: "transaction.amount_cents", rule: "exceeds 1e15 cents (got \(cents))")
        }
    }

    private static func checkBalance(_ cents: Int64, field: String) throws(ValidationError) {
        if cents < 0 {
            throw ValidationError(field: field, rule: "must be >= 0 (got \(cents))")
        }
        if cents > maxCents {
            throw ValidationError(field: field, rule: "exceeds 1e15 cents (got \(cents))")
        }
    }
}

extension ScoreRequest {
    /// Validates the whole request: the transaction must be present and valid, the label a known value.
    ///
    /// - Returns: The validated transaction and its label (``Label/unspecified`` for live traffic).
    /// - Throws: ``ValidationError`` with field `transaction` (`is required`), a `transaction.*` path, or
    ///   `label` (`has unknown value 7`).
    public func validated() throws(ValidationError) -> (Transaction, Label) {
        guard let raw = transaction else {
            throw ValidationError(field: "transaction", rule: "is required")
        }
        let validTransaction = try Transaction.validated(raw)
        guard let label = Label(rawValue: labelRawValue) else {
            throw ValidationError(field: "label", rule: "has unknown value \(labelRawValue)")
        }
        return (validTransaction, label)
    }
}

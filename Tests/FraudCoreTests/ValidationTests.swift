import FraudCore
import Testing

@Suite("Validation")
struct ValidationTests {
    /// One broken field and the error it must produce.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var mutate: @Sendable (inout RawTransaction) -> Void
        var field: String
        var rule: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "empty id",
            mutate: { $0.transactionID = "" },
            field: "transaction.transaction_id",
            rule: "is empty"
        ),
        Case(
            name: "200-character id",
            mutate: { $0.transactionID = String(repeating: "x", count: 200) },
            field: "transaction.transaction_id",
            rule: "is 200 characters long, limit is 128"
        ),
        Case(
            name: "129-character id",
            mutate: { $0.transactionID = String(repeating: "x", count: 129) },
            field: "transaction.transaction_id",
            rule: "is 129 characters long, limit is 128"
        ),
        Case(
            name: "space in id",
            mutate: { $0.transactionID = "ab c" },
            field: "transaction.transaction_id",
            rule: "contains a non-printable or non-ASCII character at offset 2"
        ),
        Case(
            name: "non-ASCII id",
            mutate: { $0.transactionID = "tx-é" },
            field: "transaction.transaction_id",
            rule: "contains a non-printable or non-ASCII character at offset 3"
        ),
        Case(
            name: "DEL in id",
            mutate: { $0.transactionID = "a\u{7F}" },
            field: "transaction.transaction_id",
            rule: "contains a non-printable or non-ASCII character at offset 1"
        ),
        Case(
            name: "unspecified type",
            mutate: { $0.typeRawValue = 0 },
            field: "transaction.type",
            rule: "is TRANSACTION_TYPE_UNSPECIFIED"
        ),
        Case(
            name: "unknown type",
            mutate: { $0.typeRawValue = 9 },
            field: "transaction.type",
            rule: "has unknown value 9"
        ),
        Case(
            name: "negative type",
            mutate: { $0.typeRawValue = -1 },
            field: "transaction.type",
            rule: "has unknown value -1"
        ),
        Case(
            name: "negative amount",
            mutate: { $0.amountCents = -5 },
            field: "transaction.amount_cents",
            rule: "must be > 0 (got -5)"
        ),
        Case(
            name: "zero amount",
            mutate: { $0.amountCents = 0 },
            field: "transaction.amount_cents",
            rule: "must be > 0 (got 0)"
        ),
        Case(
            name: "huge amount",
            mutate: { $0.amountCents = 1_000_000_000_000_001 },
            field: "transaction.amount_cents",
            rule: "exceeds 1e15 cents (got 1000000000000001)"
        ),
        Case(
            name: "empty origin",
            mutate: { $0.originAccount = "" },
            field: "transaction.origin_account",
            rule: "is empty"
        ),
        Case(
            name: "long origin",
            mutate: { $0.originAccount = String(repeating: "C", count: 65) },
            field: "transaction.origin_account",
            rule: "is 65 characters long, limit is 64"
        ),
        Case(
            name: "tab in origin",
            mutate: { $0.originAccount = "C1\t2" },
            field: "transaction.origin_account",
            rule: "contains a non-printable or non-ASCII character at offset 2"
        ),
        Case(
            name: "negative origin balance before",
            mutate: { $0.originBalanceBeforeCents = -1 },
            field: "transaction.origin_balance_before_cents",
            rule: "must be >= 0 (got -1)"
        ),
        Case(
            name: "negative origin balance after",
            mutate: { $0.originBalanceAfterCents = -1 },
            field: "transaction.origin_balance_after_cents",
            rule: "must be >= 0 (got -1)"
        ),
        Case(
            name: "empty destination",
            mutate: { $0.destinationAccount = "" },
            field: "transaction.destination_account",
            rule: "is empty"
        ),
        Case(
            name: "long destination",
            mutate: { $0.destinationAccount = String(repeating: "M", count: 100) },
            field: "transaction.destination_account",
            rule: "is 100 characters long, limit is 64"
        ),
        Case(
            name: "newline in destination",
            mutate: { $0.destinationAccount = "\nM1" },
            field: "transaction.destination_account",
            rule: "contains a non-printable or non-ASCII character at offset 0"
        ),
        Case(
            name: "negative destination balance before",
            mutate: { $0.destinationBalanceBeforeCents = -1 },
            field: "transaction.destination_balance_before_cents",
            rule: "must be >= 0 (got -1)"
        ),
        Case(
            name: "negative destination balance after",
            mutate: { $0.destinationBalanceAfterCents = -250 },
            field: "transaction.destination_balance_after_cents",
            rule: "must be >= 0 (got -250)"
        ),
        Case(
            name: "huge destination balance after",
            mutate: { $0.destinationBalanceAfterCents = .max },
            field: "transaction.destination_balance_after_cents",
            rule: "exceeds 1e15 cents (got 9223372036854775807)"
        ),
    ]

    @Test("A broken field is reported with its wire path and what is wrong", arguments: cases)
    func rejectsField(_ testCase: Case) {
        var raw = Fixtures.raw()
        testCase.mutate(&raw)
        #expect(throws: ValidationError(field: testCase.field, rule: testCase.rule)) {
            try Transaction.validated(raw)
        }
    }

    @Test("A valid transaction keeps every field")
    func acceptsValid() throws {
        let raw = Fixtures.raw(id: String(repeating: "~", count: 128), step: 743, type: 3)
        let transaction = try Transaction.validated(raw)
        #expect(transaction.transactionID == raw.transactionID)
        #expect(transaction.step == 743)
        #expect(transaction.type == .cashOut)
        #expect(transaction.amountCents == raw.amountCents)
        #expect(transaction.originAccount == raw.originAccount)
        #expect(transaction.originBalanceBeforeCents == raw.originBalanceBeforeCents)
        #expect(transaction.originBalanceAfterCents == raw.originBalanceAfterCents)
        #expect(transaction.destinationAccount == raw.destinationAccount)
        #expect(transaction.destinationBalanceBeforeCents == raw.destinationBalanceBeforeCents)
        #expect(transaction.destinationBalanceAfterCents == raw.destinationBalanceAfterCents)
    }

    @Test("Limits are inclusive", arguments: [Int64(1), Transaction.maxCents])
    func acceptsBoundaryAmounts(_ cents: Int64) throws {
        let raw = Fixtures.raw(amountCents: cents, originBefore: Transaction.maxCents, originAfter: 0)
        #expect(try Transaction.validated(raw).amountCents == cents)
    }

    @Test("The first broken field in wire order is the one reported")
    func reportsFirstField() {
        let raw = Fixtures.raw(id: "", amountCents: -5)
        #expect(throws: ValidationError(field: "transaction.transaction_id", rule: "is empty")) {
            try Transaction.validated(raw)
        }
    }

    @Test("A request without a transaction is rejected")
    func requiresTransaction() {
        #expect(throws: ValidationError(field: "transaction", rule: "is required")) {
            try ScoreRequest(transaction: nil, labelRawValue: 1).validated()
        }
    }

    @Test("Unknown labels are rejected")
    func rejectsUnknownLabel() {
        #expect(throws: ValidationError(field: "label", rule: "has unknown value 7")) {
            try ScoreRequest(transaction: Fixtures.raw(), labelRawValue: 7).validated()
        }
    }

    @Test("Known labels pass through", arguments: [(Int32(0), Label.unspecified), (1, .legitimate), (2, .fraud)])
    func acceptsLabel(_ raw: Int32, _ expected: Label) throws {
        let (transaction, label) = try ScoreRequest(transaction: Fixtures.raw(), labelRawValue: raw).validated()
        #expect(label == expected)
        #expect(transaction.transactionID == "tx-1")
    }

    @Test("The transaction is checked before the label")
    func checksTransactionFirst() {
        #expect(throws: ValidationError(field: "transaction.amount_cents", rule: "must be > 0 (got -5)")) {
            try ScoreRequest(transaction: Fixtures.raw(amountCents: -5), labelRawValue: 9).validated()
        }
    }

    @Test("The description reads as one sentence")
    func describes() {
        let error = ValidationError(field: "transaction.amount_cents", rule: "must be > 0 (got -5)")
        #expect(error.description == "transaction.amount_cents must be > 0 (got -5)")
    }
}

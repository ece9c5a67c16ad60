/// The kind of a PaySim transaction (`type` column). Raw values are the wire enum's values.
public enum TransactionType: Int32, Sendable, Hashable, CaseIterable {
    case payment = 1
    case transfer = 2
    case cashOut = 3
    case cashIn = 4
    case debit = 5

    /// The PaySim CSV spelling (`PAYMENT`, `TRANSFER`, `CASH_OUT`, `CASH_IN`, `DEBIT`).
    public var paysimName: String {
        switch self {
        case .payment: "PAYMENT"
        case .transfer: "TRANSFER"
        case .cashOut: "CASH_OUT"
        case .cashIn: "CASH_IN"
        case .debit: "DEBIT"
        }
    }

    /// Parses the PaySim CSV spelling; `nil` for anything else.
    public init?(paysimName: some StringProtocol) {
        switch paysimName {
        case "PAYMENT": self = .payment
        case "TRANSFER": self = .transfer
        case "CASH_OUT": self = .cashOut
        case "CASH_IN": self = .cashIn
        case "DEBIT": self = .debit
        default: return nil
        }
    }
}

/// Known outcome of a transaction, sent only by backfills of labelled history. Never used to score.
public enum Label: Int32, Sendable, Hashable {
    case unspecified = 0
    case legitimate = 1
    case fraud = 2
}

/// One payment event, validated (see ``Transaction/validated(_:)``). Money is in integer cents.
public struct Transaction: Sendable, Hashable {
    /// Idempotency key: 1...128 printable ASCII characters.
    public var transactionID: String
    /// Event time in hours since the ledger's start (PaySim `step`).
    public var step: UInt32
    public var type: TransactionType
    /// Always > 0.
    public var amountCents: Int64
    public var originAccount: String
    public var originBalanceBeforeCents: Int64
    public var originBalanceAfterCents: Int64
    public var destinationAccount: String
    public var destinationBalanceBeforeCents: Int64
    public var destinationBalanceAfterCents: Int64

    /// Creates a transaction without validating it; use ``validated(_:)`` on untrusted input.
    public init(
        transactionID: String,
        step: UInt32,
        type: TransactionType,
        amountCents: Int64,
        originAccount: String,
        originBalanceBeforeCents: Int64,
        originBalanceAfterCents: Int64,
        destinationAccount: String,
        destinationBalanceBeforeCents: Int64,
        destinationBalanceAfterCents: Int64
    ) {
        self.transactionID = transactionID
        self.step = step
        self.type = type
        self.amountCents = amountCents
        self.originAccount = originAccount
        self.originBalanceBeforeCents = originBalanceBeforeCents
        self.originBalanceAfterCents = originBalanceAfterCents
        self.destinationAccount = destinationAccount
        self.destinationBalanceBeforeCents = destinationBalanceBeforeCents
        self.destinationBalanceAfterCents = destinationBalanceAfterCents
    }
}

/// A transaction exactly as decoded from the wire, before validation: the type is a raw enum value
/// and nothing has been checked.
public struct RawTransaction: Sendable, Hashable {
    public var transactionID: String
    public var step: UInt32
    /// The wire enum value; may be 0 (unspecified) or unknown.
    public var typeRawValue: Int32
    public var amountCents: Int64
    public var originAccount: String
    public var originBalanceBeforeCents: Int64
    public var originBalanceAfterCents: Int64
    public var destinationAccount: String
    public var destinationBalanceBeforeCents: Int64
    public var destinationBalanceAfterCents: Int64

    public init(
        transactionID: String = "",
        step: UInt32 = 0,
        typeRawValue: Int32 = 0,
        amountCents: Int64 = 0,
        originAccount: String = "",
        originBalanceBeforeCents: Int64 = 0,
        originBalanceAfterCents: Int64 = 0,
        destinationAccount: String = "",
        destinationBalanceBeforeCents: Int64 = 0,
        destinationBalanceAfterCents: Int64 = 0
    ) {
        self.transactionID = transactionID
        self.step = step
        self.typeRawValue = typeRawValue
        self.amountCents = amountCents
        self.originAccount = originAccount
        self.originBalanceBeforeCents = originBalanceBeforeCents
        self.originBalanceAfterCents = originBalanceAfterCents
        self.destinationAccount = destinationAccount
        self.destinationBalanceBeforeCents = destinationBalanceBeforeCents
        self.destinationBalanceAfterCents = destinationBalanceAfterCents
    }
}

/// A decoded `ScoreRequest`: the transaction (nil when the field was absent) and its label.
public struct ScoreRequest: Sendable, Hashable {
    public var transaction: RawTransaction?
    /// Wire enum value of the label; validated together with the transaction.
    public var labelRawValue: Int32

    public init(transaction: RawTransaction?, labelRawValue: Int32 = 0) {
        self.transaction = transaction
        self.labelRawValue = labelRawValue
    }
}

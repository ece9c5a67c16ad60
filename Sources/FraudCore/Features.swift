/// The model's inputs for one transaction, computed by ``FeatureExtractor/features(for:origin:destination:)``.
///
/// Serving and offline training use the same extractor, so what a model is trained on is exactly what it
/// sees live. The raw `step` is deliberately absent (it leaks the label in PaySim); only the hour of day is
/// kept. Raw amounts and balances are carried along for reason details.
public struct Features: Sendable, Hashable {
    /// The transaction type (see also the one-hot columns of ``values``).
    public var type: TransactionType
    /// `step % 24`: the hour of the simulated day, 0...23.
    public var hourOfDay: UInt8
    /// The amount, in cents.
    public var amountCents: Int64
    /// `log10(amountCents)` (amounts are ≥ 1 cent, so ≥ 0).
    public var log10AmountCents: Double
    /// Origin balance before, in cents.
    public var originBalanceBeforeCents: Int64
    /// Origin balance after, in cents.
    public var originBalanceAfterCents: Int64
    /// Destination balance before, in cents.
    public var destinationBalanceBeforeCents: Int64
    /// Destination balance after, in cents.
    public var destinationBalanceAfterCents: Int64
    /// `origin before − amount − origin after`: 0 when the origin's books add up.
    public var originBalanceErrorCents: Int64
    /// `destination before + amount − destination after`: 0 when the destination's books add up.
    public var destinationBalanceErrorCents: Int64
    /// The origin had money and ends at zero, the amount covering at least the whole balance.
    public var isOriginDrained: Bool
    /// The destination is a merchant (PaySim names merchants `M…`); merchants' balances are not tracked.
    public var isDestinationMerchant: Bool
    /// A TRANSFER or CASH_OUT to a customer whose balance did not move despite the credit.
    public var isDestinationBalanceUnchanged: Bool
    /// `amount / origin balance before`, capped at ``maxAmountToBalanceRatio`` (also used when the
    /// balance is zero).
    public var amountToOriginBalanceRatio: Double
    /// Origin velocity before this transaction.
    public var origin: VelocitySnapshot
    /// Destination velocity before this transaction.
    public var destination: VelocitySnapshot

    /// Cap of ``amountToOriginBalanceRatio``.
    public static let maxAmountToBalanceRatio = 1_000.0

    /// Names of ``values``, in order; the header of a training matrix.
    public static let columnNames: [String] = [
        "type_payment", "type_transfer", "type_cash_out", "type_cash_in", "type_debit",
        "hour_of_day", "log10_amount_cents", "amount_to_origin_balance_ratio",
        "origin_balance_error", "destination_balance_error",
        "origin_drained", "destination_merchant", "destination_balance_unchanged",
        "origin_count_1", "origin_amount_1", "origin_count_24", "origin_amount_24",
        "origin_counterparties_24", "origin_seen_before", "origin_steps_since_seen",
        "destination_count_1", "destination_amount_1", "destination_count_24", "destination_amount_24",
        "destination_counterparties_24", "destination_seen_before", "destination_steps_since_seen",
    ]

    /// The first velocity column of ``columnNames`` (`origin_count_1`): columns from here on are read from the
    /// accounts' velocity windows, the ones before from the transaction alone.
    public static let firstVelocityColumn = 13

    /// The features as numbers, in ``columnNames`` order, for training and for trained models.
    ///
    /// Money is in units (cents / 100). Never-seen accounts have `*_seen_before = 0` and
    /// `*_steps_since_seen = -1`.
    /// - Important: Allocates an array: meant for offline use, not for the scoring hot path (there, use
    ///   ``value(at:)``, which this is built from, so both always agree).
    public var values: [Double] {
        (0..<Self.columnNames.count).map { value(at: $0) }
    }

    /// One feature as a number: column `index` of ``values`` (named `columnNames[index]`), without allocating.
    ///
    /// - Parameter index: `0..<Features.columnNames.count`.
    /// - Returns: The value; traps on an index out of range.
    @inline(__always)
    public func value(at index: Int) -> Double {
        func oneHot(_ candidate: TransactionType) -> Double { type == candidate ? 1 : 0 }
        func flag(_ value: Bool) -> Double { value ? 1 : 0 }
        func units(_ cents: Int64) -> Double { Double(cents) / 100 }
        func velocity(_ snapshot: VelocitySnapshot, _ field: Int) -> Double {
            switch field {
            case 0: Double(snapshot.countLastStep)
            case 1: units(snapshot.amountLastStepCents)
            case 2: Double(snapshot.countLast24Steps)
            case 3: units(snapshot.amountLast24StepsCents)
            case 4: Double(snapshot.distinctCounterpartiesLast24Steps)
            case 5: flag(!snapshot.isUnseen)
            default: snapshot.stepsSinceLastSeen.map(Double.init) ?? -1
            }
        }
        switch index {
        case 0: return oneHot(.payment)
        case 1: return oneHot(.transfer)
        case 2: return oneHot(.cashOut)
        case 3: return oneHot(.cashIn)
        case 4: return oneHot(.debit)
        case 5: return Double(hourOfDay)
        case 6: return log10AmountCents
        case 7: return amountToOriginBalanceRatio
        case 8: return units(originBalanceErrorCents)
        case 9: return units(destinationBalanceErrorCents)
        case 10: return flag(isOriginDrained)
        case 11: return flag(isDestinationMerchant)
        case 12: return flag(isDestinationBalanceUnchanged)
        case 13...19: return velocity(origin, index - 13)
        case 20...26: return velocity(destination, index - 20)
        default: preconditionFailure("feature index \(index) out of range 0..<\(Self.columnNames.count)")
        }
    }
}

/// Computes ``Features``: one pure, deterministic function shared by serving and offline training.
public enum FeatureExtractor {
    /// Computes the features of `transaction` given both accounts' velocity before it.
    ///
    /// Pure: no clock, no randomness, no shared state; identical inputs give bit-identical outputs on
    /// every platform (the logarithm is computed in Swift, not by the C library).
    ///
    /// - Parameters:
    ///   - transaction: A validated transaction (unvalidated extremes saturate rather than trap).
    ///   - origin: The origin account's velocity before this transaction.
    ///   - destination: The destination account's velocity before this transaction.
    /// - Returns: The features.
    public static func features(
        for transaction: Transaction,
        origin: VelocitySnapshot,
        destination: VelocitySnapshot
    ) -> Features {
        features(for: TransactionFigures(transaction), origin: origin, destination: destination)
    }

    /// ``features(for:origin:destination:)`` from the transaction's figures alone (no strings, so the hot path
    /// passes them around without retaining anything).
    static func features(
        for transaction: TransactionFigures,
        origin: VelocitySnapshot,
        destination: VelocitySnapshot
    ) -> Features {
        let amount = transaction.amountCents
        let originBefore = transaction.originBalanceBeforeCents
        let originAfter = transaction.originBalanceAfterCents
        let destinationBefore = transaction.destinationBalanceBeforeCents
        let destinationAfter = transaction.destinationBalanceAfterCents
        let isMerchant = transaction.isDestinationMerchant
        let movesMoneyOut = transaction.type == .transfer || transaction.type == .cashOut
        let ratio: Double =
            originBefore > 0
            ? min(Double(amount) / Double(originBefore), Features.maxAmountToBalanceRatio)
            : Features.maxAmountToBalanceRatio
        return Features(
            type: transaction.type,
            hourOfDay: UInt8(transaction.step % 24),
            amountCents: amount,
            log10AmountCents: amount > 0 ? Logarithm.base10(Double(amount)) : 0,
            originBalanceBeforeCents: originBefore,
            originBalanceAfterCents: originAfter,
            destinationBalanceBeforeCents: destinationBefore,
            destinationBalanceAfterCents: destinationAfter,
            originBalanceErrorCents: originBefore.saturatingSubtract(amount).saturatingSubtract(originAfter),
            destinationBalanceErrorCents: destinationBefore.saturatingAdd(amount)
                .saturatingSubtract(destinationAfter),
            isOriginDrained: originAfter == 0 && originBefore > 0 && amount >= originBefore,
            isDestinationMerchant: isMerchant,
            isDestinationBalanceUnchanged: movesMoneyOut && !isMerchant && amount > 0
                && destinationBefore == destinationAfter,
            amountToOriginBalanceRatio: ratio,
            origin: origin,
            destination: destination
        )
    }
}

/// What scoring needs of a ``Transaction`` besides its strings: trivial, so it is copied without retaining.
struct TransactionFigures {
    var step: UInt32
    var type: TransactionType
    var amountCents: Int64
    var originBalanceBeforeCents: Int64
    var originBalanceAfterCents: Int64
    var destinationBalanceBeforeCents: Int64
    var destinationBalanceAfterCents: Int64
    /// The destination's name starts with `M` (PaySim's merchants).
    var isDestinationMerchant: Bool

    @inline(__always)
    init(_ transaction: borrowing Transaction) {
        self.init(transaction, destinationCode: 0)
    }

    /// The figures of `transaction`, whose destination's ``AccountCode`` is `destinationCode` (computed by the
    /// caller already; 0 when it has none or it is not known): with a code, whether the destination is a
    /// merchant is read from it, not from the name.
    @inline(__always)
    init(_ transaction: borrowing Transaction, destinationCode: UInt64) {
        step = transaction.step
        type = transaction.type
        amountCents = transaction.amountCents
        originBalanceBeforeCents = transaction.originBalanceBeforeCents
        originBalanceAfterCents = transaction.originBalanceAfterCents
        destinationBalanceBeforeCents = transaction.destinationBalanceBeforeCents
        destinationBalanceAfterCents = transaction.destinationBalanceAfterCents
        isDestinationMerchant =
            destinationCode != 0
            ? AccountCode.isMerchant(destinationCode)
            : transaction.destinationAccount.utf8.first == UInt8(ascii: "M")
    }
}

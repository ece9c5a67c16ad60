/// The readable reasons a trained model's contributions are grouped onto: each feature column belongs to
/// one group, and a group's code and detail depend on the transaction (a drained origin reads
/// `ORIGIN_DRAINED`, a partly debited one `ORIGIN_BALANCE`).
enum ReasonGroup: UInt8, CaseIterable, Sendable {
    case transactionType
    case originBalance
    case destinationBalance
    case amount
    case hourOfDay
    case originVelocity1h
    case originVelocity24h
    case originHistory
    case destinationVelocity
    case destinationHistory

    /// Group of each column of ``Features/columnNames``, by index.
    private static let byColumn: [ReasonGroup] = Features.columnNames.map { name in
        switch name {
        case "type_payment", "type_transfer", "type_cash_out", "type_cash_in", "type_debit": .transactionType
        case "hour_of_day": .hourOfDay
        case "log10_amount_cents": .amount
        case "amount_to_origin_balance_ratio", "origin_balance_error", "origin_drained": .originBalance
        case "destination_balance_error", "destination_merchant", "destination_balance_unchanged":
            .destinationBalance
        case "origin_count_1", "origin_amount_1": .originVelocity1h
        case "origin_count_24", "origin_amount_24", "origin_counterparties_24": .originVelocity24h
        case "origin_seen_before", "origin_steps_since_seen": .originHistory
        case "destination_seen_before", "destination_steps_since_seen": .destinationHistory
        default: .destinationVelocity
        }
    }

    /// The group of feature column `index`.
    @inline(__always)
    static func of(column index: Int) -> ReasonGroup { byColumn[index] }

    /// The reason code and its sentence for this transaction.
    func explain(_ features: Features) -> (code: String, detail: String) {
        let rules = RiskModel.default
        let movesMoneyOut = features.type == .transfer || features.type == .cashOut
        let type = features.type.paysimName
        let amount = Money.format(cents: features.amountCents)
        switch self {
        case .transactionType:
            if movesMoneyOut {
                return (Reason.Code.riskyType, Rule.riskyType.detail(for: features, model: rules))
            }
            return (Reason.Code.transactionType, concatenate("a ", type, " of ", amount))
        case .originBalance:
            if features.isOriginDrained {
                return (Reason.Code.originDrained, Rule.originDrained.detail(for: features, model: rules))
            }
            if features.originBalanceErrorCents != 0 {
                return (
                    Reason.Code.originBalanceMismatch,
                    Rule.originBalanceMismatch.detail(for: features, model: rules)
                )
            }
            return (
                Reason.Code.originBalance,
                concatenate(
                    "origin balance went from ",
                    Money.format(cents: features.originBalanceBeforeCents),
                    " to ",
                    Money.format(cents: features.originBalanceAfterCents),
                    " on a ",
                    type,
                    " of ",
                    amount
                )
            )
        case .destinationBalance:
            if features.isDestinationBalanceUnchanged {
                return (
                    Reason.Code.destinationBalanceUnchanged,
                    Rule.destinationBalanceUnchanged.detail(for: features, model: rules)
                )
            }
            if features.isDestinationMerchant {
                return (
                    Reason.Code.destinationMerchant,
                    concatenate("destination is a merchant (balance not tracked) receiving ", amount)
                )
            }
            if features.destinationBalanceErrorCents != 0 {
                return (
                    Reason.Code.destinationBalanceMismatch,
                    Rule.destinationBalanceMismatch.detail(for: features, model: rules)
                )
            }
            return (
                Reason.Code.destinationBalance,
                concatenate(
                    "destination balance went from ",
                    Money.format(cents: features.destinationBalanceBeforeCents),
                    " to ",
                    Money.format(cents: features.destinationBalanceAfterCents),
                    " on a ",
                    type,
                    " of ",
                    amount
                )
            )
        case .amount:
            if features.amountCents >= rules.highAmountCents {
                return (Reason.Code.highAmount, Rule.highAmount.detail(for: features, model: rules))
            }
            return (Reason.Code.amount, concatenate("amount of ", amount, " for a ", type))
        case .hourOfDay:
            if movesMoneyOut, rules.nightHours.contains(features.hourOfDay) {
                return (Reason.Code.nightHour, Rule.nightHour.detail(for: features, model: rules))
            }
            return (Reason.Code.hourOfDay, concatenate(type, " of ", amount, " at hour ", String(features.hourOfDay)))
        case .originVelocity1h:
            return (
                Reason.Code.originVelocity1h,
                concatenate(
                    "origin already made ",
                    String(features.origin.countLastStep),
                    " transactions totalling ",
                    Money.format(cents: features.origin.amountLastStepCents),
                    " in this hour"
                )
            )
        case .originVelocity24h:
            return (
                Reason.Code.originVelocity24h,
                concatenate(
                    "origin already made ",
                    String(features.origin.countLast24Steps),
                    " transactions totalling ",
                    Money.format(cents: features.origin.amountLast24StepsCents),
                    " with ",
                    String(features.origin.distinctCounterpartiesLast24Steps),
                    " distinct counterparties in the last 24 hours"
                )
            )
        case .originHistory:
            guard let since = features.origin.stepsSinceLastSeen else {
                return (Reason.Code.newOrigin, concatenate("origin account not seen before sends ", amount))
            }
            return (
                Reason.Code.originHistory,
                concatenate("origin account last seen ", String(since), " hours ago")
            )
        case .destinationVelocity:
            let distinct = features.destination.distinctCounterpartiesLast24Steps
            let code =
                movesMoneyOut && distinct >= rules.destinationFanInCounterparties
                ? Reason.Code.destinationFanIn : Reason.Code.destinationActivity
            return (
                code,
                concatenate(
                    "destination dealt with ",
                    String(distinct),
                    " distinct accounts in ",
                    String(features.destination.countLast24Steps),
                    " transactions totalling ",
                    Money.format(cents: features.destination.amountLast24StepsCents),
                    " in the last 24 hours"
                )
            )
        case .destinationHistory:
            guard let since = features.destination.stepsSinceLastSeen else {
                return (Reason.Code.newDestination, "destination account not seen before")
            }
            return (
                Reason.Code.destinationHistory,
                concatenate("destination account last seen ", String(since), " hours ago")
            )
        }
    }
}

extension Reason.Code {
    /// Trained models: the transaction type (PAYMENT, CASH_IN, DEBIT) raised the score.
    public static let transactionType = "TRANSACTION_TYPE"
    /// Trained models: the origin's balance movement (books add up, not drained) raised the score.
    public static let originBalance = "ORIGIN_BALANCE"
    /// Trained models: the destination is a merchant.
    public static let destinationMerchant = "DESTINATION_MERCHANT"
    /// Trained models: the destination's balance movement raised the score.
    public static let destinationBalance = "DESTINATION_BALANCE"
    /// Trained models: the amount (below the HIGH_AMOUNT limit) raised the score.
    public static let amount = "AMOUNT"
    /// Trained models: the hour of day (outside the night) raised the score.
    public static let hourOfDay = "HOUR_OF_DAY"
    /// Trained models: the origin account was never seen (in the idle horizon).
    public static let newOrigin = "NEW_ORIGIN"
    /// Trained models: when the origin account was last seen raised the score.
    public static let originHistory = "ORIGIN_HISTORY"
    /// Trained models: the destination's recent activity raised the score.
    public static let destinationActivity = "DESTINATION_ACTIVITY"
    /// Trained models: the destination account was never seen (in the idle horizon).
    public static let newDestination = "NEW_DESTINATION"
    /// Trained models: when the destination account was last seen raised the score.
    public static let destinationHistory = "DESTINATION_HISTORY"
}

/// Concatenates `parts` into a string allocated once, at its exact size (no array for the parts).
private func concatenate<each Part: StringProtocol>(_ parts: repeat each Part) -> String {
    var length = 0
    for part in repeat each parts {
        length += part.utf8.count
    }
    var result = String()
    result.reserveCapacity(length)
    for part in repeat each parts {
        result.append(contentsOf: part)
    }
    return result
}

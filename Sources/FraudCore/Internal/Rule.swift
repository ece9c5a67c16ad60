/// The rules of ``RiskModel``, in tie-break order.
enum Rule: UInt8, CaseIterable, Sendable {
    case riskyType
    case originDrained
    case originBalanceMismatch
    case destinationBalanceUnchanged
    case destinationBalanceMismatch
    case highAmount
    case originVelocity1h
    case originVelocity24h
    case destinationFanIn
    case newOriginLargeAmount
    case nightHour

    var code: String {
        switch self {
        case .riskyType: Reason.Code.riskyType
        case .originDrained: Reason.Code.originDrained
        case .originBalanceMismatch: Reason.Code.originBalanceMismatch
        case .destinationBalanceUnchanged: Reason.Code.destinationBalanceUnchanged
        case .destinationBalanceMismatch: Reason.Code.destinationBalanceMismatch
        case .highAmount: Reason.Code.highAmount
        case .originVelocity1h: Reason.Code.originVelocity1h
        case .originVelocity24h: Reason.Code.originVelocity24h
        case .destinationFanIn: Reason.Code.destinationFanIn
        case .newOriginLargeAmount: Reason.Code.newOriginLargeAmount
        case .nightHour: Reason.Code.nightHour
        }
    }

    func fires(on features: Features, model: RiskModel) -> Bool {
        let movesMoneyOut = features.type == .transfer || features.type == .cashOut
        switch self {
        case .riskyType:
            return movesMoneyOut
        case .originDrained:
            return features.isOriginDrained && features.originBalanceErrorCents == 0
        case .originBalanceMismatch:
            return features.originBalanceBeforeCents > 0 && !features.isOriginDrained
                && features.originBalanceErrorCents != 0
        case .destinationBalanceUnchanged:
            return features.isDestinationBalanceUnchanged
        case .destinationBalanceMismatch:
            return !features.isDestinationMerchant && !features.isDestinationBalanceUnchanged
                && features.destinationBalanceErrorCents != 0
                && features.destinationBalanceBeforeCents != features.destinationBalanceAfterCents
        case .highAmount:
            return features.amountCents >= model.highAmountCents
        case .originVelocity1h:
            return features.origin.countLastStep >= model.originVelocity1hCount
        case .originVelocity24h:
            return features.origin.countLast24Steps >= model.originVelocity24hCount
        case .destinationFanIn:
            return movesMoneyOut
                && features.destination.distinctCounterpartiesLast24Steps >= model.destinationFanInCounterparties
        case .newOriginLargeAmount:
            return features.origin.isUnseen && features.amountCents >= model.newOriginLargeAmountCents
        case .nightHour:
            return movesMoneyOut && model.nightHours.contains(features.hourOfDay)
        }
    }

    /// One sentence with the figures, money as `1234.56`.
    func detail(for features: Features, model: RiskModel) -> String {
        let amount = Money.format(cents: features.amountCents)
        let type = features.type.paysimName
        switch self {
        case .riskyType:
            return sentence(type, " of ", amount, " moves money out of the origin account")
        case .originDrained:
            return sentence(
                "origin balance ",
                Money.format(cents: features.originBalanceBeforeCents),
                " fully drained by a ",
                type,
                " of ",
                amount
            )
        case .originBalanceMismatch:
            return sentence(
                "origin balance went from ",
                Money.format(cents: features.originBalanceBeforeCents),
                " to ",
                Money.format(cents: features.originBalanceAfterCents),
                " on a ",
                type,
                " of ",
                amount,
                " (off by ",
                Money.format(cents: features.originBalanceErrorCents),
                ")"
            )
        case .destinationBalanceUnchanged:
            return sentence(
                "destination balance stayed at ",
                Money.format(cents: features.destinationBalanceAfterCents),
                " despite a ",
                type,
                " of ",
                amount
            )
        case .destinationBalanceMismatch:
            return sentence(
                "destination balance went from ",
                Money.format(cents: features.destinationBalanceBeforeCents),
                " to ",
                Money.format(cents: features.destinationBalanceAfterCents),
                " on a ",
                type,
                " of ",
                amount,
                " (off by ",
                Money.format(cents: features.destinationBalanceErrorCents),
                ")"
            )
        case .highAmount:
            return sentence(type, " of ", amount, " is at or above ", Money.format(cents: model.highAmountCents))
        case .originVelocity1h:
            return sentence(
                "origin already made ",
                String(features.origin.countLastStep),
                " transactions totalling ",
                Money.format(cents: features.origin.amountLastStepCents),
                " in this hour (limit ",
                String(model.originVelocity1hCount),
                ")"
            )
        case .originVelocity24h:
            return sentence(
                "origin already made ",
                String(features.origin.countLast24Steps),
                " transactions totalling ",
                Money.format(cents: features.origin.amountLast24StepsCents),
                " in the last 24 hours (limit ",
                String(model.originVelocity24hCount),
                ")"
            )
        case .destinationFanIn:
            let distinct = features.destination.distinctCounterpartiesLast24Steps
            let atCap = distinct >= UInt32(VelocityStore.maxTrackedCounterparties)
            return sentence(
                "destination dealt with ",
                String(distinct),
                atCap ? " or more" : "",
                " distinct accounts in the last 24 hours (limit ",
                String(model.destinationFanInCounterparties),
                ")"
            )
        case .newOriginLargeAmount:
            return sentence(
                "origin account not seen before sends ",
                amount,
                " (limit ",
                Money.format(cents: model.newOriginLargeAmountCents),
                ")"
            )
        case .nightHour:
            return sentence(
                type,
                " of ",
                amount,
                " at hour ",
                String(features.hourOfDay),
                " (night is ",
                String(model.nightHours.lowerBound),
                "-",
                String(model.nightHours.upperBound),
                ")"
            )
        }
    }
}

/// Concatenates `parts` into a string allocated once, at its exact size. A parameter pack rather than
/// `String...`, which would allocate an array per call.
private func sentence<each Part: StringProtocol>(_ parts: repeat each Part) -> String {
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

/// A set of rules as a bit mask: no allocation.
struct RuleSet: Sendable {
    private var bits: UInt32 = 0

    mutating func insert(_ rule: Rule) {
        bits |= 1 << UInt32(rule.rawValue)
    }

    func contains(_ rule: Rule) -> Bool {
        bits & (1 << UInt32(rule.rawValue)) != 0
    }

    var count: Int { bits.nonzeroBitCount }
}

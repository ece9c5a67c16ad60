/// The v1 rule-based model: additive rules with weights and thresholds read from this value, so a trained
/// model (or re-tuned weights) can replace it without touching the engine.
///
/// Each rule that fires contributes its weight and one ``Reason``. The score is the plain sum of those
/// weights, clamped to `0...1` and rounded to 4 decimals: no logistic, so a reason's weight reads directly
/// as "points of risk" and the listed weights add up to the unclamped score (the rounding only removes
/// float noise such as `0.1 + 0.7 = 0.79999995`, so scores compare exactly against thresholds like `0.8`).
/// Reasons are sorted by weight, heaviest first (ties in rule order); rules with weight ≤ 0 never fire.
///
/// Default weights were chosen on the PaySim uniform sample (steps 1–400, legit rows weighted 256.37):
/// in PaySim an account takeover moves the *whole* balance, to the cent, with a TRANSFER or CASH_OUT, and
/// the receiving mule's balance often does not move; ordinary PAYMENT / CASH_IN do neither. Broken
/// balance equations are *not* a fraud signal there (a quarter to a third of legitimate rows have one, few
/// frauds do), so both mismatch rules default to weight 0 (never listed) and ``originDrainedWeight``
/// requires the origin's books to add up. Raise them for a ledger whose balances normally reconcile.
///
/// `Codable`, so re-tuned weights can be loaded from a file without a rebuild.
public struct RiskModel: Sendable, Hashable, Codable {
    /// Reported with every assessment, e.g. `rules-v1`.
    public var version: String

    /// `RISKY_TYPE`: TRANSFER or CASH_OUT, the only types that move money out of a taken-over account.
    public var riskyTypeWeight: Float
    /// `ORIGIN_DRAINED`: the whole origin balance leaves, exactly (after = 0, amount = before > 0).
    public var originDrainedWeight: Float
    /// `ORIGIN_BALANCE_MISMATCH`: a funded origin whose balance does not move by the amount (drains excluded).
    public var originBalanceMismatchWeight: Float
    /// `DESTINATION_BALANCE_UNCHANGED`: TRANSFER / CASH_OUT to a customer whose balance stays put.
    public var destinationBalanceUnchangedWeight: Float
    /// `DESTINATION_BALANCE_MISMATCH`: a customer destination whose balance moves, but not by the amount.
    public var destinationBalanceMismatchWeight: Float
    /// `HIGH_AMOUNT`: amount at or above ``highAmountCents``.
    public var highAmountWeight: Float
    /// Threshold of `HIGH_AMOUNT`, in cents.
    public var highAmountCents: Int64
    /// `ORIGIN_VELOCITY_1H`: origin already made ``originVelocity1hCount`` or more transactions this step.
    public var originVelocity1hWeight: Float
    /// Threshold of `ORIGIN_VELOCITY_1H`.
    public var originVelocity1hCount: UInt32
    /// `ORIGIN_VELOCITY_24H`: origin already made ``originVelocity24hCount`` or more in 24 steps.
    public var originVelocity24hWeight: Float
    /// Threshold of `ORIGIN_VELOCITY_24H`.
    public var originVelocity24hCount: UInt32
    /// `DESTINATION_FAN_IN`: money out (TRANSFER / CASH_OUT) to a destination that dealt with
    /// ``destinationFanInCounterparties`` or more distinct accounts in 24 steps: the mule pattern.
    public var destinationFanInWeight: Float
    /// Threshold of `DESTINATION_FAN_IN` (at most ``VelocityStore/maxTrackedCounterparties``).
    public var destinationFanInCounterparties: UInt32
    /// `NEW_ORIGIN_LARGE_AMOUNT`: an origin never seen (in the idle horizon) moves at least
    /// ``newOriginLargeAmountCents``.
    public var newOriginLargeAmountWeight: Float
    /// Threshold of `NEW_ORIGIN_LARGE_AMOUNT`, in cents.
    public var newOriginLargeAmountCents: Int64
    /// `NIGHT_HOUR`: money out (TRANSFER / CASH_OUT) during ``nightHours`` (hour of day = `step % 24`).
    public var nightHourWeight: Float
    /// Hours of the day counted as night.
    public var nightHours: ClosedRange<UInt8>

    /// Creates a model; every parameter defaults to the `rules-v1` value.
    public init(
        version: String = "rules-v1",
        riskyTypeWeight: Float = 0.10,
        originDrainedWeight: Float = 0.70,
        originBalanceMismatchWeight: Float = 0,
        destinationBalanceUnchangedWeight: Float = 0.30,
        destinationBalanceMismatchWeight: Float = 0,
        highAmountWeight: Float = 0.15,
        highAmountCents: Int64 = 100_000_000,
        originVelocity1hWeight: Float = 0.15,
        originVelocity1hCount: UInt32 = 3,
        originVelocity24hWeight: Float = 0.10,
        originVelocity24hCount: UInt32 = 10,
        destinationFanInWeight: Float = 0.10,
        destinationFanInCounterparties: UInt32 = 10,
        newOriginLargeAmountWeight: Float = 0.05,
        newOriginLargeAmountCents: Int64 = 20_000_000,
        nightHourWeight: Float = 0.10,
        nightHours: ClosedRange<UInt8> = 0...5
    ) {
        self.version = version
        self.riskyTypeWeight = riskyTypeWeight
        self.originDrainedWeight = originDrainedWeight
        self.originBalanceMismatchWeight = originBalanceMismatchWeight
        self.destinationBalanceUnchangedWeight = destinationBalanceUnchangedWeight
        self.destinationBalanceMismatchWeight = destinationBalanceMismatchWeight
        self.highAmountWeight = highAmountWeight
        self.highAmountCents = highAmountCents
        self.originVelocity1hWeight = originVelocity1hWeight
        self.originVelocity1hCount = originVelocity1hCount
        self.originVelocity24hWeight = originVelocity24hWeight
        self.originVelocity24hCount = originVelocity24hCount
        self.destinationFanInWeight = destinationFanInWeight
        self.destinationFanInCounterparties = destinationFanInCounterparties
        self.newOriginLargeAmountWeight = newOriginLargeAmountWeight
        self.newOriginLargeAmountCents = newOriginLargeAmountCents
        self.nightHourWeight = nightHourWeight
        self.nightHours = nightHours
    }

    /// The `rules-v1` model.
    public static let `default` = RiskModel()

    /// Scores features: fires the rules, builds their reasons, sums the weights.
    ///
    /// Allocates only the reasons array (none when nothing fires) and one string per reason detail.
    ///
    /// - Parameter features: Output of ``FeatureExtractor/features(for:origin:destination:)``.
    /// - Returns: The score (sum of the listed weights, clamped to `0...1`, rounded to 4 decimals) and the
    ///   reasons, heaviest first.
    public func evaluate(_ features: Features) -> (riskScore: Float, reasons: [Reason]) {
        var fired = RuleSet()
        for rule in Rule.allCases where weight(of: rule) > 0 && rule.fires(on: features, model: self) {
            fired.insert(rule)
        }
        guard fired.count > 0 else { return (0, []) }
        var reasons: [Reason] = []
        reasons.reserveCapacity(fired.count)
        for rule in Rule.allCases where fired.contains(rule) {
            reasons.append(
                Reason(code: rule.code, detail: rule.detail(for: features, model: self), weight: weight(of: rule))
            )
        }
        // Insertion sort: at most a dozen elements, stable (ties keep rule order), no allocation.
        var index = 1
        while index < reasons.count {
            var position = index
            while position > 0, reasons[position - 1].weight < reasons[position].weight {
                reasons.swapAt(position - 1, position)
                position -= 1
            }
            index += 1
        }
        var sum: Float = 0
        for reason in reasons {
            sum += reason.weight
        }
        let clamped = min(max(sum, 0), 1)
        return ((clamped * 10_000).rounded() / 10_000, reasons)
    }

    /// The configured weight of `rule`.
    func weight(of rule: Rule) -> Float {
        switch rule {
        case .riskyType: riskyTypeWeight
        case .originDrained: originDrainedWeight
        case .originBalanceMismatch: originBalanceMismatchWeight
        case .destinationBalanceUnchanged: destinationBalanceUnchangedWeight
        case .destinationBalanceMismatch: destinationBalanceMismatchWeight
        case .highAmount: highAmountWeight
        case .originVelocity1h: originVelocity1hWeight
        case .originVelocity24h: originVelocity24hWeight
        case .destinationFanIn: destinationFanInWeight
        case .newOriginLargeAmount: newOriginLargeAmountWeight
        case .nightHour: nightHourWeight
        }
    }
}

extension Reason {
    /// The stable reason codes of ``RiskModel``.
    public enum Code {
        /// TRANSFER or CASH_OUT.
        public static let riskyType = "RISKY_TYPE"
        /// The whole origin balance leaves, exactly.
        public static let originDrained = "ORIGIN_DRAINED"
        /// The origin balance does not move by the amount.
        public static let originBalanceMismatch = "ORIGIN_BALANCE_MISMATCH"
        /// The destination balance stays put despite a credit.
        public static let destinationBalanceUnchanged = "DESTINATION_BALANCE_UNCHANGED"
        /// The destination balance moves, but not by the amount.
        public static let destinationBalanceMismatch = "DESTINATION_BALANCE_MISMATCH"
        /// A large amount.
        public static let highAmount = "HIGH_AMOUNT"
        /// Many transactions from the origin in this step.
        public static let originVelocity1h = "ORIGIN_VELOCITY_1H"
        /// Many transactions from the origin in 24 steps.
        public static let originVelocity24h = "ORIGIN_VELOCITY_24H"
        /// Many distinct counterparties of the destination in 24 steps.
        public static let destinationFanIn = "DESTINATION_FAN_IN"
        /// A large amount from an account never seen before.
        public static let newOriginLargeAmount = "NEW_ORIGIN_LARGE_AMOUNT"
        /// Money out at night.
        public static let nightHour = "NIGHT_HOUR"
    }
}

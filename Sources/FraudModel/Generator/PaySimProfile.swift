public import FraudCore

/// The statistics the generator draws from, measured on a PaySim file by ``measure(_:)`` (so
/// `fraud-ctl stats` prints exactly the figures the generator is built on, for any file).
///
/// Distributions are piecewise-linear inverse CDFs through quantiles at ``quantileLevels``; money is
/// handled as `log10(1 + cents)` so the tails keep their shape. The compiled-in ``sample`` profile was
/// measured on `data/paysim_sample.csv` (see `data/README.md`).
public struct PaySimProfile: Sendable, Hashable, Codable {
    /// Probability levels of every quantile table.
    public static let quantileLevels: [Double] = [
        0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1,
    ]

    /// How legitimate transactions of one type look.
    public struct TypeProfile: Sendable, Hashable, Codable {
        /// The PaySim type name.
        public var type: String
        /// Share of legitimate rows with this type.
        public var share: Double
        /// Quantiles of `log10(1 + amount cents)`.
        public var amount: [Double]
        /// Outflows: share whose origin shows 0 before and after (PaySim's unfunded accounts).
        public var originZero: Double
        /// Outflows: share whose amount exceeds a positive balance, which ends at 0 (an overdraw).
        public var originOverdraw: Double
        /// Share whose origin balance is off by one cent (PaySim's float rounding); the rest add up exactly.
        public var originOffByOneCent: Double
        /// Outflows: quantiles of `before / amount` for overdraws (in `0..<1`).
        public var overdrawRatio: [Double]
        /// Outflows: quantiles of `log10(1 + after cents)` for debits that add up; CASH_IN: of
        /// `log10(1 + before cents)`.
        public var originBalance: [Double]
        /// Customer destinations: share showing 0 before and after.
        public var destinationZero: Double
        /// Customer destinations: share off by one cent.
        public var destinationOffByOneCent: Double
        /// Customer destinations: share that moves by something else than the amount (PaySim applies a
        /// step's credits together).
        public var destinationOther: Double
        /// Customer destinations: quantiles of `log10(1 + before cents)`.
        public var destinationBalance: [Double]
        /// Quantiles of `(after − expected after) / amount` for the "other" destinations.
        public var destinationOtherRatio: [Double]
    }

    /// One entry per type, in ``TransactionType/allCases`` order.
    public var types: [TypeProfile]
    /// Legitimate rows per hour of day (`step % 24`), relative.
    public var hourWeights: [Double]
    /// Legitimate volume level of each day (`step / 24`) the measured file covers.
    public var dayLevels: [Double]
    /// The last step of the measured file: ``dayLevels`` describe steps up to here.
    public var lastMeasuredStep: Int
    /// Share of legitimate rows the generator puts after the measured days (up to ``lastLegitimateStep``).
    public var laterLegitimateShare: Double
    /// PaySim has no legitimate rows after this step (fraud goes on to 743).
    public var lastLegitimateStep: Int
    /// Share of fraud rows among all rows.
    public var fraudRate: Double
    /// Quantiles of `log10(1 + cents)` of the balance a takeover drains.
    public var fraudBalance: [Double]
    /// Share of takeovers that PaySim records as a lone CASH_OUT from a zero-balance origin.
    public var fraudZeroOriginShare: Double
    /// Share of fraud TRANSFERs whose mule's balance moves (it usually shows 0 before and after).
    public var fraudTransferDestinationMoves: Double
    /// Share of chunked takeovers whose last TRANSFER is blocked: balance unchanged, `isFlaggedFraud = 1`,
    /// no CASH_OUT.
    public var fraudFlaggedRemainder: Double

    /// The profile of the type `type`.
    public func profile(of type: TransactionType) -> TypeProfile {
        types[TransactionType.allCases.firstIndex(of: type)!]
    }
}

extension PaySimProfile {
    /// Value at probability `u` of the inverse CDF through `quantiles` (at ``quantileLevels``).
    @inline(__always)
    static func inverse(_ quantiles: [Double], at u: Double) -> Double {
        let levels = quantileLevels
        var index = 1
        while index < levels.count - 1, u > levels[index] {
            index += 1
        }
        let low = levels[index - 1]
        let high = levels[index]
        let fraction = high > low ? (u - low) / (high - low) : 0
        return quantiles[index - 1] + (quantiles[index] - quantiles[index - 1]) * min(max(fraction, 0), 1)
    }

    /// Quantiles of `values` at ``quantileLevels`` (linear interpolation between order statistics).
    /// Zeros when `values` is empty.
    static func quantiles(of values: [Double]) -> [Double] {
        guard !values.isEmpty else { return quantileLevels.map { _ in 0 } }
        let sorted = values.sorted()
        return quantileLevels.map { level in
            let position = level * Double(sorted.count - 1)
            let below = Int(position)
            let above = min(below + 1, sorted.count - 1)
            let fraction = position - Double(below)
            return sorted[below] + (sorted[above] - sorted[below]) * fraction
        }
    }
}

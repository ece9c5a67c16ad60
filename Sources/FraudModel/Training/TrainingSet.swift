public import FraudCore

/// The model inputs this package trains on.
public enum ModelInputs {
    /// Every feature column, money and counts log-scaled, plus exact-balance indicators (the books add up
    /// to the cent; the amount equals the whole balance), which PaySim's takeovers always show.
    public static let all: [TrainedModel.Input] = base + velocity

    /// ``all`` without the velocity columns.
    public static let withoutVelocity: [TrainedModel.Input] = base

    private static let base: [TrainedModel.Input] = [
        input("type_payment"), input("type_transfer"), input("type_cash_out"), input("type_cash_in"),
        input("type_debit"),
        input("hour_of_day"),
        input("log10_amount_cents"),
        input("amount_to_origin_balance_ratio", .signedLog10),
        input("amount_to_origin_balance_ratio", .isOne),
        input("origin_balance_error", .signedLog10),
        input("origin_balance_error", .isZero),
        input("destination_balance_error", .signedLog10),
        input("destination_balance_error", .isZero),
        input("origin_drained"),
        input("destination_merchant"),
        input("destination_balance_unchanged"),
    ]

    private static let velocity: [TrainedModel.Input] = ["origin", "destination"].flatMap { side in
        [
            input("\(side)_count_1", .signedLog10), input("\(side)_amount_1", .signedLog10),
            input("\(side)_count_24", .signedLog10), input("\(side)_amount_24", .signedLog10),
            input("\(side)_counterparties_24"), input("\(side)_seen_before"), input("\(side)_steps_since_seen"),
        ]
    }

    private static func input(_ column: String, _ transform: TrainedModel.Transform = .identity)
        -> TrainedModel.Input
    {
        guard let input = TrainedModel.Input(column: column, transform: transform) else {
            preconditionFailure("unknown feature column \(column)")
        }
        return input
    }
}

/// A weighted design matrix: one row of model inputs per transaction, its label and its weight.
public struct TrainingSet: Sendable {
    /// The inputs (columns).
    public var inputs: [TrainedModel.Input]
    /// Row-major values, `count × inputs.count`.
    public var values: [Double]
    /// `true` for fraud.
    public var labels: [Bool]
    /// Sample weights (legitimate rows carry the legit weight, frauds 1).
    public var weights: [Double]
    /// Transaction type of each row (for per-type reports).
    public var types: [TransactionType]

    /// Rows.
    public var count: Int { labels.count }

    /// An empty set over `inputs`.
    public init(inputs: [TrainedModel.Input]) {
        self.inputs = inputs
        self.values = []
        self.labels = []
        self.weights = []
        self.types = []
    }

    /// Appends one transaction.
    public mutating func append(_ features: Features, isFraud: Bool, weight: Double) {
        for input in inputs {
            values.append(input.value(in: features))
        }
        labels.append(isFraud)
        weights.append(weight)
        types.append(features.type)
    }

    /// Value of input `column` in row `row`.
    @inline(__always)
    public func value(row: Int, column: Int) -> Double { values[row * inputs.count + column] }

    /// Replays `rows` through the engine's feature path and keeps those with `step <= maxStep`.
    ///
    /// - Parameters:
    ///   - rows: Rows in event-time order.
    ///   - inputs: Model inputs to compute.
    ///   - maxStep: Last step kept (the replay stops after it).
    ///   - legitWeight: Weight of each legitimate row.
    /// - Returns: The set, and the rows validation rejected.
    public static func replay(
        _ rows: [PaySimRow],
        inputs: [TrainedModel.Input],
        maxStep: UInt32 = .max,
        legitWeight: Double = 1
    ) -> (set: TrainingSet, rejected: Int) {
        var set = TrainingSet(inputs: inputs)
        var rejected = 0
        let kept = rows.prefix { $0.step <= maxStep }
        Replay.run(Array(kept), through: Replay.makeEngine(model: nil)) { replayed in
            guard let features = replayed.features else {
                rejected += 1
                return
            }
            set.append(features, isFraud: replayed.row.isFraud, weight: replayed.row.isFraud ? 1 : legitWeight)
        }
        return (set, rejected)
    }
}

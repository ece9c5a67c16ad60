public import FraudCore

/// Rows of one or more PaySim files, de-duplicated and in event-time order (by step; ties keep file order,
/// then line order), as the server would have received them.
public struct PaySimDataset: Sendable {
    /// The rows, sorted by step.
    public private(set) var rows: [PaySimRow]
    /// Identical rows found in more than one place and kept once.
    public private(set) var duplicates: Int

    /// Merges files.
    ///
    /// - Parameter files: Each file's rows, in file order.
    public init(files: [[PaySimRow]]) {
        var seen = Set<PaySimRow>()
        var merged: [PaySimRow] = []
        merged.reserveCapacity(files.reduce(0) { $0 + $1.count })
        var duplicates = 0
        let dedupe = files.count > 1
        for file in files {
            for row in file {
                if dedupe {
                    guard seen.insert(row).inserted else {
                        duplicates += 1
                        continue
                    }
                }
                merged.append(row)
            }
        }
        self.duplicates = duplicates
        self.rows = Self.stableSortedByStep(merged)
    }

    /// A counting sort by step: stable, O(n), and cheap for millions of rows.
    static func stableSortedByStep(_ rows: [PaySimRow]) -> [PaySimRow] {
        guard let maxStep = rows.map(\.step).max() else { return rows }
        var isSorted = true
        for index in rows.indices.dropFirst() where rows[index - 1].step > rows[index].step {
            isSorted = false
            break
        }
        if isSorted { return rows }
        var starts = [Int](repeating: 0, count: Int(maxStep) + 2)
        for row in rows {
            starts[Int(row.step) + 1] += 1
        }
        for step in 1..<starts.count {
            starts[step] += starts[step - 1]
        }
        var order = [Int](repeating: 0, count: rows.count)
        for (index, row) in rows.enumerated() {
            order[starts[Int(row.step)]] = index
            starts[Int(row.step)] += 1
        }
        return order.map { rows[$0] }
    }
}

/// One replayed row: what the engine saw and said.
public struct ReplayedRow: Sendable {
    /// Position in the dataset (also the transaction id, `row-<index>`).
    public var index: Int
    /// The row.
    public var row: PaySimRow
    /// The features the model saw; nil when validation rejected the row.
    public var features: Features?
    /// The engine's assessment; nil when validation rejected the row.
    public var assessment: Assessment?
}

/// Replays rows through a ``RiskEngine`` in order, exactly as the server scores them: same validation,
/// same velocity store, same feature extractor (``RiskEngine/scoreWithFeatures(_:label:)``). Training and
/// evaluation both go through here, so there is no second feature path.
public enum Replay {
    /// The transaction id given to the row at `index`.
    public static func transactionID(_ index: Int) -> String { "row-\(index)" }

    /// Replays `rows` through `engine`, calling `body` for every row (rejected ones included).
    ///
    /// - Parameters:
    ///   - rows: Rows in event-time order (see ``PaySimDataset``).
    ///   - engine: A fresh engine; its velocity state is built up by the replay.
    ///   - body: Receives each replayed row.
    public static func run(_ rows: [PaySimRow], through engine: RiskEngine, _ body: (ReplayedRow) -> Void) {
        for (index, row) in rows.enumerated() {
            guard let transaction = try? Transaction.validated(row.transaction(id: transactionID(index))) else {
                body(ReplayedRow(index: index, row: row, features: nil, assessment: nil))
                continue
            }
            let (outcome, features) = engine.scoreWithFeatures(transaction, label: row.label)
            body(ReplayedRow(index: index, row: row, features: features, assessment: outcome.assessment))
        }
    }

    /// An engine configured like the server's default (velocity windows, eviction, capacity), scoring with
    /// `model` (the rules when nil). Thresholds come from the model.
    ///
    /// Only the idempotency cache is small: replayed ids are unique, so it never answers a replay and its
    /// size changes neither features nor scores, only the time and memory spent remembering ids.
    public static func makeEngine(model: TrainedModel?) -> RiskEngine {
        var configuration = RiskEngineConfiguration()
        configuration.idempotencyCapacity = 4_096
        guard let model else { return RiskEngine(configuration: configuration) }
        configuration.adoptThresholds(of: model)
        return RiskEngine(configuration: configuration, trainedModel: model)
    }
}

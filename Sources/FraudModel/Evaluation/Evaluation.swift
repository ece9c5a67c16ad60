public import FraudCore
import Dispatch
import Foundation

/// How one scoring system did on an evaluation window.
public struct SystemReport: Sendable, Hashable, Codable {
    /// Per transaction type.
    public struct TypeReport: Sendable, Hashable, Codable {
        /// PaySim type name.
        public var type: String
        /// Fraud rows of this type.
        public var frauds: Int
        /// Legitimate rows of this type.
        public var legitimate: Int
        /// Ranking metrics (nil when the type has no fraud).
        public var metrics: BinaryMetrics?
        /// At the REVIEW threshold.
        public var review: ThresholdMetrics
        /// At the DECLINE threshold.
        public var decline: ThresholdMetrics
    }

    /// Name, e.g. `model`, `rules`, `isFlaggedFraud`.
    public var name: String
    /// Model version.
    public var version: String
    /// Ranking metrics.
    public var metrics: BinaryMetrics
    /// REVIEW or above.
    public var review: ThresholdMetrics
    /// DECLINE.
    public var decline: ThresholdMetrics
    /// Per type.
    public var perType: [TypeReport]

    /// Builds the report from scored rows.
    public init(
        name: String,
        version: String,
        examples: [(ScoredExample, TransactionType)],
        review: Double,
        decline: Double
    ) {
        self.name = name
        self.version = version
        let all = examples.map(\.0)
        metrics = BinaryMetrics(all)
        self.review = BinaryMetrics.at(review, all)
        self.decline = BinaryMetrics.at(decline, all)
        perType = TransactionType.allCases.compactMap { type in
            let ofType = examples.filter { $0.1 == type }.map(\.0)
            guard !ofType.isEmpty else { return nil }
            let frauds = ofType.count(where: \.isFraud)
            return TypeReport(
                type: type.paysimName,
                frauds: frauds,
                legitimate: ofType.count - frauds,
                metrics: frauds > 0 ? BinaryMetrics(ofType) : nil,
                review: BinaryMetrics.at(review, ofType),
                decline: BinaryMetrics.at(decline, ofType)
            )
        }
    }
}

/// An evaluation: a trained model and the two baselines on the same rows.
public struct EvaluationReport: Sendable, Hashable, Codable {
    /// What was evaluated on.
    public var data: String
    /// Steps counted (all earlier rows are replayed too, to build the velocity state).
    public var firstStep: UInt32
    /// Last step counted.
    public var lastStep: UInt32
    /// Weight of each legitimate row.
    public var legitWeight: Double
    /// Fraud rows counted.
    public var frauds: Int
    /// Legitimate rows counted.
    public var legitimate: Int
    /// Fraud rows in the window that validation rejects (e.g. amount 0): not scored, not counted.
    public var rejectedFrauds: Int
    /// Legitimate rows in the window that validation rejects.
    public var rejectedLegitimate: Int
    /// The trained model, the rules, `isFlaggedFraud`.
    public var systems: [SystemReport]

    /// Replays `rows` through an engine with `model`, one with the rules, and reads `isFlaggedFraud`.
    ///
    /// - Parameters:
    ///   - data: Label for the report.
    ///   - rows: Rows in event-time order (see ``PaySimDataset``).
    ///   - model: The trained model (nil: only the baselines).
    ///   - steps: Steps counted; earlier rows are replayed but not counted, later ones not replayed.
    ///   - legitWeight: Weight of each legitimate row (256.37 for the uniform sample).
    public init(
        data: String,
        rows: [PaySimRow],
        model: TrainedModel?,
        steps: ClosedRange<UInt32>,
        legitWeight: Double
    ) {
        self.data = data
        firstStep = steps.lowerBound
        lastStep = steps.upperBound
        self.legitWeight = legitWeight
        let replayed = Array(rows.prefix { $0.step <= steps.upperBound })
        @Sendable func scores(_ engineModel: TrainedModel?) -> [(ScoredExample, TransactionType)] {
            var result: [(ScoredExample, TransactionType)] = []
            Replay.run(replayed, through: Replay.makeEngine(model: engineModel)) { item in
                guard steps.contains(item.row.step), let assessment = item.assessment else { return }
                let weight = item.row.isFraud ? 1 : legitWeight
                result.append(
                    (ScoredExample(score: Double(assessment.riskScore), isFraud: item.row.isFraud, weight: weight),
                     item.row.type)
                )
            }
            return result
        }
        // The model's and the rules' replays are independent: one engine each, on two threads.
        let engineModels: [TrainedModel?] = model == nil ? [nil] : [model, nil]
        var replays = [[(ScoredExample, TransactionType)]](repeating: [], count: engineModels.count)
        replays.withUnsafeMutableBufferPointer { results in
            nonisolated(unsafe) let slots = results
            DispatchQueue.concurrentPerform(iterations: engineModels.count) { index in
                slots[index] = scores(engineModels[index])
            }
        }
        var systems: [SystemReport] = []
        if let model {
            systems.append(
                SystemReport(
                    name: "model",
                    version: model.version,
                    examples: replays[0],
                    review: Double(model.thresholds.review),
                    decline: Double(model.thresholds.decline)
                )
            )
        }
        let rules = RiskEngineConfiguration()
        systems.append(
            SystemReport(
                name: "rules",
                version: RiskModel.default.version,
                examples: replays[replays.count - 1],
                review: Double(rules.reviewThreshold),
                decline: Double(rules.declineThreshold)
            )
        )
        var flagged: [(ScoredExample, TransactionType)] = []
        var rejected = (fraud: 0, legit: 0)
        for (index, row) in replayed.enumerated() where steps.contains(row.step) {
            guard (try? Transaction.validated(row.transaction(id: Replay.transactionID(index)))) != nil else {
                if row.isFraud { rejected.fraud += 1 } else { rejected.legit += 1 }
                continue
            }
            flagged.append(
                (ScoredExample(score: row.isFlaggedFraud ? 1 : 0, isFraud: row.isFraud,
                               weight: row.isFraud ? 1 : legitWeight), row.type)
            )
        }
        systems.append(
            SystemReport(name: "isFlaggedFraud", version: "paysim", examples: flagged, review: 1, decline: 1)
        )
        self.systems = systems
        frauds = flagged.count(where: { $0.0.isFraud })
        legitimate = flagged.count - frauds
        rejectedFrauds = rejected.fraud
        rejectedLegitimate = rejected.legit
    }

    /// The report as text: one column per system.
    public func render() -> String {
        let last = lastStep == .max ? "end" : String(lastStep)
        var text = "Evaluation on \(data), steps \(firstStep)-\(last) (earlier steps replayed for velocity)\n"
        text += "rows counted: \(frauds) fraud, \(legitimate) legitimate x \(legitWeight) = "
            + "\(format(Double(legitimate) * legitWeight, 0)) weighted; natural fraud rate "
            + "\(format(Double(frauds) / max(Double(frauds) + Double(legitimate) * legitWeight, 1) * 100, 4)) %\n"
        text += "rejected by validation (not scored): \(rejectedFrauds) fraud, \(rejectedLegitimate) legitimate\n\n"
        var lines: [(String, [String])] = []
        func row(_ label: String, _ value: (SystemReport) -> String) {
            lines.append((label, systems.map(value)))
        }
        row("system") { $0.name }
        row("version") { $0.version }
        row("ROC-AUC") { format($0.metrics.rocAUC, 5) }
        row("AUPRC (weighted)") { format($0.metrics.auprc, 5) }
        row("recall at FPR <= 0.1 %") { format($0.metrics.recallAtFPR0001, 4) }
        for (label, pick) in [("REVIEW+", \SystemReport.review), ("DECLINE", \SystemReport.decline)] {
            row("\(label) threshold") { format($0[keyPath: pick].threshold, 6) }
            row("  recall") { format($0[keyPath: pick].recall, 4) }
            row("  precision (weighted)") { format($0[keyPath: pick].precision, 4) }
            row("  TP / FN (fraud rows)") {
                "\(Int($0[keyPath: pick].truePositives)) / \(Int($0[keyPath: pick].falseNegatives))"
            }
            row("  FP rows (weighted)") {
                "\($0[keyPath: pick].falsePositiveRows) (\(format($0[keyPath: pick].falsePositives, 1)))"
            }
            row("  TN (weighted)") { format($0[keyPath: pick].trueNegatives, 0) }
            row("  legit flagged (FPR)") { format($0[keyPath: pick].falsePositiveRate * 100, 5) + " %" }
        }
        let types = systems.first?.perType.map(\.type) ?? []
        for type in types {
            row("\(type)") { system in
                guard let report = system.perType.first(where: { $0.type == type }) else { return "-" }
                return "\(report.frauds) fraud / \(report.legitimate) legit"
            }
            row("  AUPRC / ROC-AUC") { system in
                guard let metrics = system.perType.first(where: { $0.type == type })?.metrics else { return "-" }
                return "\(format(metrics.auprc, 4)) / \(format(metrics.rocAUC, 4))"
            }
            row("  DECLINE recall / precision") { system in
                guard let report = system.perType.first(where: { $0.type == type }) else { return "-" }
                if report.frauds == 0 { return "- / FP rows \(report.decline.falsePositiveRows)" }
                return "\(format(report.decline.recall, 4)) / \(format(report.decline.precision, 4))"
            }
            row("  REVIEW+ FP rows") { system in
                guard let report = system.perType.first(where: { $0.type == type }) else { return "-" }
                return String(report.review.falsePositiveRows)
            }
        }
        let labelWidth = lines.map(\.0.count).max() ?? 0
        let widths = systems.indices.map { index in lines.map { $0.1[index].count }.max() ?? 0 }
        for (label, values) in lines {
            text += label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            for (index, value) in values.enumerated() {
                text += "  " + value.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            text += "\n"
        }
        return text
    }
}

/// `value` with `digits` decimals ("nan" for NaN).
func format(_ value: Double, _ digits: Int) -> String {
    value.isNaN ? "nan" : String(format: "%.\(digits)f", value)
}

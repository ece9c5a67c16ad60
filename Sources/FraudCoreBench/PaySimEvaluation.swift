import Foundation
import FraudCore

/// Scores a PaySim CSV (in step order, through a fresh engine) and reports weighted recall / precision.
///
/// Legitimate rows carry `legitWeight` (256.37 for `uniform_steps_1_400.csv`) so that precision is
/// estimated at the natural fraud rate. Rows that fail validation (amount 0) are counted and left out.
func evaluatePaySim(path: String, legitWeight: Double, configuration: RiskEngineConfiguration) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    struct Row {
        var order: Int
        var raw: RawTransaction
        var isFraud: Bool
    }
    var rows: [Row] = []
    func cents(_ field: Substring) -> Int64 { Int64((Double(field)! * 100).rounded()) }
    for (number, line) in text.split(separator: "\n").enumerated() where number > 0 {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count >= 10, let step = UInt32(f[0]), let type = TransactionType(paysimName: f[1]) else { continue }
        let raw = RawTransaction(
            transactionID: "paysim-\(number)",
            step: step,
            typeRawValue: type.rawValue,
            amountCents: cents(f[2]),
            originAccount: String(f[3]),
            originBalanceBeforeCents: cents(f[4]),
            originBalanceAfterCents: cents(f[5]),
            destinationAccount: String(f[6]),
            destinationBalanceBeforeCents: cents(f[7]),
            destinationBalanceAfterCents: cents(f[8])
        )
        rows.append(Row(order: number, raw: raw, isFraud: f[9] == "1"))
    }
    rows.sort { ($0.raw.step, $0.order) < ($1.raw.step, $1.order) }

    let engine = RiskEngine(configuration: configuration)
    var scored: [(score: Float, isFraud: Bool, codes: [String])] = []
    var rejected = (fraud: 0, legit: 0)
    for row in rows {
        guard let transaction = try? Transaction.validated(row.raw) else {
            if row.isFraud { rejected.fraud += 1 } else { rejected.legit += 1 }
            continue
        }
        guard let assessment = engine.score(transaction, label: row.isFraud ? .fraud : .legitimate).assessment else {
            continue
        }
        scored.append((assessment.riskScore, row.isFraud, assessment.reasons.map(\.code)))
    }
    let frauds = Double(scored.filter(\.isFraud).count)
    let legits = Double(scored.count) - frauds
    print("PaySim evaluation: \(path)")
    print(
        "  rows scored: \(scored.count) (\(Int(frauds)) fraud, \(Int(legits)) legit × \(legitWeight));"
            + " rejected by validation: \(rejected.fraud) fraud, \(rejected.legit) legit"
    )
    func report(_ label: String, threshold: Float) {
        var truePositives = 0.0
        var falsePositives = 0.0
        for row in scored where row.score >= threshold {
            if row.isFraud { truePositives += 1 } else { falsePositives += legitWeight }
        }
        let recall = truePositives / frauds
        let precision = truePositives + falsePositives > 0 ? truePositives / (truePositives + falsePositives) : 1
        let flaggedLegitRate = falsePositives / (legits * legitWeight)
        let name = label.padding(toLength: 22, withPad: " ", startingAt: 0)
        print(
            "  \(name) score >= \(String(format: "%.2f", threshold)):"
                + " recall \(String(format: "%.4f", recall))  precision \(String(format: "%.4f", precision))"
                + "  legit flagged \(String(format: "%.5f%%", flaggedLegitRate * 100))"
        )
    }
    report("REVIEW or DECLINE", threshold: configuration.reviewThreshold)
    report("DECLINE", threshold: configuration.declineThreshold)
    print("  threshold sweep:")
    for step in stride(from: 0.05, through: 1.0, by: 0.05) {
        report("", threshold: Float(step))
    }
    print("  reason firing (fraud rows / legit rows, unweighted):")
    var counts: [String: (Int, Int)] = [:]
    for row in scored {
        for code in row.codes {
            counts[code, default: (0, 0)].0 += row.isFraud ? 1 : 0
            counts[code, default: (0, 0)].1 += row.isFraud ? 0 : 1
        }
    }
    for (code, count) in counts.sorted(by: { $0.key < $1.key }) {
        print("    \(code.padding(toLength: 30, withPad: " ", startingAt: 0)) \(count.0) / \(count.1)")
    }
}

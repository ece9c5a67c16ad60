import Foundation
import FraudCore

/// `--dump CSV`: scores the PaySim file (step order) and synthetic traffic under several configurations and
/// prints every outcome, score (bit pattern), decision, reason and feature value, one line per call. Used to
/// check that an optimisation changes no result: diff the output of two builds.
///
/// Configurations: the server's default (bundled model), the rules model, and a tiny engine (8 shards,
/// 2,000 accounts, 500 ids, idle eviction after 6
/// steps; and 1,000 accounts with 48 steps) where capacity eviction, idle expiry and id
/// forgetting happen constantly. Every 7th call is repeated (replay) and every 11th is repeated with a
/// different amount (conflict).
func dumpOutputs(path: String) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var rows: [(order: Int, raw: RawTransaction)] = []
    func cents(_ field: Substring) -> Int64 { Int64((Double(field)! * 100).rounded()) }
    for (number, line) in text.split(separator: "\n").enumerated() where number > 0 {
        let f = line.split(separator: ",", omittingEmptySubsequences: false)
        guard f.count >= 10, let step = UInt32(f[0]), let type = TransactionType(paysimName: f[1]) else { continue }
        rows.append(
            (
                number,
                RawTransaction(
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
            )
        )
    }
    rows.sort { ($0.raw.step, $0.order) < ($1.raw.step, $1.order) }
    let paysim = rows.compactMap { try? Transaction.validated($0.raw) }
    // Non-PaySim account names too (long, lower-case, leading zeros, non-ASCII), so fallback keys are covered.
    var synthetic = makeSyntheticTransactions(count: 60_000, seed: 7)
    for index in synthetic.indices where index % 5 == 0 {
        let suffix = ["-long-account-name-\(index % 97)", "x", "0\(index % 13)", "é\(index % 5)", ""][index / 5 % 5]
        synthetic[index].originAccount += suffix
        if index % 10 == 0 { synthetic[index].destinationAccount = "C0" + synthetic[index].destinationAccount.dropFirst() }
    }

    let bundled = TrainedModel.bundled
    var defaultConfiguration = RiskEngineConfiguration()
    defaultConfiguration.adoptThresholds(of: bundled)
    let tiny = RiskEngineConfiguration(
        reviewThreshold: bundled.thresholds.review,
        declineThreshold: bundled.thresholds.decline,
        shardCount: 8,
        idempotencyCapacity: 500,
        idleEvictionSteps: 6,
        maxAccounts: 2_000
    )
    var tinyCapacity = tiny
    tinyCapacity.idleEvictionSteps = 48
    tinyCapacity.maxAccounts = 1_000
    let engines: [(String, () -> RiskEngine)] = [
        ("default", { RiskEngine(configuration: defaultConfiguration, trainedModel: bundled) }),
        ("rules", { RiskEngine() }),
        ("tiny", { RiskEngine(configuration: tiny, trainedModel: bundled) }),
        ("tiny-capacity", { RiskEngine(configuration: tinyCapacity, trainedModel: bundled) }),
    ]
    var out = ""
    for (name, make) in engines {
        for (dataName, data) in [("paysim", paysim), ("synthetic", synthetic)] {
            let engine = make()
            out += "# \(name) \(dataName)\n"
            for (index, transaction) in data.enumerated() {
                var calls = [transaction]
                if index % 7 == 0 { calls.append(transaction) }
                if index % 11 == 0 {
                    var changed = transaction
                    changed.amountCents += 1
                    calls.append(changed)
                }
                for call in calls {
                    let (outcome, features) = engine.scoreWithFeatures(call, label: .unspecified)
                    out += call.transactionID
                    switch outcome {
                    case .scored(let a), .replayed(let a):
                        if case .scored = outcome { out += " S " } else { out += " R " }
                        out += "\(a.riskScore.bitPattern) \(a.decision.name) \(a.modelVersion)"
                        for reason in a.reasons {
                            out += " [\(reason.code) \(reason.weight.bitPattern) \(reason.detail)]"
                        }
                    case .conflict(let error):
                        out += " C \(error)"
                    }
                    if let features {
                        out += " |"
                        for value in features.values { out += " \(value.bitPattern)" }
                    }
                    out += "\n"
                }
                if index % 5_000 == 0 {
                    out += "accounts \(engine.accountCount) ids \(engine.idempotencyCount)\n"
                    let snapshot = engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step)
                    out += "snapshot \(snapshot)\n"
                }
            }
            out += "accounts \(engine.accountCount) ids \(engine.idempotencyCount)\n"
        }
    }
    FileHandle.standardOutput.write(Data(out.utf8))
}

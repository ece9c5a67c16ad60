import Foundation
import FraudCore

/// In the child: pre-populates an engine (at most 1,000,000 accounts: the count per score does not depend on
/// it), warms it with 200,000 fresh scores, then traces 20,000 fresh scores, 20,000 replays and 10,000 model
/// evaluations, all through the server's entry point. Prints one `allocations <new> <replay> <model> <reasons>`
/// line (per call, 2 decimals).
func measureAllocations(accounts: Int, count: Int) -> String {
    let population = AccountPopulation(count: min(accounts, 1_000_000))
    let engine = makeEngine(accounts: population.count)
    prepopulate(engine, population: population)
    let transactions = makeFreshTransactions(count: 240_000, population: population, firstID: 0, seed: 5)
    let warm = 200_000
    for transaction in transactions[..<warm] {
        _ = engine.score(transaction, label: .unspecified) { _ in true }
    }
    let measured = transactions[warm..<220_000]
    let measuredBatched = transactions[220_000...]
    var consumed = Consumed()
    let fresh = AllocationTrace.count {
        for transaction in measured {
            consumed.add(engine.score(transaction, label: .unspecified) { _ in true })
        }
    }
    let replays = AllocationTrace.count {
        for transaction in measured {
            consumed.add(engine.score(transaction, label: .unspecified) { _ in true })
        }
    }
    let batched = AllocationTrace.count {
        engine.score(batch: measuredBatched) { _, _ in true } outcome: { _, outcome in consumed.add(outcome) }
    }
    if consumed.scored != measured.count + measuredBatched.count || consumed.replayed != measured.count { print("unexpected outcomes") }
    // The model alone, on the features of a PaySim-style drain (several reasons).
    let drain = Transaction(
        transactionID: "drain",
        step: 1,
        type: .transfer,
        amountCents: 18_100,
        originAccount: "C1305486145",
        originBalanceBeforeCents: 18_100,
        originBalanceAfterCents: 0,
        destinationAccount: "C553264065",
        destinationBalanceBeforeCents: 0,
        destinationBalanceAfterCents: 0
    )
    let features = FeatureExtractor.features(for: drain, origin: .unseen, destination: .unseen)
    func evaluate() -> [Reason] {
        if let trainedModel {
            return trainedModel.evaluate(features, reasonsAtOrAbove: trainedModel.thresholds.review).reasons
        }
        return RiskModel.default.evaluate(features).reasons
    }
    let model = AllocationTrace.count {
        for _ in 0..<10_000 {
            _ = evaluate()
        }
    }
    let reasons = evaluate().count
    func perCall(_ total: Int?, _ calls: Int) -> String {
        guard let total else { return "n/a" }
        return String(Double((total * 100 + calls / 2) / calls) / 100)
    }
    return "allocations \(perCall(fresh, measured.count)) \(perCall(replays, measured.count))"
        + " \(perCall(model, 10_000)) \(reasons) \(perCall(batched, measuredBatched.count))"
}

/// In the parent: runs this binary again under the tracer and turns its answer into table rows.
func allocationRows(accounts: Int, count: Int, modelPath: String?) -> [(String, String)] {
    let trace = FileManager.default.temporaryDirectory.appendingPathComponent("fraud-core-bench-\(getpid()).mtrace")
    defer { try? FileManager.default.removeItem(at: trace) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments =
        ["--allocations-child", "--accounts", String(accounts), "--count", String(count)] + (modelPath.map { ["--model", $0] } ?? [])
    var environment = ProcessInfo.processInfo.environment
    environment["LD_PRELOAD"] = "libc_malloc_debug.so.0"
    environment["MALLOC_TRACE"] = trace.path
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    do {
        try process.run()
    } catch {
        return [("mallocs per score", "n/a (\(error))")]
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last { $0.hasPrefix("allocations ") }
    let fields = line?.split(separator: " ").dropFirst().map(String.init) ?? []
    guard fields.count == 5 else { return [("mallocs per score", "n/a (tracer unavailable)")] }
    return [
        ("mallocs per score (new ids, one by one)", fields[0]),
        ("mallocs per score (new ids, batched)", fields[4]),
        ("mallocs per score (replays)", fields[1]),
        ("  model alone, \(fields[3]) reasons", fields[2]),
    ]
}

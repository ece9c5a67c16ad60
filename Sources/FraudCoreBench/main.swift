import Dispatch
import Foundation
import FraudCore
import Glibc

// fraud-core-bench: throughput, allocations and memory of the FraudCore engine alone.
//   --count N        synthetic transactions (default 1_000_000)
//   --threads T      threads for the parallel run (default: all cores)
//   --evaluate CSV   instead: score a PaySim CSV and report weighted recall / precision
//   --legit-weight W weight of legitimate rows for --evaluate (default 256.37)
//   --model FILE     score with a trained model (JSON from `fraud-ctl train`, or "bundled") instead of rules-v1
// Allocation counts come from a child run of this binary under glibc's malloc tracer (see AllocationTrace).

var count = 1_000_000
var threads = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
var evaluatePath: String?
var legitWeight = 256.37
var isAllocationChild = false
var modelPath: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--count": count = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil } ?? count
    case "--threads": threads = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil } ?? threads
    case "--evaluate": evaluatePath = arguments.next()
    case "--legit-weight": legitWeight = Double(arguments.next() ?? "") ?? legitWeight
    case "--allocations-child": isAllocationChild = true
    case "--model": modelPath = arguments.next()
    default:
        print("usage: fraud-core-bench [--count N] [--threads T] [--model FILE|bundled] [--evaluate CSV [--legit-weight W]]")
        exit(2)
    }
}

/// The trained model given with --model, if any.
let trainedModel: TrainedModel? = modelPath.map { path in
    if path == "bundled" { return TrainedModel.bundled }
    do {
        return try TrainedModel(json: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    } catch {
        print("cannot load model \(path): \(error)")
        exit(1)
    }
}

/// A fresh engine scoring with the --model (its thresholds) or the rules.
func makeEngine() -> RiskEngine {
    guard let trainedModel else { return RiskEngine() }
    var configuration = RiskEngineConfiguration()
    configuration.adoptThresholds(of: trainedModel)
    return RiskEngine(configuration: configuration, trainedModel: trainedModel)
}

if let evaluatePath {
    do {
        try evaluatePaySim(path: evaluatePath, legitWeight: legitWeight, configuration: RiskEngineConfiguration())
    } catch {
        print("cannot read \(evaluatePath): \(error)")
        exit(1)
    }
    exit(0)
}

func heapInUse() -> Int { HeapUsage.bytesInUse() }

func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) / 1e18
}

func format(_ value: Double, decimals: Int = 0) -> String {
    var multiplier = 1.0
    for _ in 0..<decimals { multiplier *= 10 }
    let rounded = (value * multiplier).rounded() / multiplier
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}

var table: [(String, String)] = []
let clock = ContinuousClock()

print("building \(count) synthetic transactions…")
let transactions = makeSyntheticTransactions(count: count)

// 1. One thread.
if !isAllocationChild {
    let engine = makeEngine()
    var declines = 0
    let elapsed = clock.measure {
        for transaction in transactions {
            if case .scored(let assessment) = engine.score(transaction, label: .unspecified),
                assessment.decision == .decline
            {
                declines += 1
            }
        }
    }
    let rate = Double(transactions.count) / seconds(elapsed)
    table.append(("scores/s, 1 thread", format(rate)))
    table.append(("  mean latency per score", format(1e9 / rate, decimals: 0) + " ns"))
    table.append(("  declines (synthetic)", String(declines)))
}

// 1b. The model alone (features precomputed): what the scoring model costs inside a score.
if !isAllocationChild {
    let sample = transactions.prefix(200_000).map {
        FeatureExtractor.features(for: $0, origin: .unseen, destination: .unseen)
    }
    let review = makeEngine().configuration.reviewThreshold
    var checksum: Float = 0
    let rounds = 5
    let elapsed = clock.measure {
        for _ in 0..<rounds {
            for features in sample {
                if let trainedModel {
                    checksum += trainedModel.evaluate(features, reasonsAtOrAbove: review).riskScore
                } else {
                    checksum += RiskModel.default.evaluate(features).riskScore
                }
            }
        }
    }
    let perScore = seconds(elapsed) / Double(sample.count * rounds)
    table.append(("model alone per score (incl. reasons)", format(perScore * 1e9) + " ns"))
    if checksum.isNaN { print("") }
}

// 2. All threads, each scoring a disjoint slice into one shared engine.
if !isAllocationChild {
    let engine = makeEngine()
    let sliceSize = (transactions.count + threads - 1) / threads
    let elapsed = clock.measure {
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let start = thread * sliceSize
            let end = min(start + sliceSize, transactions.count)
            guard start < end else { return }
            for index in start..<end {
                _ = engine.score(transactions[index], label: .unspecified)
            }
        }
    }
    let rate = Double(transactions.count) / seconds(elapsed)
    table.append(("scores/s, \(threads) threads", format(rate)))
}

// 3. Allocations per score, measured in a child process under glibc's malloc tracer.
if isAllocationChild {
    print(measureAllocations(transactions: transactions))
    exit(0)
}
table.append(contentsOf: allocationRows(count: count, modelPath: modelPath))

// 4. Bytes per account in the velocity store: 1,000,000 distinct accounts, 1 transaction each.
do {
    let accounts = 1_000_000
    let names = (0..<accounts).map { "C\(1_000_000_000 + $0)" }
    let before = heapInUse()
    let store = VelocityStore(maxAccounts: 2 * accounts)
    for (index, name) in names.enumerated() {
        _ = store.observe(account: name, counterparty: names[(index &* 7919) % accounts], amountCents: 10_000, step: 1)
    }
    let perAccount = Double(heapInUse() - before) / Double(store.accountCount)
    table.append(("bytes per account (1 txn, 11-char name)", format(perAccount, decimals: 1)))
    for (index, name) in names.enumerated() {
        _ = store.observe(account: name, counterparty: names[(index &* 31) % accounts], amountCents: 10_000, step: 2)
    }
    let perBusyAccount = Double(heapInUse() - before) / Double(store.accountCount)
    table.append(("bytes per account (2 txns, 2 steps)", format(perBusyAccount, decimals: 1)))
    withExtendedLifetime(store) {}
}

// 5. Bytes per idempotency entry: 1,000,000 ids with assessments from the real model (own reasons).
do {
    let entries = min(1_000_000, transactions.count)
    let cache = IdempotencyCache(capacity: 2 * entries)
    var reasonTotal = 0
    let before = heapInUse()
    for transaction in transactions[..<entries] {
        let features = FeatureExtractor.features(for: transaction, origin: .unseen, destination: .unseen)
        _ = cache.resolve(transactionID: transaction.transactionID, fingerprint: transaction.fingerprint) {
            let (score, reasons) = RiskModel.default.evaluate(features)
            reasonTotal += reasons.count
            return Assessment(riskScore: score, decision: .approve, reasons: reasons, modelVersion: "rules-v1")
        }
    }
    let perEntry = Double(heapInUse() - before) / Double(cache.count)
    table.append(("bytes per idempotency entry", format(perEntry, decimals: 1)))
    table.append(("  mean reasons per entry", format(Double(reasonTotal) / Double(entries), decimals: 2)))
    withExtendedLifetime(cache) {}
}

print("")
print("fraud-core-bench  count=\(count)  threads=\(threads)  model=\(makeEngine().modelVersion)")
print("allocations: glibc mtrace (libc_malloc_debug.so.0) in a child run, malloc+calloc+realloc+memalign")
print("bytes: delta of \(HeapUsage.method)")
let width = table.map(\.0.count).max() ?? 0
for (name, value) in table {
    print(name + String(repeating: " ", count: width - name.count) + "  " + value)
}

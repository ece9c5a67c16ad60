import Dispatch
import Foundation
import FraudCore
import Glibc
import Synchronization

// fraud-core-bench: throughput, allocations and memory of the FraudCore engine alone.
//   --accounts N     accounts whose velocity is pre-populated before scoring (default 10_000_000)
//   --count N        fresh transactions scored per run (default 2_000_000; one by one and batched: N each)
//   --threads T      threads for the parallel run (default: all cores)
//   --evaluate CSV   instead: score a PaySim CSV and report weighted recall / precision
//   --legit-weight W weight of legitimate rows for --evaluate (default 256.37)
//   --model FILE     the model: "bundled" (default, as the server), "rules", or a JSON from `fraud-ctl train`
//   --shards N       velocity shards (default: the server's, RiskEngineConfiguration's 16)
//   --profile        only pre-population and the 1-thread run (for callgrind / perf)
//   --idempotency-capacity N  ids the engine remembers (default: the server's, 2_000_000); with fewer than
//                    the pre-populated ids a small --accounts run starts in the steady state (a full ring) that
//                    the 10-million-account run is in, so a profile at a small scale sees the same work
//   --dump CSV       instead: print every result for the PaySim CSV and synthetic traffic (see OutputDump)
// Allocation counts come from a child run of this binary under glibc's malloc tracer (see AllocationTrace).

var count = 2_000_000
var accounts = 10_000_000
var threads = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
var evaluatePath: String?
var legitWeight = 256.37
var isAllocationChild = false
var modelPath: String?
var dumpPath: String?
var isProfile = false
var idempotencyCapacity: Int?
var shardCount: Int?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--count": count = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil } ?? count
    case "--accounts": accounts = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil } ?? accounts
    case "--threads": threads = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil } ?? threads
    case "--evaluate": evaluatePath = arguments.next()
    case "--legit-weight": legitWeight = Double(arguments.next() ?? "") ?? legitWeight
    case "--allocations-child": isAllocationChild = true
    case "--model": modelPath = arguments.next()
    case "--dump": dumpPath = arguments.next()
    case "--profile": isProfile = true
    case "--shards": shardCount = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil }
    case "--idempotency-capacity": idempotencyCapacity = Int(arguments.next() ?? "").flatMap { $0 > 0 ? $0 : nil }
    default:
        print("usage: fraud-core-bench [--accounts N] [--count N] [--threads T] [--model FILE|bundled] [--idempotency-capacity N] [--shards N] [--profile] [--evaluate CSV [--legit-weight W]] [--dump CSV]")
        exit(2)
    }
}

/// --idempotency-capacity, if given.
let idempotencyCapacityOption = idempotencyCapacity
/// --shards, if given.
let shardCountOption = shardCount

/// The trained model given with --model (default: the bundled one, as the server), nil for `--model rules`.
let trainedModel: TrainedModel? = modelPath.flatMap { path -> TrainedModel? in
    if path == "bundled" { return TrainedModel.bundled }
    if path == "rules" { return nil }
    do {
        return try TrainedModel(json: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    } catch {
        print("cannot load model \(path): \(error)")
        exit(1)
    }
} ?? (modelPath == nil ? TrainedModel.bundled : nil)

/// A fresh engine as the server makes it (default configuration, the model's thresholds) with room for
/// `accounts` accounts (shards fill unevenly, hence the factor 2: no capacity eviction in the benchmark).
func makeEngine(accounts: Int) -> RiskEngine {
    var configuration = RiskEngineConfiguration()
    configuration.maxAccounts = max(configuration.maxAccounts, 2 * accounts)
    if let idempotencyCapacityOption {
        configuration.idempotencyCapacity = idempotencyCapacityOption
    }
    if let shardCountOption {
        configuration.shardCount = shardCountOption
    }
    guard let trainedModel else { return RiskEngine(configuration: configuration) }
    configuration.adoptThresholds(of: trainedModel)
    return RiskEngine(configuration: configuration, trainedModel: trainedModel)
}

if let dumpPath {
    do {
        try dumpOutputs(path: dumpPath)
    } catch {
        print("cannot read \(dumpPath): \(error)")
        exit(1)
    }
    exit(0)
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

// 0. Bytes per account: a VelocityStore alone with `accounts` distinct PaySim-style ids, one transaction each
// (then 2 steps each for a tenth of them). Measured before anything else so the RSS delta is its own.
if !isAllocationChild, !isProfile {
    let names = AccountPopulation(count: accounts)
    let rssBefore = ProcessMemory.residentBytes()
    let heapBefore = heapInUse()
    let store = VelocityStore(shardCount: shardCountOption ?? RiskEngineConfiguration().shardCount, maxAccounts: 2 * accounts)
    for index in 0..<accounts {
        _ = store.observe(
            account: names.name(index),
            counterparty: names.name(index &* 7_919 % accounts),
            amountCents: 10_000,
            step: 1
        )
    }
    let held = store.accountCount
    let rss = Double(ProcessMemory.residentBytes() - rssBefore) / Double(held)
    let heap = Double(heapInUse() - heapBefore) / Double(held)
    let own = Double(store.memoryFootprint) / Double(held)
    table.append(("accounts held (velocity store alone)", String(held)))
    table.append(("bytes per account, RSS delta", format(rss, decimals: 1)))
    table.append(("bytes per account, heap delta", format(heap, decimals: 1)))
    table.append(("bytes per account, store's own count", format(own, decimals: 1)))
    withExtendedLifetime(store) {}
}

// 1. The engine as the server runs it: default configuration (bundled model) with room for every account,
// velocity pre-populated with `accounts` accounts, then `count` fresh transactions (unique ids) scored through
// the server's entry point `score(_:label:commit:)` on one thread. Validation is left out: the server
// validates before calling the engine (ScoringService).
if !isAllocationChild {
    let population = AccountPopulation(count: accounts)
    let rssBefore = ProcessMemory.residentBytes()
    let engine = makeEngine(accounts: accounts)
    let prepared = clock.measure {
        prepopulate(engine, population: population)
    }
    let rssAfter = ProcessMemory.residentBytes()
    table.append(("accounts in the engine", String(engine.accountCount)))
    table.append((
        "  velocity windows read back per score",
        engine.decisionReadsVelocity ? "yes" : "no (the model reads no velocity input; every event is recorded)"
    ))
    table.append(("  pre-population", format(seconds(prepared), decimals: 1) + " s"))
    table.append(("  engine RSS (velocity + \(engine.idempotencyCount) ids)", format(Double(rssAfter - rssBefore) / 1_048_576) + " MiB"))
    let footprint = engine.memoryFootprint
    table.append(("  velocity bytes per account (own count)", format(Double(footprint.velocityBytes) / Double(engine.accountCount), decimals: 1)))
    table.append(("  idempotency bytes per id (own count)", format(Double(footprint.idempotencyBytes) / Double(engine.idempotencyCount), decimals: 1)))

    // One-by-one (`score(_:label:commit:)`, as the server calls it) and batched (`score(batch:…)`) on the same
    // engine: 2 × `count` fresh transactions in step order, cut into 16 chunks scored alternately one by one
    // and batched, so both see the same state (same accounts, same step range, same cache fill).
    let fresh = makeFreshTransactions(count: 2 * count, population: population, firstID: 0, seed: 1)
    let referenceBefore = SpeedReference.measure()
    let latencyBefore = MemoryLatencyReference.measure()
    let chunks = 16
    var single = Consumed()
    var batched = Consumed()
    var singleWall = 0.0
    var batchedWall = 0.0
    for chunk in 0..<chunks {
        let slice = fresh[fresh.count * chunk / chunks..<fresh.count * (chunk + 1) / chunks]
        let cpuBefore = ThreadCPUTime.seconds()
        var consumed = Consumed()
        let elapsed = clock.measure {
            consumed = chunk % 2 == 0 ? scoreAll(slice, with: engine) : scoreAllBatched(slice, with: engine)
        }
        consumed.cpuSeconds = ThreadCPUTime.seconds() - cpuBefore
        if chunk % 2 == 0 {
            single.merge(consumed)
            singleWall += seconds(elapsed)
        } else {
            batched.merge(consumed)
            batchedWall += seconds(elapsed)
        }
    }
    let referenceAfter = SpeedReference.measure()
    let latencyAfter = MemoryLatencyReference.measure()
    let rate = Double(single.scored) / singleWall
    let batchedRate = Double(batched.scored) / batchedWall
    table.append(("scores/s, 1 thread, one by one", format(rate)))
    table.append(("  mean time per score", format(1e9 / rate) + " ns"))
    table.append(("  per CPU-second of the thread", format(Double(single.scored) / single.cpuSeconds)))
    table.append(("  scored / declined / reviewed", "\(single.scored) / \(single.declines) / \(single.reviews)"))
    table.append(("scores/s, 1 thread, batched (window \(RiskEngine.batchWindow))", format(batchedRate)))
    table.append(("  mean time per score", format(1e9 / batchedRate) + " ns"))
    table.append(("  per CPU-second of the thread", format(Double(batched.scored) / batched.cpuSeconds)))
    table.append(("  scored / declined / reviewed", "\(batched.scored) / \(batched.declines) / \(batched.reviews)"))
    table.append((
        "speed reference (M chain steps/s, before / after)",
        format(referenceBefore) + " / " + format(referenceAfter)
    ))
    table.append((
        "memory latency reference (ns per dependent load, before / after)",
        format(latencyBefore, decimals: 1) + " / " + format(latencyAfter, decimals: 1)
    ))
    table.append(("  engine memory in huge pages", format(Double(ProcessMemory.anonymousHugePageBytes()) / 1_048_576) + " MiB"))

    if isProfile {
        print(
            "profile: one by one \(single.scored) scored, \(format(rate)) scores/s,"
                + " \(format(Double(single.scored) / single.cpuSeconds)) per CPU-second;"
                + " batched \(batched.scored) scored, \(format(batchedRate)) scores/s,"
                + " \(format(Double(batched.scored) / batched.cpuSeconds)) per CPU-second;"
                + " speed reference \(format(referenceBefore)) / \(format(referenceAfter)) M/s;"
                + " memory latency \(format(latencyBefore, decimals: 1)) / \(format(latencyAfter, decimals: 1)) ns"
        )
        exit(0)
    }

    // 2. All threads, each scoring a disjoint slice of new transactions into the same engine, one by one (as the
    // server's Score calls do) and batched (as a ScoreStream or a backfill could): 2 × `count` fresh transactions
    // cut into 8 chunks that alternate between the two, as in the one-thread runs, so that neither always runs
    // second (run back to back, the later of the two came out 10–33 % slower here, whichever it was).
    let parallel = makeFreshTransactions(count: 2 * count, population: population, firstID: 2 * count, seed: 2)
    let parallelChunks = 8
    var parallelConsumed = [Consumed(), Consumed()]
    var parallelWall = [0.0, 0.0]
    for chunk in 0..<parallelChunks {
        let mode = chunk % 2  // 0: one by one, 1: batched
        let lower = parallel.count * chunk / parallelChunks
        let upper = parallel.count * (chunk + 1) / parallelChunks
        let sliceSize = (upper - lower + threads - 1) / threads
        let results = Mutex(Consumed())
        let elapsed = clock.measure {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let start = lower + thread * sliceSize
                let end = min(start + sliceSize, upper)
                guard start < end else { return }
                let cpuBefore = ThreadCPUTime.seconds()
                var local =
                    mode == 1
                    ? scoreAllBatched(parallel[start..<end], with: engine) : scoreAll(parallel[start..<end], with: engine)
                local.cpuSeconds = ThreadCPUTime.seconds() - cpuBefore
                results.withLock { $0.merge(local) }
            }
        }
        parallelConsumed[mode].merge(results.withLock { $0 })
        parallelWall[mode] += seconds(elapsed)
    }
    for mode in 0..<2 {
        let label = "\(threads) threads" + (mode == 1 ? ", batched" : ", one by one")
        let consumed = parallelConsumed[mode]
        table.append(("scores/s, " + label, format(Double(consumed.scored) / parallelWall[mode])))
        table.append(("  scored (" + label + ")", String(consumed.scored)))
        table.append(("  per CPU-second of the threads", format(Double(consumed.scored) / consumed.cpuSeconds)))
    }
    table.append(("process RSS at the end", format(Double(ProcessMemory.residentBytes()) / 1_048_576) + " MiB"))
    withExtendedLifetime(engine) {}
}

// 1b. The model alone (features precomputed): what the scoring model costs inside a score.
if !isAllocationChild {
    let population = AccountPopulation(count: min(accounts, 1_000_000))
    let sample = makeFreshTransactions(count: 200_000, population: population, firstID: 0, seed: 3).map {
        FeatureExtractor.features(for: $0, origin: .unseen, destination: .unseen)
    }
    let review = makeEngine(accounts: 1).configuration.reviewThreshold
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

// 3. Allocations per score, measured in a child process under glibc's malloc tracer.
if isAllocationChild {
    print(measureAllocations(accounts: accounts, count: count))
    exit(0)
}
table.append(contentsOf: allocationRows(accounts: accounts, count: count, modelPath: modelPath))

// 4. Bytes per idempotency entry: 1,000,000 ids with assessments of the rules model (its own reasons, 0.87
// per entry on this traffic: more than the trained model gives, so an upper bound).
do {
    let entries = 1_000_000
    let population = AccountPopulation(count: min(accounts, 1_000_000))
    let transactions = makeFreshTransactions(count: entries, population: population, firstID: 0, seed: 4)
    let cache = IdempotencyCache(capacity: 2 * entries)
    var reasonTotal = 0
    let before = heapInUse()
    for transaction in transactions {
        let features = FeatureExtractor.features(for: transaction, origin: .unseen, destination: .unseen)
        _ = cache.resolve(transactionID: transaction.transactionID, fingerprint: transaction.fingerprint) {
            let (score, reasons) = RiskModel.default.evaluate(features)
            reasonTotal += reasons.count
            return Assessment(riskScore: score, decision: .approve, reasons: reasons, modelVersion: "rules-v1")
        }
    }
    let perEntry = Double(heapInUse() - before) / Double(cache.count)
    table.append(("bytes per idempotency entry (heap delta)", format(perEntry, decimals: 1)))
    table.append(("  own count, without reason strings", format(Double(cache.memoryFootprint) / Double(cache.count), decimals: 1)))
    table.append(("  mean reasons per entry", format(Double(reasonTotal) / Double(entries), decimals: 2)))
    withExtendedLifetime(cache) {}
}

print("")
print("fraud-core-bench  accounts=\(accounts)  count=\(count)  threads=\(threads)  model=\(makeEngine(accounts: 1).modelVersion)")
print("allocations: glibc mtrace (libc_malloc_debug.so.0) in a child run, malloc+calloc+realloc+memalign")
print("bytes: RSS (/proc/self/statm) and \(HeapUsage.method) deltas")
let width = table.map(\.0.count).max() ?? 0
for (name, value) in table {
    print(name + String(repeating: " ", count: width - name.count) + "  " + value)
}

import FraudCore
import Glibc

/// `count` distinct PaySim-style account ids: `C` followed by 9 or 10 digits (`C1231006815`), every fourth one a
/// merchant (`M…`). Built on demand, so 10 million names cost no memory.
struct AccountPopulation {
    let count: Int

    /// Id `index` (0..<count): a bijection of `0..<2e9` onto `100_000_000..<2_100_000_000`, so ids are
    /// distinct and look random.
    func name(_ index: Int) -> String {
        let number = 100_000_000 + (UInt64(index) &* 2_654_435_761) % 2_000_000_000
        return (index % 4 == 3 ? "M" : "C") + String(number)
    }

    /// A customer (never a merchant) for a random draw.
    func customer(_ draw: UInt64) -> String {
        var index = Int(draw % UInt64(count))
        if index % 4 == 3 { index -= 1 }
        return name(index)
    }

    /// A merchant for a random draw (a customer when the population has no merchant).
    func merchant(_ draw: UInt64) -> String {
        guard count >= 4 else { return customer(draw) }
        let index = Int(draw % UInt64(count / 4)) * 4 + 3
        return name(index)
    }
}

/// Gives every account of `population` one transaction (account `2i` pays `2i + 1`), in steps 1–24, through
/// the server's entry point; the ids (`pre-…`) fill the idempotency cache to its steady state as well.
func prepopulate(_ engine: RiskEngine, population: AccountPopulation) {
    let transactions = (population.count + 1) / 2
    for index in 0..<transactions {
        let origin = population.name(2 * index)
        let destination = 2 * index + 1 < population.count ? population.name(2 * index + 1) : population.name(0)
        let isMerchant = destination.utf8.first == UInt8(ascii: "M")
        let transaction = Transaction(
            transactionID: "pre-\(index)",
            step: UInt32(1 + index * 24 / max(transactions, 1)),
            type: isMerchant ? .payment : .transfer,
            amountCents: 10_000 + Int64(index % 1_000),
            originAccount: origin,
            originBalanceBeforeCents: 1_000_000,
            originBalanceAfterCents: 990_000 - Int64(index % 1_000),
            destinationAccount: destination,
            destinationBalanceBeforeCents: isMerchant ? 0 : 50_000,
            destinationBalanceAfterCents: isMerchant ? 0 : 60_000 + Int64(index % 1_000)
        )
        _ = engine.score(transaction, label: .unspecified) { _ in true }
    }
}

/// `count` new transactions over `population` (ids `tx-<firstID + i>`, unique), in steps 25–48 (inside the
/// pre-populated accounts' window, so none of them is idle), with PaySim's type mix and ~0.13 % account
/// takeovers (a TRANSFER draining the origin to a customer whose balance does not move, then its CASH_OUT).
func makeFreshTransactions(count: Int, population: AccountPopulation, firstID: Int, seed: UInt64) -> [Transaction] {
    var random = SplitMix64(state: seed)
    var result: [Transaction] = []
    result.reserveCapacity(count)
    while result.count < count {
        let step = UInt32(25 + result.count * 24 / max(count, 1))
        let id = "tx-\(firstID + result.count)"
        let origin = population.customer(random.next())
        if random.below(10_000) < 13, result.count + 2 <= count {
            let balance = random.amount(log10From: 5, to: 8)
            let mule = population.customer(random.next())
            result.append(
                Transaction(
                    transactionID: id,
                    step: step,
                    type: .transfer,
                    amountCents: balance,
                    originAccount: origin,
                    originBalanceBeforeCents: balance,
                    originBalanceAfterCents: 0,
                    destinationAccount: mule,
                    destinationBalanceBeforeCents: 0,
                    destinationBalanceAfterCents: 0
                )
            )
            result.append(
                Transaction(
                    transactionID: "tx-\(firstID + result.count)",
                    step: step,
                    type: .cashOut,
                    amountCents: balance,
                    originAccount: mule,
                    originBalanceBeforeCents: balance,
                    originBalanceAfterCents: 0,
                    destinationAccount: population.customer(random.next()),
                    destinationBalanceBeforeCents: 0,
                    destinationBalanceAfterCents: balance
                )
            )
            continue
        }
        let roll = random.below(1_000)
        let type: TransactionType =
            roll < 350 ? .cashOut : roll < 690 ? .payment : roll < 910 ? .cashIn : roll < 994 ? .transfer : .debit
        let amount = random.amount(log10From: 3, to: type == .payment ? 6 : 8)
        let originBefore = random.below(3) == 0 ? 0 : random.amount(log10From: 3, to: 8)
        let originAfter = type == .cashIn ? originBefore + amount : max(0, originBefore - amount)
        let isMerchant = type == .payment
        let destination = isMerchant ? population.merchant(random.next()) : population.customer(random.next())
        let destinationBefore = isMerchant ? 0 : random.amount(log10From: 3, to: 9)
        let destinationAfter =
            isMerchant ? 0 : (type == .cashIn ? max(0, destinationBefore - amount) : destinationBefore + amount)
        result.append(
            Transaction(
                transactionID: id,
                step: step,
                type: type,
                amountCents: amount,
                originAccount: origin,
                originBalanceBeforeCents: originBefore,
                originBalanceAfterCents: originAfter,
                destinationAccount: destination,
                destinationBalanceBeforeCents: destinationBefore,
                destinationBalanceAfterCents: destinationAfter
            )
        )
    }
    return result
}

/// What the scoring loops saw, so the optimiser cannot drop the work, and a sanity check for the reader.
struct Consumed {
    var scored = 0
    var replayed = 0
    var refused = 0
    var reviews = 0
    var declines = 0
    var scoreSum: Double = 0
    /// CPU time of the scoring thread(s), when measured.
    var cpuSeconds: Double = 0

    mutating func add(_ outcome: ScoreOutcome?) {
        switch outcome {
        case .scored(let assessment):
            scored += 1
            scoreSum += Double(assessment.riskScore)
            if assessment.decision == .decline { declines += 1 }
            if assessment.decision == .review { reviews += 1 }
        case .replayed: replayed += 1
        case .conflict, nil: refused += 1
        }
    }

    mutating func merge(_ other: Consumed) {
        scored += other.scored
        replayed += other.replayed
        refused += other.refused
        reviews += other.reviews
        declines += other.declines
        scoreSum += other.scoreSum
        cpuSeconds += other.cpuSeconds
    }
}

/// The process's resident set size, from `/proc/self/statm`, and its transparent huge pages.
enum ProcessMemory {
    /// `AnonHugePages` of `/proc/self/smaps_rollup`, in bytes (0 when unavailable).
    static func anonymousHugePageBytes() -> Int {
        guard let file = fopen("/proc/self/smaps_rollup", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard line.hasPrefix("AnonHugePages:") else { continue }
            let digits = line.dropFirst("AnonHugePages:".count).filter(\.isNumber)
            return (Int(digits) ?? 0) * 1_024
        }
        return 0
    }


    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
        let line = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Scores `transactions` through the server's entry point (`score(_:label:commit:)`, journal commit always
/// succeeding) and tallies the outcomes. Not inlined, so profilers can single it out
/// (`valgrind --tool=callgrind --toggle-collect='*scoreAll*'`).
@inline(never)
func scoreAll(_ transactions: ArraySlice<Transaction>, with engine: RiskEngine) -> Consumed {
    var consumed = Consumed()
    for transaction in transactions {
        consumed.add(engine.score(transaction, label: .unspecified) { _ in true })
    }
    return consumed
}

/// Scores `transactions` through the batch entry point (`score(batch:commit:outcome:)`, journal commit always
/// succeeding) and tallies the outcomes. Not inlined (`--toggle-collect='*scoreAllBatched*'`).
@inline(never)
func scoreAllBatched(_ transactions: ArraySlice<Transaction>, with engine: RiskEngine) -> Consumed {
    var consumed = Consumed()
    engine.score(batch: transactions) { _, _ in true } outcome: { _, outcome in
        consumed.add(outcome)
    }
    return consumed
}

/// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`): on a shared machine, scores per
/// CPU-second are what one core does, whatever else runs.
enum ThreadCPUTime {
    static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

import FraudCore

/// SplitMix64: small, fast, deterministic.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// Roughly log-uniform cents between 10^lo and 10^hi.
    mutating func amount(log10From lo: Int, to hi: Int) -> Int64 {
        var value: Int64 = 1
        for _ in 0..<lo { value *= 10 }
        let decades = hi - lo
        var scaled = value
        for _ in 0..<Int(below(UInt64(decades + 1))) { scaled *= 10 }
        return scaled + Int64(below(UInt64(scaled * 9)))
    }
}

/// PaySim-like traffic: type mix of the real data, customers `C…`, merchants `M…`, about 0.13 % account
/// takeovers (a TRANSFER draining the origin to a mule whose balance does not move, then the mule's
/// CASH_OUT). Steps advance evenly over 743 hours.
func makeSyntheticTransactions(count: Int, seed: UInt64 = 42) -> [Transaction] {
    var random = SplitMix64(state: seed)
    let customers = UInt64(max(1_000, count / 2))
    var result: [Transaction] = []
    result.reserveCapacity(count + count / 500)
    var index = 0
    while result.count < count {
        let step = UInt32(1 + (result.count * 743) / max(count, 1))
        let origin = "C\(1_000_000_000 + random.below(customers))"
        let id = "tx-\(index)"
        index += 1
        if random.below(10_000) < 13 {
            let balance = random.amount(log10From: 5, to: 8)
            let mule = "C\(2_000_000_000 + random.below(customers))"
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
                    transactionID: "tx-\(index)",
                    step: step,
                    type: .cashOut,
                    amountCents: balance,
                    originAccount: mule,
                    originBalanceBeforeCents: balance,
                    originBalanceAfterCents: 0,
                    destinationAccount: "C\(3_000_000_000 + random.below(customers))",
                    destinationBalanceBeforeCents: 0,
                    destinationBalanceAfterCents: balance
                )
            )
            index += 1
            continue
        }
        let roll = random.below(1_000)
        let type: TransactionType =
            roll < 350 ? .cashOut : roll < 690 ? .payment : roll < 910 ? .cashIn : roll < 994 ? .transfer : .debit
        let amount = random.amount(log10From: 3, to: type == .payment ? 6 : 8)
        let originBefore = random.below(3) == 0 ? 0 : random.amount(log10From: 3, to: 8)
        let originAfter = type == .cashIn ? originBefore + amount : max(0, originBefore - amount)
        let isMerchant = type == .payment
        let destination =
            isMerchant
            ? "M\(1_000_000_000 + random.below(customers * 2))" : "C\(1_000_000_000 + random.below(customers))"
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

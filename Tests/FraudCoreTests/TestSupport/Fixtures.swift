@testable import FraudCore

/// Builders for transactions used across the suites.
enum Fixtures {
    /// A valid wire transaction: a small PAYMENT to a merchant.
    static func raw(
        id: String = "tx-1",
        step: UInt32 = 1,
        type: Int32 = TransactionType.payment.rawValue,
        amountCents: Int64 = 983_964,
        origin: String = "C1231006815",
        originBefore: Int64 = 17_013_600,
        originAfter: Int64 = 16_029_636,
        destination: String = "M1979787155",
        destinationBefore: Int64 = 0,
        destinationAfter: Int64 = 0
    ) -> RawTransaction {
        RawTransaction(
            transactionID: id,
            step: step,
            typeRawValue: type,
            amountCents: amountCents,
            originAccount: origin,
            originBalanceBeforeCents: originBefore,
            originBalanceAfterCents: originAfter,
            destinationAccount: destination,
            destinationBalanceBeforeCents: destinationBefore,
            destinationBalanceAfterCents: destinationAfter
        )
    }

    static func transaction(
        id: String = "tx-1",
        step: UInt32 = 1,
        type: TransactionType = .payment,
        amountCents: Int64 = 983_964,
        origin: String = "C1231006815",
        originBefore: Int64 = 17_013_600,
        originAfter: Int64 = 16_029_636,
        destination: String = "M1979787155",
        destinationBefore: Int64 = 0,
        destinationAfter: Int64 = 0
    ) -> Transaction {
        Transaction(
            transactionID: id,
            step: step,
            type: type,
            amountCents: amountCents,
            originAccount: origin,
            originBalanceBeforeCents: originBefore,
            originBalanceAfterCents: originAfter,
            destinationAccount: destination,
            destinationBalanceBeforeCents: destinationBefore,
            destinationBalanceAfterCents: destinationAfter
        )
    }

    /// PaySim row 3 (step 1): `TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,isFraud=1`.
    static let paysimDrainTransfer = transaction(
        id: "paysim-3",
        step: 1,
        type: .transfer,
        amountCents: 18_100,
        origin: "C1305486145",
        originBefore: 18_100,
        originAfter: 0,
        destination: "C553264065",
        destinationBefore: 0,
        destinationAfter: 0
    )

    /// PaySim row 4 (step 1): `CASH_OUT,181.0,C840083671,181.0,0.0,C38997010,21182.0,0.0,isFraud=1`.
    static let paysimDrainCashOut = transaction(
        id: "paysim-4",
        step: 1,
        type: .cashOut,
        amountCents: 18_100,
        origin: "C840083671",
        originBefore: 18_100,
        originAfter: 0,
        destination: "C38997010",
        destinationBefore: 2_118_200,
        destinationAfter: 0
    )

    /// PaySim row 1 (step 1): `PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,isFraud=0`.
    static let paysimPayment = transaction(id: "paysim-1")

    /// Deterministic pseudo-random traffic with repeated ids (replays) and reused ids (conflicts).
    static func mixedTraffic(count: Int, seed: UInt64) -> [Transaction] {
        var state = seed
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var result: [Transaction] = []
        for index in 0..<count {
            if index > 10, next(20) == 0 {
                var repeated = result[Int(next(UInt64(result.count)))]
                if next(2) == 0 { repeated.amountCents += 1 }  // conflict
                result.append(repeated)
                continue
            }
            let type = TransactionType.allCases[Int(next(5))]
            let before = Int64(next(1_000_000))
            let amount = Int64(1 + next(2_000_000))
            result.append(
                transaction(
                    id: "mix-\(index)",
                    step: UInt32(index / 40),
                    type: type,
                    amountCents: amount,
                    origin: "C\(next(30))",
                    originBefore: before,
                    originAfter: next(3) == 0 ? 0 : max(0, before - amount),
                    destination: type == .payment ? "M\(next(300))" : "C\(next(300))",
                    destinationBefore: Int64(next(1_000_000)),
                    destinationAfter: Int64(next(1_000_000))
                )
            )
        }
        return result
    }
}

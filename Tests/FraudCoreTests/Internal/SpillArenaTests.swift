import Foundation
import Testing

@testable import FraudCore

@Suite("SpillArena")
struct SpillArenaTests {
    @Test("Lists behave like arrays (append, overwrite, order) across blocks, and freed blocks are reused")
    func againstArrays() {
        var arena = SpillArena(filler: -1)
        var lists = [UInt32](repeating: 0, count: 20)
        var arrays = [[Int]](repeating: [], count: 20)
        var random: UInt64 = 99
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        for round in 0..<5_000 {
            let list = next(20)
            let action = next(10)
            if action == 0 {
                arena.release(&lists[list])
                arrays[list] = []
            } else if action <= 2, !arrays[list].isEmpty {
                let position = next(arrays[list].count)
                arena[lists[list], position] = round
                arrays[list][position] = round
            } else if arrays[list].count < 23 {
                arena.append(round, to: &lists[list])
                arrays[list].append(round)
            }
            for index in 0..<20 {
                #expect(arena.count(lists[index]) == arrays[index].count)
            }
        }
        for index in 0..<20 {
            var seen: [Int] = []
            var block = lists[index]
            while block != 0 {
                let (elements, next) = arena.block(block)
                for position in elements {
                    seen.append(arena.element(at: position))
                }
                block = next
            }
            #expect(seen == arrays[index])
            if let last = arrays[index].last {
                #expect(arena.firstIndex(lists[index]) { $0 == last } == arrays[index].firstIndex(of: last))
            }
        }
        // Everything released: the next lists reuse the blocks instead of growing the store.
        let blocks = arena.blockCount
        for index in 0..<20 {
            arena.release(&lists[index])
        }
        #expect(arena.freeBlockCount == blocks)
        for index in 0..<20 {
            for value in 0..<8 {
                arena.append(value, to: &lists[index])
            }
        }
        #expect(arena.blockCount == blocks)
    }
}

@Suite("LogisticPlan")
struct LogisticPlanTests {
    @Test("The flattened model's logit is bit-identical to the model's, over many feature vectors")
    func bitIdentical() throws {
        try Self.checkBitIdentical(TrainedModel.bundled, writtenOut: true)
        // The same model with one transform changed: not the no-velocity inputs, so the plan loops.
        let changed = TrainedModel.bundledJSON.replacingOccurrences(
            of: "\"column\" : \"type_debit\",\n      \"transform\" : \"identity\"",
            with: "\"column\" : \"type_debit\",\n      \"transform\" : \"is-zero\""
        )
        #expect(changed != TrainedModel.bundledJSON)
        try Self.checkBitIdentical(TrainedModel(json: Array(changed.utf8)), writtenOut: false)
    }

    /// `model`'s plan gives its logit bit for bit, through the written-out no-velocity logit or not.
    static func checkBitIdentical(_ model: TrainedModel, writtenOut: Bool) throws {
        let plan = try #require(LogisticPlan(model))
        #expect(plan.evaluator.hasNoVelocityInputs == writtenOut)
        var random: UInt64 = 7
        func next(_ bound: Int64) -> Int64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((random >> 33) % UInt64(bound))
        }
        for index in 0..<20_000 {
            let before = index % 3 == 0 ? 0 : next(1_000_000_000)
            // Every fifth amount is the whole balance: a ratio of exactly 1 (`is-one`).
            let amount = index % 5 == 0 && before > 0 ? before : 1 + next(100_000_000)
            let transaction = Transaction(
                transactionID: "t\(index)",
                step: UInt32(1 + next(743)),
                type: TransactionType(rawValue: Int32(1 + next(5)))!,
                amountCents: amount,
                originAccount: "C\(index)",
                originBalanceBeforeCents: before,
                originBalanceAfterCents: index % 4 == 0 ? 0 : max(0, before - amount),
                destinationAccount: index % 2 == 0 ? "M\(index)" : "C\(index + 1)",
                destinationBalanceBeforeCents: next(1_000_000),
                destinationBalanceAfterCents: next(1_000_000)
            )
            let features = FeatureExtractor.features(for: transaction, origin: .unseen, destination: .unseen)
            #expect(plan.logit(features).bitPattern == model.logit(features).bitPattern)
        }
    }

    @Test("A tree ensemble has no plan")
    func trees() {
        #expect(LogisticPlan(RiskModelTestsSupport.treeModel) == nil)
    }
}

enum RiskModelTestsSupport {
    /// A one-leaf tree ensemble: not a logistic regression, so it has no plan.
    static var treeModel: TrainedModel {
        var model = TrainedModel.bundled
        model.kind = .gradientBoostedTrees
        model.logistic = nil
        return model
    }
}

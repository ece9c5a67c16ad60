import Dispatch
import Foundation
import Synchronization
import Testing

@testable import FraudCore

@Suite("Risk engine")
struct RiskEngineTests {
    @Test("A PaySim drain TRANSFER to a mule is declined with ORIGIN_DRAINED first")
    func paysimDrain() throws {
        let engine = RiskEngine()
        let outcome = engine.score(Fixtures.paysimDrainTransfer, label: .fraud)
        guard case .scored(let assessment) = outcome else {
            Issue.record("expected .scored, got \(outcome)")
            return
        }
        #expect(assessment.decision == .decline)
        #expect(assessment.riskScore >= 0.8)
        #expect(assessment.modelVersion == "rules-v1")
        let first = try #require(assessment.reasons.first)
        #expect(first.code == Reason.Code.originDrained)
        #expect(first.detail == "origin balance 181.00 fully drained by a TRANSFER of 181.00")
        #expect(assessment.reasons.map(\.code).contains(Reason.Code.destinationBalanceUnchanged))
        // 0.70 + 0.30 + 0.10 + 0.10 (night: step 1 is 01:00) = 1.2, clamped.
        #expect(assessment.reasons.map(\.weight).reduce(0, +) > 1)
        #expect(assessment.riskScore == 1)
    }

    @Test("The mule's CASH_OUT that follows is declined too")
    func paysimCashOut() {
        let engine = RiskEngine()
        _ = engine.score(Fixtures.paysimDrainTransfer, label: .fraud)
        let assessment = engine.score(Fixtures.paysimDrainCashOut, label: .fraud).assessment
        #expect(assessment?.decision == .decline)
        #expect(assessment?.reasons.first?.code == Reason.Code.originDrained)
    }

    @Test("A small PAYMENT and a CASH_IN are approved with no reasons")
    func ordinaryTraffic() {
        let engine = RiskEngine()
        #expect(
            engine.score(Fixtures.paysimPayment, label: .unspecified)
                == .scored(Assessment(riskScore: 0, decision: .approve, reasons: [], modelVersion: "rules-v1"))
        )
        let cashIn = Fixtures.transaction(
            id: "cash-in",
            step: 300,
            type: .cashIn,
            amountCents: 39_485_812,
            origin: "C960599901",
            originBefore: 76_240_855,
            originAfter: 115_726_667,
            destination: "C1561072817",
            destinationBefore: 147_974_970,
            destinationAfter: 108_489_158
        )
        #expect(engine.score(cashIn, label: .legitimate).assessment?.decision == .approve)
    }

    @Test("A replay returns the same assessment and leaves velocity untouched")
    func replay() {
        let engine = RiskEngine()
        let transaction = Fixtures.paysimDrainTransfer
        let first = engine.score(transaction, label: .unspecified)
        let origin = engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step)
        let destination = engine.velocitySnapshot(account: transaction.destinationAccount, step: transaction.step)
        #expect(origin.countLastStep == 1)
        // A retry that only adds the label is still the same transaction.
        let second = engine.score(transaction, label: .fraud)
        #expect(second == .replayed(first.assessment!))
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step) == origin)
        #expect(engine.velocitySnapshot(account: transaction.destinationAccount, step: transaction.step) == destination)
        #expect(engine.idempotencyCount == 1)
        #expect(engine.accountCount == 2)
    }

    @Test("A failed commit is counted once: retries commit the first decision instead of scoring again")
    func failedCommitIsRetriedNotRescored() {
        let engine = RiskEngine(trainedModel: .bundled)
        let transaction = Fixtures.paysimDrainTransfer
        var committed: [Assessment] = []
        var journalWorks = false
        func score(_ transaction: Transaction) -> ScoreOutcome? {
            engine.score(transaction, label: .unspecified) { assessment in
                guard journalWorks else { return false }
                committed.append(assessment)
                return true
            }
        }
        // The journal write fails: no answer, but the engine has counted the transaction.
        #expect(score(transaction) == nil)
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step).countLastStep == 1)
        #expect(engine.idempotency.isPending(transaction.transactionID))
        // Still failing: still no answer, still counted once.
        #expect(score(transaction) == nil)
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step).countLastStep == 1)
        // Another payload under the id is still a conflict.
        var other = transaction
        other.amountCents += 1
        if case .conflict = score(other) {} else { Issue.record("expected a conflict") }
        // The journal is back: the retry commits the decision made the first time and gets it as scored.
        journalWorks = true
        let retried = score(transaction)
        guard case .scored(let assessment) = retried else {
            Issue.record("expected scored, got \(String(describing: retried))")
            return
        }
        #expect(committed == [assessment])
        #expect(assessment.decision == .decline)
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step).countLastStep == 1)
        #expect(engine.velocitySnapshot(account: transaction.destinationAccount, step: transaction.step).countLastStep == 1)
        #expect(!engine.idempotency.isPending(transaction.transactionID))
        // From now on it is an ordinary replay, committed nowhere again.
        #expect(score(transaction) == .replayed(assessment))
        #expect(committed.count == 1)
        #expect(engine.idempotencyCount == 1)
    }

    @Test("Batches treat a pending id exactly as one-by-one calls do")
    func failedCommitInABatch() {
        let engine = RiskEngine(trainedModel: .bundled)
        let transaction = Fixtures.paysimDrainTransfer
        var outcomes: [ScoreOutcome?] = []
        var commits = 0
        // The first copy's commit fails, the second copy (same batch, same id) commits that decision.
        engine.score(batch: [transaction, transaction, transaction][...]) { _, _ in
            commits += 1
            return commits > 1
        } outcome: { _, outcome in
            outcomes.append(outcome)
        }
        #expect(commits == 2)
        #expect(outcomes.count == 3)
        #expect(outcomes[0] == nil)
        guard case .scored(let assessment)? = outcomes[1] else {
            Issue.record("expected scored, got \(String(describing: outcomes[1]))")
            return
        }
        #expect(outcomes[2] == .replayed(assessment))
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step).countLastStep == 1)
    }

    @Test("Reusing an id for another payload is a conflict that counts nothing")
    func conflict() {
        let engine = RiskEngine()
        var transaction = Fixtures.paysimPayment
        _ = engine.score(transaction, label: .unspecified)
        transaction.amountCents += 1
        #expect(
            engine.score(transaction, label: .unspecified)
                == .conflict(
                    ValidationError(
                        field: "transaction.transaction_id",
                        rule: "was already used for a different transaction"
                    )
                )
        )
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step).countLastStep == 1)
    }

    @Test("Velocity feeds the model: a burst from one origin raises ORIGIN_VELOCITY_1H")
    func velocityReason() {
        let engine = RiskEngine()
        var last: Assessment?
        for index in 0..<4 {
            last = engine.score(Fixtures.transaction(id: "burst-\(index)", step: 30), label: .unspecified).assessment
        }
        #expect(last?.reasons.map(\.code) == [Reason.Code.originVelocity1h])
        #expect(
            last?.reasons.first?.detail
                == "origin already made 3 transactions totalling 29518.92 in this hour (limit 3)"
        )
    }

    @Test("The label never changes the score")
    func labelIgnored() {
        let traffic = Fixtures.mixedTraffic(count: 500, seed: 3)
        let labelled = RiskEngine()
        let unlabelled = RiskEngine()
        for (index, transaction) in traffic.enumerated() {
            let label: Label = index % 2 == 0 ? .fraud : .legitimate
            #expect(labelled.score(transaction, label: label) == unlabelled.score(transaction, label: .unspecified))
        }
    }

    @Test("50 concurrent copies of one id: 1 scored, 49 replayed, velocity counted once (threads)")
    func concurrentThreads() {
        let engine = RiskEngine()
        let transaction = Fixtures.paysimDrainTransfer
        let outcomes = Mutex<[ScoreOutcome]>([])
        // Hold the origin's velocity shard while the copies start, so they all pile up inside or in front
        // of the critical section: were the id's lock not held across scoring, several would get past the
        // check and block here, then all be scored.
        let shards = engine.velocity.shards
        let originShard = shards[AccountKey.hashAndCode(of: transaction.originAccount).hash.shardIndex(count: shards.count)]
        let release = DispatchSemaphore(value: 0)
        let holder = Thread {
            originShard.table.withLock { _ in
                release.wait()
            }
        }
        holder.start()
        Thread.sleep(forTimeInterval: 0.05)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { release.signal() }
        onThreads(50) { _ in
            let outcome = engine.score(transaction, label: .unspecified)
            outcomes.withLock { $0.append(outcome) }
        }
        Self.checkSingleScore(outcomes.withLock { $0 }, engine: engine, transaction: transaction)
    }

    @Test("50 concurrent copies of one id: 1 scored, 49 replayed, velocity counted once (tasks)")
    func concurrentTasks() async {
        let engine = RiskEngine()
        let transaction = Fixtures.paysimDrainTransfer
        let outcomes = await withTaskGroup(of: ScoreOutcome.self) { group in
            for _ in 0..<50 {
                group.addTask { engine.score(transaction, label: .unspecified) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        Self.checkSingleScore(outcomes, engine: engine, transaction: transaction)
    }

    static func checkSingleScore(_ outcomes: [ScoreOutcome], engine: RiskEngine, transaction: Transaction) {
        #expect(outcomes.count == 50)
        let scored = outcomes.compactMap { if case .scored(let a) = $0 { a } else { nil } }
        let replayed = outcomes.compactMap { if case .replayed(let a) = $0 { a } else { nil } }
        #expect(scored.count == 1)
        #expect(replayed.count == 49)
        #expect(replayed.allSatisfy { $0 == scored.first })
        #expect(engine.velocitySnapshot(account: transaction.originAccount, step: transaction.step).countLastStep == 1)
        #expect(
            engine.velocitySnapshot(account: transaction.destinationAccount, step: transaction.step).countLastStep == 1
        )
        #expect(engine.idempotencyCount == 1)
    }

    @Test("Many threads scoring overlapping traffic count every id exactly once")
    func concurrentMixed() {
        let engine = RiskEngine(configuration: RiskEngineConfiguration(shardCount: 4))
        let transactions = (0..<400).map {
            Fixtures.transaction(id: "t\($0)", step: 9, origin: "C\($0 % 10)", destination: "M\($0 % 7)")
        }
        onThreads(8) { _ in
            for transaction in transactions {
                _ = engine.score(transaction, label: .unspecified)
            }
        }
        #expect(engine.idempotencyCount == 400)
        let perOrigin = (0..<10).map { engine.velocitySnapshot(account: "C\($0)", step: 9).countLastStep }
        #expect(perOrigin == Array(repeating: 40, count: 10))
    }

    @Test("The same sequence through two engines gives identical outcomes (replay equals live)")
    func deterministic() {
        let traffic = Fixtures.mixedTraffic(count: 4_000, seed: 11)
        let configuration = RiskEngineConfiguration(shardCount: 8, idempotencyCapacity: 1_000, maxAccounts: 200)
        let first = RiskEngine(configuration: configuration)
        let second = RiskEngine(configuration: configuration)
        let a = traffic.map { first.score($0, label: .unspecified) }
        let b = traffic.map { second.score($0, label: .unspecified) }
        #expect(a == b)
        #expect(a.contains { if case .replayed = $0 { true } else { false } })
        #expect(a.contains { if case .conflict = $0 { true } else { false } })
        #expect(a.contains { $0.assessment?.reasons.contains { $0.code == Reason.Code.originVelocity24h } == true })
        #expect(first.accountCount == second.accountCount)
    }

    @Test("A step far ahead of the newest step scored is a problem; the limit is configurable")
    func stepsAhead() {
        let engine = RiskEngine()
        #expect(engine.newestStep == nil)
        #expect(engine.stepProblem(4_000_000_000) == nil)  // nothing scored yet: no reference
        var transaction = Fixtures.paysimDrainTransfer
        transaction.step = 10
        _ = engine.score(transaction, label: .unspecified)
        #expect(engine.newestStep == 10)
        #expect(engine.stepProblem(10 + 744) == nil)
        let problem = engine.stepProblem(10 + 745)
        #expect(problem?.field == "transaction.step")
        #expect(problem?.rule.contains("744 steps ahead") == true)
        #expect(engine.stepProblem(1) == nil)  // late events are fine
        // A warm start sets the reference too.
        var restored = Fixtures.paysimDrainCashOut
        restored.step = 700
        let warm = RiskEngine()
        warm.restore(restored, assessment: Assessment(riskScore: 0, decision: .approve, reasons: [], modelVersion: "t"))
        #expect(warm.newestStep == 700)
        #expect(warm.stepProblem(700 + 744) == nil && warm.stepProblem(700 + 745) != nil)

        var unlimited = RiskEngineConfiguration()
        unlimited.maxStepsAhead = 0
        let open = RiskEngine(configuration: unlimited)
        _ = open.score(transaction, label: .unspecified)
        #expect(open.stepProblem(UInt32.max) == nil)
    }

    @Test("Configuration defaults")
    func defaults() {
        let configuration = RiskEngineConfiguration()
        #expect(configuration.reviewThreshold == 0.5)
        #expect(configuration.declineThreshold == 0.8)
        #expect(configuration.shardCount == 16)
        #expect(configuration.idempotencyShardCount == 16)
        #expect(configuration.idempotencyCapacity == 2_000_000)
        #expect(configuration.idleEvictionSteps == 48)
        #expect(configuration.maxAccounts == 4_000_000)
        #expect(RiskEngine().modelVersion == "rules-v1")
    }
}

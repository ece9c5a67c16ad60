import Testing

@testable import FraudCore

@Suite("Risk engine, batched scoring")
struct RiskEngineBatchTests {
    /// Mixed traffic (30 origins, so a window often holds one account several times; repeated ids within and
    /// across windows, replays and conflicts) plus names without a compact code.
    static func traffic(count: Int, seed: UInt64) -> [Transaction] {
        var traffic = Fixtures.mixedTraffic(count: count, seed: seed)
        for index in traffic.indices where index % 9 == 0 {
            traffic[index].originAccount += "-not-paysim"
        }
        // PaySim's drain (declined) every 250 transactions, at the traffic's step.
        for index in stride(from: 100, to: traffic.count, by: 250) {
            var drain = Fixtures.paysimDrainTransfer
            drain.transactionID = "drain-\(index)"
            drain.step = traffic[index].step
            traffic[index] = drain
        }
        return traffic
    }

    /// Every 13th transaction's journal commit fails (the id stays unrecorded; its copies later are scored).
    static func commits(_ index: Int) -> Bool { index % 13 != 5 }

    struct Run: Equatable {
        var outcomes: [ScoreOutcome?] = []
        var committed: [Int: Assessment] = [:]
        var accounts = 0
        var ids = 0
        var snapshots: [VelocitySnapshot] = []
    }

    static func finish(_ run: inout Run, engine: RiskEngine, traffic: [Transaction]) {
        run.accounts = engine.accountCount
        run.ids = engine.idempotencyCount
        let last = traffic.last?.step ?? 0
        run.snapshots = Set(traffic.flatMap { [$0.originAccount, $0.destinationAccount] }).sorted().map {
            engine.velocitySnapshot(account: $0, step: last)
        }
    }

    static func oneByOne(_ traffic: [Transaction], configuration: RiskEngineConfiguration) -> Run {
        let engine = RiskEngine(configuration: configuration, trainedModel: .bundled)
        var run = Run()
        for (index, transaction) in traffic.enumerated() {
            run.outcomes.append(
                engine.score(transaction, label: .unspecified) { assessment in
                    run.committed[index] = assessment
                    return commits(index)
                }
            )
        }
        finish(&run, engine: engine, traffic: traffic)
        return run
    }

    static func batched(_ traffic: [Transaction], configuration: RiskEngineConfiguration, batchSize: Int) -> Run {
        let engine = RiskEngine(configuration: configuration, trainedModel: .bundled)
        var run = Run()
        var start = 0
        while start < traffic.count {
            let end = min(start + batchSize, traffic.count)
            engine.score(batch: traffic[start..<end]) { index, assessment in
                run.committed[index] = assessment
                return commits(index)
            } outcome: { index, outcome in
                precondition(index == run.outcomes.count, "outcomes out of order")
                run.outcomes.append(outcome)
            }
            start = end
        }
        finish(&run, engine: engine, traffic: traffic)
        return run
    }

    @Test(
        "Batches give exactly the outcomes, commits and state of one-by-one scoring",
        arguments: [1, 2, 7, RiskEngine.batchWindow, RiskEngine.batchWindow + 1, 100, 6_000]
    )
    func equalsOneByOne(batchSize: Int) {
        let traffic = Self.traffic(count: 6_000, seed: 23)
        // Small tables: capacity eviction, idle expiry and forgotten ids happen constantly.
        let configurations = [
            RiskEngineConfiguration(shardCount: 8, idempotencyCapacity: 400, idleEvictionSteps: 6, maxAccounts: 120),
            RiskEngineConfiguration(),
        ]
        for configuration in configurations {
            let expected = Self.oneByOne(traffic, configuration: configuration)
            let actual = Self.batched(traffic, configuration: configuration, batchSize: batchSize)
            #expect(actual.outcomes.count == traffic.count)
            #expect(actual == expected)
            // The traffic exercises what the equivalence is about.
            #expect(expected.outcomes.contains { if case .replayed = $0 { true } else { false } })
            #expect(expected.outcomes.contains { if case .conflict = $0 { true } else { false } })
            #expect(expected.outcomes.contains { $0 == nil })
            #expect(expected.outcomes.contains { $0?.assessment?.decision == .decline })
        }
    }

    @Test("A batch can repeat one id and one account inside a window")
    func sameIDAndAccountInOneWindow() {
        let first = Fixtures.paysimDrainTransfer
        var conflicting = first
        conflicting.amountCents += 1
        var sameOrigin = first
        sameOrigin.transactionID = "other"
        let batch = [first, first, conflicting, sameOrigin, first]
        let engine = RiskEngine(trainedModel: .bundled)
        var outcomes: [ScoreOutcome?] = []
        engine.score(batch: batch[...]) { _, _ in true } outcome: { _, outcome in outcomes.append(outcome) }
        let reference = RiskEngine(trainedModel: .bundled)
        #expect(outcomes == batch.map { reference.score($0, label: .unspecified) { _ in true } })
        guard case .scored(let assessment) = outcomes[0] else {
            Issue.record("first copy not scored")
            return
        }
        #expect(outcomes[1] == .replayed(assessment))
        guard case .conflict = outcomes[2] else {
            Issue.record("changed payload not a conflict")
            return
        }
        #expect(engine.velocitySnapshot(account: first.originAccount, step: first.step).countLastStep == 2)
    }

    @Test("An empty batch calls nothing")
    func emptyBatch() {
        let engine = RiskEngine()
        var calls = 0
        engine.score(batch: [Transaction]()[...]) { _, _ in
            calls += 1
            return true
        } outcome: { _, _ in calls += 1 }
        #expect(calls == 0)
        #expect(engine.idempotencyCount == 0)
    }

    @Test("A decision that reads no velocity figure: windows recorded but not read back, same outcomes and state")
    func velocityNotReadBack() throws {
        #expect(!RiskEngine(trainedModel: .bundled).decisionReadsVelocity)
        #expect(RiskEngine().decisionReadsVelocity)  // the rules read velocity
        var velocityModel = TrainedModel.bundled
        velocityModel.inputs[0] = try #require(TrainedModel.Input(column: "origin_count_24", transform: .identity))
        #expect(RiskEngine(trainedModel: velocityModel).decisionReadsVelocity)

        let traffic = Self.traffic(count: 3_000, seed: 41)
        let configuration = RiskEngineConfiguration(
            shardCount: 8, idempotencyCapacity: 400, idleEvictionSteps: 6, maxAccounts: 120
        )
        // `scoreWithFeatures` always reads the windows back; `score` does not for the bundled model.
        let reading = RiskEngine(configuration: configuration, trainedModel: .bundled)
        let skipping = RiskEngine(configuration: configuration, trainedModel: .bundled)
        var sawVelocity = false
        for transaction in traffic {
            let (expected, features) = reading.scoreWithFeatures(transaction, label: .unspecified)
            #expect(skipping.score(transaction, label: .unspecified) == expected)
            sawVelocity = sawVelocity || features.map { !$0.origin.isUnseen } ?? false
        }
        #expect(sawVelocity)  // the comparison covered accounts with history
        let last = traffic.last?.step ?? 0
        for account in Set(traffic.flatMap { [$0.originAccount, $0.destinationAccount] }) {
            #expect(
                skipping.velocitySnapshot(account: account, step: last)
                    == reading.velocitySnapshot(account: account, step: last)
            )
        }
        #expect(skipping.accountCount == reading.accountCount)
    }
}

import Synchronization

/// Settings of a ``RiskEngine``.
public struct RiskEngineConfiguration: Sendable, Hashable {
    /// Scores at or above this (and below ``declineThreshold``) are `REVIEW`.
    public var reviewThreshold: Float
    /// Scores at or above this are `DECLINE`.
    public var declineThreshold: Float
    /// Shards of the velocity store (independent locks); the idempotency cache has
    /// ``idempotencyShardCount`` of them. The default, 16, is measured: every shard keeps its own sequential
    /// streams (the idle sweep's cursor, the tails of its spill arenas) and its lock, table and hint lines,
    /// and one thread scoring into 64 shards touches four times as many of those pages and lines as into 16
    /// (`fraud-core-bench --profile --shards 64` and `--shards 16` side by side, one per CPU, swapped each
    /// round, 10 M accounts: 16 shards ×1.00–1.03 batched, ×0.99–1.08 one by one; a small gain, not a
    /// loss). Two scoring threads rarely meet on one of 16 locks.
    public var shardCount: Int
    /// Transaction ids remembered for replay / conflict detection.
    public var idempotencyCapacity: Int
    /// Steps without activity after which an account's velocity is forgotten.
    public var idleEvictionSteps: UInt32
    /// Upper bound on accounts in the velocity store.
    public var maxAccounts: Int
    /// How far ahead of the newest step scored so far a transaction's step may be (0 = no limit); see
    /// ``RiskEngine/stepProblem(_:)``.
    public var maxStepsAhead: UInt32 = 744

    /// Creates a configuration.
    ///
    /// The default thresholds suit ``RiskModel/default``: an exact drain by TRANSFER / CASH_OUT
    /// (0.10 + 0.70) declines; a destination whose balance does not move despite the credit, plus one more
    /// real signal (0.10 + 0.30 + ≥ 0.10: night, high amount, velocity), is reviewed; the weak signals
    /// alone never reach review. On the PaySim uniform sample (steps 1–400) that gives recall 0.993 at
    /// REVIEW-or-above and 0.979 at DECLINE with no legitimate sample row flagged.
    public init(
        reviewThreshold: Float = 0.5,
        declineThreshold: Float = 0.8,
        shardCount: Int = 16,
        idempotencyCapacity: Int = 2_000_000,
        idleEvictionSteps: UInt32 = 48,
        maxAccounts: Int = 4_000_000
    ) {
        self.reviewThreshold = reviewThreshold
        self.declineThreshold = declineThreshold
        self.shardCount = shardCount
        self.idempotencyCapacity = idempotencyCapacity
        self.idleEvictionSteps = idleEvictionSteps
        self.maxAccounts = maxAccounts
    }

    /// Shards of the idempotency cache: ``shardCount``, at most 16. Fewer, larger id tables than velocity
    /// shards, so that with the default 2,000,000 ids each shard's index (2 MiB) and ring (≈ 10 MB) are big
    /// enough to sit in transparent huge pages: with 64 shards they were 512 KiB and 2.5 MB, in 4 KiB pages,
    /// and nearly every id lookup missed the TLB. Two scoring threads rarely meet on one of 16 locks.
    public var idempotencyShardCount: Int { min(shardCount, 16) }

    /// The decision for a score under these thresholds.
    public func decision(for riskScore: Float) -> Decision {
        if riskScore >= declineThreshold { return .decline }
        if riskScore >= reviewThreshold { return .review }
        return .approve
    }
}

/// What ``RiskEngine/score(_:label:)`` did with a transaction.
public enum ScoreOutcome: Sendable, Hashable {
    /// New id: scored, counted in velocity, remembered.
    case scored(Assessment)
    /// Known id with the same payload: the earlier assessment, nothing counted again.
    case replayed(Assessment)
    /// Known id with a different payload: rejected, nothing counted.
    case conflict(ValidationError)

    /// The assessment, unless this is a conflict.
    public var assessment: Assessment? {
        switch self {
        case .scored(let assessment), .replayed(let assessment): assessment
        case .conflict: nil
        }
    }
}

/// Scores transactions: idempotency, velocity, features, model, decision.
///
/// Safe to call from many threads at once. Per call, the id's idempotency-shard lock is held from the
/// lookup to the insert of the result, so concurrent copies of one id are scored once and counted once;
/// inside it, the origin's and then the destination's velocity-shard locks are taken one at a time, never
/// nested with each other. The lock order is always idempotency shard → velocity shard, so no deadlock.
public final class RiskEngine: Sendable {
    /// The configuration given at creation.
    public let configuration: RiskEngineConfiguration
    /// The rules model; used only when ``trainedModel`` is nil.
    public let model: RiskModel
    /// The trained model in use, if any (it then replaces ``model``).
    public let trainedModel: TrainedModel?
    let velocity: VelocityStore
    let idempotency: IdempotencyCache
    /// The newest step counted in velocity so far, plus one (0 before the first).
    private let newestStepMark = Atomic<UInt64>(0)
    /// ``trainedModel`` flattened for the hot path, when it is a logistic regression.
    let logisticPlan: LogisticPlan?
    /// ``logisticPlan``'s terms, read by each score without retaining the plan (valid as long as the engine,
    /// which holds the plan).
    let logisticEvaluator: LogisticPlan.Evaluator?
    /// ``modelVersion``, kept so that scoring copies no model.
    let version: String
    /// Whether the decision reads any velocity figure: the rules do, a trained model when one of its inputs
    /// is a velocity column. When nothing does (the bundled model), the serving paths record each event in
    /// the velocity windows but skip reading them back; ``scoreWithFeatures(_:label:)`` always reads them.
    public let decisionReadsVelocity: Bool

    /// Creates an engine with empty state that scores with the rules of `model`.
    ///
    /// - Parameters:
    ///   - configuration: Thresholds, sharding and memory bounds.
    ///   - model: The scoring model.
    public convenience init(configuration: RiskEngineConfiguration = .init(), model: RiskModel = .default) {
        self.init(configuration: configuration, rules: model, trainedModel: nil)
    }

    /// Creates an engine with empty state that scores with a trained model.
    ///
    /// The decision thresholds are the configuration's: call
    /// ``RiskEngineConfiguration/adoptThresholds(of:)`` first to use the ones stored in the model.
    ///
    /// - Parameters:
    ///   - configuration: Thresholds, sharding and memory bounds.
    ///   - trainedModel: The model, e.g. ``TrainedModel/bundled`` or one decoded with
    ///     ``TrainedModel/init(json:)``.
    public convenience init(configuration: RiskEngineConfiguration = .init(), trainedModel: TrainedModel) {
        self.init(configuration: configuration, rules: .default, trainedModel: trainedModel)
    }

    private init(configuration: RiskEngineConfiguration, rules: RiskModel, trainedModel: TrainedModel?) {
        self.configuration = configuration
        self.model = rules
        self.trainedModel = trainedModel
        self.logisticPlan = trainedModel.flatMap(LogisticPlan.init)
        self.logisticEvaluator = logisticPlan?.evaluator
        self.version = trainedModel?.version ?? rules.version
        self.decisionReadsVelocity = trainedModel.map { model in
            model.inputs.contains { $0.columnIndex >= Features.firstVelocityColumn }
        } ?? true
        self.velocity = VelocityStore(
            shardCount: configuration.shardCount,
            idleEvictionSteps: configuration.idleEvictionSteps,
            maxAccounts: configuration.maxAccounts
        )
        self.idempotency = IdempotencyCache(
            capacity: configuration.idempotencyCapacity,
            shardCount: configuration.idempotencyShardCount
        )
    }

    /// The model's version, reported with every assessment.
    public var modelVersion: String { version }

    /// Scores a validated transaction, or returns the earlier result for a repeated id.
    ///
    /// - Parameters:
    ///   - transaction: A validated transaction (see ``Transaction/validated(_:)``).
    ///   - label: Accepted for the caller's records; never used to score.
    /// - Returns: `.scored`, `.replayed` (same id and payload seen before) or `.conflict` (same id,
    ///   different payload).
    public func score(_ transaction: Transaction, label: Label) -> ScoreOutcome {
        _ = label
        // Hashing happens here, before any lock, once per string.
        let (idHash, origin, destination, fingerprint) = Self.keys(of: transaction)
        prefetch(idHash: idHash, origin: origin, destination: destination)
        return idempotency.resolve(transactionID: transaction.transactionID, hash: idHash, fingerprint: fingerprint) {
            assess(
                observe(
                    TransactionFigures(transaction),
                    origin: origin,
                    destination: destination,
                    readsVelocity: decisionReadsVelocity
                )
            )
        }
    }

    /// ``score(_:label:)``, also returning the features the model saw: the training and evaluation path,
    /// so offline features are exactly the served ones (same velocity state, same extractor).
    ///
    /// - Parameters:
    ///   - transaction: A validated transaction.
    ///   - label: Accepted for the caller's records; never used to score.
    /// - Returns: The outcome, and the features when it is `.scored` (nil for replays and conflicts,
    ///   which compute none).
    public func scoreWithFeatures(_ transaction: Transaction, label: Label) -> (
        outcome: ScoreOutcome, features: Features?
    ) {
        _ = label
        let (idHash, origin, destination, fingerprint) = Self.keys(of: transaction)
        var seen: Features?
        let outcome = idempotency.resolve(transactionID: transaction.transactionID, hash: idHash, fingerprint: fingerprint) {
            let features = observe(TransactionFigures(transaction), origin: origin, destination: destination)
            seen = features
            return assess(features)
        }
        return (outcome, seen)
    }

    /// The hashes of the id and the accounts, the accounts' codes and the payload fingerprint: every string
    /// of the transaction is read once.
    @inline(__always)
    static func keys(of transaction: Transaction) -> (
        idHash: UInt64, origin: AccountKey, destination: AccountKey, fingerprint: UInt64
    ) {
        let idHash = IdentifierHash.hash(transaction.transactionID)
        let (originHash, originCode) = AccountKey.hashAndCode(of: transaction.originAccount)
        let (destinationHash, destinationCode) = AccountKey.hashAndCode(of: transaction.destinationAccount)
        let fingerprint = transaction.fingerprint(
            transactionIDHash: idHash,
            originHash: originHash,
            destinationHash: destinationHash
        )
        return (
            idHash,
            AccountKey(account: transaction.originAccount, hash: originHash, code: originCode),
            AccountKey(account: transaction.destinationAccount, hash: destinationHash, code: destinationCode),
            fingerprint
        )
    }

    /// Why `step` may not be scored, or nil: a step more than ``RiskEngineConfiguration/maxStepsAhead`` ahead
    /// of the newest step counted so far.
    ///
    /// Each velocity shard takes the newest step it has seen as "now" and forgets accounts idle for longer
    /// than the idle window, so a single transaction with a step far in the future (a typo, a clock in other
    /// units, a hostile client) would make every account of its shards look new from then on. The server
    /// refuses such a step (INVALID_ARGUMENT) before scoring. Before the first transaction there is no
    /// reference, and any step is accepted.
    public func stepProblem(_ step: UInt32) -> ValidationError? {
        let limit = UInt64(configuration.maxStepsAhead)
        let mark = newestStepMark.load(ordering: .relaxed)
        guard limit > 0, mark > 0, UInt64(step) > mark - 1 + limit else { return nil }
        return ValidationError(
            field: "transaction.step",
            rule: "must be at most \(limit) steps ahead of the newest step scored so far (\(mark - 1)); got \(step)"
        )
    }

    /// The newest step counted in velocity so far (nil before the first transaction).
    public var newestStep: UInt32? {
        let mark = newestStepMark.load(ordering: .relaxed)
        return mark == 0 ? nil : UInt32(mark - 1)
    }

    @inline(__always)
    private func noteStep(_ step: UInt32) {
        let next = UInt64(step) + 1
        var current = newestStepMark.load(ordering: .relaxed)
        while next > current {
            let (exchanged, original) = newestStepMark.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Velocity update and features: the one per-transaction feature step. Runs under the id's
    /// idempotency lock. With `readsVelocity` false both accounts' events are recorded just the same, but
    /// their windows are not read back: the features' velocity fields are those of unseen accounts, for a
    /// decision that reads none of them (``decisionReadsVelocity``).
    func observe(
        _ transaction: TransactionFigures,
        origin: AccountKey,
        destination: AccountKey,
        readsVelocity: Bool = true
    ) -> Features {
        noteStep(transaction.step)
        let originVelocity = velocity.observe(
            origin,
            counterpartyHash: destination.counterpartyHash,
            amountCents: transaction.amountCents,
            step: transaction.step,
            readsSnapshot: readsVelocity
        )
        let destinationVelocity = velocity.observe(
            destination,
            counterpartyHash: origin.counterpartyHash,
            amountCents: transaction.amountCents,
            step: transaction.step,
            readsSnapshot: readsVelocity
        )
        return FeatureExtractor.features(
            for: transaction,
            origin: originVelocity,
            destination: destinationVelocity
        )
    }

    /// Model and decision for the features of one transaction.
    func assess(_ features: Features) -> Assessment {
        if let logisticEvaluator {
            let riskScore = TrainedModel.riskScore(logit: logisticEvaluator.logit(features))
            let threshold = configuration.reviewThreshold
            // Reasons exactly as `TrainedModel.evaluate` gives them, only for the few scores that need them.
            let reasons =
                riskScore >= threshold && riskScore > 0
                ? trainedModel?.evaluate(features, reasonsAtOrAbove: threshold).reasons ?? [] : []
            return Assessment(
                riskScore: riskScore,
                decision: configuration.decision(for: riskScore),
                reasons: reasons,
                modelVersion: version
            )
        }
        if let trainedModel {
            let (riskScore, reasons) = trainedModel.evaluate(
                features,
                reasonsAtOrAbove: configuration.reviewThreshold
            )
            return Assessment(
                riskScore: riskScore,
                decision: configuration.decision(for: riskScore),
                reasons: reasons,
                modelVersion: trainedModel.version
            )
        }
        let (riskScore, reasons) = model.evaluate(features)
        return Assessment(
            riskScore: riskScore,
            decision: configuration.decision(for: riskScore),
            reasons: reasons,
            modelVersion: model.version
        )
    }

    /// Bytes held by the engine's state, by its own count (see ``VelocityStore/memoryFootprint`` and
    /// ``IdempotencyCache/memoryFootprint``). Walks every account: for diagnostics and benchmarks.
    public var memoryFootprint: (velocityBytes: Int, idempotencyBytes: Int) {
        (velocity.memoryFootprint, idempotency.memoryFootprint)
    }

    /// Accounts held in the velocity store.
    public var accountCount: Int { velocity.accountCount }

    /// Transaction ids held in the idempotency cache.
    public var idempotencyCount: Int { idempotency.count }

    /// An account's velocity as of `step`, read-only (for diagnostics and tests).
    public func velocitySnapshot(account: String, step: UInt32) -> VelocitySnapshot {
        velocity.snapshot(account: account, step: step)
    }
}

public import FraudCore
public import FraudPersistence
public import FraudTransport
public import FraudWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The application behind the RPC methods: validates a request, scores it with the ``RiskEngine``, records
/// the decision in the ``DecisionLog`` before answering, and reports health. Runs on the calling event
/// loop; never blocks on PostgreSQL.
public final class ScoringService: RPCService {
    /// The gRPC service name health checks may ask for (besides `""`, the whole server).
    public static let serviceName = "fraud.v1.FraudScoring"

    private let engine: RiskEngine
    private let decisionLog: DecisionLog?
    private let isFsync: Bool
    private let draining = Atomic<Bool>(false)
    private let metrics: ServerMetrics?

    /// Creates the service.
    /// - Parameters:
    ///   - engine: the risk engine.
    ///   - decisionLog: where decisions go before the answer leaves; `nil` keeps them in memory only.
    ///   - metrics: counts decisions by outcome, type and reason code; `nil` counts nothing.
    public init(engine: RiskEngine, decisionLog: DecisionLog?, metrics: ServerMetrics? = nil) {
        self.engine = engine
        self.decisionLog = decisionLog
        self.metrics = metrics
        self.isFsync = decisionLog?.configuration.durability == .fsync
    }

    /// Validates and scores one request.
    ///
    /// INVALID_ARGUMENT for validation, FAILED_PRECONDITION for an id reused with another payload,
    /// UNAVAILABLE when the decision backlog is over its cap or the journal cannot be written.
    public func score(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply {
        let reply = decide(request, receivedAtNanos: receivedAtNanos)
        if let metrics {
            switch reply {
            case .decided(_, let assessment, let replayed, _),
                .decidedWhenDurable(_, _, let assessment, let replayed, _):
                if replayed {
                    metrics.replays.add(1)
                } else if let raw = request.transaction?.typeRawValue, let type = TransactionType(rawValue: raw) {
                    metrics.recordDecision(assessment, type: type)
                }
            case .failed(let status):
                metrics.recordRefusal(status.code)
            }
        }
        return reply
    }

    private func decide(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply {
        let transaction: Transaction
        let label: Label
        do throws(ValidationError) {
            (transaction, label) = try request.validated()
        } catch {
            return .failed(Status(code: .invalidArgument, message: error.description))
        }
        if let problem = engine.stepProblem(transaction.step) {
            return .failed(Status(code: .invalidArgument, message: problem.description))
        }
        if let decisionLog, !decisionLog.hasCapacity {
            let backlog = decisionLog.stats.backlog
            return .failed(
                Status(
                    code: .unavailable,
                    message: "decision backlog is over its cap (\(backlog) decisions not yet stored in PostgreSQL); retry later"
                )
            )
        }
        var sequence: UInt64?
        var journalError: PersistenceError?
        // The answer carries the same server time as the stored decision.
        var recordedServerTime: UInt32?
        let outcome = engine.score(transaction, label: label) { (assessment: Assessment) -> Bool in
            // Under the id's idempotency lock: a concurrent duplicate cannot be answered `replayed` before
            // this decision is in the journal.
            guard let decisionLog else { return true }
            let serverTime = MonotonicClock.microseconds(since: receivedAtNanos)
            recordedServerTime = serverTime
            let record = DecisionRecord(
                transaction: transaction,
                label: label,
                assessment: assessment,
                serverTimeMicros: serverTime,
                scoredAtMicros: Self.wallClockMicros()
            )
            do throws(PersistenceError) {
                sequence = try decisionLog.append(record)
                return true
            } catch {
                journalError = error
                return false
            }
        }
        let serverTime = recordedServerTime ?? MonotonicClock.microseconds(since: receivedAtNanos)
        guard let outcome else {
            return .failed(
                Status(
                    code: .unavailable,
                    message: "decision could not be recorded: \(journalError?.description ?? "journal unavailable");"
                        + " retry with the same transaction_id: the decision is kept (counted once) and recorded then"
                )
            )
        }
        switch outcome {
        case .scored(let assessment):
            if let sequence, isFsync, let decisionLog {
                return .decidedWhenDurable(
                    ticket: JournalTicket(log: decisionLog, sequence: sequence),
                    transactionID: transaction.transactionID,
                    assessment: assessment,
                    replayed: false,
                    serverTimeMicros: serverTime
                )
            }
            return .decided(
                transactionID: transaction.transactionID,
                assessment: assessment,
                replayed: false,
                serverTimeMicros: serverTime
            )
        case .replayed(let assessment):
            return .decided(
                transactionID: transaction.transactionID,
                assessment: assessment,
                replayed: true,
                serverTimeMicros: serverTime
            )
        case .conflict(let error):
            return .failed(Status(code: .failedPrecondition, message: error.description))
        }
    }

    /// SERVING for `""` and ``serviceName`` while the service is up and the decision backlog is under its
    /// cap; `nil` (NOT_FOUND) for other names.
    public func servingStatus(of service: String) -> ServingStatus? {
        guard service.isEmpty || service == Self.serviceName else { return nil }
        if draining.load(ordering: .relaxed) { return .notServing }
        if let decisionLog, !decisionLog.hasCapacity { return .notServing }
        return .serving
    }

    /// Marks the service as shutting down (health turns NOT_SERVING).
    public func beginDraining() {
        draining.store(true, ordering: .relaxed)
    }

    private static func wallClockMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}

/// Waits for the journal's group commit to cover one decision.
private struct JournalTicket: DurabilityTicket {
    let log: DecisionLog
    let sequence: UInt64

    func whenDurable(_ body: @escaping @Sendable (Status?) -> Void) {
        log.whenDurable(sequence) { result in
            switch result {
            case .success:
                body(nil)
            case .failure(let error):
                body(Status(code: .unavailable, message: "decision could not be made durable: \(error.description)"))
            }
        }
    }
}

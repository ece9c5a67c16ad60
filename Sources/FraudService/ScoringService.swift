public import FraudCore
public import FraudTransport
public import FraudWire
import Synchronization

/// The application behind the RPC methods: validates a request, scores it with the ``RiskEngine``, and
/// reports health. Runs on the calling event loop; never blocks.
public final class ScoringService: RPCService {
    /// The gRPC service name health checks may ask for (besides `""`, the whole server).
    public static let serviceName = "fraud.v1.FraudScoring"

    private let engine: RiskEngine
    private let serving = Atomic<Bool>(true)

    /// Creates the service over `engine`.
    public init(engine: RiskEngine) {
        self.engine = engine
    }

    /// Validates and scores one request; maps validation to INVALID_ARGUMENT and an idempotency
    /// conflict to FAILED_PRECONDITION.
    public func score(_ request: ScoreRequest) -> ScoreReply {
        let transaction: Transaction
        let label: Label
        do throws(ValidationError) {
            (transaction, label) = try request.validated()
        } catch {
            return .failed(Status(code: .invalidArgument, message: error.description))
        }
        switch engine.score(transaction, label: label) {
        case .scored(let assessment):
            return .decided(transactionID: transaction.transactionID, assessment: assessment, replayed: false)
        case .replayed(let assessment):
            return .decided(transactionID: transaction.transactionID, assessment: assessment, replayed: true)
        case .conflict(let error):
            return .failed(Status(code: .failedPrecondition, message: error.description))
        }
    }

    /// SERVING for `""` and ``serviceName`` while the service is up; `nil` (NOT_FOUND) for other names.
    public func servingStatus(of service: String) -> ServingStatus? {
        guard service.isEmpty || service == Self.serviceName else { return nil }
        return serving.load(ordering: .relaxed) ? .serving : .notServing
    }

    /// Marks the service as (not) serving, e.g. while persistence is over its backlog cap.
    public func setServing(_ isServing: Bool) {
        serving.store(isServing, ordering: .relaxed)
    }
}

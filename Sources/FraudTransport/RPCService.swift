public import FraudCore
public import FraudWire

/// What a scoring call produced: an answer for the client, or a status that refuses it.
public enum ScoreReply: Sendable {
    /// The engine decided (or replayed an earlier decision).
    case decided(transactionID: String, assessment: Assessment, replayed: Bool)
    /// The engine decided, but the answer may only leave once `ticket` says the decision is durable
    /// (group commit). Answers on a stream keep their order.
    case decidedWhenDurable(ticket: any DurabilityTicket, transactionID: String, assessment: Assessment, replayed: Bool)
    /// The call is refused with this status (validation, idempotency conflict, overload).
    case failed(Status)
}

/// The application behind the gRPC methods. Called on the connection's event loop: it must not block.
public protocol RPCService: Sendable {
    /// Validates and scores one request.
    func score(_ request: ScoreRequest) -> ScoreReply

    /// The health of `service` (`""` is the whole server); `nil` when the name is unknown.
    func servingStatus(of service: String) -> ServingStatus?
}

/// A promise that a decision reaches stable storage. `whenDurable` may call `body` on any thread, once.
public protocol DurabilityTicket: Sendable {
    /// Runs `body` once the decision is durable (immediately if it already is).
    func whenDurable(_ body: @escaping @Sendable () -> Void)
}

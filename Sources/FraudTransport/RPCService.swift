public import FraudCore
public import FraudWire

/// What a scoring call produced: an answer for the client, or a status that refuses it.
public enum ScoreReply: Sendable {
    /// The engine decided (or replayed an earlier decision).
    case decided(transactionID: String, assessment: Assessment, replayed: Bool, serverTimeMicros: UInt32)
    /// The engine decided, but the answer may only leave once `ticket` says the decision is durable
    /// (group commit). Answers on a stream keep their order.
    case decidedWhenDurable(
        ticket: any DurabilityTicket,
        transactionID: String,
        assessment: Assessment,
        replayed: Bool,
        serverTimeMicros: UInt32
    )
    /// The call is refused with this status (validation, idempotency conflict, overload).
    case failed(Status)
}

/// The application behind the gRPC methods. Called on the connection's event loop: it must not block.
public protocol RPCService: Sendable {
    /// Validates and scores one request.
    /// - Parameters:
    ///   - request: the decoded request.
    ///   - receivedAtNanos: when the call (or stream message) arrived, on ``MonotonicClock``; the reply's
    ///     `serverTimeMicros` is measured from it.
    func score(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply

    /// The health of `service` (`""` is the whole server); `nil` when the name is unknown.
    func servingStatus(of service: String) -> ServingStatus?
}

/// A promise that a decision reaches stable storage. `whenDurable` may call `body` on any thread, once.
public protocol DurabilityTicket: Sendable {
    /// Runs `body` once the decision is durable (immediately if it already is) with `nil`, or with the
    /// status to answer instead when it could not be made durable.
    func whenDurable(_ body: @escaping @Sendable (Status?) -> Void)
}

/// The monotonic clock (CLOCK_MONOTONIC) the transport measures calls with.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point.
    @inline(__always)
    public static func nanoseconds() -> UInt64 { monotonicNanos() }

    /// Microseconds elapsed since `start`, clamped to `UInt32`.
    @inline(__always)
    public static func microseconds(since start: UInt64) -> UInt32 {
        UInt32(clamping: (monotonicNanos() &- start) / 1000)
    }
}

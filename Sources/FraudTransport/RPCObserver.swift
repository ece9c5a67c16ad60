public import FraudWire

/// Hears about every finished RPC, for metrics. Called on the connection's event loop, on the hot path:
/// implementations must be cheap and allocation-free (atomics only, no locks, no string building).
public protocol RPCObserver: Sendable {
    /// One call ended (trailers or a trailers-only response submitted).
    /// - Parameters:
    ///   - method: The routed method (``RPCMethod/unknown`` for unknown paths).
    ///   - status: The final gRPC status code.
    ///   - durationNanos: From the first byte of the call's HEADERS to the final status.
    func callCompleted(method: RPCMethod, status: Status.Code, durationNanos: UInt64)
}

extension RPCMethod {
    /// Every method, `unknown` last; ``index`` is the position in this list.
    public static let all: [RPCMethod] = [.score, .scoreStream, .healthCheck, .healthWatch, .unknown]

    /// A dense index (0..<``all``.count) for per-method tables.
    public var index: Int {
        switch self {
        case .score: 0
        case .scoreStream: 1
        case .healthCheck: 2
        case .healthWatch: 3
        case .unknown: 4
        }
    }

    /// The gRPC method name as a metric label (`Score`, `ScoreStream`, `Health/Check`, …; `unknown`).
    public var name: String {
        switch self {
        case .score: "fraud.v1.FraudScoring/Score"
        case .scoreStream: "fraud.v1.FraudScoring/ScoreStream"
        case .healthCheck: "grpc.health.v1.Health/Check"
        case .healthWatch: "grpc.health.v1.Health/Watch"
        case .unknown: "unknown"
        }
    }
}

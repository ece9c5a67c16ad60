import FraudCore
import FraudWire

/// The gRPC methods this server routes to.
public enum RPCMethod: Sendable, Hashable {
    /// `fraud.v1.FraudScoring/Score`.
    case score
    /// `fraud.v1.FraudScoring/ScoreStream`.
    case scoreStream
    /// `grpc.health.v1.Health/Check`.
    case healthCheck
    /// `grpc.health.v1.Health/Watch`.
    case healthWatch
    /// A path no route matched.
    case unknown

    /// Known `:path` values, compared as bytes in `on_header`.
    static let routes: [(path: StaticString, method: RPCMethod)] = [
        ("/fraud.v1.FraudScoring/Score", .score),
        ("/fraud.v1.FraudScoring/ScoreStream", .scoreStream),
        ("/grpc.health.v1.Health/Check", .healthCheck),
        ("/grpc.health.v1.Health/Watch", .healthWatch),
    ]

    /// Whether the client may send more than one request message.
    var isClientStreaming: Bool { self == .scoreStream }
}

/// Everything one HTTP/2 stream (one RPC) needs, from its first HEADERS to `on_stream_close`.
///
/// - Important: Owned by ``H2Session``; confined to the connection's event loop.
final class StreamState {
    let id: Int32
    /// Monotonic time the call started (HEADERS began), for `server_time_us`.
    let startNanos: UInt64
    var method: RPCMethod = .unknown
    /// The raw `:path` when it matched no route, for the error message.
    var unknownPath: String = ""
    var isPost = false
    var hasGRPCContentType = false
    /// `grpc-encoding` value when it is not `identity` (we support no compression).
    var unsupportedEncoding: String?
    /// `grpc-timeout` in nanoseconds, when the client sent one.
    var timeoutNanos: Int64?
    /// Absolute monotonic deadline derived from `timeoutNanos`.
    var deadlineNanos: UInt64?
    /// The `authorization` header, kept only when the connection's cached grant did not cover it.
    var authorization: String?
    /// The connection's cached grant covers this call's `authorization` header.
    var isAuthorized = false
    /// Header-list bytes seen so far (name + value + 32 per field, as RFC 9113 counts them).
    var headerListBytes = 0
    var deframer: MessageDeframer
    /// Decoded `ScoreRequest`s not yet answered, in arrival order.
    var requests: [ScoreRequest] = []
    /// Decode time of each pending stream request (ScoreStream measures per message).
    var requestNanos: [UInt64] = []
    /// Decoded health-check service names not yet answered.
    var healthServices: [String] = []
    /// Count of messages received (on a unary method more than one is an error).
    var messageCount = 0
    /// Count of stream messages answered so far (to name the failing one).
    var messageCountAnswered = 0
    /// A failure found while receiving; answered after the requests decoded before it.
    var failure: Status?
    /// The client half-closed (END_STREAM seen).
    var isRemoteClosed = false
    /// Already in the session's ready list.
    var isQueued = false

    /// Response HEADERS submitted (with a data provider).
    var isResponseStarted = false
    /// Framed response bytes not yet taken by nghttp2.
    var outbound: [UInt8] = []
    var outboundOffset = 0
    /// The status to send as trailers once `outbound` is drained.
    var trailerStatus: Status?
    /// Trailers (or a trailers-only response) have been submitted: nothing more is sent.
    var isFinished = false
    /// Trailers are queued or sent (or wait behind held answers): no further message may be added.
    var isEnding: Bool { isFinished || trailerStatus != nil || pendingFinish != nil }
    /// Encoded answers waiting for durability, in order; `isReady` flips when their ticket fires.
    var held: [(token: UInt64, bytes: [UInt8], isReady: Bool, failure: Status?)] = []
    var nextHeldToken: UInt64 = 0
    /// The final status, kept until every held answer is released.
    var pendingFinish: Status?
    /// The data provider returned NGHTTP2_ERR_DEFERRED and waits for `nghttp2_session_resume_data`.
    var isDeferred = false
    /// A health Watch stream that stays open for updates.
    var isWatching = false
    /// Last status sent on a Watch stream.
    var watchedStatus: ServingStatus?
    var watchedService: String = ""

    init(id: Int32, startNanos: UInt64, maxMessageBytes: Int) {
        self.id = id
        self.startNanos = startNanos
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes)
    }
}

@available(*, unavailable)
extension StreamState: Sendable {}

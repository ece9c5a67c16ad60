/// Limits and HTTP/2 settings of the gRPC transport, all set explicitly (never left to library defaults).
public struct TransportConfiguration: Sendable {
    /// Largest gRPC message body accepted, in bytes (longer ones get RESOURCE_EXHAUSTED before buffering).
    public var maxMessageBytes: Int = 64 * 1024
    /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to each client.
    public var maxConcurrentStreams: UInt32 = 1000
    /// SETTINGS_INITIAL_WINDOW_SIZE: per-stream receive window.
    public var initialStreamWindow: UInt32 = 1 << 20
    /// Connection-level receive window.
    public var connectionWindow: Int32 = 16 << 20
    /// SETTINGS_MAX_HEADER_LIST_SIZE advertised, and enforced per stream.
    public var maxHeaderListBytes: UInt32 = 16 * 1024
    /// nghttp2 `max_settings`: most entries accepted in one SETTINGS frame.
    public var maxSettingsEntries: Int = 32
    /// nghttp2 `max_outbound_ack`: queued SETTINGS/PING ACKs before the connection is dropped (flood guard).
    public var maxOutboundAcks: Int = 1000
    /// nghttp2 `stream_reset_rate_limit`: token bucket for incoming RST_STREAM (rapid-reset guard).
    public var streamResetBurst: UInt64 = 1000
    /// Refill rate of the reset bucket, per second.
    public var streamResetRatePerSecond: UInt64 = 100
    /// Most CONTINUATION frames accepted for one header block.
    public var maxContinuations: Int = 8
    /// Delay between the shutdown notice and the final GOAWAY when draining (about one round trip).
    public var drainNoticeMilliseconds: Int64 = 100
    /// Told about every finished call (metrics); `nil` costs nothing.
    public var observer: (any RPCObserver)?
    /// Checks `authorization` on Score/ScoreStream calls; `nil` = no authentication (local development).
    public var authorizer: (any RPCAuthorizer)?

    public init() {}
}

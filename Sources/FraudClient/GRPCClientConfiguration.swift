public import NIOCore

/// Settings of a ``GRPCClientConnection``.
public struct GRPCClientConfiguration: Sendable {
    /// `:authority` sent with every request; `nil` uses the target's `host:port`.
    public var authority: String?
    /// SETTINGS_INITIAL_WINDOW_SIZE and the connection window offered to the server, in bytes.
    public var windowSize: Int32 = 1 << 20
    /// Largest response message accepted on streaming calls, in bytes.
    public var maxMessageBytes: Int = 4 << 20
    /// Whether unary responses are collected (headers, body). `false` reads only `grpc-status`: results carry the
    /// status code without message or body, for load generation. Streaming calls need `true`.
    public var collectsResponses = true
    /// How long the TCP connect may take.
    public var connectTimeout: TimeAmount = .seconds(5)

    /// Default settings.
    public init() {}
}

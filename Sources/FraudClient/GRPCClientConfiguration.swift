public import FraudTLS
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
    /// How long the TCP connect may take (and, over TLS, the handshake after it).
    public var connectTimeout: TimeAmount = .seconds(5)
    /// TLS (ALPN h2, the server's certificate checked for the target's host as the context says, requests with
    /// `:scheme https`); `nil` speaks cleartext HTTP/2 with prior knowledge (h2c).
    public var tls: TLSClientContext?
    /// A JWT sent as `authorization: Bearer <token>` with every call; `nil` sends none.
    /// - Important: A secret: never log it.
    public var bearerToken: String?

    /// Default settings.
    public init() {}
}

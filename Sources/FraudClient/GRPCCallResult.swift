public import FraudWire

/// How a unary call ended: its status and the response body.
public struct GRPCCallResult: Sendable {
    /// The gRPC status (from the trailers, or synthesized for a reset stream or a lost connection).
    public var status: Status
    /// The response DATA, still length-prefixed (one message for a unary call; empty on most errors).
    public var body: [UInt8]

    /// Creates a result.
    public init(status: Status, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// Why the client could not run a call at all (as opposed to the call ending with a non-OK status).
public struct GRPCClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable {
        private enum Wrapped: Sendable, Hashable {
            case connectionClosed
            case streamRefused
            case connectFailed
            case tlsHandshakeFailed
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The connection is closed (or was never established).
        public static let connectionClosed = Code(.connectionClosed)
        /// nghttp2 would not open another stream (stream ids exhausted, GOAWAY received).
        public static let streamRefused = Code(.streamRefused)
        /// The TCP connection could not be established.
        public static let connectFailed = Code(.connectFailed)
        /// TCP is up but the TLS handshake failed: the server's certificate did not verify, it selected no h2,
        /// it does not speak TLS, it closed the connection or did not finish in time. Retrying rarely helps.
        public static let tlsHandshakeFailed = Code(.tlsHandshakeFailed)
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for the operator.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Why an analytics query gave no answer.
public struct AnalyticsError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely (maps to an HTTP status).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable { case unavailable, timeout }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// PostgreSQL unreachable, the query failed, or the queue is full (HTTP 503).
        public static let unavailable = Code(.unavailable)
        /// The statement timeout fired (HTTP 504).
        public static let timeout = Code(.timeout)

        public var description: String {
            switch wrapped {
            case .unavailable: "unavailable"
            case .timeout: "timeout"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// libpq's or the server's message.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

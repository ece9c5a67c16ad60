/// Why a gRPC message could not be read or written.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable kind.
    public struct Code: Sendable, Hashable {
        private enum Wrapped: Sendable, Hashable {
            case undecodable
            case messageTooLarge
            case unsupportedCompression
            case truncatedMessage
            case compressedWithoutEncoding
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The bytes are not a valid protobuf encoding of the expected message.
        public static let undecodable = Code(.undecodable)
        /// The length prefix is over the configured limit.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The compressed flag is set but no supported `grpc-encoding` applies.
        public static let unsupportedCompression = Code(.unsupportedCompression)
        /// The stream ended in the middle of a length-prefixed message.
        public static let truncatedMessage = Code(.truncatedMessage)
        /// The compressed flag is set on a stream whose `grpc-encoding` is identity (a protocol error).
        public static let compressedWithoutEncoding = Code(.compressedWithoutEncoding)
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for the client's developer.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The gRPC status this failure is answered with.
    public var status: Status {
        switch code {
        case .messageTooLarge: Status(code: .resourceExhausted, message: message)
        case .unsupportedCompression: Status(code: .unimplemented, message: message)
        default: Status(code: .internal, message: message)
        }
    }

    public var description: String { message }
}

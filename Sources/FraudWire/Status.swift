/// A gRPC status: a code and a message for the client's developer.
///
/// Codes and their numbers follow the gRPC specification (`doc/statuscodes.md`); the shape follows
/// grpc-swift's `Status` (a struct over a private enum, so new codes don't break exhaustive switches).
public struct Status: Sendable, Hashable, CustomStringConvertible {
    /// A gRPC status code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: UInt8, Sendable, Hashable {
            case ok = 0
            case cancelled = 1
            case unknown = 2
            case invalidArgument = 3
            case deadlineExceeded = 4
            case notFound = 5
            case alreadyExists = 6
            case permissionDenied = 7
            case resourceExhausted = 8
            case failedPrecondition = 9
            case aborted = 10
            case outOfRange = 11
            case unimplemented = 12
            case `internal` = 13
            case unavailable = 14
            case dataLoss = 15
            case unauthenticated = 16
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Creates a code from its wire number; `nil` outside 0...16.
        public init?(rawValue: Int) {
            guard let value = UInt8(exactly: rawValue), let wrapped = Wrapped(rawValue: value) else { return nil }
            self.wrapped = wrapped
        }

        /// The wire number (the value of the `grpc-status` trailer).
        public var rawValue: Int { Int(wrapped.rawValue) }

        public static let ok = Code(.ok)
        public static let cancelled = Code(.cancelled)
        public static let unknown = Code(.unknown)
        public static let invalidArgument = Code(.invalidArgument)
        public static let deadlineExceeded = Code(.deadlineExceeded)
        public static let notFound = Code(.notFound)
        public static let alreadyExists = Code(.alreadyExists)
        public static let permissionDenied = Code(.permissionDenied)
        public static let resourceExhausted = Code(.resourceExhausted)
        public static let failedPrecondition = Code(.failedPrecondition)
        public static let aborted = Code(.aborted)
        public static let outOfRange = Code(.outOfRange)
        public static let unimplemented = Code(.unimplemented)
        public static let `internal` = Code(.internal)
        public static let unavailable = Code(.unavailable)
        public static let dataLoss = Code(.dataLoss)
        public static let unauthenticated = Code(.unauthenticated)

        /// The upper-snake-case name used in logs and metrics, e.g. `INVALID_ARGUMENT`.
        public var name: String {
            switch wrapped {
            case .ok: "OK"
            case .cancelled: "CANCELLED"
            case .unknown: "UNKNOWN"
            case .invalidArgument: "INVALID_ARGUMENT"
            case .deadlineExceeded: "DEADLINE_EXCEEDED"
            case .notFound: "NOT_FOUND"
            case .alreadyExists: "ALREADY_EXISTS"
            case .permissionDenied: "PERMISSION_DENIED"
            case .resourceExhausted: "RESOURCE_EXHAUSTED"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .aborted: "ABORTED"
            case .outOfRange: "OUT_OF_RANGE"
            case .unimplemented: "UNIMPLEMENTED"
            case .internal: "INTERNAL"
            case .unavailable: "UNAVAILABLE"
            case .dataLoss: "DATA_LOSS"
            case .unauthenticated: "UNAUTHENTICATED"
            }
        }

        /// The `grpc-status` trailer value (the decimal number).
        public var trailerValue: String {
            switch wrapped {
            case .ok: "0"
            case .cancelled: "1"
            case .unknown: "2"
            case .invalidArgument: "3"
            case .deadlineExceeded: "4"
            case .notFound: "5"
            case .alreadyExists: "6"
            case .permissionDenied: "7"
            case .resourceExhausted: "8"
            case .failedPrecondition: "9"
            case .aborted: "10"
            case .outOfRange: "11"
            case .unimplemented: "12"
            case .internal: "13"
            case .unavailable: "14"
            case .dataLoss: "15"
            case .unauthenticated: "16"
            }
        }

        public var description: String { name }
    }

    /// The status code.
    public var code: Code
    /// A message for the client's developer (sent percent-encoded in `grpc-message`).
    public var message: String

    /// Creates a status.
    public init(code: Code, message: String = "") {
        self.code = code
        self.message = message
    }

    /// The successful status.
    public static let ok = Status(code: .ok)

    public var description: String { message.isEmpty ? code.name : "\(code.name): \(message)" }
}

extension Status {
    /// Percent-encodes a message for the `grpc-message` trailer, as PROTOCOL-HTTP2.md asks: every byte
    /// outside 0x20...0x7E, and `%` itself, becomes `%XX`.
    public static func percentEncoded(_ message: String) -> String {
        var needsEncoding = false
        for byte in message.utf8 where byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
            needsEncoding = true
            break
        }
        guard needsEncoding else { return message }
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(message.utf8.count * 3)
        for byte in message.utf8 {
            if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

internal import CFraudProto
internal import CProtobufC

/// `grpc.health.v1.HealthCheckResponse.ServingStatus`.
public enum ServingStatus: Int32, Sendable, Hashable {
    case unknown = 0
    case serving = 1
    case notServing = 2
    /// Used only by `Watch`, for a service name the server does not know.
    case serviceUnknown = 3
}

/// Codec for the standard `grpc.health.v1` messages.
public enum HealthCodec {
    /// Decodes a `HealthCheckRequest` and returns its `service` name.
    /// - Throws: `WireError.Code.undecodable` when the bytes don't parse.
    public static func decodeCheckRequest(protobuf bytes: UnsafeRawBufferPointer) throws(WireError) -> String {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard let message = grpc__health__v1__health_check_request__unpack(nil, bytes.count, base) else {
            throw WireError(code: .undecodable, message: "request is not a valid grpc.health.v1.HealthCheckRequest")
        }
        defer { grpc__health__v1__health_check_request__free_unpacked(message, nil) }
        return String(cString: message.pointee.service)
    }

    /// Appends a framed `HealthCheckResponse` carrying `status`.
    public static func appendFramedCheckResponse(_ status: ServingStatus, to buffer: inout [UInt8]) {
        var message = Grpc__Health__V1__HealthCheckResponse()
        grpc__health__v1__health_check_response__init(&message)
        message.status = Grpc__Health__V1__HealthCheckResponse__ServingStatus(rawValue: UInt32(status.rawValue))
        let size = grpc__health__v1__health_check_response__get_packed_size(&message)
        appendPackedMessage(size: size, to: &buffer) { grpc__health__v1__health_check_response__pack(&message, $0) }
    }

    /// Appends a framed `HealthCheckRequest` for `service` (used by clients and tests).
    public static func appendFramedCheckRequest(service: String, to buffer: inout [UInt8]) {
        CStringArena.withArena(capacity: CStringArena.size(of: service)) { arena in
            var message = Grpc__Health__V1__HealthCheckRequest()
            grpc__health__v1__health_check_request__init(&message)
            message.service = arena.copy(service)
            let size = grpc__health__v1__health_check_request__get_packed_size(&message)
            appendPackedMessage(size: size, to: &buffer) { grpc__health__v1__health_check_request__pack(&message, $0) }
        }
    }
}

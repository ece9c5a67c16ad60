public import FraudTransport
public import FraudWire

extension H2Response {
    /// The call's gRPC status as the client sees it.
    ///
    /// `grpc-status` / `grpc-message` (percent-decoded) when present; otherwise a stream reset maps to
    /// `UNAVAILABLE` for REFUSED_STREAM (code 7, safe to retry) and `INTERNAL` for the rest, and a missing
    /// status to `UNKNOWN` (the rule of PROTOCOL-HTTP2.md for a response without one).
    public var status: Status {
        if let raw = grpcStatus {
            if raw == 0 { return .ok }  // the hot path: no grpc-message lookup
            let code = Status.Code(rawValue: raw) ?? .unknown
            return Status(code: code, message: field("grpc-message").map(Self.percentDecoded) ?? "")
        }
        if resetCode == 7 {
            return Status(code: .unavailable, message: "stream refused by the server (RST_STREAM REFUSED_STREAM)")
        }
        if resetCode != 0 {
            return Status(code: .internal, message: "stream reset by the server (RST_STREAM code \(resetCode))")
        }
        return Status(code: .unknown, message: "response without grpc-status")
    }

    /// Undoes the `grpc-message` percent-encoding; malformed escapes are kept as they are.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let bytes = Array(text.utf8)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

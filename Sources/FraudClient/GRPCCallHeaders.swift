/// Request header fields of a gRPC call over HTTP/2 (PROTOCOL-HTTP2.md), built once and reused for
/// every call with the same deadline.
public enum GRPCCallHeaders {
    /// The method path of `fraud.v1.FraudScoring/Score`.
    public static let scorePath = "/fraud.v1.FraudScoring/Score"
    /// The method path of `fraud.v1.FraudScoring/ScoreStream`.
    public static let scoreStreamPath = "/fraud.v1.FraudScoring/ScoreStream"

    /// `content-type`, `te` and, when `timeout` is set, `grpc-timeout`.
    /// - Parameter timeout: The call's deadline relative to its start; `nil` for none.
    /// - Returns: Fields in the order they are sent (after the pseudo-headers).
    public static func make(timeout: Duration?) -> [(String, String)] {
        var fields = [("content-type", "application/grpc"), ("te", "trailers")]
        if let timeout { fields.append(("grpc-timeout", timeoutValue(timeout))) }
        return fields
    }

    /// The `authorization` field carrying `token` (`Bearer <token>`).
    /// - Parameter token: A JWT (printable ASCII without spaces).
    public static func authorization(bearerToken token: String) -> (String, String) {
        ("authorization", "Bearer \(token)")
    }

    /// Encodes a deadline as a `grpc-timeout` value: at most 8 digits and a unit, rounded up so the
    /// server never sees a shorter deadline than asked (`250m`, `1500000n`, `120000000u`).
    /// - Parameter timeout: A positive duration (zero or less becomes `1n`).
    public static func timeoutValue(_ timeout: Duration) -> String {
        let (seconds, attoseconds) = timeout.components
        guard seconds > 0 || attoseconds > 0 else { return "1n" }
        let nanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanos.overflow ? Int64.max : nanos.partialValue &+ (attoseconds + 999_999_999) / 1_000_000_000
        if total % 1_000_000 == 0 && total / 1_000_000 <= 99_999_999 { return "\(total / 1_000_000)m" }
        // Otherwise the finest unit whose (rounded-up) value fits in 8 digits.
        for (scale, unit) in [
            (Int64(1), "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"),
        ] {
            let value = total / scale + (total % scale == 0 ? 0 : 1)
            if value <= 99_999_999 { return "\(value)\(unit)" }
        }
        let hours = total / 3_600_000_000_000 + 1
        return "\(min(hours, 99_999_999))H"
    }
}

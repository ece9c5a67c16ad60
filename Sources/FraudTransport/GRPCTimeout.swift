/// Parses a `grpc-timeout` header value (PROTOCOL-HTTP2.md: 1–8 ASCII digits then one unit of
/// `H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds).
///
/// - Returns: the timeout in nanoseconds, or `nil` when the value is malformed.
func parseGRPCTimeout(_ value: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard value.count >= 2, value.count <= 9 else { return nil }
    var amount: Int64 = 0
    for byte in value.dropLast() {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
    }
    let nanosPerUnit: Int64
    switch value[value.count - 1] {
    case UInt8(ascii: "H"): nanosPerUnit = 3_600_000_000_000
    case UInt8(ascii: "M"): nanosPerUnit = 60_000_000_000
    case UInt8(ascii: "S"): nanosPerUnit = 1_000_000_000
    case UInt8(ascii: "m"): nanosPerUnit = 1_000_000
    case UInt8(ascii: "u"): nanosPerUnit = 1_000
    case UInt8(ascii: "n"): nanosPerUnit = 1
    default: return nil
    }
    let (product, overflow) = amount.multipliedReportingOverflow(by: nanosPerUnit)
    return overflow ? Int64.max : product
}

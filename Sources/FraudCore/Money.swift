/// Formats integer cents as a plain decimal amount with two decimals (`18100` → `"181.00"`).
///
/// No grouping separators, no currency symbol, `-` for negative amounts. Used in reason details on the
/// scoring hot path, so it avoids Foundation and allocates nothing for amounts below 10^12 cents
/// (the result then fits in a small, inline `String`).
public enum Money {
    /// Formats `cents` as `"<units>.<cents>"`, e.g. `-5` → `"-0.05"`, `123456` → `"1234.56"`.
    ///
    /// - Parameter cents: Any amount in cents, including `Int64.min`.
    /// - Returns: The decimal text.
    public static func format(cents: Int64) -> String {
        let isNegative = cents < 0
        let magnitude = cents.magnitude
        let units = magnitude / 100
        let fraction = Int(magnitude % 100)
        var unitDigits = 1
        var rest = units / 10
        while rest > 0 {
            unitDigits += 1
            rest /= 10
        }
        let length = (isNegative ? 1 : 0) + unitDigits + 3
        // Exact capacity: at most 15 bytes stays a small (inline) string, so no heap allocation.
        return String(unsafeUninitializedCapacity: length) { buffer in
            var position = length - 1
            buffer[position] = UInt8(ascii: "0") + UInt8(fraction % 10)
            position -= 1
            buffer[position] = UInt8(ascii: "0") + UInt8(fraction / 10)
            position -= 1
            buffer[position] = UInt8(ascii: ".")
            var remaining = units
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            if isNegative {
                buffer[0] = UInt8(ascii: "-")
            }
            return length
        }
    }
}

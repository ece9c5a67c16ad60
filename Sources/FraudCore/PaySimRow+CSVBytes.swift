extension PaySimRow {
    /// Appends ``csvLine`` and a newline to `buffer` as UTF-8, byte for byte, without building
    /// intermediate strings: the generator's output path (millions of rows per second).
    ///
    /// - Parameter buffer: Grows by one line.
    public func appendCSVLine(to buffer: inout [UInt8]) {
        Self.appendDecimal(UInt64(step), to: &buffer)
        buffer.append(UInt8(ascii: ","))
        buffer.append(contentsOf: type.paysimName.utf8)
        buffer.append(UInt8(ascii: ","))
        Self.appendMoney(amountCents, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        buffer.append(contentsOf: originAccount.utf8)
        buffer.append(UInt8(ascii: ","))
        Self.appendMoney(originBalanceBeforeCents, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        Self.appendMoney(originBalanceAfterCents, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        buffer.append(contentsOf: destinationAccount.utf8)
        buffer.append(UInt8(ascii: ","))
        Self.appendMoney(destinationBalanceBeforeCents, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        Self.appendMoney(destinationBalanceAfterCents, to: &buffer)
        buffer.append(UInt8(ascii: ","))
        buffer.append(isFraud ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        buffer.append(UInt8(ascii: ","))
        buffer.append(isFlaggedFraud ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Cents as ``Money/format(cents:)`` writes them (`-0.05`, `1234.56`).
    private static func appendMoney(_ cents: Int64, to buffer: inout [UInt8]) {
        if cents < 0 {
            buffer.append(UInt8(ascii: "-"))
        }
        let magnitude = cents.magnitude
        appendDecimal(magnitude / 100, to: &buffer)
        let fraction = UInt8(magnitude % 100)
        buffer.append(UInt8(ascii: "."))
        buffer.append(UInt8(ascii: "0") + fraction / 10)
        buffer.append(UInt8(ascii: "0") + fraction % 10)
    }

    private static func appendDecimal(_ value: UInt64, to buffer: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { bytes in
            repeat {
                bytes[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            while count > 0 {
                count -= 1
                buffer.append(bytes[count])
            }
        }
    }
}

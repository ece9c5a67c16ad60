import FraudCore
#if canImport(Glibc)
import Glibc
#endif

/// Parses PaySim CSV lines straight from their bytes: field boundaries by byte, no `Substring` per field and
/// no string for the whole line. Only plain ASCII lines with exactly 11 fields take this path; anything else
/// (and any field that does not parse) goes through ``PaySimRow/init(csvLine:)``, which decides and words
/// the error, so results are the same as parsing every line with it.
enum CSVRowParser {
    /// The row, or the parse error `PaySimRow(csvLine:)` reports for the line.
    static func parse(_ line: UnsafeRawBufferPointer) -> Result<PaySimRow, PaySimRow.ParseError> {
        if let row = fastRow(line) { return .success(row) }
        do throws(PaySimRow.ParseError) {
            return .success(try PaySimRow(csvLine: String(decoding: line, as: UTF8.self)[...]))
        } catch {
            return .failure(error)
        }
    }

    private static func fastRow(_ whole: UnsafeRawBufferPointer) -> PaySimRow? {
        var line = whole
        if let last = line.last, last == UInt8(ascii: "\r") {
            line = UnsafeRawBufferPointer(rebasing: line.dropLast())
        }
        // Start offsets of the 11 fields (the 12th entry is the end, plus one for a virtual comma).
        var starts: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        // The field counter lives inside the closure: a captured `var` would be boxed, with a runtime
        // exclusivity check on every byte.
        let ok = withUnsafeMutableBytes(of: &starts) { raw -> Bool in
            let offsets = raw.bindMemory(to: Int.self)
            var fieldCount = 1
            for index in 0..<line.count {
                let byte = line[index]
                if byte >= 0x80 { return false }
                if byte == UInt8(ascii: ",") {
                    guard fieldCount < 11 else { return false }
                    offsets[fieldCount] = index + 1
                    fieldCount += 1
                }
            }
            guard fieldCount == 11 else { return false }
            offsets[11] = line.count + 1
            return true
        }
        guard ok else { return nil }
        return withUnsafeBytes(of: &starts) { raw -> PaySimRow? in
            let offsets = raw.bindMemory(to: Int.self)
            func field(_ index: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: line[offsets[index]..<(offsets[index + 1] - 1)])
            }
            func string(_ index: Int) -> String { String(decoding: field(index), as: UTF8.self) }
            func cents(_ index: Int) -> Int64? { plainCents(field(index)) }
            func flag(_ index: Int) -> Bool? {
                let bytes = field(index)
                guard bytes.count == 1 else { return nil }
                switch bytes[0] {
                case UInt8(ascii: "0"): return false
                case UInt8(ascii: "1"): return true
                default: return nil
                }
            }
            guard let step = plainStep(field(0)),
                let type = transactionType(field(1)),
                let amount = cents(2), let originBefore = cents(4), let originAfter = cents(5),
                let destinationBefore = cents(7), let destinationAfter = cents(8),
                let isFraud = flag(9), let isFlaggedFraud = flag(10)
            else { return nil }
            return PaySimRow(
                step: step,
                type: type,
                amountCents: amount,
                originAccount: string(3),
                originBalanceBeforeCents: originBefore,
                originBalanceAfterCents: originAfter,
                destinationAccount: string(6),
                destinationBalanceBeforeCents: destinationBefore,
                destinationBalanceAfterCents: destinationAfter,
                isFraud: isFraud,
                isFlaggedFraud: isFlaggedFraud
            )
        }
    }

    /// `digits[.d[d]]` with at most 15 integer digits, straight from the bytes; `nil` for anything else
    /// (a sign, more decimals to round, exponents…), which then goes through ``PaySimRow/parseCents(_:)``
    /// with the rest of the line. Same value as `parseCents` wherever this returns one.
    private static func plainCents(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var whole: Int64 = 0
        var wholeDigits = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { break }
            whole = whole &* 10 &+ Int64(digit)
            wholeDigits += 1
            index += 1
        }
        guard wholeDigits > 0, wholeDigits <= 15 else { return nil }
        if index == count { return whole &* 100 }
        guard bytes[index] == UInt8(ascii: ".") else { return nil }
        index += 1
        var fraction: Int64 = 0
        var fractionDigits = 0
        while index < count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9, fractionDigits < 2 else { return nil }
            fraction = fraction &* 10 &+ Int64(digit)
            fractionDigits += 1
            index += 1
        }
        if fractionDigits == 1 { fraction &*= 10 }
        return whole &* 100 &+ fraction
    }

    /// A step of 1 to 9 digits.
    private static func plainStep(_ bytes: UnsafeRawBufferPointer) -> UInt32? {
        guard !bytes.isEmpty, bytes.count <= 9 else { return nil }
        var value: UInt32 = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            value = value &* 10 &+ UInt32(digit)
        }
        return value
    }

    /// The PaySim type names, compared as bytes.
    private static func transactionType(_ bytes: UnsafeRawBufferPointer) -> TransactionType? {
        func equals(_ literal: StaticString) -> Bool {
            guard bytes.count == literal.utf8CodeUnitCount else { return false }
            return memcmp(bytes.baseAddress!, literal.utf8Start, bytes.count) == 0
        }
        switch bytes.count {
        case 7 where equals("PAYMENT"): return .payment
        case 7 where equals("CASH_IN"): return .cashIn
        case 8 where equals("TRANSFER"): return .transfer
        case 8 where equals("CASH_OUT"): return .cashOut
        case 5 where equals("DEBIT"): return .debit
        default: return nil
        }
    }
}

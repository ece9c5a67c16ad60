import FraudCore

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
        var fieldCount = 1
        let ok = withUnsafeMutableBytes(of: &starts) { raw -> Bool in
            let offsets = raw.bindMemory(to: Int.self)
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
            func cents(_ index: Int) -> Int64? { PaySimRow.parseCents(string(index)[...]) }
            func flag(_ index: Int) -> Bool? {
                let bytes = field(index)
                guard bytes.count == 1 else { return nil }
                switch bytes[0] {
                case UInt8(ascii: "0"): return false
                case UInt8(ascii: "1"): return true
                default: return nil
                }
            }
            guard let step = UInt32(string(0)),
                let type = TransactionType(paysimName: string(1)),
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
}

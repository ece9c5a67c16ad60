/// One row of a PaySim CSV file (`step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,
/// oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud`), parsed exactly: amounts are decimal strings
/// turned into integer cents without going through floating point.
///
/// Parsing is pure (no I/O): readers hand it one line at a time.
public struct PaySimRow: Sendable, Hashable {
    /// The PaySim CSV header, as the generator writes it and the readers expect it.
    public static let header =
        "step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud"

    public var step: UInt32
    public var type: TransactionType
    public var amountCents: Int64
    public var originAccount: String
    public var originBalanceBeforeCents: Int64
    public var originBalanceAfterCents: Int64
    public var destinationAccount: String
    public var destinationBalanceBeforeCents: Int64
    public var destinationBalanceAfterCents: Int64
    /// The simulator's ground truth (`isFraud`).
    public var isFraud: Bool
    /// The simulator's naive flag (`isFlaggedFraud`), a baseline.
    public var isFlaggedFraud: Bool

    public init(
        step: UInt32, type: TransactionType, amountCents: Int64,
        originAccount: String, originBalanceBeforeCents: Int64, originBalanceAfterCents: Int64,
        destinationAccount: String, destinationBalanceBeforeCents: Int64, destinationBalanceAfterCents: Int64,
        isFraud: Bool, isFlaggedFraud: Bool
    ) {
        self.step = step
        self.type = type
        self.amountCents = amountCents
        self.originAccount = originAccount
        self.originBalanceBeforeCents = originBalanceBeforeCents
        self.originBalanceAfterCents = originBalanceAfterCents
        self.destinationAccount = destinationAccount
        self.destinationBalanceBeforeCents = destinationBalanceBeforeCents
        self.destinationBalanceAfterCents = destinationBalanceAfterCents
        self.isFraud = isFraud
        self.isFlaggedFraud = isFlaggedFraud
    }

    /// Why a line is not a PaySim row: the column and what is wrong with it.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// Column name (from ``PaySimRow/header``) or `line`.
        public var column: String
        public var reason: String
        public var description: String { "\(column): \(reason)" }
    }

    private static let columns = header.split(separator: ",").map(String.init)

    /// Parses one CSV line (without its newline).
    /// - Throws: ``ParseError`` naming the first bad column.
    public init(csvLine line: Substring) throws(ParseError) {
        var fields: [Substring] = []
        fields.reserveCapacity(11)
        var rest = line
        if rest.last == "\r" { rest = rest.dropLast() }
        while let comma = rest.utf8.firstIndex(of: UInt8(ascii: ",")) {
            fields.append(rest[..<comma])
            rest = rest[rest.utf8.index(after: comma)...]
        }
        fields.append(rest)
        guard fields.count == 11 else {
            throw ParseError(column: "line", reason: "has \(fields.count) fields, expected 11")
        }
        func cents(_ index: Int) throws(ParseError) -> Int64 {
            guard let value = Self.parseCents(fields[index]) else {
                throw ParseError(column: Self.columns[index], reason: "\"\(fields[index].prefix(40))\" is not a decimal amount")
            }
            return value
        }
        func flag(_ index: Int) throws(ParseError) -> Bool {
            switch fields[index] {
            case "0": return false
            case "1": return true
            default: throw ParseError(column: Self.columns[index], reason: "\"\(fields[index].prefix(40))\" is not 0 or 1")
            }
        }
        guard let step = UInt32(fields[0]) else {
            throw ParseError(column: "step", reason: "\"\(fields[0].prefix(40))\" is not a non-negative integer")
        }
        guard let type = TransactionType(paysimName: fields[1]) else {
            throw ParseError(column: "type", reason: "unknown type \"\(fields[1].prefix(40))\"")
        }
        self.init(
            step: step,
            type: type,
            amountCents: try cents(2),
            originAccount: String(fields[3]),
            originBalanceBeforeCents: try cents(4),
            originBalanceAfterCents: try cents(5),
            destinationAccount: String(fields[6]),
            destinationBalanceBeforeCents: try cents(7),
            destinationBalanceAfterCents: try cents(8),
            isFraud: try flag(9),
            isFlaggedFraud: try flag(10)
        )
    }

    /// The row as a transaction with the given id (validation is separate: see ``Transaction/validated(_:)``).
    public func transaction(id: String) -> RawTransaction {
        RawTransaction(
            transactionID: id,
            step: step,
            typeRawValue: type.rawValue,
            amountCents: amountCents,
            originAccount: originAccount,
            originBalanceBeforeCents: originBalanceBeforeCents,
            originBalanceAfterCents: originBalanceAfterCents,
            destinationAccount: destinationAccount,
            destinationBalanceBeforeCents: destinationBalanceBeforeCents,
            destinationBalanceAfterCents: destinationBalanceAfterCents
        )
    }

    /// The label carried by backfills.
    public var label: Label { isFraud ? .fraud : .legitimate }

    /// The row as a CSV line (no newline), amounts with two decimals — the generator's output format.
    public var csvLine: String {
        "\(step),\(type.paysimName),\(Money.format(cents: amountCents)),\(originAccount),"
            + "\(Money.format(cents: originBalanceBeforeCents)),\(Money.format(cents: originBalanceAfterCents)),"
            + "\(destinationAccount),\(Money.format(cents: destinationBalanceBeforeCents)),"
            + "\(Money.format(cents: destinationBalanceAfterCents)),\(isFraud ? 1 : 0),\(isFlaggedFraud ? 1 : 0)"
    }

    /// Exact decimal → cents: `123`, `123.4`, `123.45`, `-0.5`, `1e3`-free PaySim notation. More than two
    /// decimals are rounded half-up on the third (PaySim has at most two). Returns nil for anything else.
    public static func parseCents(_ text: Substring) -> Int64? {
        var bytes = text.utf8[...]
        guard !bytes.isEmpty else { return nil }
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var roundUp = false
        var sawDot = false
        var sawDigit = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard !sawDot else { return nil }
                sawDot = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            sawDigit = true
            let digit = Int64(byte - UInt8(ascii: "0"))
            if !sawDot {
                let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                guard !o1, !o2, sum <= 1_000_000_000_000_000 else { return nil }
                whole = sum
            } else if fractionDigits < 2 {
                fraction = fraction * 10 + digit
                fractionDigits += 1
            } else if fractionDigits == 2 {
                roundUp = digit >= 5
                fractionDigits += 1
            }
        }
        guard sawDigit else { return nil }
        if fractionDigits == 1 { fraction *= 10 }
        var cents = whole * 100 + fraction + (roundUp ? 1 : 0)
        if negative { cents = -cents }
        return cents
    }
}

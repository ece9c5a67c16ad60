public import FraudCore
import FraudWire

/// Pre-encoded, length-prefixed `ScoreRequest`s whose `transaction_id` is patched in place, so a load
/// generator pays one array copy per call instead of a protobuf encoding.
///
/// Every id is `<prefix><12 decimal digits>`: the width is fixed, so each template is encoded once with a
/// placeholder counter and only the digits change. The prefix carries the run id (and the connection), so
/// ids are unique per run.
public struct RequestRing: Sendable {
    /// Digits of the per-request counter.
    public static let counterDigits = 12

    /// The id prefix, e.g. `lg-1a2b3c4d-03-`.
    public let idPrefix: String
    private let templates: [[UInt8]]
    /// Where the counter digits start in each template.
    private let counterOffsets: [Int]
    /// When true every call sends `templates[0]` unchanged.
    public let isFixed: Bool

    /// Encodes `transactions` (their ids are replaced) as templates.
    /// - Parameters:
    ///   - transactions: Request content, cycled through; must not be empty.
    ///   - idPrefix: Printable ASCII, at most 128 - ``counterDigits`` bytes.
    ///   - fixed: Send the first request's bytes every time (same id, same content: every call after the
    ///     first is an idempotent replay on the server; this is what `h2load -d` can do).
    public init(transactions: [RawTransaction], idPrefix: String, fixed: Bool = false) {
        precondition(!transactions.isEmpty, "RequestRing needs at least one transaction")
        self.idPrefix = idPrefix
        self.isFixed = fixed
        let placeholder = idPrefix + String(repeating: "0", count: Self.counterDigits)
        let marker = Array(placeholder.utf8)
        var templates: [[UInt8]] = []
        var offsets: [Int] = []
        for var transaction in (fixed ? Array(transactions.prefix(1)) : transactions) {
            transaction.transactionID = placeholder
            var bytes: [UInt8] = []
            ScoreRequest(transaction: transaction).appendFramed(to: &bytes)
            guard let start = Self.firstIndex(of: marker, in: bytes) else {
                preconditionFailure("encoded request does not contain its transaction id")
            }
            templates.append(bytes)
            offsets.append(start + marker.count - Self.counterDigits)
        }
        self.templates = templates
        self.counterOffsets = offsets
    }

    /// Number of distinct templates.
    public var count: Int { templates.count }

    /// The request for call number `sequence`: template `sequence % count` with the id `<prefix><sequence>`
    /// (or the fixed request).
    public func message(sequence: UInt64) -> [UInt8] {
        if isFixed { return templates[0] }
        let index = Int(sequence % UInt64(templates.count))
        var bytes = templates[index]
        var value = sequence
        let start = counterOffsets[index]
        bytes.withUnsafeMutableBufferPointer { out in
            var position = start + Self.counterDigits - 1
            while position >= start {
                out[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
                position -= 1
            }
        }
        return bytes
    }

    /// The transaction id carried by `message(sequence:)`.
    public func transactionID(sequence: UInt64) -> String {
        let digits = String(isFixed ? 0 : sequence)
        return idPrefix + String(repeating: "0", count: max(0, Self.counterDigits - digits.count)) + digits
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}

/// PaySim-like transactions made up from a seed, for runs without a CSV file.
public enum SyntheticTransactions {
    /// `count` transactions: the five PaySim types in their natural mix, amounts from 1 to ~200,000.00,
    /// balances that add up, 50,000 origin accounts. Deterministic for a given `seed`.
    public static func make(count: Int, seed: UInt64 = 1) -> [RawTransaction] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 {
            // xorshift64*
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        let types: [TransactionType] = [.cashOut, .cashOut, .payment, .payment, .cashIn, .transfer, .debit]
        return (0..<count).map { index in
            let type = types[Int(next() % UInt64(types.count))]
            let amount = Int64(100 + next() % 20_000_000)
            let balance = Int64(next() % 50_000_000)
            let after = type == .cashIn ? balance + amount : max(0, balance - amount)
            let destinationBefore = Int64(next() % 100_000_000)
            let isMerchant = type == .payment
            return RawTransaction(
                transactionID: "",
                step: UInt32(1 + index / 1000),
                typeRawValue: type.rawValue,
                amountCents: amount,
                originAccount: "C\(1_000_000_000 + next() % 50_000)",
                originBalanceBeforeCents: balance,
                originBalanceAfterCents: after,
                destinationAccount: (isMerchant ? "M" : "C") + "\(1_000_000_000 + next() % 1_000_000)",
                destinationBalanceBeforeCents: isMerchant ? 0 : destinationBefore,
                destinationBalanceAfterCents: isMerchant ? 0 : destinationBefore + amount
            )
        }
    }
}

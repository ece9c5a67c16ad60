import FraudPersistence

/// A query parameter the client got wrong: answered 400 with its name.
struct ParameterError: Error, Sendable {
    /// The parameter's name as sent (`limit`, `decision`, …).
    var parameter: String
    /// What is wrong with it.
    var message: String
}

/// Query-string parsing and validation for the analytics endpoints.
enum AnalyticsParameters {
    static let types: Set<String> = ["PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "DEBIT"]
    static let decisions: Set<String> = ["APPROVE", "REVIEW", "DECLINE"]
    static let maxLimit = 1000

    /// Splits `a=1&b=2` into pairs, percent-decoding names and values (`+` is a space).
    static func parse(query: Substring) throws(ParameterError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(pieces[0]) else {
                throw ParameterError(parameter: String(pieces[0]), message: "is not valid percent-encoding")
            }
            guard let value = percentDecoded(pieces.count > 1 ? pieces[1] : "") else {
                throw ParameterError(parameter: name, message: "value is not valid percent-encoding")
            }
            pairs.append((name, value))
        }
        return pairs
    }

    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Builds a listing filter from the query; unknown names are refused so typos do not silently widen
    /// a query.
    static func filter(
        from pairs: [(String, String)],
        allowedDecisions: Set<String> = decisions
    ) throws(ParameterError) -> AnalyticsFilter {
        var filter = AnalyticsFilter()
        filter.decisions = []
        for (name, value) in pairs {
            switch name {
            case "account":
                guard !value.isEmpty, value.utf8.count <= 256 else {
                    throw ParameterError(parameter: name, message: "must be 1 to 256 bytes")
                }
                filter.account = value
            case "type":
                let values = value.split(separator: ",").map { String($0).uppercased() }
                guard !values.isEmpty, values.allSatisfy(types.contains) else {
                    throw ParameterError(
                        parameter: name,
                        message: "must be one or more of \(types.sorted().joined(separator: ", ")) (got \"\(value)\")"
                    )
                }
                filter.types += values
            case "decision":
                let values = value.split(separator: ",").map { String($0).uppercased() }
                guard !values.isEmpty, values.allSatisfy(allowedDecisions.contains) else {
                    throw ParameterError(
                        parameter: name,
                        message:
                            "must be one or more of \(allowedDecisions.sorted().joined(separator: ", ")) (got \"\(value)\")"
                    )
                }
                filter.decisions += values
            case "step_from": filter.stepFrom = try unsigned(name, value)
            case "step_to": filter.stepTo = try unsigned(name, value)
            case "since": filter.sinceMicros = try timestamp(name, value)
            case "until": filter.untilMicros = try timestamp(name, value)
            case "min_score": filter.minScore = try score(name, value)
            case "max_score": filter.maxScore = try score(name, value)
            case "limit":
                guard let limit = Int(value), (1...maxLimit).contains(limit) else {
                    throw ParameterError(parameter: name, message: "must be an integer from 1 to \(maxLimit) (got \"\(value)\")")
                }
                filter.limit = limit
            case "cursor":
                guard let cursor = CursorCoding.decode(value) else {
                    throw ParameterError(parameter: name, message: "is not a cursor returned by this API")
                }
                filter.after = cursor
            case "explain":
                continue
            default:
                throw ParameterError(parameter: name, message: "is not a parameter of this endpoint")
            }
        }
        if let from = filter.stepFrom, let to = filter.stepTo, from > to {
            throw ParameterError(parameter: "step_from", message: "must not be greater than step_to")
        }
        if let low = filter.minScore, let high = filter.maxScore, low > high {
            throw ParameterError(parameter: "min_score", message: "must not be greater than max_score")
        }
        if let since = filter.sinceMicros, let until = filter.untilMicros, since >= until {
            throw ParameterError(parameter: "since", message: "must be before until")
        }
        return filter
    }

    static func unsigned(_ name: String, _ value: String) throws(ParameterError) -> UInt32 {
        guard let number = UInt32(value) else {
            throw ParameterError(parameter: name, message: "must be an integer from 0 to \(UInt32.max) (got \"\(value)\")")
        }
        return number
    }

    static func score(_ name: String, _ value: String) throws(ParameterError) -> Float {
        guard let number = Float(value), number.isFinite, (0...1).contains(number) else {
            throw ParameterError(parameter: name, message: "must be a number from 0 to 1 (got \"\(value)\")")
        }
        return number
    }

    /// Unix seconds (`1732540000`, `1732540000.25`) or RFC 3339 UTC (`2024-11-25T13:00:00Z`) → µs.
    static func timestamp(_ name: String, _ value: String) throws(ParameterError) -> Int64 {
        if let seconds = Double(value), seconds.isFinite, seconds >= 0, seconds < 1e11 {
            return Int64((seconds * 1_000_000).rounded())
        }
        if let micros = rfc3339Micros(value) { return micros }
        throw ParameterError(
            parameter: name,
            message: "must be Unix seconds or an RFC 3339 UTC time like 2024-11-25T13:00:00Z (got \"\(value)\")"
        )
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff]Z` → microseconds since the epoch (UTC only).
    static func rfc3339Micros(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"),
            bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var fraction: Int64 = 0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count <= 27 else { return nil }
            let digits = bytes[20..<(bytes.count - 1)]
            guard !digits.isEmpty, let value = Int64(String(decoding: digits, as: UTF8.self)) else { return nil }
            fraction = value
            for _ in digits.count..<6 { fraction *= 10 }
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = Int64(era * 146_097 + doe - 719_468)
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000_000 + Int64(second) * 1_000_000 + fraction
    }
}

/// Opaque page cursors: base64url of `<scored_at µs>:<transaction_id>`.
enum CursorCoding {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ cursor: PageCursor) -> String {
        let bytes = Array("\(cursor.scoredAtMicros):\(cursor.transactionID)".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            for position in 0..<(chunk.count + 1) { out.append(alphabet[Int((value >> (18 - 6 * position)) & 63)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> PageCursor? {
        var lookup = [UInt8: UInt32]()
        for (index, byte) in alphabet.enumerated() { lookup[byte] = UInt32(index) }
        let input = Array(text.utf8)
        guard !input.isEmpty, input.count % 4 != 1 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < input.count {
            let chunk = input[index..<min(index + 4, input.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() {
                guard let sextet = lookup[byte] else { return nil }
                value |= sextet << (18 - 6 * offset)
            }
            for position in 0..<(chunk.count - 1) { bytes.append(UInt8((value >> (16 - 8 * position)) & 0xFF)) }
            index += 4
        }
        guard let decoded = String(validating: bytes, as: UTF8.self),
            let colon = decoded.firstIndex(of: ":"),
            let micros = Int64(decoded[..<colon])
        else { return nil }
        let id = String(decoded[decoded.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        return PageCursor(scoredAtMicros: micros, transactionID: id)
    }
}

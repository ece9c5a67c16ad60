import FraudCore

/// The `decisions` row of a record, in PostgreSQL's text formats, and back.
extension DecisionRecord {
    /// Column names in the order of ``columnTexts``; `scored_at_us` is microseconds since the epoch,
    /// turned into `scored_at` by the INSERT (exactly, with integer interval arithmetic).
    static let columnNames = [
        "transaction_id", "step", "type", "amount_cents", "origin_account", "origin_balance_before_cents",
        "origin_balance_after_cents", "destination_account", "destination_balance_before_cents",
        "destination_balance_after_cents", "label", "risk_score", "decision", "reasons", "model_version",
        "server_time_us", "scored_at_us",
    ]

    /// SQL types of ``columnNames``.
    static let columnTypes = [
        "text", "bigint", "text", "bigint", "text", "bigint", "bigint", "text", "bigint", "bigint", "text", "real",
        "text", "jsonb", "text", "bigint", "bigint",
    ]

    /// The columns of a COPY line (``appendCopyLine(to:)``): the `decisions` columns themselves.
    static let copyColumnNames = columnNames.dropLast() + ["scored_at"]

    /// SQL types of ``copyColumnNames``.
    static let copyColumnTypes = columnTypes.dropLast() + ["timestamptz"]

    /// Every column as PostgreSQL input text; `nil` is NULL (only `label`).
    var columnTexts: [String?] {
        [
            transaction.transactionID,
            String(transaction.step),
            transaction.type.paysimName,
            String(transaction.amountCents),
            transaction.originAccount,
            String(transaction.originBalanceBeforeCents),
            String(transaction.originBalanceAfterCents),
            transaction.destinationAccount,
            String(transaction.destinationBalanceBeforeCents),
            String(transaction.destinationBalanceAfterCents),
            label.columnText,
            Self.floatText(assessment.riskScore),
            assessment.decision.name,
            reasonsJSON,
            assessment.modelVersion,
            String(serverTimeMicros),
            String(scoredAtMicros),
        ]
    }

    /// Appends the record as one line of `COPY … FROM STDIN` text format, columns ``copyColumnNames``: the
    /// values of ``columnTexts`` except `scored_at`, written as a UTC timestamp with microseconds
    /// (``timestampText(micros:)``); tab-separated, `\N` for NULL, backslash escapes for backslash, tab,
    /// newline and carriage return. Writes bytes directly (no intermediate strings): it runs for every row
    /// on the writer thread.
    func appendCopyLine(to buffer: inout [UInt8]) {
        var line = CopyLineWriter(buffer: buffer)
        buffer = []  // keeps the storage uniquely referenced while writing
        line.text(transaction.transactionID)
        line.integer(Int64(transaction.step))
        line.text(transaction.type.paysimName)
        line.integer(transaction.amountCents)
        line.text(transaction.originAccount)
        line.integer(transaction.originBalanceBeforeCents)
        line.integer(transaction.originBalanceAfterCents)
        line.text(transaction.destinationAccount)
        line.integer(transaction.destinationBalanceBeforeCents)
        line.integer(transaction.destinationBalanceAfterCents)
        if let label = label.columnText { line.text(label) } else { line.null() }
        line.text(Self.floatText(assessment.riskScore))
        line.text(assessment.decision.name)
        line.separator()
        line.raw("[")
        for (index, reason) in assessment.reasons.enumerated() {
            line.raw(index == 0 ? "{\"code\": " : ", {\"code\": ")
            line.jsonString(reason.code)
            line.raw(", \"detail\": ")
            line.jsonString(reason.detail)
            line.raw(", \"weight\": ")
            if reason.weight.isFinite {
                line.raw(Self.floatText(reason.weight))
            } else {
                line.raw("\"" + Self.floatText(reason.weight) + "\"")
            }
            line.raw("}")
        }
        line.raw("]")
        line.text(assessment.modelVersion)
        line.integer(Int64(serverTimeMicros))
        line.separator()
        line.raw(Self.timestampText(micros: scoredAtMicros))
        line.buffer.append(0x0A)
        buffer = line.buffer
    }

    /// `reasons` as JSON: `[{"code": …, "detail": …, "weight": …}, …]`. Weights are the shortest decimal
    /// that reads back as the same `Float`; a non-finite weight (never produced by the engine) is written as
    /// the string `"NaN"`, `"Infinity"` or `"-Infinity"`, which JSON numbers cannot hold.
    var reasonsJSON: String {
        var json = "["
        for (index, reason) in assessment.reasons.enumerated() {
            if index > 0 { json += ", " }
            json += "{\"code\": "
            JSON.appendString(reason.code, to: &json)
            json += ", \"detail\": "
            JSON.appendString(reason.detail, to: &json)
            json += ", \"weight\": "
            if reason.weight.isFinite {
                json += Self.floatText(reason.weight)
            } else {
                json += "\"" + Self.floatText(reason.weight) + "\""
            }
            json += "}"
        }
        return json + "]"
    }

    /// Microseconds since the Unix epoch as `timestamptz` input in UTC: `2025-06-15 15:06:40.123456+00`
    /// (proleptic Gregorian calendar, exact to the microsecond).
    static func timestampText(micros: Int64) -> String {
        let (days, microsOfDay) = micros.floorDivided(by: 86_400_000_000)
        // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible low-level date algorithms").
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let seconds = microsOfDay / 1_000_000
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2)) \(padded(seconds / 3600, 2)):"
            + "\(padded(seconds / 60 % 60, 2)):\(padded(seconds % 60, 2)).\(padded(microsOfDay % 1_000_000, 6))+00"
    }

    /// A `Float` as PostgreSQL `real` input: the shortest round-trip decimal, or NaN / ±Infinity.
    static func floatText(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return value.description
    }

    /// Parses `real` output text (`extra_float_digits` ≥ 1 gives the shortest exact form).
    static func parseFloat(_ text: String) -> Float? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Float(text)
        }
    }

    /// The column list that ``init(row:)`` reads, for SELECTs on `decisions`.
    static let selectList = """
        transaction_id, step, type, amount_cents, origin_account, origin_balance_before_cents, \
        origin_balance_after_cents, destination_account, destination_balance_before_cents, \
        destination_balance_after_cents, label, risk_score, decision, reasons::text, model_version, \
        server_time_us, (extract(epoch FROM scored_at) * 1000000)::bigint
        """

    /// Decodes a row selected with ``selectList``.
    ///
    /// - Returns: `nil` if a value does not parse (a row not written by this module).
    init?(row: [String?]) {
        guard row.count == 17,
            let id = row[0], let step = row[1].flatMap({ UInt32($0) }),
            let type = row[2].flatMap({ TransactionType(paysimName: $0) }),
            let amount = row[3].flatMap({ Int64($0) }), let origin = row[4],
            let originBefore = row[5].flatMap({ Int64($0) }), let originAfter = row[6].flatMap({ Int64($0) }),
            let destination = row[7],
            let destinationBefore = row[8].flatMap({ Int64($0) }),
            let destinationAfter = row[9].flatMap({ Int64($0) }),
            let label = Label(columnText: row[10]),
            let score = row[11].flatMap({ Self.parseFloat($0) }),
            let decision = row[12].flatMap({ Decision(name: $0) }),
            let reasons = row[13].flatMap({ Self.parseReasons($0) }),
            let modelVersion = row[14],
            let serverTime = row[15].flatMap({ UInt32($0) }),
            let scoredAt = row[16].flatMap({ Int64($0) })
        else { return nil }
        self.init(
            transaction: Transaction(
                transactionID: id,
                step: step,
                type: type,
                amountCents: amount,
                originAccount: origin,
                originBalanceBeforeCents: originBefore,
                originBalanceAfterCents: originAfter,
                destinationAccount: destination,
                destinationBalanceBeforeCents: destinationBefore,
                destinationBalanceAfterCents: destinationAfter
            ),
            label: label,
            assessment: Assessment(riskScore: score, decision: decision, reasons: reasons, modelVersion: modelVersion),
            serverTimeMicros: serverTime,
            scoredAtMicros: scoredAt
        )
    }

    /// Parses the `reasons` JSON as written by ``reasonsJSON`` (and as normalised by `jsonb` output).
    static func parseReasons(_ text: String) -> [Reason]? {
        guard case .array(let items) = JSON.parse(text) else { return nil }
        var reasons: [Reason] = []
        for item in items {
            guard case .object(let fields) = item,
                case .string(let code) = fields["code"],
                case .string(let detail) = fields["detail"]
            else { return nil }
            let weight: Float
            switch fields["weight"] {
            case .number(let text):
                guard let value = Float(text) else { return nil }
                weight = value
            case .string(let text):
                guard let value = parseFloat(text) else { return nil }
                weight = value
            default: return nil
            }
            reasons.append(Reason(code: code, detail: detail, weight: weight))
        }
        return reasons
    }
}

extension Label {
    /// `label` column text: NULL for `.unspecified`.
    var columnText: String? {
        switch self {
        case .unspecified: nil
        case .legitimate: "LEGITIMATE"
        case .fraud: "FRAUD"
        }
    }

    init?(columnText: String?) {
        switch columnText {
        case nil: self = .unspecified
        case "LEGITIMATE": self = .legitimate
        case "FRAUD": self = .fraud
        default: return nil
        }
    }
}

extension Decision {
    /// Parses ``name`` (`APPROVE`, `REVIEW`, `DECLINE`).
    init?(name: String) {
        guard let decision = Decision.allCases.first(where: { $0.name == name }) else { return nil }
        self = decision
    }
}

/// Writes the fields of one COPY text-format line.
private struct CopyLineWriter {
    var buffer: [UInt8]
    private var isFirst = true

    init(buffer: [UInt8]) {
        self.buffer = buffer
    }

    /// A tab before every field but the first.
    mutating func separator() {
        if !isFirst { buffer.append(0x09) }
        isFirst = false
    }

    mutating func null() {
        separator()
        buffer.append(contentsOf: [0x5C, 0x4E])  // \N
    }

    mutating func text(_ value: String) {
        separator()
        escaped(value.utf8)
    }

    mutating func integer(_ value: Int64) {
        separator()
        if value < 0 { buffer.append(0x2D) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            repeat {
                digits[count] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { buffer.append(digits[index]) }
        }
    }

    /// Bytes that need no escaping (JSON punctuation, numbers).
    mutating func raw(_ value: String) {
        escaped(value.utf8)
    }

    /// A JSON string literal of `value`, COPY-escaped.
    mutating func jsonString(_ value: String) {
        buffer.append(0x22)
        for byte in value.utf8 {
            switch byte {
            case 0x22: escaped([0x5C, 0x22])  // \"
            case 0x5C: escaped([0x5C, 0x5C])  // \\
            case 0x0A: escaped([0x5C, 0x6E])  // \n
            case 0x0D: escaped([0x5C, 0x72])  // \r
            case 0x09: escaped([0x5C, 0x74])  // \t
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                escaped([0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: buffer.append(byte)
            }
        }
        buffer.append(0x22)
    }

    private mutating func escaped(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            switch byte {
            case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
            case 0x09: buffer.append(contentsOf: [0x5C, 0x74])
            case 0x0A: buffer.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: buffer.append(contentsOf: [0x5C, 0x72])
            default: buffer.append(byte)
            }
        }
    }
}

extension Int64 {
    /// Quotient rounded towards negative infinity, and the (non-negative) remainder.
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = self / divisor
        let remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}

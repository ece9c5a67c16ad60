/// The little JSON this module needs: string escaping for `reasons`, and a parser for reading it back
/// (warm start, tests). Numbers are kept as their text so floats round-trip exactly.
enum JSON: Equatable {
    case null
    case bool(Bool)
    /// The number's text as written.
    case number(String)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// Appends `value` as a JSON string literal.
    static func appendString(_ value: String, to json: inout String) {
        json += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }

    /// Parses a complete JSON text; `nil` if it is not valid.
    static func parse(_ text: String) -> JSON? {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        guard let value = parser.value() else { return nil }
        parser.skipWhitespace()
        return parser.index == parser.scalars.count ? value : nil
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func skipWhitespace() {
            while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
        }

        mutating func value() -> JSON? {
            skipWhitespace()
            guard index < scalars.count else { return nil }
            switch scalars[index] {
            case "{": return object()
            case "[": return array()
            case "\"": return string().map(JSON.string)
            case "t": return literal("true", .bool(true))
            case "f": return literal("false", .bool(false))
            case "n": return literal("null", .null)
            default: return number()
            }
        }

        mutating func literal(_ word: String, _ value: JSON) -> JSON? {
            let word = Array(word.unicodeScalars)
            guard index + word.count <= scalars.count, Array(scalars[index..<index + word.count]) == word else {
                return nil
            }
            index += word.count
            return value
        }

        mutating func number() -> JSON? {
            let start = index
            while index < scalars.count, "+-0123456789.eE".unicodeScalars.contains(scalars[index]) { index += 1 }
            guard index > start else { return nil }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars[start..<index])
            return Double(text) == nil ? nil : .number(text)
        }

        mutating func string() -> String? {
            index += 1  // opening quote
            var result = ""
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                switch scalar {
                case "\"": return result
                case "\\":
                    guard index < scalars.count else { return nil }
                    let escape = scalars[index]
                    index += 1
                    switch escape {
                    case "\"": result += "\""
                    case "\\": result += "\\"
                    case "/": result += "/"
                    case "b": result += "\u{08}"
                    case "f": result += "\u{0C}"
                    case "n": result += "\n"
                    case "r": result += "\r"
                    case "t": result += "\t"
                    case "u":
                        guard let unit = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(unit) {
                            guard literal("\\u", .null) != nil, let low = hex4(), (0xDC00..<0xE000).contains(low),
                                let combined = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            else { return nil }
                            result.unicodeScalars.append(combined)
                        } else {
                            guard let decoded = Unicode.Scalar(unit) else { return nil }
                            result.unicodeScalars.append(decoded)
                        }
                    default: return nil
                    }
                default: result.unicodeScalars.append(scalar)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= scalars.count else { return nil }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars[index..<index + 4])
            index += 4
            return UInt32(text, radix: 16)
        }

        mutating func array() -> JSON? {
            index += 1
            var items: [JSON] = []
            skipWhitespace()
            if index < scalars.count, scalars[index] == "]" {
                index += 1
                return .array(items)
            }
            while true {
                guard let item = value() else { return nil }
                items.append(item)
                skipWhitespace()
                guard index < scalars.count else { return nil }
                let separator = scalars[index]
                index += 1
                if separator == "]" { return .array(items) }
                if separator != "," { return nil }
            }
        }

        mutating func object() -> JSON? {
            index += 1
            var fields: [String: JSON] = [:]
            skipWhitespace()
            if index < scalars.count, scalars[index] == "}" {
                index += 1
                return .object(fields)
            }
            while true {
                skipWhitespace()
                guard index < scalars.count, scalars[index] == "\"", let key = string() else { return nil }
                skipWhitespace()
                guard index < scalars.count, scalars[index] == ":" else { return nil }
                index += 1
                guard let item = value() else { return nil }
                fields[key] = item
                skipWhitespace()
                guard index < scalars.count else { return nil }
                let separator = scalars[index]
                index += 1
                if separator == "}" { return .object(fields) }
                if separator != "," { return nil }
            }
        }
    }
}

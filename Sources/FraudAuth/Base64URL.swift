import Foundation

/// Base64 helpers: unpadded base64url for JWT segments (RFC 7515 §2), unpadded standard base64 for the
/// PHC password-hash strings. jwt-kit keeps its own base64url helpers internal.
enum Base64 {
    /// Unpadded base64url of `bytes`.
    static func urlEncoded(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(
            text.map { character in
                switch character {
                case "+": "-"
                case "/": "_"
                default: character
                }
            }
        )
    }

    /// Unpadded standard base64 of `bytes` (PHC string format).
    static func phcEncoded(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return text
    }

    /// Decodes unpadded (or padded) standard base64; `nil` on any other character.
    static func phcDecoded(_ text: Substring) -> [UInt8]? {
        var padded = String(text)
        guard !padded.contains("=") else { return nil }
        while padded.utf8.count % 4 != 0 { padded.append("=") }
        return Data(base64Encoded: padded).map { Array($0) }
    }
}

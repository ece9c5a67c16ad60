/// Decoding of HPACK's Huffman code (RFC 7541 §5.2, Appendix B), for ``HPACKDecoderTable``: the dynamic
/// table's accounting needs the decoded length of every string a peer indexes, and the value of an indexed
/// `authorization` field.
///
/// The code is canonical (codes of one length are consecutive, in symbol order, and shorter codes sort
/// first), so the table below holds only each symbol's code length; decoding walks the bits one at a time.
/// That is slow per byte but runs only for literals with incremental indexing, which a client sends once
/// per field and connection.
enum HPACKHuffman {
    /// Code length in bits of each symbol 0…256 (256 is EOS), RFC 7541 Appendix B.
    static let codeLengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  // 0-15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  // 16-31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,  // 32-47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,  // 48-63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,  // 64-79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,  // 80-95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,  // 96-111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,  // 112-127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  // 128-143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  // 144-159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  // 160-175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  // 176-191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  // 192-207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  // 208-223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  // 224-239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  // 240-255
        30,  // 256 (EOS)
    ]

    /// The canonical code's layout: per length, the first code and where its symbols start in `symbols`.
    private struct Layout {
        var firstCode = [Int](repeating: 0, count: 32)
        var count = [Int](repeating: 0, count: 32)
        var firstIndex = [Int](repeating: 0, count: 32)
        /// Symbols ordered by (code length, symbol): the order of their codes.
        var symbols: [UInt16] = []

        init() {
            for length in HPACKHuffman.codeLengths { count[Int(length)] += 1 }
            var code = 0
            var index = 0
            for length in 1..<32 {
                code = (code + count[length - 1]) << 1
                firstCode[length] = code
                firstIndex[length] = index
                index += count[length]
            }
            symbols = (0..<UInt16(257)).sorted {
                (HPACKHuffman.codeLengths[Int($0)], $0) < (HPACKHuffman.codeLengths[Int($1)], $1)
            }
        }
    }

    private static let layout = Layout()

    /// Decodes `encoded`, appending the octets to `output`.
    /// - Returns: false when the string is invalid (see ``decodedCount(_:)``); `output` may then hold a part.
    static func decode(_ encoded: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        walk(encoded) { output.append($0) } != nil
    }

    /// The number of octets `encoded` decodes to.
    /// - Returns: nil when the string is invalid, as nghttp2 judges it too: it contains EOS, or its padding is
    ///   longer than 7 bits or not the most significant bits of EOS (all ones).
    static func decodedCount(_ encoded: UnsafeRawBufferPointer) -> Int? {
        walk(encoded) { _ in }
    }

    @inline(__always)
    private static func walk(_ encoded: UnsafeRawBufferPointer, _ emit: (UInt8) -> Void) -> Int? {
        let layout = Self.layout
        var decoded = 0
        var code = 0
        var length = 0
        for byte in encoded {
            var bit = 7
            while bit >= 0 {
                code = code << 1 | Int(byte >> UInt8(bit) & 1)
                length += 1
                bit -= 1
                let offset = code - layout.firstCode[length]
                guard offset >= 0, offset < layout.count[length] else {
                    if length == 30 { return nil }  // no code is longer (cannot happen: the code is complete)
                    continue
                }
                let symbol = layout.symbols[layout.firstIndex[length] + offset]
                if symbol == 256 { return nil }
                emit(UInt8(symbol))
                decoded += 1
                code = 0
                length = 0
            }
        }
        guard length <= 7, code == (1 << length) - 1 else { return nil }
        return decoded
    }
}

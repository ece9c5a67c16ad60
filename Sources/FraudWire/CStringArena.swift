/// Copies Swift strings into one temporary NUL-terminated C buffer, for filling protobuf-c structs.
///
/// - Important: The pointers it hands out live only inside ``withArena(capacity:_:)``.
struct CStringArena: ~Copyable {
    private let base: UnsafeMutablePointer<CChar>
    private let capacity: Int
    private var used = 0

    private init(base: UnsafeMutablePointer<CChar>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    /// Runs `body` with an arena of `capacity` bytes on the stack (or heap for large sizes).
    static func withArena<R>(capacity: Int, _ body: (inout CStringArena) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: max(capacity, 1)) { buffer in
            var arena = CStringArena(base: buffer.baseAddress!, capacity: buffer.count)
            return try body(&arena)
        }
    }

    /// Bytes needed to hold `string` with its terminating NUL.
    static func size(of string: String) -> Int { string.utf8.count + 1 }

    /// Copies `string` in and returns its C pointer.
    mutating func copy(_ string: String) -> UnsafeMutablePointer<CChar> {
        let start = base + used
        var count = 0
        var string = string
        string.withUTF8 { utf8 in
            precondition(used + utf8.count + 1 <= capacity, "CStringArena sized too small")
            utf8.withMemoryRebound(to: CChar.self) { chars in
                if let source = chars.baseAddress { start.update(from: source, count: chars.count) }
            }
            count = utf8.count
        }
        start[count] = 0
        used += count + 1
        return start
    }
}

/// An account name with what the hot path needs from it, computed in one pass before any lock is taken:
/// its FNV-1a hash (shard choice, counterparty marks) and, for PaySim-style names, a compact code.
struct AccountKey: Sendable {
    let account: String
    /// FNV-1a of the UTF-8 bytes (``FNV1a/hash(_:)``).
    let hash: UInt64
    /// ``AccountCode/pack(_:)`` of the name, 0 when it has no compact code.
    let code: UInt64

    @inline(__always)
    init(_ account: String) {
        self.account = account
        if let (hash, code) = account.utf8.withContiguousStorageIfAvailable(Self.hashAndCode) {
            self.hash = hash
            self.code = code
        } else {
            var hasher = FNV1a()
            for byte in account.utf8 {
                hasher.combine(byte: byte)
            }
            self.hash = hasher.value
            self.code = AccountCode.pack(account)
        }
    }

    /// FNV-1a of `bytes` and ``AccountCode/pack(_:)`` of them, in one pass (the same results as computing
    /// them one after the other).
    @inline(__always)
    static func hashAndCode(_ bytes: UnsafeBufferPointer<UInt8>) -> (hash: UInt64, code: UInt64) {
        guard let first = bytes.first else { return (FNV1a.offsetBasis, 0) }
        var hash = (FNV1a.offsetBasis ^ UInt64(first)) &* FNV1a.prime
        var value: UInt64 = 0
        var isDigits = true
        for position in 1..<bytes.count {
            let byte = bytes[position]
            hash = (hash ^ UInt64(byte)) &* FNV1a.prime
            let digit = byte &- UInt8(ascii: "0")
            isDigits = isDigits && digit < 10
            value = value &* 10 &+ UInt64(digit)
        }
        let letter = first &- UInt8(ascii: "A")
        guard bytes.count >= 2, bytes.count <= 16, isDigits, letter < 26 else { return (hash, 0) }
        return (hash, UInt64(letter + 1) << 54 | UInt64(bytes.count - 1) << 50 | value)
    }

    /// A key from parts computed earlier by ``init(_:)`` for the same name.
    @inline(__always)
    init(account: String, hash: UInt64, code: UInt64) {
        self.account = account
        self.hash = hash
        self.code = code
    }

    /// The 32-bit mark this account leaves in its counterparties' sets.
    var counterpartyHash: UInt32 { hash.folded32 }
}

/// Compact 64-bit codes for account names of the PaySim shape: one upper-case ASCII letter followed by 1–15
/// ASCII digits (`C1231006815`, `M1979787155`). Different names get different codes (the digit count is part
/// of the code, so leading zeros are kept apart), bit 63 is always 0 and no code is 0. Other names have no
/// code: tables give them one of their own (bit 63 set, see ``AccountTable``).
enum AccountCode {
    /// Set in codes that tables assign to names without a compact code.
    static let internedBit: UInt64 = 1 << 63

    /// The code of `name`, or 0.
    static func pack(_ name: String) -> UInt64 {
        var name = name
        return name.withUTF8 { pack($0) }
    }

    /// The code of the UTF-8 bytes of a name, or 0: letter index (1–26) in bits 54–58, digit count (1–15) in
    /// bits 50–53, the digits' value (< 10^15 < 2^50) below.
    @inline(__always)
    static func pack(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard bytes.count >= 2, bytes.count <= 16 else { return 0 }
        let letter = bytes[0] &- UInt8(ascii: "A")
        guard letter < 26 else { return 0 }
        var value: UInt64 = 0
        for position in 1..<bytes.count {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return 0 }
            value = value &* 10 &+ UInt64(digit)
        }
        return UInt64(letter + 1) << 54 | UInt64(bytes.count - 1) << 50 | value
    }
}

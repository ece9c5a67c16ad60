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
        var hasher = FNV1a()
        var packer = AccountCode.Packer()
        let isContiguous =
            account.utf8.withContiguousStorageIfAvailable { bytes in
                for byte in bytes {
                    hasher.combine(byte: byte)
                    packer.add(byte)
                }
                return true
            } != nil
        if !isContiguous {
            for byte in account.utf8 {
                hasher.combine(byte: byte)
                packer.add(byte)
            }
        }
        self.hash = hasher.value
        self.code = packer.code
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
        var packer = Packer()
        for byte in name.utf8 {
            packer.add(byte)
        }
        return packer.code
    }

    /// Packs byte by byte: letter index (1–26) in bits 54–58, digit count (1–15) in bits 50–53, the digits'
    /// value (< 10^15 < 2^50) below.
    struct Packer {
        private var letter: UInt64 = 0
        private var digits: UInt64 = 0
        private var value: UInt64 = 0
        private var isValid = true

        @inline(__always)
        mutating func add(_ byte: UInt8) {
            if letter == 0 {
                if isValid, byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") {
                    letter = UInt64(byte - UInt8(ascii: "A") + 1)
                } else {
                    isValid = false
                }
                return
            }
            let digit = byte &- UInt8(ascii: "0")
            if digit < 10, digits < 15 {
                value = value &* 10 &+ UInt64(digit)
                digits += 1
            } else {
                isValid = false
            }
        }

        /// The code, or 0 when the bytes were not a letter and 1–15 digits.
        var code: UInt64 {
            guard isValid, letter != 0, digits > 0 else { return 0 }
            return letter << 54 | digits << 50 | value
        }
    }
}

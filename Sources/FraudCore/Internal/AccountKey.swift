/// An account name with what the hot path needs from it, computed in one pass before any lock is taken: for
/// PaySim-style names a compact code, and from the name's hash (``hashAndCode(of:)``) the velocity shard's mix,
/// the index hash of the code and the account's counterparty mark — each computed once here rather than again
/// at every lookup (the batch's three passes used to mix the same hash six times per account).
struct AccountKey: Sendable {
    /// The name. Tables read it only when ``code`` is 0 (they intern such names), so a caller on the hot path
    /// may pass `""` for a name with a code and copy (retain) no string.
    let account: String
    /// ``AccountCode/pack(_:)`` of the name, 0 when it has no compact code.
    let code: UInt64
    /// `hash.mixed` of the name's hash (``hashAndCode(of:)``): picks the velocity shard (``UInt64/shardIndex(mixed:count:)``,
    /// the same shard as `hash.shardIndex(count:)`).
    let mixedHash: UInt64
    /// ``AccountTable/indexHash(_:)`` of ``code``; 0 when there is none (the table hashes the code it hands out).
    let indexHash: UInt32
    /// The 32-bit mark this account leaves in its counterparties' sets: the name's hash folded.
    let counterpartyHash: UInt32

    /// The key of `account`.
    @inline(__always)
    init(_ account: String) {
        let (hash, code) = Self.hashAndCode(of: account)
        self.init(account: account, hash: hash, code: code)
    }

    /// The key from the name's hash and compact code (``hashAndCode(of:)``: for a name with a code the hash
    /// *is* `code.mixed`, so the code's index hash — the low half of that — is taken from it, not mixed again).
    @inline(__always)
    init(account: String, hash: UInt64, code: UInt64) {
        self.account = account
        self.code = code
        mixedHash = hash.mixed
        indexHash = code == 0 ? 0 : UInt32(truncatingIfNeeded: hash)
        counterpartyHash = hash.folded32
    }

    /// A key from parts computed earlier by ``init(account:hash:code:)`` for the same name.
    @inline(__always)
    init(account: String, code: UInt64, mixedHash: UInt64, indexHash: UInt32, counterpartyHash: UInt32) {
        self.account = account
        self.code = code
        self.mixedHash = mixedHash
        self.indexHash = indexHash
        self.counterpartyHash = counterpartyHash
    }

    /// The name's 64-bit hash (shards, counterparty marks, payload fingerprints) and its compact code: for a
    /// name with a code (every PaySim name) the code's ``Swift/UInt64/mixed`` — the code is a one-to-one image
    /// of the name, so nothing is lost, and its eight-digits-at-a-time packing replaces a byte loop of
    /// multiplications — and for any other name ``FNV1a/hash(_:)`` of its UTF-8 bytes. Deterministic across
    /// processes and platforms.
    @inline(__always)
    static func hashAndCode(of account: String) -> (hash: UInt64, code: UInt64) {
        if let result = account.utf8.withContiguousStorageIfAvailable(Self.hashAndCode) {
            return result
        }
        let code = AccountCode.pack(account)
        return (code != 0 ? code.mixed : FNV1a.hash(account), code)
    }

    /// ``hashAndCode(of:)`` of the UTF-8 bytes of a name.
    @inline(__always)
    static func hashAndCode(_ bytes: UnsafeBufferPointer<UInt8>) -> (hash: UInt64, code: UInt64) {
        let code = AccountCode.pack(bytes)
        if code != 0 {
            return (code.mixed, code)
        }
        var hash = FNV1a.offsetBasis
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* FNV1a.prime
        }
        return (hash, 0)
    }
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
        guard bytes.count >= 2, bytes.count <= 16, let base = bytes.baseAddress else { return 0 }
        let letter = base[0] &- UInt8(ascii: "A")
        guard letter < 26 else { return 0 }
        let digits = bytes.count - 1
        let value: UInt64
        if digits >= 8 {
            // PaySim's names (9 or 10 digits): two unaligned eight-byte loads inside the buffer, the last eight
            // digits and the first ones, each checked and converted in a few word operations.
            let raw = UnsafeRawPointer(base)
            let tail = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self))
            guard let tailValue = eightDigits(tail) else { return 0 }
            let leading = digits - 8
            if leading == 0 {
                value = tailValue
            } else {
                // The first `leading` bytes, moved to the top of the word behind '0's (leading zeros).
                let head = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
                let padded = (head << (UInt64(8 - leading) &* 8)) | (Self.zeros >> (UInt64(leading) &* 8))
                guard let headValue = eightDigits(padded) else { return 0 }
                value = headValue &* 100_000_000 &+ tailValue
            }
        } else {
            var sum: UInt64 = 0
            for position in 1..<bytes.count {
                let digit = base[position] &- UInt8(ascii: "0")
                guard digit < 10 else { return 0 }
                sum = sum &* 10 &+ UInt64(digit)
            }
            value = sum
        }
        return UInt64(letter + 1) << 54 | UInt64(digits) << 50 | value
    }

    /// Whether the name whose code is `code` (non-zero) starts with `M` — PaySim's merchants — read from the
    /// code's letter bits, without the name.
    @inline(__always)
    static func isMerchant(_ code: UInt64) -> Bool {
        (code >> 54) & 0x1F == UInt64(UInt8(ascii: "M") - UInt8(ascii: "A") + 1)
    }

    /// Eight ASCII '0's.
    private static let zeros: UInt64 = 0x3030_3030_3030_3030

    /// The value of eight ASCII digits in a little-endian word (the first digit in the lowest byte), or nil
    /// when a byte is not a digit.
    @inline(__always)
    static func eightDigits(_ word: UInt64) -> UInt64? {
        // A digit is 0x30-0x39: high nibble 3, and adding 6 does not carry out of the low nibble (no byte
        // carries into the next one: every byte is at most 0x3F here).
        let highNibbles: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        guard word & highNibbles == zeros, (word &+ 0x0606_0606_0606_0606) & highNibbles == zeros else {
            return nil
        }
        // Pairs, then fours, then all eight (the first digit weighs most).
        // (Shifts bind tighter than multiplication in Swift, hence the parentheses.)
        var value = ((word & 0x0F0F_0F0F_0F0F_0F0F) &* (10 << 8 + 1)) >> 8
        value = ((value & 0x00FF_00FF_00FF_00FF) &* (100 << 16 + 1)) >> 16
        return ((value & 0x0000_FFFF_0000_FFFF) &* (10_000 << 32 + 1)) >> 32
    }
}

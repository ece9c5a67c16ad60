/// 64-bit FNV-1a, used for account names without a compact code (see `AccountKey.hashAndCode(of:)`);
/// transaction ids have ``IdentifierHash``.
///
/// Deterministic across processes and platforms (unlike `Hasher`, which is seeded per process), so the
/// same event sequence lands in the same shards and evicts the same accounts on every replay.
struct FNV1a: Sendable {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    private(set) var value: UInt64 = FNV1a.offsetBasis

    @inline(__always)
    mutating func combine(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* FNV1a.prime
    }

    /// Mixes in the UTF-8 bytes, then the length, so that adjacent strings cannot run into each other.
    @inline(__always)
    mutating func combine(_ string: String) {
        var count: UInt64 = 0
        for byte in string.utf8 {
            combine(byte: byte)
            count &+= 1
        }
        combine(count)
    }

    /// Mixes in the eight little-endian bytes of `integer`.
    @inline(__always)
    mutating func combine(_ integer: UInt64) {
        var remaining = integer
        for _ in 0..<8 {
            combine(byte: UInt8(truncatingIfNeeded: remaining))
            remaining >>= 8
        }
    }

    /// FNV-1a of the UTF-8 bytes of `string` alone.
    @inline(__always)
    static func hash(_ string: String) -> UInt64 {
        var hasher = FNV1a()
        let isContiguous =
            string.utf8.withContiguousStorageIfAvailable { bytes in
                for byte in bytes {
                    hasher.combine(byte: byte)
                }
                return true
            } != nil
        if !isContiguous {
            for byte in string.utf8 {
                hasher.combine(byte: byte)
            }
        }
        return hasher.value
    }
}

/// The hash of a transaction id (idempotency shards and index, payload fingerprints): its UTF-8 bytes eight
/// at a time — each little-endian word mixed by a multiply and xor-shift (``WordHasher``), the last partial
/// word zero-padded — then its length, finalised by MurmurHash3's mixer. One multiply per eight bytes where
/// FNV-1a needs one per byte: a 36-character UUID takes five instead of 36. Deterministic across processes
/// and platforms; not stored anywhere (so it may change between versions).
enum IdentifierHash {
    /// The hash of `string`'s UTF-8 bytes.
    @inline(__always)
    static func hash(_ string: String) -> UInt64 {
        if let value = string.utf8.withContiguousStorageIfAvailable(hash(bytes:)) {
            return value
        }
        var copy = string
        return copy.withUTF8(hash(bytes:))
    }

    /// The hash of `bytes`.
    @inline(__always)
    static func hash(bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hasher = WordHasher()
        let count = bytes.count
        if let base = bytes.baseAddress, count > 0 {
            let raw = UnsafeRawPointer(base)
            var offset = 0
            while offset + 8 <= count {
                hasher.combine(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
            if offset < count {
                var word: UInt64 = 0
                var shift: UInt64 = 0
                while offset < count {
                    word |= UInt64(base[offset]) << shift
                    shift &+= 8
                    offset += 1
                }
                hasher.combine(word)
            }
        }
        hasher.combine(UInt64(count))
        return hasher.value.mixed
    }
}

extension UInt64 {
    /// Folds a 64-bit hash to 32 bits, keeping entropy from both halves.
    @inline(__always)
    var folded32: UInt32 {
        UInt32(truncatingIfNeeded: self ^ (self >> 32))
    }

    /// MurmurHash3's 64-bit finaliser: FNV-1a leaves the high bits of short keys poorly mixed (1,000
    /// names `C0…C999` filled only 5 of 8 shards), this spreads every input bit over the whole word.
    @inline(__always)
    var mixed: UInt64 {
        var x = self
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    /// Maps a hash onto `0..<count` (finalised, then multiply-shift on the high 32 bits).
    @inline(__always)
    func shardIndex(count: Int) -> Int {
        Self.shardIndex(mixed: mixed, count: count)
    }

    /// ``shardIndex(count:)`` of a hash whose ``mixed`` is given (computed once, used for several lookups).
    @inline(__always)
    static func shardIndex(mixed: UInt64, count: Int) -> Int {
        Int(truncatingIfNeeded: ((mixed >> 32) &* UInt64(count)) >> 32)
    }
}

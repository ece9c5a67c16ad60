import Testing

@testable import FraudCore

@Suite("AccountKey (hash and compact code in one pass)")
struct AccountKeyTests {
    @Test(
        "one pass gives the code's mix (FNV-1a without a code) and AccountCode.pack exactly",
        arguments: [
            "", "C", "M0", "C1231006815", "M1979787155", "C0001", "C1", "Z999999999999999", "A123456789012345",
            "C1234567890123456", "c123", "[123", "@123", "C12a4", "C-12", "alice", "Ç123", "C123 ", "CC123",
            "9123", "C\u{0}12",
        ]
    )
    func matchesTwoPasses(name: String) {
        let key = AccountKey(name)
        var hasher = FNV1a()
        for byte in name.utf8 { hasher.combine(byte: byte) }
        let code = Self.referencePack(name)
        let hash = code != 0 ? code.mixed : hasher.value
        #expect(AccountKey.hashAndCode(of: name).hash == hash)
        #expect(AccountKey.hashAndCode(of: name).code == code)
        #expect(key.code == AccountCode.pack(name))
        // What the key derives from them, once.
        #expect(key.mixedHash == hash.mixed)
        #expect(key.counterpartyHash == hash.folded32)
        #expect(key.indexHash == (key.code == 0 ? 0 : AccountTable.indexHash(key.code)))
        #expect(UInt64.shardIndex(mixed: key.mixedHash, count: 64) == hash.shardIndex(count: 64))
    }

    /// ``AccountCode/pack(_:)`` written the plain way, one byte at a time.
    static func referencePack(_ name: String) -> UInt64 {
        let bytes = Array(name.utf8)
        guard bytes.count >= 2, bytes.count <= 16 else { return 0 }
        let letter = bytes[0] &- UInt8(ascii: "A")
        guard letter < 26 else { return 0 }
        var value: UInt64 = 0
        for byte in bytes.dropFirst() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return 0 }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return UInt64(letter + 1) << 54 | UInt64(bytes.count - 1) << 50 | value
    }

    @Test("eight digits at a time gives the byte-by-byte code: every length, every position broken")
    func wordAtATimeCode() {
        // Bytes around the digit range (the word-wide check must reject exactly the non-digits).
        let breakers: [UInt8] = [0x00, 0x20, 0x2F, 0x3A, 0x3F, 0x40, 0x61, 0x7F, 0xB0, 0xFF]
        var random = SystemRandomNumberGenerator()
        for length in 1...17 {
            for _ in 0..<200 {
                var bytes = [UInt8(ascii: "A") + UInt8.random(in: 0..<26, using: &random)]
                for _ in 1..<max(length, 1) { bytes.append(UInt8(ascii: "0") + UInt8.random(in: 0..<10, using: &random)) }
                let name = String(decoding: bytes, as: UTF8.self)
                #expect(AccountKey(name).code == Self.referencePack(name), "\(name)")
                #expect(AccountKey(name).code != 0 || length < 2 || length > 16)
                for position in 1..<bytes.count {
                    for breaker in breakers {
                        var broken = bytes
                        broken[position] = breaker
                        // Through the buffer entry point: the bytes as given, even when not valid UTF-8.
                        let code = broken.withUnsafeBufferPointer { AccountCode.pack($0) }
                        #expect(code == 0, "\(broken)")
                    }
                }
            }
        }
        for name in ["C999999999999999", "C000000000000000", "C99999999", "C10000000", "C00000000", "M1979787155"] {
            #expect(AccountKey(name).code == Self.referencePack(name), "\(name)")
        }
    }

    @Test("codes of different PaySim names differ, non-PaySim names have none")
    func codes() {
        #expect(AccountKey("C1").code != AccountKey("C01").code)
        #expect(AccountKey("C1").code != AccountKey("M1").code)
        #expect(AccountKey("C1231006815").code != 0)
        #expect(AccountKey("alice").code == 0)
        #expect(AccountKey("C1234567890123456").code == 0)  // 16 digits: too long
    }

    @Test("a code says whether its name starts with M (a merchant) exactly as the name does")
    func merchantFromCode() {
        var names = ["M1", "M1979787155", "C1231006815", "A1", "Z123456789012345", "N42", "L7"]
        for letter in UInt8(ascii: "A")...UInt8(ascii: "Z") {
            names.append(String(decoding: [letter, UInt8(ascii: "9"), UInt8(ascii: "0")], as: UTF8.self))
        }
        for name in names {
            let code = AccountCode.pack(name)
            #expect(code != 0, "\(name) has a code")
            #expect(AccountCode.isMerchant(code) == name.hasPrefix("M"), "\(name)")
        }
        // The figures agree whichever way they learn it, with a code and without one (a name it cannot pack).
        for destination in ["M1979787155", "C1231006815", "Merchant-7", "customer-7"] {
            let transaction = Transaction(
                transactionID: "t", step: 1, type: .payment, amountCents: 100, originAccount: "C1",
                originBalanceBeforeCents: 100, originBalanceAfterCents: 0, destinationAccount: destination,
                destinationBalanceBeforeCents: 0, destinationBalanceAfterCents: 0
            )
            let code = AccountCode.pack(destination)
            #expect(
                TransactionFigures(transaction, destinationCode: code).isDestinationMerchant
                    == TransactionFigures(transaction).isDestinationMerchant
            )
            #expect(TransactionFigures(transaction).isDestinationMerchant == destination.hasPrefix("M"))
        }
    }

    @Test("identifier hash: the bytes decide it (any length, every byte), and tx-N ids spread over shards")
    func identifierHash() {
        var seen: [UInt64: String] = [:]
        var ids = ["", "a", "a\u{0}", "tx-1", "tx-12345678", "tx-123456789", "550e8400-e29b-41d4-a716-446655440000"]
        for length in 0...20 {
            ids.append(String(repeating: "x", count: length) + "!")
        }
        for id in ids {
            let value = IdentifierHash.hash(id)
            #expect(value == Array(id.utf8).withUnsafeBufferPointer { IdentifierHash.hash(bytes: $0) })
            #expect(seen[value] == nil, "\(id) collides with \(seen[value] ?? "")")
            seen[value] = id
            // Changing any one byte changes the hash.
            var bytes = Array(id.utf8)
            for position in bytes.indices {
                bytes[position] ^= 1
                #expect(bytes.withUnsafeBufferPointer { IdentifierHash.hash(bytes: $0) } != value)
                bytes[position] ^= 1
            }
        }
        var perShard = [Int](repeating: 0, count: 16)
        for index in 0..<16_000 {
            perShard[IdentifierHash.hash("tx-\(index)").shardIndex(count: 16)] += 1
        }
        #expect(perShard.allSatisfy { (800...1_200).contains($0) }, "\(perShard)")
    }
}

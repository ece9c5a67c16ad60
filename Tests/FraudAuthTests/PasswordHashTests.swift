import Foundation
import Testing

@testable import FraudAuth

@Suite("PasswordHash")
struct PasswordHashTests {
    /// Cheap parameters so the suite stays fast; the format and code path are the same.
    static let fast = PasswordHash.Parameters(logN: 10)

    @Test("hash → PHC string → parse → matches the right password only")
    func roundTrip() throws {
        let hash = PasswordHash(hashing: "correct horse", parameters: Self.fast)
        let encoded = hash.description
        #expect(encoded.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        #expect(!encoded.contains("correct horse"))
        let parsed = try PasswordHash(parsing: encoded)
        #expect(parsed == hash)
        #expect(parsed.matches("correct horse"))
        #expect(!parsed.matches("correct horsE"))
        #expect(!parsed.matches(""))
    }

    @Test("two hashes of one password differ (random salt)")
    func salted() {
        #expect(
            PasswordHash(hashing: "pw", parameters: Self.fast).description
                != PasswordHash(hashing: "pw", parameters: Self.fast).description
        )
    }

    @Test("RFC 7914 test vector (N=1024, r=8, p=16, salt NaCl)")
    func rfc7914() throws {
        let expected: [UInt8] = [
            0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00, 0x78, 0x56, 0xe7, 0x19, 0x0d, 0x01, 0xe9, 0xfe,
            0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23, 0x78, 0x30, 0xe7, 0x73, 0x76, 0x63, 0x4b, 0x37, 0x31, 0x62,
            0x2e, 0xaf, 0x30, 0xd9, 0x2e, 0x22, 0xa3, 0x88, 0x6f, 0xf1, 0x09, 0x27, 0x9d, 0x98, 0x30, 0xda,
            0xc7, 0x27, 0xaf, 0xb9, 0x4a, 0x83, 0xee, 0x6d, 0x83, 0x60, 0xcb, 0xdf, 0xa2, 0xcc, 0x06, 0x40,
        ]
        let key = PasswordHash.derive(
            "password",
            salt: Array("NaCl".utf8),
            parameters: PasswordHash.Parameters(logN: 10, blockSize: 8, parallelism: 16),
            length: 64
        )
        #expect(key == expected)
    }

    @Test(
        "malformed strings are refused without echoing them",
        arguments: [
            "", "plain", "$2b$10$abcdefghijklmnopqrstuv", "$scrypt$ln=15,r=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$", "$scrypt$ln=15,r=8,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
            "$scrypt$ln=15,r=8,p=1,x=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ]
    )
    func malformed(encoded: String) {
        let failure = #expect(throws: AuthFailure.self) { try PasswordHash(parsing: encoded) }
        #expect(failure?.code == .configuration)
        #expect(encoded.isEmpty || failure?.message.contains(encoded) == false)
    }

    @Test("constant-time comparison")
    func constantTimeEquals() {
        #expect(PasswordHash.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!PasswordHash.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!PasswordHash.constantTimeEquals([1, 2, 3], [1, 2]))
    }
}

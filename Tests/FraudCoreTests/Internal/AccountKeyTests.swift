import Testing

@testable import FraudCore

@Suite("AccountKey (hash and compact code in one pass)")
struct AccountKeyTests {
    @Test(
        "one pass gives FNV1a and AccountCode.pack exactly",
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
        #expect(key.hash == hasher.value)
        #expect(key.code == AccountCode.pack(name))
    }

    @Test("codes of different PaySim names differ, non-PaySim names have none")
    func codes() {
        #expect(AccountKey("C1").code != AccountKey("C01").code)
        #expect(AccountKey("C1").code != AccountKey("M1").code)
        #expect(AccountKey("C1231006815").code != 0)
        #expect(AccountKey("alice").code == 0)
        #expect(AccountKey("C1234567890123456").code == 0)  // 16 digits: too long
    }
}

import FraudAuth
import Testing

@Suite("Role")
struct RoleTests {
    @Test("admin may do everything; the others only their own")
    func permissions() {
        for required in Role.allCases {
            #expect(Role.admin.permits(required))
        }
        #expect(Role.scorer.permits(.scorer))
        #expect(!Role.scorer.permits(.analyst))
        #expect(!Role.scorer.permits(.admin))
        #expect(Role.analyst.permits(.analyst))
        #expect(!Role.analyst.permits(.scorer))
        #expect(!Role.analyst.permits(.admin))
    }
}

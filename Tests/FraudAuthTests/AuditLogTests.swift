import Foundation
import Testing

@testable import FraudAuth

@Suite("AuditLog")
struct AuditLogTests {
    @Test("lines are valid JSON with the documented fields, and carry no token or password")
    func lines() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let keys = try TokenAuthorityTests.makeKeys(["k1"])
        defer { keys.remove() }
        let token = try TokenAuthority(keyDirectory: keys.path).issue(subject: "alice", role: .analyst)
        let password = "hunter2-secret"

        let path = directory.file("audit.jsonl")
        let log = try AuditLog(path: path)
        let time = Date(timeIntervalSince1970: 1_764_000_000.25)
        log.record(
            AuditEvent(.login, outcome: .success, subject: "alice", role: .analyst, source: "10.0.0.7", time: time)
        )
        log.record(
            AuditEvent(
                .loginFailed,
                outcome: .failure,
                subject: "ali\"ce\n",
                source: "10.0.0.7",
                detail: "user failures 6, address failures 6, locked 1 s",
                time: time
            )
        )
        // A careless caller passing the token as detail: redacted.
        log.record(AuditEvent(.unauthenticated, outcome: .failure, source: "10.0.0.8", detail: "Bearer \(token)"))
        log.record(
            AuditEvent(
                .accessDenied,
                outcome: .denied,
                subject: "alice",
                role: .analyst,
                resource: "/fraud.v1.FraudScoring/Score"
            )
        )
        log.record(AuditEvent(.keysReloaded, outcome: .success, detail: "keys k1, k2; signing k2"))
        log.flush()

        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(token))
        #expect(!text.contains(String(token.split(separator: ".")[2])))
        #expect(!text.contains(password))
        let lines = text.split(separator: "\n")
        #expect(lines.count == 5)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String] }
        #expect(
            objects[0] == [
                "time": "2025-11-24T16:00:00.250Z", "event": "login", "outcome": "success", "subject": "alice",
                "role": "analyst", "source": "10.0.0.7",
            ]
        )
        #expect(objects[1]["subject"] == "ali\"ce\n")
        #expect(objects[2]["detail"] == "[redacted]")
        #expect(objects[3]["resource"] == "/fraud.v1.FraudScoring/Score")
        #expect(
            objects.map { $0["event"] } == [
                "login", "login_failed", "unauthenticated", "access_denied", "keys_reloaded",
            ]
        )

        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("appends across instances, flushes on threshold and on deinit, from many threads")
    func appendAndConcurrency() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("audit.jsonl")
        do {
            let log = try AuditLog(path: path, flushThreshold: 512)
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for index in 0..<100 {
                            log.record(AuditEvent(.accessDenied, outcome: .denied, subject: "t\(task)-\(index)"))
                        }
                    }
                }
            }
        }
        let second = try AuditLog(path: path)
        second.record(AuditEvent(.keysReloaded, outcome: .success))
        second.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 801)
        for line in lines { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
    }
}

import Foundation
import Testing

@testable import FraudAuth

@Suite("UserDirectory")
struct UserDirectoryTests {
    static func record(_ name: String, _ role: Role, _ password: String) -> UserRecord {
        UserRecord(
            name: name,
            role: role,
            passwordHash: PasswordHash(hashing: password, parameters: PasswordHashTests.fast).description
        )
    }

    @Test("right password → the user; wrong password and unknown user → the same failure")
    func authenticate() throws {
        let directory = try UserDirectory(records: [
            Self.record("alice", .analyst, "a-secret"), Self.record("pay-gw", .scorer, "s-secret"),
        ])
        #expect(
            try directory.authenticate(name: "alice", password: "a-secret").get() == User(name: "alice", role: .analyst)
        )
        #expect(try directory.authenticate(name: "pay-gw", password: "s-secret").get().role == .scorer)
        guard case .failure(let wrong) = directory.authenticate(name: "alice", password: "s-secret"),
            case .failure(let unknown) = directory.authenticate(name: "mallory", password: "a-secret")
        else {
            Issue.record("accepted a bad login")
            return
        }
        #expect(wrong == unknown)
        #expect(wrong.code == .invalidCredentials)
    }

    @Test("add-user writes a 0600 JSON-lines file that loads; duplicates need --replace")
    func file() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("users.jsonl")
        try UserDirectory.addUser(Self.record("alice", .analyst, "pw1"), toFile: path)
        try UserDirectory.addUser(Self.record("bob", .admin, "pw2"), toFile: path)
        #expect(throws: AuthFailure.self) { try UserDirectory.addUser(Self.record("bob", .admin, "x"), toFile: path) }
        try UserDirectory.addUser(Self.record("bob", .scorer, "pw3"), toFile: path, replacing: true)

        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 2)
        #expect(!text.contains("pw1") && !text.contains("pw3"))

        let users = try UserDirectory(path: path)
        #expect(users.count == 2)
        #expect(try users.authenticate(name: "bob", password: "pw3").get().role == .scorer)
        #expect(throws: AuthFailure.self) { try users.authenticate(name: "bob", password: "pw2").get() }

        // Reload picks up a new user.
        try UserDirectory.addUser(Self.record("carol", .analyst, "pw4"), toFile: path)
        #expect(try users.reload() == 3)
        #expect(try users.authenticate(name: "carol", password: "pw4").get().name == "carol")
    }

    @Test("a JSON array, comments and blank lines are accepted")
    func formats() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let hash = PasswordHash(hashing: "pw", parameters: PasswordHashTests.fast).description
        let lines = "# users\n\n{\"name\":\"a\",\"role\":\"admin\",\"password_hash\":\"\(hash)\"}\n"
        try lines.write(toFile: directory.file("u.jsonl"), atomically: true, encoding: .utf8)
        #expect(try UserDirectory(path: directory.file("u.jsonl")).count == 1)
        let array = "[{\"name\":\"a\",\"role\":\"admin\",\"password_hash\":\"\(hash)\"}]"
        try array.write(toFile: directory.file("u.json"), atomically: true, encoding: .utf8)
        #expect(
            try UserDirectory(path: directory.file("u.json")).authenticate(name: "a", password: "pw").get().role
                == .admin
        )
    }

    @Test(
        "invalid files are refused",
        arguments: [
            "{\"name\":\"a\",\"role\":\"root\",\"password_hash\":\"HASH\"}",
            "{\"name\":\"a\",\"role\":\"admin\",\"password_hash\":\"plaintext\"}",
            "{\"name\":\"a\",\"role\":\"admin\"}",
            "{\"name\":\"a b\",\"role\":\"admin\",\"password_hash\":\"HASH\"}",
            "{\"name\":\"a\",\"role\":\"admin\",\"password_hash\":\"HASH\"}\n{\"name\":\"a\",\"role\":\"admin\",\"password_hash\":\"HASH\"}",
            "not json",
        ]
    )
    func invalid(content: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let hash = PasswordHash(hashing: "pw", parameters: PasswordHashTests.fast).description
        try content.replacingOccurrences(of: "HASH", with: hash)
            .write(toFile: directory.file("u.jsonl"), atomically: true, encoding: .utf8)
        #expect(throws: AuthFailure.self) { try UserDirectory(path: directory.file("u.jsonl")) }
    }
}

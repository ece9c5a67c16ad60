import Foundation
import Synchronization

/// A user who may log in.
public struct User: Sendable, Hashable {
    /// The login name (case-sensitive); becomes the token's `sub`.
    public var name: String
    /// The role put into the user's tokens.
    public var role: Role

    /// Creates a user.
    /// - Parameters:
    ///   - name: The login name.
    ///   - role: The role.
    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// One line of the users file.
public struct UserRecord: Sendable, Hashable, Codable {
    /// The login name: 1–128 printable characters, no spaces.
    public var name: String
    /// The role.
    public var role: Role
    /// The PHC string, see ``PasswordHash``.
    public var passwordHash: String

    enum CodingKeys: String, CodingKey {
        case name, role
        case passwordHash = "password_hash"
    }

    /// Creates a record.
    /// - Parameters:
    ///   - name: The login name.
    ///   - role: The role.
    ///   - passwordHash: The PHC string of the password.
    public init(name: String, role: Role, passwordHash: String) {
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
    }
}

/// The users who may log in (`--users FILE`), with their password hashes.
///
/// The file holds one JSON object per line (blank lines and lines starting with `#` are skipped), or one JSON
/// array of such objects:
///
///     {"name": "alice", "role": "analyst", "password_hash": "$scrypt$ln=15,r=8,p=1$…$…"}
///
/// Write it with `fraud-ctl auth add-user`. It should be mode 0600 (it holds hashes).
///
/// ``authenticate(name:password:)`` costs one scrypt whether the user exists or not (unknown names are checked
/// against a dummy hash with the same cost as the file's first user), so response time does not tell which
/// names exist. Thread-safe; ``reload()`` swaps the whole table.
public final class UserDirectory: Sendable {
    private struct Table: Sendable {
        var users: [String: (user: User, hash: PasswordHash)]
        var dummy: PasswordHash
    }

    /// The file read by ``init(path:)`` and ``reload()``; `nil` for an in-memory directory.
    public let path: String?
    private let table: Mutex<Table>

    /// Reads the users file.
    /// - Parameter path: `--users FILE`.
    /// - Throws: ``AuthFailure`` `configuration` naming the file and line.
    public init(path: String) throws(AuthFailure) {
        self.path = path
        self.table = Mutex(try Self.makeTable(try Self.readRecords(path: path), source: path))
    }

    /// An in-memory directory (tests).
    /// - Parameter records: The users.
    /// - Throws: ``AuthFailure`` `configuration` on duplicates or bad hashes.
    public init(records: [UserRecord]) throws(AuthFailure) {
        self.path = nil
        self.table = Mutex(try Self.makeTable(records, source: "users"))
    }

    /// Re-reads the users file (e.g. on SIGHUP). On failure the old table stays.
    /// - Returns: The number of users now loaded.
    /// - Throws: ``AuthFailure`` `configuration`.
    @discardableResult
    public func reload() throws(AuthFailure) -> Int {
        guard let path else { return count }
        let fresh = try Self.makeTable(try Self.readRecords(path: path), source: path)
        table.withLock { $0 = fresh }
        return fresh.users.count
    }

    /// The number of users.
    public var count: Int {
        table.withLock { $0.users.count }
    }

    /// Checks a name and password.
    ///
    /// - Important: Runs scrypt (~0.1 s, 32 MiB with the default cost): call it from a thread pool, never on an
    ///   event loop. Check ``LoginThrottle`` first, and record the outcome there and in the ``AuditLog``.
    /// - Parameters:
    ///   - name: The login name.
    ///   - password: The password.
    /// - Returns: The user, or `invalidCredentials` ("invalid user name or password") for an unknown user and
    ///   a wrong password alike.
    public func authenticate(name: String, password: String) -> Result<User, AuthFailure> {
        let (entry, dummy) = table.withLock { ($0.users[name], $0.dummy) }
        guard let entry else {
            _ = dummy.matches(password)
            return .failure(Self.invalidCredentials)
        }
        guard entry.hash.matches(password) else { return .failure(Self.invalidCredentials) }
        return .success(entry.user)
    }

    private static let invalidCredentials = AuthFailure(.invalidCredentials, "invalid user name or password")

    private static func makeTable(_ records: [UserRecord], source: String) throws(AuthFailure) -> Table {
        var users: [String: (user: User, hash: PasswordHash)] = [:]
        for record in records {
            guard isValidName(record.name) else {
                throw AuthFailure(
                    .configuration,
                    "\(source): invalid user name (1-128 printable characters, no spaces)"
                )
            }
            guard users[record.name] == nil else {
                throw AuthFailure(.configuration, "\(source): user '\(record.name)' appears twice")
            }
            let hash: PasswordHash
            do {
                hash = try PasswordHash(parsing: record.passwordHash)
            } catch {
                throw AuthFailure(.configuration, "\(source): user '\(record.name)': \(error.message)")
            }
            users[record.name] = (User(name: record.name, role: record.role), hash)
        }
        let cost = records.first.flatMap { try? PasswordHash(parsing: $0.passwordHash).parameters } ?? .default
        let dummy = PasswordHash(hashing: UUID().uuidString, parameters: cost)
        return Table(users: users, dummy: dummy)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
    }

    // MARK: The file

    /// Reads the records of a users file.
    /// - Parameter path: The file.
    /// - Returns: The records, in file order.
    /// - Throws: ``AuthFailure`` `configuration` naming the line.
    public static func readRecords(path: String) throws(AuthFailure) -> [UserRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuthFailure(.configuration, "cannot read users file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let decoder = JSONDecoder()
        if text.drop(while: \.isWhitespace).first == "[" {
            do {
                return try decoder.decode([UserRecord].self, from: data)
            } catch {
                throw AuthFailure(.configuration, "\(path): not an array of {name, role, password_hash}")
            }
        }
        var records: [UserRecord] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                records.append(try decoder.decode(UserRecord.self, from: Data(trimmed.utf8)))
            } catch {
                throw AuthFailure(
                    .configuration,
                    "\(path):\(number + 1): expected {\"name\", \"role\" (scorer|analyst|admin), \"password_hash\"}"
                )
            }
        }
        return records
    }

    /// Adds (or, with `replacing`, replaces) a user in a users file, creating it if needed. The file is rewritten
    /// atomically as JSON lines with mode 0600.
    /// - Parameters:
    ///   - record: The user.
    ///   - path: The users file.
    ///   - replacing: Replace an existing user of that name instead of failing.
    /// - Throws: ``AuthFailure`` `configuration`.
    public static func addUser(_ record: UserRecord, toFile path: String, replacing: Bool = false) throws(AuthFailure) {
        guard isValidName(record.name) else {
            throw AuthFailure(.configuration, "invalid user name (1-128 printable characters, no spaces)")
        }
        _ = try PasswordHash(parsing: record.passwordHash)
        var records = try FileManager.default.fileExists(atPath: path) ? readRecords(path: path) : []
        if let index = records.firstIndex(where: { $0.name == record.name }) {
            guard replacing else {
                throw AuthFailure(.configuration, "user '\(record.name)' already exists in \(path)")
            }
            records[index] = record
        } else {
            records.append(record)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        for record in records {
            guard let line = try? encoder.encode(record) else {
                throw AuthFailure(.configuration, "cannot encode user '\(record.name)'")
            }
            bytes += line
            bytes.append(UInt8(ascii: "\n"))
        }
        try FileIO.writeFile(bytes, to: path, mode: 0o600, replacing: true)
    }
}

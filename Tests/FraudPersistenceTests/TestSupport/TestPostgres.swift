import Foundation

@testable import FraudPersistence

/// The PostgreSQL server of the integration tests, from the environment:
///
/// - `FRAUD_PG_URL` (a libpq URI), or `FRAUD_PG_HOST`, `FRAUD_PG_PORT`, `FRAUD_PG_USER`, `FRAUD_PG_PASSWORD`,
///   `FRAUD_PG_DB` (as printed by `scripts/pg.sh env`). Unset: the PostgreSQL tests are skipped.
/// - For the restart test only: `FRAUD_PG_DATA` (the server's data directory; default: the one
///   `scripts/pg.sh` uses, `var/pg/data` or `/tmp/fraud-pg-<hash>/data`) and `FRAUD_PG_BIN`
///   (default `/usr/lib/postgresql/15/bin`). The test stops that server with `pg_ctl stop -m immediate`
///   (as the `postgres` OS user when run as root) and starts it again; it is skipped when the data
///   directory's `postmaster.pid` does not name the URL's port.
///
/// Every test works in a schema of its own (`search_path` set through the URL's `options`), dropped at
/// the end, so runs never collide.
enum TestPostgres {
    static let environment = ProcessInfo.processInfo.environment

    /// The base URL, `nil` when unconfigured.
    static let url: String? = {
        if let url = environment["FRAUD_PG_URL"], !url.isEmpty { return url }
        guard let host = environment["FRAUD_PG_HOST"], !host.isEmpty else { return nil }
        let port = environment["FRAUD_PG_PORT"] ?? "5432"
        let user = environment["FRAUD_PG_USER"] ?? "postgres"
        let password = environment["FRAUD_PG_PASSWORD"].map { ":" + percentEncoded($0) } ?? ""
        let database = environment["FRAUD_PG_DB"] ?? user
        return "postgresql://\(percentEncoded(user))\(password)@\(host):\(port)/\(database)"
    }()

    static var isConfigured: Bool { url != nil }

    private static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    /// A new empty schema; returns its name and a URL whose connections use it.
    static func makeSchema() throws -> (name: String, url: String) {
        let base = url!
        let name = "fraud_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try connect(base)
        try admin.execute("CREATE SCHEMA \(name)")
        let options = "options=-csearch_path%3D\(name)"
        let separator = base.contains("?") ? "&" : "?"
        return (name, base + separator + options)
    }

    static func dropSchema(_ name: String) {
        guard let base = url, let admin = try? connect(base) else { return }
        _ = try? admin.execute("DROP SCHEMA IF EXISTS \(name) CASCADE")
    }

    static func connect(_ url: String) throws -> PGConnection {
        try PGConnection(url: url, applicationName: "fraud-persistence-tests", connectTimeoutSeconds: 5)
    }

    /// Every row of `decisions` in the schema of `url`, decoded.
    static func decisions(_ url: String) throws -> [DecisionRecord] {
        let connection = try connect(url)
        let rows = try connection.execute("SELECT \(DecisionRecord.selectList) FROM decisions").rows
        return rows.map { DecisionRecord(row: $0)! }
    }

    /// `count(*)` and `count(DISTINCT transaction_id)` of `decisions`.
    static func counts(_ url: String) throws -> (rows: Int, distinct: Int) {
        let connection = try connect(url)
        let row = try connection.execute("SELECT count(*), count(DISTINCT transaction_id) FROM decisions").rows[0]
        return (Int(row[0]!)!, Int(row[1]!)!)
    }
}

/// Stops and starts the test PostgreSQL server (restart test).
struct TestPostgresServer {
    let dataDirectory: String
    let binDirectory: String

    /// The controllable server behind ``TestPostgres/url``, or `nil` (see ``TestPostgres``).
    static let current: TestPostgresServer? = {
        guard let url = TestPostgres.url, let port = URLComponents(string: url)?.port else { return nil }
        let bin = TestPostgres.environment["FRAUD_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        guard FileManager.default.isExecutableFile(atPath: bin + "/pg_ctl") else { return nil }
        var candidates: [String] = []
        if let data = TestPostgres.environment["FRAUD_PG_DATA"] {
            candidates.append(data)
        } else {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path
            candidates.append(root + "/var/pg/data")
            candidates.append("/tmp/fraud-pg-" + sha256Prefix(root) + "/data")
        }
        for data in candidates {
            // postmaster.pid line 4 is the port the server listens on.
            guard let pid = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8) else { continue }
            let lines = pid.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.count > 3, Int(lines[3].trimmingCharacters(in: .whitespaces)) == port {
                return TestPostgresServer(dataDirectory: data, binDirectory: bin)
            }
        }
        return nil
    }()

    /// `pg_ctl stop -m immediate`: the postmaster and its backends quit at once, no checkpoint.
    func stopImmediately() throws {
        try pgCtl(["stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "60"])
    }

    /// `pg_ctl start` (crash recovery runs first), waiting until it accepts connections.
    func start() throws {
        try pgCtl(["start", "-D", dataDirectory, "-l", dataDirectory + "/postgres.log", "-w", "-t", "120", "-s"])
    }

    private func pgCtl(_ arguments: [String]) throws {
        let command =
            getuid() == 0
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", binDirectory + "/pg_ctl"] + arguments
            : [binDirectory + "/pg_ctl"] + arguments
        let status = try runProcess(command)
        if status != 0 {
            throw ServerControlError(message: "\(command.joined(separator: " ")) exited with \(status)")
        }
    }

    struct ServerControlError: Error {
        var message: String
    }

    /// First 12 hex digits of SHA-256 (as `scripts/pg.sh` names its fallback directory), via `sha256sum`.
    private static func sha256Prefix(_ text: String) -> String {
        let input = NSTemporaryDirectory() + "fraud-sha-" + UUID().uuidString
        let output = input + ".out"
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: output)
        }
        guard FileManager.default.createFile(atPath: input, contents: Data(text.utf8)),
            (try? runProcess(["/bin/sh", "-c", "sha256sum < '\(input)' > '\(output)'"])) == 0,
            let digest = try? String(contentsOfFile: output, encoding: .utf8)
        else { return "" }
        return String(digest.prefix(12))
    }
}

/// Runs a command (inheriting stdout/stderr, in `/`) and waits for it with `waitpid`.
///
/// Not Foundation's `Process`: its exit monitoring misses children that fork daemons (`pg_ctl start`),
/// leaving `waitUntilExit()` hanging on a zombie.
func runProcess(_ command: [String]) throws -> Int32 {
    var pid = pid_t()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // `env -C /`: the postgres OS user may not be allowed into the current directory.
    let command = ["/usr/bin/env", "-C", "/"] + command
    let arguments = command.map { strdup($0) } + [nil]
    defer { for argument in arguments { free(argument) } }
    let rc = posix_spawn(&pid, command[0], &actions, nil, arguments, environ)
    guard rc == 0 else {
        throw TestPostgresServer.ServerControlError(message: "posix_spawn \(command[0]) failed: \(rc)")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR {
            throw TestPostgresServer.ServerControlError(message: "waitpid failed: \(errno)")
        }
    }
    // WIFEXITED / WEXITSTATUS are macros.
    return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
}

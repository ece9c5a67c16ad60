import Foundation
import FraudCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import FraudPersistence

/// Everything that needs the real PostgreSQL server, run one test at a time: the restart test stops the
/// server, which would fail any other test running meanwhile. Each test uses a schema of its own.
@Suite(
    "PostgreSQL",
    .serialized,
    .enabled(if: TestPostgres.isConfigured, "set FRAUD_PG_URL or FRAUD_PG_HOST/PORT/USER/PASSWORD/DB")
)
struct PostgresTests {
    /// Runs `body` with a fresh schema's URL and a fresh journal directory; cleans both up.
    func withSchema(_ body: (_ url: String, _ directory: TemporaryDirectory) async throws -> Void) async throws
    {
        let (schema, url) = try TestPostgres.makeSchema()
        let directory = TemporaryDirectory()
        defer {
            TestPostgres.dropSchema(schema)
            directory.remove()
        }
        try await body(url, directory)
    }

    /// Waits until the log has committed everything appended so far.
    private func waitCommitted(_ log: DecisionLog, timeout: Duration = .seconds(60)) async -> Bool {
        await eventually(timeout: timeout) {
            let stats = log.stats
            return stats.committedSequence >= stats.appendedSequence
        }
    }

    @Test("Migrations create the table, indexes and bookkeeping once, even with two servers starting together")
    func migrations() async throws {
        try await withSchema { url, directory in
            let other = TemporaryDirectory()
            defer { other.remove() }
            async let first = DecisionLog(configuration: .testing(directory: directory.path, postgresURL: url))
            async let second = DecisionLog(configuration: .testing(directory: other.path, postgresURL: url))
            let logs = try await [first, second]
            #expect(logs.allSatisfy { $0.stats.isPostgresReachable })
            let connection = try TestPostgres.connect(url)
            let versions = try connection.execute("SELECT version FROM schema_migrations ORDER BY version").rows
                .map { Int($0[0]!)! }
            let roleExists =
                try connection.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'fraud_writer'")
                .rows[0][0] == "1"
            // 0002 needs CREATEROLE unless the role already exists; without it, it is left for the next start.
            #expect(versions == (roleExists ? [1, 2, 3] : [1, 3]))
            let indexes = Set(
                try connection.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'decisions' AND schemaname = current_schema()"
                ).rows.map { $0[0]! }
            )
            #expect(
                indexes == [
                    "decisions_pkey", "decisions_origin_step_idx", "decisions_destination_step_idx",
                    "decisions_decision_scored_at_idx", "decisions_scored_at_idx", "decisions_step_idx",
                ]
            )
            if roleExists {
                let privileges = try connection.execute(
                    """
                    SELECT has_table_privilege('fraud_writer', 'decisions', 'SELECT'),
                           has_table_privilege('fraud_writer', 'decisions', 'INSERT'),
                           has_table_privilege('fraud_writer', 'decisions', 'UPDATE'),
                           has_table_privilege('fraud_writer', 'decisions', 'DELETE'),
                           has_table_privilege('fraud_writer', 'decisions', 'TRUNCATE')
                    """
                ).rows[0]
                #expect(privileges == ["t", "t", "f", "f", "f"])
            }
            for log in logs { await log.shutdown() }
        }
    }

    @Test(
        "Inserts are idempotent on transaction_id: a batch twice, and duplicates inside one batch, give one row each",
        arguments: PersistenceConfiguration.InsertMethod.allCases
    )
    func idempotentInsert(method: PersistenceConfiguration.InsertMethod) async throws {
        try await withSchema { url, _ in
            let connection = try TestPostgres.connect(url)
            try Migrations.apply(on: connection)
            let inserter = BatchInserter(method: method)
            try inserter.prepare(on: connection)
            let records = Records.series("idem-\(method)", count: 50)
            #expect(try inserter.insert(records, on: connection) == 50)
            #expect(try inserter.insert(records, on: connection) == 0)
            #expect(
                try inserter.insert(
                    [records[0], records[0], Records.make(77, series: "idem-\(method)")],
                    on: connection
                ) == 1
            )
            let counts = try TestPostgres.counts(url)
            #expect(counts.rows == 51 && counts.distinct == 51)
            // The first decision for an id wins: a different one for the same id is not stored.
            var changed = records[1]
            changed.assessment.riskScore = 0.123
            #expect(try inserter.insert([changed], on: connection) == 0)
            let stored = try TestPostgres.decisions(url)
            #expect(stored.first { $0.transaction.transactionID == changed.transaction.transactionID } == records[1])
        }
    }

    @Test(
        "The writer commits batches and every row is identical to the appended record",
        arguments: PersistenceConfiguration.InsertMethod.allCases
    )
    func writerCommits(method: PersistenceConfiguration.InsertMethod) async throws {
        try await withSchema { url, directory in
            let log = try DecisionLog(
                configuration: .testing(directory: directory.path, postgresURL: url, insertMethod: method)
            )
            let records = Records.series("writer-\(method)", count: 3000)
            for record in records { try log.append(record) }
            try log.append(records[5])  // a retry of the same decision: still one row
            #expect(await waitCommitted(log))
            let stats = log.stats
            #expect(stats.backlog == 0)
            #expect(log.backlog == 0)
            #expect(stats.committed == 3001)
            #expect(stats.lastBatchSize > 0)
            let stored = try TestPostgres.decisions(url)
            #expect(stored.count == records.count)
            #expect(Set(stored) == Set(records))
            await log.shutdown()
        }
    }

    @Test("A row PostgreSQL refuses is set aside in rejected.log; the rest of its batch is committed")
    func rejectedRow() async throws {
        try await withSchema { url, directory in
            let log = try DecisionLog(configuration: .testing(directory: directory.path, postgresURL: url))
            var records = Records.series("reject", count: 20)
            records[7].assessment.reasons = [Reason(code: "NUL", detail: "a \u{0} byte", weight: 0.5)]
            for record in records { try log.append(record) }
            #expect(await waitCommitted(log))
            #expect(log.stats.rejectedRows == 1)
            #expect(Set(try TestPostgres.decisions(url)) == Set(records).subtracting([records[7]]))
            let rejected = try String(contentsOfFile: directory.path + "/rejected.log", encoding: .utf8)
            #expect(rejected.contains(records[7].transaction.transactionID))
            await log.shutdown()
        }
    }

    @Test("Records journaled while no database was configured are replayed once one is")
    func replayAfterJournalOnly() async throws {
        try await withSchema { url, directory in
            let records = Records.series("replay", count: 2500)
            let offline = try DecisionLog(configuration: .testing(directory: directory.path))
            for record in records[..<2000] { try offline.append(record) }
            await offline.shutdown()

            let online = try DecisionLog(configuration: .testing(directory: directory.path, postgresURL: url))
            for record in records[2000...] { try online.append(record) }
            #expect(await waitCommitted(online))
            let counts = try TestPostgres.counts(url)
            #expect(counts.rows == 2500 && counts.distinct == 2500)
            #expect(Set(try TestPostgres.decisions(url)) == Set(records))
            await online.shutdown()
            // Committed segments are gone: what remains is the last (empty or almost) segment.
            #expect(directory.segments.count <= 2)
        }
    }

    @Test("Crash recovery: a log stopped mid-stream without flushing loses nothing and duplicates nothing")
    func crashRecovery() async throws {
        try await withSchema { url, directory in
            let configuration = PersistenceConfiguration.testing(
                directory: directory.path,
                postgresURL: url,
                segmentBytes: 256 * 1024,
                memoryQueueCapacity: 1000
            )
            let records = Records.series("crash", count: 20_000)
            let first = try DecisionLog(configuration: configuration)
            for record in records[..<15_000] { try first.append(record) }
            let committedAtCrash = first.stats.committedSequence
            await first.simulateCrash()
            #expect(committedAtCrash < 15_000, "the crash should hit with records still uncommitted")

            let second = try DecisionLog(configuration: configuration)
            for record in records[15_000...] { try second.append(record) }
            #expect(await waitCommitted(second))
            let counts = try TestPostgres.counts(url)
            #expect(counts.rows == 20_000 && counts.distinct == 20_000)
            #expect(Set(try TestPostgres.decisions(url)) == Set(records))
            await second.shutdown()
        }
    }

    @Test("Back-pressure: hasCapacity turns false when the backlog passes the cap with PostgreSQL unreachable")
    func backlogCapUnreachable() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try DecisionLog(
            configuration: .testing(
                directory: directory.path,
                postgresURL: "postgresql://fraud:fraud@127.0.0.1:1/fraud",
                backlogCap: 100
            )
        )
        #expect(!log.stats.isPostgresReachable)
        for record in Records.series("cap", count: 99) { try log.append(record) }
        #expect(log.hasCapacity)
        try log.append(Records.make(100, series: "cap"))
        #expect(!log.hasCapacity)
        // Appending itself never refuses: the caller checks hasCapacity before scoring.
        try log.append(Records.make(101, series: "cap"))
        await log.shutdown()
    }

    @Test("Warm start: the last N steps from the journal and PostgreSQL, each decision once, oldest first")
    func warmStart() async throws {
        try await withSchema { url, directory in
            var records: [DecisionRecord] = []
            for step in UInt32(1)...50 {
                for index in 0..<10 {
                    records.append(Records.make(Int(step) * 100 + index, series: "warm", step: step))
                }
            }
            // Steps 1–40 reach PostgreSQL (their segments are then removed), 41–50 stay in the journal only.
            let online = try DecisionLog(configuration: .testing(directory: directory.path, postgresURL: url))
            for record in records[..<400] { try online.append(record) }
            #expect(await waitCommitted(online))
            await online.shutdown()
            let offline = try DecisionLog(configuration: .testing(directory: directory.path))
            for record in records[400...] { try offline.append(record) }
            await offline.shutdown()

            let restarted = try DecisionLog(configuration: .testing(directory: directory.path, postgresURL: url))
            let window = restarted.warmStartRecords(lastSteps: 24)
            let expected = records.filter { $0.transaction.step >= 27 }
            #expect(window.count == expected.count)
            #expect(Set(window) == Set(expected))
            #expect(window.map(\.transaction.step) == window.map(\.transaction.step).sorted())
            await restarted.shutdown()
        }
    }

    @Test(
        "PostgreSQL stopped with pg_ctl -m immediate and started 10 s later while appends go on: every record once, identical; the cap trips and recovers; a log started during the outage catches up",
        .enabled(
            if: TestPostgresServer.current != nil,
            "needs the test server's data directory (FRAUD_PG_DATA) and pg_ctl"
        )
    )
    func postgresRestart() async throws {
        let server = try #require(TestPostgresServer.current)
        try await withSchema { url, directory in
            let log = try DecisionLog(
                configuration: .testing(
                    directory: directory.path,
                    postgresURL: url,
                    backlogCap: 3000,
                    segmentBytes: 512 * 1024,
                    memoryQueueCapacity: 2000
                )
            )
            let records = Records.series("restart", count: 16_000)
            var appended = 0
            func appendFor(_ duration: Duration, upTo limit: Int) async throws {
                let clock = ContinuousClock()
                let end = clock.now + duration
                while clock.now < end && appended < limit {
                    for _ in 0..<5 where appended < limit {
                        try log.append(records[appended])
                        appended += 1
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            // About 1000 appends a second: ~2000 before, ~10000 during and ~2000 after the outage.
            try await appendFor(.seconds(2), upTo: 3000)
            var stopped = false
            defer {
                if stopped { try? server.start() }
            }
            // A second log that starts while PostgreSQL is down: its schema is still empty.
            let (lateSchema, lateURL) = try TestPostgres.makeSchema()
            let lateDirectory = TemporaryDirectory()
            defer {
                TestPostgres.dropSchema(lateSchema)
                lateDirectory.remove()
            }
            try server.stopImmediately()
            stopped = true
            let late = try DecisionLog(configuration: .testing(directory: lateDirectory.path, postgresURL: lateURL))
            #expect(!late.stats.isPostgresReachable)
            let lateRecords = Records.series("restart-late", count: 500, step: 9)
            try late.append(contentsOf: lateRecords)
            #expect(
                Set(late.warmStartRecords(lastSteps: 1)) == Set(lateRecords),
                "journal only while PostgreSQL is down"
            )
            try await appendFor(.seconds(10), upTo: 13_000)
            let capacityDuringOutage = log.hasCapacity
            let statsDuringOutage = log.stats
            try server.start()
            stopped = false
            try await appendFor(.seconds(2), upTo: 16_000)
            for record in records[appended...] { try log.append(record) }

            #expect(!capacityDuringOutage, "backlog \(statsDuringOutage.backlog) should have passed the cap of 3000")
            #expect(!statsDuringOutage.isPostgresReachable)
            #expect(await waitCommitted(log, timeout: .seconds(90)))
            #expect(log.hasCapacity)
            #expect(log.stats.isPostgresReachable)
            let counts = try TestPostgres.counts(url)
            #expect(counts.rows == records.count && counts.distinct == records.count)
            #expect(Set(try TestPostgres.decisions(url)) == Set(records))
            await log.shutdown()
            // The late log applied the migrations in the background once PostgreSQL was back.
            #expect(await waitCommitted(late))
            #expect(Set(try TestPostgres.decisions(lateURL)) == Set(lateRecords))
            await late.shutdown()
        }
    }

    @Test("While decisions are appended the writer's local backend runs at SCHED_IDLE; after a pause it is normal again and everything is committed")
    func writerYieldsWhileAppending() async throws {
        try await withSchema { url, directory in
            let log = try DecisionLog(configuration: .testing(directory: directory.path, postgresURL: url))
            #expect(await eventually(timeout: .seconds(10)) { log.journal.writerBackendPID.load(ordering: .relaxed) != 0 })
            let pid = log.journal.writerBackendPID.load(ordering: .relaxed)
            var owner = stat()
            // Changing another user's process needs root (the PostgreSQL tests usually run as root or as the
            // cluster's owner); nothing to check otherwise.
            guard pid != 0, stat("/proc/\(pid)", &owner) == 0, getuid() == 0 || owner.st_uid == getuid() else {
                await log.shutdown()
                return
            }
            let schedIdle: Int32 = 5
            var appended = 0
            var sawIdle = false
            let deadline = ContinuousClock.now + .seconds(20)
            while !sawIdle && ContinuousClock.now < deadline {
                for record in Records.series("yield-\(appended)", count: 50) { try log.append(record) }
                appended += 50
                sawIdle = sched_getscheduler(pid) == schedIdle
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(sawIdle, "backend \(pid) never ran at SCHED_IDLE while decisions were appended")
            // PostgreSQL puts each backend in a session of its own: its autogroup is lowered with it (when
            // autogroup scheduling exists here).
            let hasAutogroup = BackgroundPriority.autogroupNice(of: pid) != nil && getsid(pid) == pid
            if hasAutogroup && sawIdle {
                #expect(BackgroundPriority.autogroupNice(of: pid) == 19)
            }
            // Appends stopped: the backend gets its normal policy back and the writer catches up.
            #expect(await eventually(timeout: .seconds(10)) { sched_getscheduler(pid) == 0 })
            if hasAutogroup {
                #expect(BackgroundPriority.autogroupNice(of: pid) == 0)
            }
            #expect(await waitCommitted(log))
            #expect(try TestPostgres.counts(url).rows == appended)
            await log.shutdown()
        }
    }

    @Test(
        "With --writer-priority defer nothing more is committed during a burst while the backlog grows; afterwards every decision arrives exactly once"
    )
    func writerDefersDuringBurst() async throws {
        try await withSchema { url, directory in
            // A queue of 100 records: most of the burst is read back from the segment files afterwards.
            var configuration = PersistenceConfiguration.testing(
                directory: directory.path,
                postgresURL: url,
                memoryQueueCapacity: 100
            )
            configuration.writerPriority = .deferred
            // Long enough that a test thread descheduled for a moment does not end the burst early.
            configuration.burstQuietPeriod = .seconds(3)
            let log = try DecisionLog(configuration: configuration)
            var records: [DecisionRecord] = []
            func appendSome() throws {
                let batch = Records.series("defer-\(records.count)", count: 20)
                for record in batch { try log.append(record) }
                records += batch
            }
            // Appends flowing: WriterYield (100 ms ticks) starts the deferral, the writer acknowledges it.
            let deadline = ContinuousClock.now + .seconds(20)
            while !log.stats.isWriterDeferring && ContinuousClock.now < deadline {
                try appendSome()
                try await Task.sleep(for: .milliseconds(10))
            }
            try #require(log.stats.isWriterDeferring, "the writer never deferred while decisions were appended")
            let before = log.stats
            let rowsBefore = try TestPostgres.counts(url).rows
            #expect(UInt64(rowsBefore) == before.committed)
            for _ in 0..<50 {
                try appendSome()
                try await Task.sleep(for: .milliseconds(10))
            }
            let during = log.stats
            #expect(during.isWriterDeferring)
            #expect(during.committedSequence == before.committedSequence)
            #expect(during.committed == before.committed)
            #expect(try TestPostgres.counts(url).rows == rowsBefore)
            // The backlog reported to health and metrics is the honest one: every record not in PostgreSQL.
            #expect(during.backlog == during.appendedSequence - during.committedSequence)
            #expect(during.backlog >= before.backlog + 50 * 20)
            // Appends stopped: the deferral ends and the writer catches up, from memory and from disk.
            #expect(await waitCommitted(log))
            #expect(!log.stats.isWriterDeferring)
            let counts = try TestPostgres.counts(url)
            #expect(counts.rows == records.count)
            #expect(counts.distinct == records.count)
            #expect(Set(try TestPostgres.decisions(url)) == Set(records))
            await log.shutdown()
        }
    }
}

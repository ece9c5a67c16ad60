import Foundation
import FraudCore
import Testing

@testable import FraudPersistence

/// Throughput figures, printed (not asserted): append cost, and rows/s committed by each insert method
/// next to `psql \copy` of the same rows from a file. Opt-in: `FRAUD_PERSISTENCE_BENCH=1` (use `-c release`).
@Suite(
    "Persistence benchmarks",
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["FRAUD_PERSISTENCE_BENCH"] == "1", "set FRAUD_PERSISTENCE_BENCH=1")
)
struct PersistenceBenchmarks {
    static let count = Int(ProcessInfo.processInfo.environment["FRAUD_PERSISTENCE_BENCH_ROWS"] ?? "") ?? 200_000

    @Test("append: cost per record", arguments: Durability.allCases)
    func appendCost(durability: Durability) async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = Records.series("bench-append-\(durability)", count: Self.count)
        let log = try DecisionLog(configuration: .testing(directory: directory.path, durability: durability))
        let clock = ContinuousClock()
        let single = try clock.measure {
            for record in records { try log.append(record) }
        }
        let perAppend = single / records.count
        print(
            "BENCH append(\(durability.rawValue)) 1 thread: \(perAppend) per append, \(rate(records.count, single)) appends/s"
        )
        if durability == .fsync {
            // Group commit: many callers waiting at once, each answered after the fdatasync covering it.
            let more = Records.series("bench-append-wait", count: 50_000)
            let waited = await clock.measure {
                await withTaskGroup(of: Void.self) { group in
                    for chunk in stride(from: 0, to: more.count, by: more.count / 64) {
                        group.addTask {
                            for record in more[chunk..<min(chunk + more.count / 64, more.count)] {
                                let sequence = try! log.append(record)
                                await withCheckedContinuation { continuation in
                                    log.whenDurable(sequence) { _ in continuation.resume() }
                                }
                            }
                        }
                    }
                }
            }
            print(
                "BENCH append+whenDurable(fsync) 64 concurrent callers: \(rate(more.count, waited)) durable appends/s"
            )
        }
        await log.shutdown()
    }

    @Test(
        "commit: rows/s per insert method and batch size, next to psql \\copy",
        .enabled(if: TestPostgres.isConfigured)
    )
    func commitRate() async throws {
        // The same rows replayed from a journal written beforehand, so the writer runs alone; three rounds,
        // methods interleaved (the machine may be shared), best and median reported.
        let rounds = 3
        let variants: [(PersistenceConfiguration.InsertMethod, Int)] = [
            (.copy, 2000), (.copy, 10_000), (.stagedCopy, 2000), (.stagedCopy, 10_000), (.unnest, 2000),
        ]
        var results: [String: [Int]] = [:]
        for round in 0..<rounds {
            for (method, batchSize) in variants {
                let rate = try await replayRate(method: method, batchSize: batchSize, tag: "\(round)")
                results["\(method.rawValue) batch \(batchSize)", default: []].append(rate)
            }
            let (schema, url) = try TestPostgres.makeSchema()
            defer { TestPostgres.dropSchema(schema) }
            let rate = try psqlCopyReference(
                url: url,
                records: Records.series("bench-psql-\(round)", count: Self.count)
            )
            results["psql \\copy (one transaction)", default: []].append(rate)
        }
        for (name, rates) in results.sorted(by: { $0.key < $1.key }) {
            let sorted = rates.sorted()
            print("BENCH commit \(name): best \(sorted.last!) rows/s, median \(sorted[sorted.count / 2]) rows/s")
        }
    }

    /// Rows/s committed by a writer replaying `count` records from the journal at start-up.
    private func replayRate(
        method: PersistenceConfiguration.InsertMethod,
        batchSize: Int,
        tag: String
    ) async throws -> Int {
        let (schema, url) = try TestPostgres.makeSchema()
        let directory = TemporaryDirectory()
        defer {
            TestPostgres.dropSchema(schema)
            directory.remove()
        }
        let offline = try DecisionLog(configuration: .testing(directory: directory.path))
        try offline.append(contentsOf: Records.series("bench-\(method)-\(batchSize)-\(tag)", count: Self.count))
        await offline.shutdown()
        var configuration = PersistenceConfiguration.testing(
            directory: directory.path,
            postgresURL: url,
            insertMethod: method
        )
        configuration.batchSize = batchSize
        // Schema first, so that migrations are not timed.
        try Migrations.apply(on: try TestPostgres.connect(url))
        let clock = ContinuousClock()
        let start = clock.now
        let log = try DecisionLog(configuration: configuration)
        while log.stats.committedSequence < log.stats.appendedSequence {
            try await Task.sleep(for: .milliseconds(2))
        }
        let elapsed = clock.now - start
        await log.shutdown()
        return rate(Self.count, elapsed)
    }

    @Test("commit: live appends with the writer keeping up", .enabled(if: TestPostgres.isConfigured))
    func liveCommit() async throws {
        let (schema, url) = try TestPostgres.makeSchema()
        let directory = TemporaryDirectory()
        defer {
            TestPostgres.dropSchema(schema)
            directory.remove()
        }
        var configuration = PersistenceConfiguration.testing(directory: directory.path, postgresURL: url)
        configuration.batchSize = 2000
        configuration.batchInterval = .milliseconds(10)
        let log = try DecisionLog(configuration: configuration)
        // Paced at 5000 appends/s: the commit lag of a writer that keeps up.
        let records = Records.series("bench-live", count: 50_000)
        let clock = ContinuousClock()
        let start = clock.now
        var lags: [Double] = []
        for (index, record) in records.enumerated() {
            try log.append(record)
            if index % 50 == 49 {
                try await Task.sleep(until: start + .microseconds(200 * (index + 1)), clock: clock)
                if index % 1000 == 999 { lags.append(log.stats.commitLagMillis) }
            }
        }
        while log.stats.committedSequence < log.stats.appendedSequence { try await Task.sleep(for: .milliseconds(2)) }
        lags.sort()
        print(
            "BENCH commit live at 5000/s: commit lag (append to commit) median \(lags[lags.count / 2]) ms, "
                + "max \(lags.last!) ms, last batch \(log.stats.lastBatchSize) rows"
        )
        await log.shutdown()
    }

    /// The machine's limit: `psql \copy` of the same rows from a file into an empty table with the same
    /// columns, primary key and indexes as `decisions`.
    private func psqlCopyReference(url: String, records: [DecisionRecord]) throws -> Int {
        let file = NSTemporaryDirectory() + "fraud-bench-\(UUID().uuidString).copy"
        defer { try? FileManager.default.removeItem(atPath: file) }
        var data: [UInt8] = []
        for record in records {
            var row = record
            row.transaction.transactionID += "-psql"
            row.appendCopyLine(to: &data)
        }
        try Data(data).write(to: URL(fileURLWithPath: file))
        let connection = try TestPostgres.connect(url)
        let columns = zip(DecisionRecord.copyColumnNames, DecisionRecord.copyColumnTypes).map { "\($0) \($1)" }
        try connection.execute(
            """
            CREATE TABLE copy_reference (\(columns.joined(separator: ", ")), PRIMARY KEY (transaction_id));
            CREATE INDEX ON copy_reference (origin_account, step);
            CREATE INDEX ON copy_reference (destination_account, step);
            CREATE INDEX ON copy_reference (decision, scored_at);
            CREATE INDEX ON copy_reference (scored_at);
            CREATE INDEX ON copy_reference (step);
            """
        )
        let clock = ContinuousClock()
        let script = NSTemporaryDirectory() + "fraud-bench-\(UUID().uuidString).sh"
        defer { try? FileManager.default.removeItem(atPath: script) }
        try "psql '\(url)' -q -c \"\\\\copy copy_reference FROM '\(file)'\"\n".write(
            toFile: script,
            atomically: true,
            encoding: .utf8
        )
        var status: Int32 = -1
        let elapsed = try clock.measure {
            status = try runProcess(["/bin/sh", script])
        }
        #expect(status == 0)
        return rate(records.count, elapsed)
    }

    private func rate(_ count: Int, _ duration: Duration) -> Int {
        Int(Double(count) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18))
    }
}

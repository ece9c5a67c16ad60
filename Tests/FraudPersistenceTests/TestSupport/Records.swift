import Foundation
import FraudCore

@testable import FraudPersistence

/// Decision records for the suites: varied fields, awkward strings, exact floats.
enum Records {
    /// A tag unique to this test process, so ids never collide with other runs on a shared database.
    static let run = String(UUID().uuidString.prefix(8)).lowercased()

    /// The `index`-th record of a series named `series`.
    static func make(_ index: Int, series: String = "s", step: UInt32? = nil) -> DecisionRecord {
        let types = TransactionType.allCases
        let labels: [Label] = [.unspecified, .legitimate, .fraud]
        let decisions = Decision.allCases
        var reasons: [Reason] = []
        for r in 0..<(index % 4) {
            reasons.append(
                Reason(
                    code: ["ORIGIN_DRAINED", "HIGH_AMOUNT", "NIGHT", "VELOCITY"][r],
                    detail: detail(index, r),
                    weight: Float(r + 1) / 10 + Float(index % 7) / 1000
                )
            )
        }
        return DecisionRecord(
            transaction: Transaction(
                transactionID: "t-\(run)-\(series)-\(index)",
                step: step ?? UInt32(1 + index % 700),
                type: types[index % types.count],
                amountCents: Int64(100 + index * 37),
                originAccount: "C\(1_000_000 + index % 997)",
                originBalanceBeforeCents: Int64(index) * 1000,
                originBalanceAfterCents: Int64(index) * 1000 - 1,
                destinationAccount: "M\(2_000_000 + index % 991)",
                destinationBalanceBeforeCents: 0,
                destinationBalanceAfterCents: Int64(index % 3) * 5
            ),
            label: labels[index % labels.count],
            assessment: Assessment(
                riskScore: Float(index % 1000) / 999,
                decision: decisions[index % decisions.count],
                reasons: reasons,
                modelVersion: "rules-v1"
            ),
            serverTimeMicros: UInt32(index % 5000),
            scoredAtMicros: 1_750_000_000_000_000 + Int64(index) * 1_337
        )
    }

    /// Details with every character class that needs escaping somewhere (COPY, JSON, arrays).
    private static func detail(_ index: Int, _ r: Int) -> String {
        switch (index + r) % 5 {
        case 0: return "origin balance \(index).00 fully drained by a TRANSFER"
        case 1: return "tab\there, newline\nthere, CR\r, backslash \\ and \"quotes\""
        case 2: return "unicode: é ü 漢字 🚀 and {braces}, [brackets], commas"
        case 3: return "control \u{01}\u{1F} chars and a \\N that is not NULL"
        default: return ""
        }
    }

    /// `count` records of a series.
    static func series(_ series: String, count: Int, step: UInt32? = nil) -> [DecisionRecord] {
        (0..<count).map { make($0, series: series, step: step) }
    }
}

/// A fresh, empty directory under the system temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "fraud-persistence-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Names of the files in it, sorted.
    var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    var segments: [String] { files.filter { $0.hasSuffix(".seg") } }
    var quarantines: [String] { files.filter { $0.hasSuffix(".quarantine") } }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try condition()
}

extension PersistenceConfiguration {
    /// A configuration for tests: small batches and a short interval so things happen quickly.
    static func testing(
        directory: String,
        postgresURL: String? = nil,
        durability: Durability = .process,
        backlogCap: Int = 1_000_000,
        segmentBytes: Int = 64 << 20,
        memoryQueueCapacity: Int = 100_000,
        insertMethod: InsertMethod = .copy
    ) -> PersistenceConfiguration {
        PersistenceConfiguration(
            journalDirectory: directory,
            postgresURL: postgresURL,
            durability: durability,
            backlogCap: backlogCap,
            batchSize: 500,
            batchInterval: .milliseconds(5),
            segmentBytes: segmentBytes,
            memoryQueueCapacity: memoryQueueCapacity,
            shutdownTimeout: .seconds(20),
            connectTimeout: .seconds(2),
            insertMethod: insertMethod
        )
    }
}

import Foundation
import FraudCore
import Testing

@testable import FraudClient

@Suite("Backfill checkpoint and tally")
struct BackfillStateTests {
    private func temporaryPath(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fraud-client-tests-\(UUID().uuidString)"
        )
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    @Test("checkpoint round-trips through its file, atomically replaced")
    func roundTrip() throws {
        var tally = BackfillTally()
        tally.record(.decline, isFraud: true, replayed: false)
        tally.record(.approve, isFraud: false, replayed: true)
        tally.rejected = 2
        let checkpoint = BackfillCheckpoint(
            input: "data/x.csv.gz",
            inputBytes: 123_456,
            idPrefix: "bf-0badf00d",
            totalRows: 6_362_620,
            position: 4_000_001,
            lastLine: 4_000_010,
            rejectsBytes: 77,
            tally: tally,
            elapsedSeconds: 12.5
        )
        let path = temporaryPath("x.checkpoint")
        #expect(try BackfillCheckpoint.load(from: path) == nil)
        try checkpoint.write(to: path)
        #expect(try BackfillCheckpoint.load(from: path) == checkpoint)
        var later = checkpoint
        later.position = 6_362_620
        try later.write(to: path)
        let reloaded = try #require(try BackfillCheckpoint.load(from: path))
        #expect(reloaded == later)
        #expect(reloaded.isComplete)
        #expect(checkpoint.json.contains("\"last_line\":4000010"))
    }

    @Test("a damaged checkpoint is an error, not a silent restart")
    func damaged() throws {
        let path = temporaryPath("bad.checkpoint")
        try Data("{\"position\": ".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: InputError.self) { try BackfillCheckpoint.load(from: path) }
    }

    @Test("a checkpoint only matches the same input, size and prefix")
    func matching() {
        let checkpoint = BackfillCheckpoint(input: "a.csv", inputBytes: 10, idPrefix: "bf-1", totalRows: 3)
        #expect(checkpoint.matches(input: "a.csv", inputBytes: 10, idPrefix: "bf-1"))
        #expect(!checkpoint.matches(input: "a.csv", inputBytes: 11, idPrefix: "bf-1"))
        #expect(!checkpoint.matches(input: "b.csv", inputBytes: 10, idPrefix: "bf-1"))
        #expect(!checkpoint.matches(input: "a.csv", inputBytes: 10, idPrefix: "bf-2"))
    }

    @Test("tally: outcomes, replays, recall and precision of REVIEW/DECLINE against isFraud")
    func tally() {
        var tally = BackfillTally()
        #expect(tally.recall == nil && tally.precision == nil)
        tally.record(.decline, isFraud: true, replayed: false)  // TP
        tally.record(.review, isFraud: true, replayed: false)  // TP
        tally.record(.approve, isFraud: true, replayed: true)  // FN
        tally.record(.decline, isFraud: false, replayed: false)  // FP
        tally.record(.approve, isFraud: false, replayed: false)  // TN
        tally.rejected = 1
        #expect(tally.scored == 4 && tally.replayed == 1 && tally.answered == 5 && tally.done == 6)
        #expect(tally.approved == 2 && tally.reviewed == 1 && tally.declined == 2)
        #expect(tally.recall == 2.0 / 3.0)
        #expect(tally.precision == 2.0 / 3.0)
    }

    @Test("summary carries the checkpoint's counters and says when it is incomplete")
    func summary() {
        var checkpoint = BackfillCheckpoint(input: "a.csv", inputBytes: 10, idPrefix: "p", totalRows: 10, position: 4)
        checkpoint.tally.record(.review, isFraud: true, replayed: false)
        let run = BackfillSummary.Run(rows: 4, seconds: 2, resumedFromPosition: 0, resumedAfterLine: 0, reconnects: 1)
        let summary = BackfillSummary(checkpoint: checkpoint, thisRun: run, failure: "interrupted")
        #expect(!summary.complete)
        #expect(summary.thisRun.rowsPerSecond == 2)
        #expect(summary.text.contains("4 of 10 rows done (INCOMPLETE)"))
        #expect(summary.text.contains("stopped: interrupted"))
    }
}

import Foundation
import FraudCore
import Testing

@testable import FraudPersistence

@Suite("Row formats")
struct RowFormatTests {
    @Test("reasons JSON parses back to the same reasons", arguments: 0..<12)
    func reasonsRoundTrip(index: Int) throws {
        let record = Records.make(index)
        let parsed = try #require(DecisionRecord.parseReasons(record.reasonsJSON))
        #expect(parsed == record.assessment.reasons)
    }

    @Test("Non-finite weights and scores survive as text")
    func nonFinite() throws {
        var record = Records.make(3)
        record.assessment.reasons[0].weight = .infinity
        record.assessment.reasons[1].weight = -.infinity
        let parsed = try #require(DecisionRecord.parseReasons(record.reasonsJSON))
        #expect(parsed[0].weight == .infinity)
        #expect(parsed[1].weight == -.infinity)
        #expect(DecisionRecord.parseFloat(DecisionRecord.floatText(.nan))!.isNaN)
    }

    @Test("COPY lines escape tab, newline, CR and backslash; NULL is \\N")
    func copyLine() {
        var record = Records.make(0)
        record.transaction.originAccount = "a\tb\\c\nd\re"
        record.label = .unspecified
        var bytes: [UInt8] = []
        record.appendCopyLine(to: &bytes)
        let line = String(decoding: bytes, as: UTF8.self)
        #expect(line.hasSuffix("\n"))
        #expect(line.dropLast().split(separator: "\t", omittingEmptySubsequences: false).count == 17)
        #expect(line.contains("a\\tb\\\\c\\nd\\re"))
        #expect(line.contains("\t\\N\t"))
    }

    @Test("A COPY line unescapes to exactly the column texts", arguments: 0..<12)
    func copyLineMatchesColumns(index: Int) {
        var record = Records.make(index)
        record.transaction.amountCents = index.isMultiple(of: 2) ? -Int64(index) * 1_000_003 : Int64.max - Int64(index)
        var bytes: [UInt8] = []
        record.appendCopyLine(to: &bytes)
        #expect(bytes.last == 0x0A)
        var fields: [String?] = []
        var current: [UInt8] = []
        var index = 0
        let line = Array(bytes.dropLast())
        while index <= line.count {
            if index == line.count || line[index] == 0x09 {
                fields.append(current == [0x5C, 0x4E] ? nil : String(decoding: current, as: UTF8.self))
                current = []
            } else if line[index] == 0x5C {
                index += 1
                switch line[index] {
                case 0x74: current.append(0x09)
                case 0x6E: current.append(0x0A)
                case 0x72: current.append(0x0D)
                case 0x4E: current.append(contentsOf: [0x5C, 0x4E])
                default: current.append(line[index])
                }
            } else {
                current.append(line[index])
            }
            index += 1
        }
        var expected = record.columnTexts
        expected[16] = DecisionRecord.timestampText(micros: record.scoredAtMicros)
        let json = expected[13]!
        expected[13] = nil
        let reasons = fields[13].flatMap { DecisionRecord.parseReasons($0) }
        fields[13] = nil
        #expect(fields == expected)
        #expect(reasons == DecisionRecord.parseReasons(json))
    }

    @Test(
        "scored_at is written as an exact UTC timestamp",
        arguments: [
            (Int64(0), "1970-01-01 00:00:00.000000+00"),
            (-1, "1969-12-31 23:59:59.999999+00"),
            (1_750_000_000_123_456, "2025-06-15 15:06:40.123456+00"),
            (951_782_400_000_001, "2000-02-29 00:00:00.000001+00"),
            (-62_135_596_800_000_000, "0001-01-01 00:00:00.000000+00"),
            (253_402_300_799_999_999, "9999-12-31 23:59:59.999999+00"),
        ]
    )
    func timestamps(micros: Int64, text: String) {
        #expect(DecisionRecord.timestampText(micros: micros) == text)
    }

    @Test("Array literals quote every element and escape quotes and backslashes")
    func arrayLiteral() {
        #expect(BatchInserter.arrayLiteral(["a", nil, "b\"c\\d", ""]) == #"{"a",NULL,"b\"c\\d",""}"#)
        #expect(BatchInserter.arrayLiteral([]) == "{}")
    }

    @Test("The migrations in deploy/migrations are the ones the server applies")
    func migrationFilesMatch() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("deploy/migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files == Migrations.all.map(\.fileName))
        for migration in Migrations.all {
            let text = try String(contentsOf: folder.appendingPathComponent(migration.fileName), encoding: .utf8)
            #expect(
                text == migration.sql + "\n",
                "deploy/migrations/\(migration.fileName) differs from Migrations.swift"
            )
        }
        #expect(Migrations.all.map(\.version) == Array(1...Migrations.all.count))
    }
}

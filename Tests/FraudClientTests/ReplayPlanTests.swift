import Foundation
import FraudCore
import Testing

@testable import FraudClient

@Suite("Replay plan and CSV reading")
struct ReplayPlanTests {
    private static let header = PaySimRow.header

    private func write(_ lines: [String], name: String, trailingNewline: Bool = true) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fraud-client-tests-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try Data((lines.joined(separator: "\n") + (trailingNewline ? "\n" : "")).utf8).write(
            to: URL(fileURLWithPath: path)
        )
        return path
    }

    private func row(step: Int, amount: String = "100.00") -> String {
        "\(step),PAYMENT,\(amount),C1,1000.00,900.00,M2,0.00,0.00,0,0"
    }

    private func lines(of path: String, chunkBytes: Int = 1 << 20) throws -> [(Int, UInt64, String)] {
        var reader = CSVLineReader(path: path)
        reader.chunkBytes = chunkBytes
        var out: [(Int, UInt64, String)] = []
        try reader.forEachLine { number, offset, bytes in
            out.append((number, offset, String(decoding: bytes, as: UTF8.self)))
            return true
        }
        return out
    }

    @Test("lines, numbers and offsets, also across chunk boundaries and without a final newline")
    func readsLines() throws {
        let text = ["a", "", "ccc", String(repeating: "x", count: 10_000), "last"]
        let path = try write(text, name: "l.txt", trailingNewline: false)
        for chunk in [4096, 1 << 20] {
            let got = try lines(of: path, chunkBytes: chunk)
            #expect(got.map(\.2) == text)
            #expect(got.map(\.0) == [1, 2, 3, 4, 5])
            #expect(got.map(\.1) == [0, 2, 3, 7, 10_008])
        }
    }

    @Test("gzip input reads the same lines as the plain file")
    func gzip() throws {
        let text = [Self.header] + (0..<5000).map { row(step: $0 / 100) }
        let path = try write(text, name: "g.csv")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-k", path]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        #expect(try lines(of: path + ".gz").map(\.2) == text)
        let plan = try ReplayPlan.make(for: CSVLineReader(path: path + ".gz"))
        #expect(plan.rowCount == 5000 && plan.hasHeader && plan.isSortedByStep && plan.index == nil)
    }

    @Test("a sorted file is streamed: no index")
    func sorted() throws {
        let path = try write([Self.header, row(step: 1), row(step: 1), "", row(step: 2), row(step: 7)], name: "s.csv")
        let plan = try ReplayPlan.make(for: CSVLineReader(path: path))
        #expect(plan.rowCount == 4)
        #expect(plan.hasHeader)
        #expect(plan.isSortedByStep)
        #expect(plan.index == nil)
    }

    @Test("an unsorted file is indexed and replayed by step, ties and unreadable steps in file order")
    func unsorted() throws {
        let path = try write(
            [row(step: 3), row(step: 1), "garbage line", row(step: 2), row(step: 1, amount: "5.00"), row(step: 3)],
            name: "u.csv"
        )
        let plan = try ReplayPlan.make(for: CSVLineReader(path: path))
        #expect(!plan.hasHeader)
        #expect(!plan.isSortedByStep)
        let index = try #require(plan.index)
        // Rows (file order): 0 step 3, 1 step 1, 2 garbage (keeps step 1), 3 step 2, 4 step 1, 5 step 3.
        #expect(index.order == [1, 2, 4, 3, 0, 5])
        #expect(index.lineNumbers == [1, 2, 3, 4, 5, 6])
        let fetcher = try CSVLineFetcher(path: path, blockBytes: 16)
        let replayed = try index.order.map { row in
            try fetcher.withLine(offset: index.offsets[Int(row)], length: Int(index.lengths[Int(row)])) {
                String(decoding: $0, as: UTF8.self)
            }
        }
        #expect(replayed[0] == row(step: 1))
        #expect(replayed[1] == "garbage line")
        #expect(replayed[2] == row(step: 1, amount: "5.00"))
        #expect(replayed.last == row(step: 3))
    }

    @Test(
        "stable counting sort",
        arguments: [
            ([UInt32](), [UInt32]()),
            ([5, 5, 5], [0, 1, 2]),
            ([3, 1, 2, 1, 0], [4, 1, 3, 2, 0]),
            ([4_000_000_000, 1, 4_000_000_000, 0], [3, 1, 0, 2]),  // sparse: comparison sort path
        ]
    )
    func stableOrder(steps: [UInt32], expected: [UInt32]) {
        #expect(ReplayPlan.stableOrder(steps: steps) == expected)
    }

    @Test("leading step, header and blank detection")
    func lineClassification() {
        func with<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
            Array(text.utf8).withUnsafeBytes(body)
        }
        #expect(with("743,CASH_OUT,1") { ReplayPlan.leadingStep($0) } == 743)
        #expect(with("x43,CASH_OUT") { ReplayPlan.leadingStep($0) } == nil)
        #expect(with(",a") { ReplayPlan.leadingStep($0) } == nil)
        #expect(with(Self.header + "\r") { ReplayPlan.isHeader($0) })
        #expect(!with(row(step: 1)) { ReplayPlan.isHeader($0) })
        #expect(with("\r") { ReplayPlan.isBlank($0) })
        #expect(!with(" ") { ReplayPlan.isBlank($0) })
    }

    @Test("a missing file is an InputError naming it")
    func missing() {
        #expect(throws: InputError.self) {
            try CSVLineReader(path: "/nonexistent/x.csv").forEachLine { _, _, _ in true }
        }
        #expect(throws: InputError.self) {
            try CSVLineReader(path: "/nonexistent/x.csv.gz").forEachLine { _, _, _ in true }
        }
    }
}

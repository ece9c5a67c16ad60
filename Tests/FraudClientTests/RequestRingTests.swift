import FraudCore
import Testing

@testable import FraudClient

@Suite("Request ring, call headers, targets")
struct RequestRingTests {
    private let transactions = SyntheticTransactions.make(count: 3, seed: 42)

    private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let bytes = Array(needle.utf8)
        guard bytes.count <= haystack.count else { return false }
        return (0...(haystack.count - bytes.count)).contains { haystack[$0..<($0 + bytes.count)].elementsEqual(bytes) }
    }

    @Test("each call gets its own id, patched in place; the rest of the bytes is the template's")
    func patchesIDs() {
        let ring = RequestRing(transactions: transactions, idPrefix: "lg-run1-")
        #expect(ring.count == 3)
        let first = ring.message(sequence: 7)
        let again = ring.message(sequence: 10)  // same template (7 % 3 == 10 % 3)
        #expect(ring.transactionID(sequence: 7) == "lg-run1-000000000007")
        #expect(contains(first, "lg-run1-000000000007"))
        #expect(contains(again, "lg-run1-000000000010"))
        #expect(first.count == again.count)
        #expect(zip(first, again).filter { $0 != $1 }.count == 2)
        // gRPC prefix: uncompressed, big-endian length of the rest.
        #expect(first[0] == 0)
        let length = Int(first[1]) << 24 | Int(first[2]) << 16 | Int(first[3]) << 8 | Int(first[4])
        #expect(length == first.count - 5)
    }

    @Test("the largest counter fits the fixed width")
    func largestCounter() {
        let ring = RequestRing(transactions: transactions, idPrefix: "p-")
        #expect(contains(ring.message(sequence: 999_999_999_999), "p-999999999999"))
    }

    @Test("fixed mode sends identical bytes every time")
    func fixed() {
        let ring = RequestRing(transactions: transactions, idPrefix: "lg-x-fixed-", fixed: true)
        #expect(ring.count == 1)
        #expect(ring.message(sequence: 1) == ring.message(sequence: 99))
        #expect(ring.transactionID(sequence: 99) == "lg-x-fixed-000000000000")
    }

    @Test("synthetic transactions validate and are deterministic per seed")
    func synthetic() throws {
        let made = SyntheticTransactions.make(count: 500, seed: 7)
        #expect(made == SyntheticTransactions.make(count: 500, seed: 7))
        #expect(made != SyntheticTransactions.make(count: 500, seed: 8))
        for var transaction in made {
            transaction.transactionID = "t"
            _ = try Transaction.validated(transaction)
        }
    }

    @Test(
        "grpc-timeout values: exact milliseconds, else the finest unit that fits 8 digits, rounded up",
        arguments: [
            (Duration.milliseconds(250), "250m"),
            (Duration.seconds(90), "90000m"),
            (Duration.microseconds(1500), "1500000n"),
            (Duration.seconds(100_000), "100000S"),
            (Duration.seconds(1_000_000), "1000000S"),
            (Duration.zero, "1n"),
        ]
    )
    func timeoutValues(duration: Duration, expected: String) {
        #expect(GRPCCallHeaders.timeoutValue(duration) == expected)
    }

    @Test("request headers carry content-type, te and the deadline")
    func headers() {
        #expect(GRPCCallHeaders.make(timeout: nil).map(\.0) == ["content-type", "te"])
        #expect(GRPCCallHeaders.make(timeout: .milliseconds(100)).last?.1 == "100m")
    }

    @Test(
        "targets",
        arguments: [
            ("127.0.0.1:50051", "127.0.0.1", 50051),
            ("[::1]:8080", "::1", 8080),
            (":7000", "127.0.0.1", 7000),
            ("db.example:1", "db.example", 1),
        ]
    )
    func targets(text: String, host: String, port: Int) throws {
        let target = try #require(GRPCTarget(parsing: text))
        #expect(target.host == host && target.port == port)
    }

    @Test("bad targets", arguments: ["localhost", "host:0", "host:65536", "host:x", ""])
    func badTargets(text: String) {
        #expect(GRPCTarget(parsing: text) == nil)
    }
}

import FraudCore
import FraudWire
import Testing

@testable import FraudTransport

/// The client session's own bookkeeping: prebuilt header blocks, reused stream slots, lean (status-only) mode.
@Suite("H2ClientSession (slots, prebuilt heads, lean mode)")
struct H2ClientSessionTests {
    @Test("calls made in waves reuse stream slots; every response is its own (ids, bodies, trailers)")
    func slotsAreReused() throws {
        let pair = Pair()
        let head = H2RequestHead(path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders)
        for wave in 0..<4 {
            for index in 0..<25 {
                pair.client.submitRequest(head: head, body: framedRequest(id: "w\(wave)-\(index)"))
            }
            #expect(pair.client.openStreamCount == 25)
            pair.run()
            #expect(pair.client.openStreamCount == 0)
        }
        #expect(pair.responses.count == 100)
        var ids: [String] = []
        for response in pair.responses {
            #expect(response.grpcStatus == 0)
            // A reused slot must not carry the previous stream's fields over.
            #expect(response.headers.filter { $0.name == ":status" }.count == 1)
            #expect(response.trailers.filter { $0.name == "grpc-status" }.count == 1)
            ids.append(try Array(response.body[5...]).withUnsafeBytes { try ScoreResponse.decode(protobuf: $0).transactionID })
        }
        #expect(ids.sorted() == (0..<4).flatMap { wave in (0..<25).map { "w\(wave)-\($0)" } }.sorted())
        #expect(Set(pair.responses.map(\.streamID)).count == 100)
    }

    @Test("lean mode reports each stream's grpc-status once, collects nothing, and frees its slots")
    func leanStatus() {
        let pair = Pair()
        var statuses: [Int32: Int] = [:]
        var reports = 0
        pair.client.onStatus = { streamID, status, resetCode in
            reports += 1
            statuses[streamID] = status
            #expect(resetCode == 0)
        }
        let score = H2RequestHead(path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders)
        let missing = H2RequestHead(path: "/fraud.v1.FraudScoring/Nope", headers: grpcHeaders)
        var expected: [Int32: Int] = [:]
        for wave in 0..<3 {
            for index in 0..<10 {
                let bad = index % 5 == 4
                let id = pair.client.submitRequest(
                    head: bad ? missing : score, body: framedRequest(id: "l\(wave)-\(index)"))
                #expect(id > 0)
                expected[id] = bad ? 12 : 0
            }
            pair.run()
        }
        #expect(reports == 30)
        #expect(statuses == expected)
        #expect(pair.responses.isEmpty)
        #expect(pair.client.openStreamCount == 0)
    }

    @Test("bytes sent on a stream before its HEADERS went out are not lost")
    func sendBeforeHeaders() throws {
        let pair = Pair()
        let id = pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/ScoreStream", headers: grpcHeaders, body: [], endStream: false)
        // Nothing written yet: nghttp2 has not opened the stream.
        pair.client.send(framedRequest(id: "early-1"), on: id, endStream: false)
        pair.client.send(framedRequest(id: "early-2"), on: id, endStream: true)
        pair.run()
        let response = try #require(pair.responses.first)
        #expect(response.grpcStatus == 0)
        var ids: [String] = []
        var offset = 0
        while offset + 5 <= response.body.count {
            let length = Int(response.body[offset + 1]) << 24 | Int(response.body[offset + 2]) << 16
                | Int(response.body[offset + 3]) << 8 | Int(response.body[offset + 4])
            let message = Array(response.body[(offset + 5)..<(offset + 5 + length)])
            ids.append(try message.withUnsafeBytes { try ScoreResponse.decode(protobuf: $0).transactionID })
            offset += 5 + length
        }
        #expect(ids == ["early-1", "early-2"])
    }

    @Test("a request body longer than one DATA frame is sent whole, then the slot lets go of it")
    func largeBody() throws {
        var configuration = TransportConfiguration()
        configuration.maxMessageBytes = 1 << 20
        let pair = Pair(configuration: configuration)
        // 40 KiB: more than the 16 KiB default frame size, so the body goes out in several reads.
        let id = String(repeating: "x", count: 100)
        var body: [UInt8] = []
        ScoreRequest(
            transaction: RawTransaction(
                transactionID: id, step: 1, typeRawValue: 1, amountCents: 5,
                originAccount: String(repeating: "C", count: 40_000), destinationAccount: "M2")
        ).appendFramed(to: &body)
        #expect(body.count > 40_000)
        pair.client.submitRequest(path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders, body: body)
        pair.run()
        let response = try #require(pair.responses.first)
        // The server read the whole message: any answer but a framing error (INTERNAL) or a cut-off proves it.
        #expect(response.grpcStatus != nil)
        #expect(response.grpcStatus != 13)
    }
}

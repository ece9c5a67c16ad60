import FraudCore
import FraudWire
import Testing

@testable import FraudTransport

/// A service with fixed behaviour, so the transport is tested alone (the engine has its own tests).
private struct EchoService: RPCService {
    func score(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply {
        guard let transaction = request.transaction else {
            return .failed(Status(code: .invalidArgument, message: "transaction is required"))
        }
        let assessment = Assessment(
            riskScore: 0.25,
            decision: transaction.amountCents > 1000 ? .review : .approve,
            reasons: [Reason(code: "TEST", detail: "amount \(transaction.amountCents)", weight: 0.25)],
            modelVersion: "test"
        )
        return .decided(
            transactionID: transaction.transactionID, assessment: assessment, replayed: false,
            serverTimeMicros: MonotonicClock.microseconds(since: receivedAtNanos))
    }

    func servingStatus(of service: String) -> ServingStatus? { service.isEmpty ? .serving : nil }
}

/// Client and server sessions wired back to back in memory: every byte one produces, the other receives.
final class Pair {
    let client: H2ClientSession
    let server: H2Session
    var responses: [H2Response] = []
    var serverFailed = false

    init(
        configuration: TransportConfiguration = .init(),
        service: any RPCService = EchoService(),
        headerEncoding: H2ClientSession.HeaderEncoding = .own
    ) {
        client = H2ClientSession(headerEncoding: headerEncoding)
        server = H2Session(service: service, configuration: configuration)
        client.onResponse = { [unowned self] in self.responses.append($0) }
    }

    /// Pumps bytes both ways until neither side has anything to send.
    func run() {
        for _ in 0..<100 {
            var toServer: [UInt8] = []
            _ = client.produceOutput { toServer.append(contentsOf: $0) }
            if !toServer.isEmpty {
                if !toServer.withUnsafeBytes({ server.receive($0) }) { serverFailed = true }
                server.processReady()
            }
            var toClient: [UInt8] = []
            _ = server.produceOutput { toClient.append(contentsOf: $0) }
            if !toClient.isEmpty { _ = toClient.withUnsafeBytes { client.receive($0) } }
            if toServer.isEmpty && toClient.isEmpty { return }
        }
    }

    func send(_ raw: [UInt8]) {
        if !raw.withUnsafeBytes({ server.receive($0) }) { serverFailed = true }
        server.processReady()
    }
}

let grpcHeaders = [("content-type", "application/grpc"), ("te", "trailers")]

func framedRequest(id: String, amount: Int64 = 500) -> [UInt8] {
    var body: [UInt8] = []
    ScoreRequest(
        transaction: RawTransaction(transactionID: id, step: 1, typeRawValue: 1, amountCents: amount,
                                    originAccount: "C1", destinationAccount: "M2")
    ).appendFramed(to: &body)
    return body
}

@Suite("H2Session (gRPC over nghttp2, in memory)")
struct H2SessionTests {
    @Test("a unary Score call gets HEADERS, one message and grpc-status 0 trailers")
    func unaryScore() throws {
        let pair = Pair()
        pair.client.submitRequest(path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders, body: framedRequest(id: "t-1"))
        pair.run()
        let response = try #require(pair.responses.first)
        #expect(response.field(":status") == "200")
        #expect(response.field("content-type") == "application/grpc")
        #expect(response.trailers.first { $0.name == "grpc-status" }?.value == "0")
        #expect(response.body.count > 5)
        let decoded = try Array(response.body[5...]).withUnsafeBytes { try ScoreResponse.decode(protobuf: $0) }
        #expect(decoded.transactionID == "t-1")
        #expect(decoded.assessment.modelVersion == "test")
    }

    @Test("many calls on one connection are all answered, each with its own id")
    func manyCalls() throws {
        let pair = Pair()
        for index in 0..<200 {
            pair.client.submitRequest(
                path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders, body: framedRequest(id: "t-\(index)"))
        }
        pair.run()
        #expect(pair.responses.count == 200)
        let ids = try Set(pair.responses.map { response in
            try Array(response.body[5...]).withUnsafeBytes { try ScoreResponse.decode(protobuf: $0).transactionID }
        })
        #expect(ids.count == 200)
    }

    @Test("ScoreStream answers every message in order and ends with OK")
    func stream() throws {
        let pair = Pair()
        var body: [UInt8] = []
        for index in 0..<50 { body += framedRequest(id: "s-\(index)") }
        let id = pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/ScoreStream", headers: grpcHeaders, body: Array(body[..<100]), endStream: false)
        pair.run()
        pair.client.send(Array(body[100...]), on: id, endStream: true)
        pair.run()
        let response = try #require(pair.responses.first)
        #expect(response.grpcStatus == 0)
        var offset = 0
        var ids: [String] = []
        while offset < response.body.count {
            let length = Int(response.body[offset + 1]) << 24 | Int(response.body[offset + 2]) << 16
                | Int(response.body[offset + 3]) << 8 | Int(response.body[offset + 4])
            let message = Array(response.body[(offset + 5)..<(offset + 5 + length)])
            ids.append(try message.withUnsafeBytes { try ScoreResponse.decode(protobuf: $0).transactionID })
            offset += 5 + length
        }
        #expect(ids == (0..<50).map { "s-\($0)" })
    }

    @Test("errors map to the right status", arguments: [
        ("/fraud.v1.FraudScoring/Nope", [UInt8]([0, 0, 0, 0, 0]), 12),
        ("/fraud.v1.FraudScoring/Score", [UInt8]([0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF]), 13),
        ("/fraud.v1.FraudScoring/Score", [UInt8]([0, 0, 0x01, 0x11, 0x70]), 8),
        ("/fraud.v1.FraudScoring/Score", [UInt8]([0, 0, 0, 0, 0]), 3),
        ("/fraud.v1.FraudScoring/Score", [UInt8](), 13),
    ])
    func errorStatuses(path: String, body: [UInt8], expected: Int) throws {
        let pair = Pair()
        pair.client.submitRequest(path: path, headers: grpcHeaders, body: body)
        pair.run()
        let response = try #require(pair.responses.first)
        #expect(response.grpcStatus == expected)
        #expect(response.field("grpc-message")?.isEmpty == false)
    }

    @Test("an unsupported grpc-encoding is UNIMPLEMENTED and advertises identity")
    func compression() throws {
        let pair = Pair()
        pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("grpc-encoding", "gzip")],
            body: framedRequest(id: "z"))
        pair.run()
        let response = try #require(pair.responses.first)
        #expect(response.grpcStatus == 12)
        #expect(response.field("grpc-accept-encoding") == "identity")
    }

    @Test("a non-gRPC content-type gets HTTP 415")
    func contentType() throws {
        let pair = Pair()
        pair.client.submitRequest(path: "/fraud.v1.FraudScoring/Score", headers: [("content-type", "text/plain")], body: [1])
        pair.run()
        #expect(try #require(pair.responses.first).field(":status") == "415")
    }

    @Test("garbage instead of the client preface is a fatal connection error")
    func badPreface() {
        let pair = Pair()
        pair.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(pair.serverFailed)
    }

    @Test("health Check answers SERVING for the server and NOT_FOUND for an unknown service")
    func health() throws {
        let pair = Pair()
        var known: [UInt8] = []
        HealthCodec.appendFramedCheckRequest(service: "", to: &known)
        var unknown: [UInt8] = []
        HealthCodec.appendFramedCheckRequest(service: "nope", to: &unknown)
        pair.client.submitRequest(path: "/grpc.health.v1.Health/Check", headers: grpcHeaders, body: known)
        pair.client.submitRequest(path: "/grpc.health.v1.Health/Check", headers: grpcHeaders, body: unknown)
        pair.run()
        let byStream = Dictionary(uniqueKeysWithValues: pair.responses.map { ($0.streamID, $0) })
        #expect(byStream[1]?.grpcStatus == 0)
        #expect(byStream[1]?.body == [0, 0, 0, 0, 2, 0x08, 0x01])
        #expect(byStream[3]?.grpcStatus == 5)
    }

    @Test("draining: calls already open finish, then the session is done")
    func drain() throws {
        let pair = Pair()
        let id = pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/ScoreStream", headers: grpcHeaders, body: framedRequest(id: "d-1"),
            endStream: false)
        pair.run()
        pair.server.beginDrain()
        pair.server.finishDrain()
        pair.run()
        #expect(!pair.server.isDone)
        pair.client.send(framedRequest(id: "d-2"), on: id, endStream: true)
        pair.run()
        let response = try #require(pair.responses.first)
        #expect(response.grpcStatus == 0)
        #expect(pair.server.isDone)
    }

    @Test("a deadline that expires ends the call with DEADLINE_EXCEEDED")
    func deadline() throws {
        let pair = Pair()
        var scheduled: [(Int32, Int64)] = []
        pair.server.scheduleDeadline = { scheduled.append(($0, $1)) }
        let id = pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/ScoreStream", headers: grpcHeaders + [("grpc-timeout", "250m")],
            body: [], endStream: false)
        pair.run()
        #expect(scheduled.count == 1)
        #expect(scheduled.first?.1 == 250_000_000)
        pair.server.deadlineExpired(streamID: id)
        pair.run()
        #expect(try #require(pair.responses.first).grpcStatus == 4)
    }
}

/// Durability notifications recorded for the test to deliver on "the loop" (the test thread).
private final class FiredBox: @unchecked Sendable {
    private var items: [(Int32, UInt64)] = []
    func append(_ item: (Int32, UInt64)) { items.append(item) }
    func drain() -> [(Int32, UInt64)] {
        defer { items.removeAll() }
        return items
    }
}

/// A ticket the test fires by hand.
private final class ManualTicket: DurabilityTicket, @unchecked Sendable {
    var body: (@Sendable (Status?) -> Void)?
    func whenDurable(_ body: @escaping @Sendable (Status?) -> Void) { self.body = body }
}

/// Answers every request with a held decision; the tickets are kept for the test to fire.
private final class HeldService: RPCService, @unchecked Sendable {
    var tickets: [ManualTicket] = []
    func score(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply {
        let ticket = ManualTicket()
        tickets.append(ticket)
        let assessment = Assessment(riskScore: 0, decision: .approve, reasons: [], modelVersion: "held")
        return .decidedWhenDurable(
            ticket: ticket, transactionID: request.transaction?.transactionID ?? "", assessment: assessment,
            replayed: false, serverTimeMicros: 1)
    }
    func servingStatus(of service: String) -> ServingStatus? { .serving }
}

@Suite("H2Session durability hold")
struct DurabilityHoldTests {
    @Test("held answers leave only when durable, in request order, and trailers wait for the last one")
    func heldInOrder() throws {
        let service = HeldService()
        let client = H2ClientSession()
        let server = H2Session(service: service, configuration: .init())
        let fired = FiredBox()
        server.makeDurableNotifier = { streamID, token in { _ in fired.append((streamID, token)) } }
        var responses: [H2Response] = []
        client.onResponse = { responses.append($0) }
        func pump() {
            for _ in 0..<20 {
                var up: [UInt8] = []
                _ = client.produceOutput { up.append(contentsOf: $0) }
                if !up.isEmpty { _ = up.withUnsafeBytes { server.receive($0) }; server.processReady() }
                var down: [UInt8] = []
                _ = server.produceOutput { down.append(contentsOf: $0) }
                if !down.isEmpty { _ = down.withUnsafeBytes { client.receive($0) } }
                if up.isEmpty && down.isEmpty { return }
            }
        }
        var body: [UInt8] = []
        for index in 0..<3 { body += framedRequest(id: "h-\(index)") }
        client.submitRequest(path: "/fraud.v1.FraudScoring/ScoreStream", headers: grpcHeaders, body: body)
        pump()
        #expect(service.tickets.count == 3)
        #expect(responses.isEmpty)
        // Durable out of order: 1 then 2 release nothing until 0 is durable.
        service.tickets[1].body?(nil)
        service.tickets[2].body?(nil)
        for (streamID, token) in fired.drain() { server.durable(streamID: streamID, token: token, failure: nil) }
        pump()
        #expect(responses.isEmpty)
        service.tickets[0].body?(nil)
        for (streamID, token) in fired.drain() { server.durable(streamID: streamID, token: token, failure: nil) }
        pump()
        let response = try #require(responses.first)
        #expect(response.grpcStatus == 0)
        var ids: [String] = []
        var offset = 0
        while offset < response.body.count {
            let length = Int(response.body[offset + 4]) | Int(response.body[offset + 3]) << 8
            ids.append(try Array(response.body[(offset + 5)..<(offset + 5 + length)]).withUnsafeBytes {
                try ScoreResponse.decode(protobuf: $0).transactionID
            })
            offset += 5 + length
        }
        #expect(ids == ["h-0", "h-1", "h-2"])
    }
}

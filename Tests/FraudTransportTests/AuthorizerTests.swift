import FraudCore
import FraudWire
import Synchronization
import Testing

@testable import FraudTransport

/// Counts scoring calls, so a test can tell that a refused call did no scoring work.
private final class CountingService: RPCService {
    let calls = Atomic<Int>(0)

    func score(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply {
        calls.add(1, ordering: .relaxed)
        let assessment = Assessment(riskScore: 0, decision: .approve, reasons: [], modelVersion: "test")
        return .decided(
            transactionID: request.transaction?.transactionID ?? "", assessment: assessment, replayed: false,
            serverTimeMicros: 0)
    }

    func servingStatus(of service: String) -> ServingStatus? { .serving }
}

/// Grants `Bearer good` (until far in the future), refuses `Bearer reader` as the wrong role and anything
/// else as unauthenticated; counts how often it was asked.
private final class TableAuthorizer: RPCAuthorizer {
    let checks = Atomic<Int>(0)
    let generationValue = Atomic<UInt64>(0)
    var generation: UInt64 { generationValue.load(ordering: .relaxed) }

    func authorizeScoring(authorization: String?, peer: String) -> RPCGrant {
        checks.add(1, ordering: .relaxed)
        switch authorization {
        case "Bearer good": return .granted(untilUnixSeconds: Int64.max)
        case "Bearer reader": return .denied(Status(code: .permissionDenied, message: "role 'analyst' may not score"))
        case nil: return .denied(Status(code: .unauthenticated, message: "missing bearer token"))
        default: return .denied(Status(code: .unauthenticated, message: "bad signature"))
        }
    }
}

@Suite("RPC authorization (in memory)")
struct AuthorizerTests {
    /// A client that encodes like nghttp2 (`authorization` never indexed, so the elider sees it on every call)
    /// unless `headerEncoding` says otherwise.
    private func setUp(
        headerEncoding: H2ClientSession.HeaderEncoding = .nghttp2
    ) -> (Pair, CountingService, TableAuthorizer) {
        let service = CountingService()
        let authorizer = TableAuthorizer()
        var configuration = TransportConfiguration()
        configuration.authorizer = authorizer
        return (Pair(configuration: configuration, service: service, headerEncoding: headerEncoding), service, authorizer)
    }

    private func status(_ response: H2Response) -> String? {
        (response.trailers + response.headers).first { $0.name == "grpc-status" }?.value
    }

    @Test("no token, a bad token and the wrong role are refused before any scoring work")
    func refusals() throws {
        let (pair, service, _) = setUp()
        let cases: [([(String, String)], String)] = [
            ([], "16"),
            ([("authorization", "Bearer forged")], "16"),
            ([("authorization", "Bearer reader")], "7"),
        ]
        for (extra, _) in cases {
            pair.client.submitRequest(path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + extra, body: framedRequest(id: "t"))
        }
        pair.run()
        #expect(pair.responses.count == cases.count)
        #expect(pair.responses.map(status).sorted { ($0 ?? "") < ($1 ?? "") } == cases.map(\.1).sorted())
        #expect(service.calls.load(ordering: .relaxed) == 0)
    }

    @Test("health stays open without a token")
    func healthOpen() throws {
        let (pair, _, authorizer) = setUp()
        let body: [UInt8] = [0, 0, 0, 0, 0]  // an empty HealthCheckRequest: service ""
        pair.client.submitRequest(path: "/grpc.health.v1.Health/Check", headers: grpcHeaders, body: body)
        pair.run()
        #expect(pair.responses.first.flatMap(status) == "0")
        #expect(authorizer.checks.load(ordering: .relaxed) == 0)
    }

    @Test("a granted token is checked once per connection, again after the authorizer's generation changes")
    func grantCache() throws {
        let (pair, service, authorizer) = setUp()
        for index in 0..<20 {
            pair.client.submitRequest(
                path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", "Bearer good")],
                body: framedRequest(id: "t-\(index)"))
        }
        pair.run()
        #expect(pair.responses.count == 20)
        #expect(pair.responses.allSatisfy { status($0) == "0" })
        #expect(service.calls.load(ordering: .relaxed) == 20)
        let checksBefore = authorizer.checks.load(ordering: .relaxed)
        #expect(checksBefore == 1)

        authorizer.generationValue.add(1, ordering: .relaxed)  // keys reloaded
        pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", "Bearer good")],
            body: framedRequest(id: "t-after"))
        pair.run()
        #expect(authorizer.checks.load(ordering: .relaxed) == checksBefore + 1)

        // A different token on the same connection is checked on its own.
        pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", "Bearer forged")],
            body: framedRequest(id: "t-forged"))
        pair.run()
        #expect(pair.responses.last.flatMap(status) == "16")
        #expect(service.calls.load(ordering: .relaxed) == 21)
    }

    @Test("the granted token sent again is cut out before decoding; other tokens and a new generation are checked")
    func elidedToken() throws {
        let (pair, service, authorizer) = setUp()
        func call(_ authorization: String?, count: Int = 1) {
            for index in 0..<count {
                let extra = authorization.map { [("authorization", $0)] } ?? []
                pair.client.submitRequest(
                    path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + extra,
                    body: framedRequest(id: "e-\(pair.responses.count)-\(index)"))
            }
            pair.run()
        }
        call("Bearer good")  // granted; its encoding learnt
        #expect(pair.server.elidedAuthorizationCount == 0)
        call("Bearer good", count: 20)
        #expect(pair.server.elidedAuthorizationCount == 20)
        #expect(pair.responses.count == 21 && pair.responses.allSatisfy { status($0) == "0" })
        #expect(authorizer.checks.load(ordering: .relaxed) == 1)

        call("Bearer forged")
        call(nil)
        call("Bearer reader")
        #expect(pair.responses.suffix(3).map(status) == ["16", "16", "7"])
        #expect(service.calls.load(ordering: .relaxed) == 21)
        #expect(pair.server.elidedAuthorizationCount == 20)
        call("Bearer good", count: 5)  // the grant still stands
        #expect(pair.server.elidedAuthorizationCount == 25)
        #expect(pair.responses.suffix(5).allSatisfy { status($0) == "0" })
        let checks = authorizer.checks.load(ordering: .relaxed)
        #expect(checks == 4)

        // Keys reloaded: the same token is not cut out until it is checked again.
        authorizer.generationValue.add(1, ordering: .relaxed)
        call("Bearer good", count: 3)
        #expect(pair.server.elidedAuthorizationCount == 25)
        #expect(authorizer.checks.load(ordering: .relaxed) == checks + 1)
        call("Bearer good", count: 3)
        #expect(pair.server.elidedAuthorizationCount == 28)
        #expect(authorizer.checks.load(ordering: .relaxed) == checks + 1)
        #expect(pair.responses.count == 35 && pair.responses.suffix(6).allSatisfy { status($0) == "0" })
        #expect(service.calls.load(ordering: .relaxed) == 32)
        #expect(!pair.serverFailed)
    }

    @Test("our own client indexes the token: later references to it are cut out, and it is checked once per grant")
    func indexedToken() throws {
        let (pair, service, authorizer) = setUp(headerEncoding: .own)
        func call(_ authorization: String?, count: Int = 1) {
            for index in 0..<count {
                let extra = authorization.map { [("authorization", $0)] } ?? []
                pair.client.submitRequest(
                    path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + extra,
                    body: framedRequest(id: "i-\(pair.responses.count)-\(index)"))
            }
            pair.run()
        }
        call("Bearer good", count: 20)
        #expect(pair.responses.count == 20 && pair.responses.allSatisfy { status($0) == "0" })
        #expect(authorizer.checks.load(ordering: .relaxed) == 1)
        // All 20 came in the read whose first call was granted: nothing was cut before the grant.
        #expect(pair.server.elidedAuthorizationCount == 0)
        call("Bearer forged")
        call(nil)
        call("Bearer reader")
        #expect(pair.responses.suffix(3).map(status) == ["16", "16", "7"])
        #expect(pair.server.elidedAuthorizationCount == 0)
        call("Bearer good", count: 5)  // one-byte references to the granted entry: cut out
        #expect(pair.responses.suffix(5).allSatisfy { status($0) == "0" })
        #expect(pair.server.elidedAuthorizationCount == 5)
        let checks = authorizer.checks.load(ordering: .relaxed)
        authorizer.generationValue.add(1, ordering: .relaxed)
        call("Bearer good", count: 3)  // keys reloaded: checked again, nothing cut meanwhile
        #expect(authorizer.checks.load(ordering: .relaxed) == checks + 1)
        #expect(pair.server.elidedAuthorizationCount == 5)
        call("Bearer good", count: 2)
        #expect(pair.server.elidedAuthorizationCount == 7)
        #expect(pair.responses.suffix(5).allSatisfy { status($0) == "0" })
        #expect(authorizer.checks.load(ordering: .relaxed) == checks + 1)
        #expect(service.calls.load(ordering: .relaxed) == 30)
        #expect(!pair.serverFailed)
    }

    @Test("heads made per call with alternating tokens: each call is judged by its own token (own encoding)")
    func alternatingHeadsPerCall() throws {
        let (pair, service, _) = setUp(headerEncoding: .own)
        for call in 0..<40 {
            // A fresh head per call (as a client building its headers per call does), the two tokens alternating:
            // the session's cached block must never carry one call's token into another.
            let token = call % 2 == 0 ? "Bearer good" : "Bearer forged"
            pair.client.submitRequest(
                head: H2RequestHead(path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", token)]),
                body: framedRequest(id: "a-\(call)"))
            pair.run()
        }
        #expect(pair.responses.map(status) == (0..<40).map { $0 % 2 == 0 ? "0" : "16" })
        #expect(service.calls.load(ordering: .relaxed) == 20)
    }

    @Test("a grant whose HEADERS came split across reads is adopted by the next whole one, then elided")
    func splitFirstGrant() throws {
        let (pair, service, authorizer) = setUp()
        func submit(_ id: String) {
            pair.client.submitRequest(
                path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", "Bearer good")],
                body: framedRequest(id: id))
        }
        submit("s-0")
        var bytes: [UInt8] = []
        _ = pair.client.produceOutput { bytes.append(contentsOf: $0) }
        // Split inside the first HEADERS frame (type 1), after the preface and the client's SETTINGS.
        var offset = 24
        while bytes[offset + 3] != 1 {
            offset += 9 + (Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]))
        }
        pair.send(Array(bytes[..<(offset + 20)]))
        pair.send(Array(bytes[(offset + 20)...]))
        pair.run()
        #expect(pair.responses.count == 1 && authorizer.checks.load(ordering: .relaxed) == 1)
        submit("s-1")  // whole: the memcmp hit adopts its encoding
        pair.run()
        #expect(pair.server.elidedAuthorizationCount == 0)
        submit("s-2")
        submit("s-3")
        pair.run()
        #expect(pair.server.elidedAuthorizationCount == 2)
        #expect(pair.responses.count == 4 && pair.responses.allSatisfy { status($0) == "0" })
        #expect(authorizer.checks.load(ordering: .relaxed) == 1)
        #expect(service.calls.load(ordering: .relaxed) == 4)
    }

    @Test(
        "a revoked token is refused although its encoding (never-indexed literal, or indexed entry) is still remembered",
        arguments: [H2ClientSession.HeaderEncoding.nghttp2, .own]
    )
    func revokedAfterElision(encoding: H2ClientSession.HeaderEncoding) throws {
        let service = CountingService()
        let authorizer = RevocableAuthorizer()
        var configuration = TransportConfiguration()
        configuration.authorizer = authorizer
        let pair = Pair(configuration: configuration, service: service, headerEncoding: encoding)
        for round in 0..<3 {
            pair.client.submitRequest(
                path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", "Bearer good")],
                body: framedRequest(id: "r-\(round)"))
            pair.run()
        }
        #expect(pair.server.elidedAuthorizationCount == 2)
        authorizer.revoked.store(true, ordering: .relaxed)
        authorizer.generationValue.add(1, ordering: .relaxed)
        pair.client.submitRequest(
            path: "/fraud.v1.FraudScoring/Score", headers: grpcHeaders + [("authorization", "Bearer good")],
            body: framedRequest(id: "r-revoked"))
        pair.run()
        #expect(pair.responses.map(status) == ["0", "0", "0", "16"])
        #expect(service.calls.load(ordering: .relaxed) == 3)
    }
}

/// Grants `Bearer good` until `revoked` is set (a key removed, then a reload bumps the generation).
private final class RevocableAuthorizer: RPCAuthorizer {
    let revoked = Atomic<Bool>(false)
    let generationValue = Atomic<UInt64>(0)
    var generation: UInt64 { generationValue.load(ordering: .relaxed) }

    func authorizeScoring(authorization: String?, peer: String) -> RPCGrant {
        if authorization == "Bearer good", !revoked.load(ordering: .relaxed) { return .granted(untilUnixSeconds: Int64.max) }
        return .denied(Status(code: .unauthenticated, message: "unknown kid"))
    }
}

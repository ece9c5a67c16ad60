import FraudClient
import FraudCore
import FraudTLS
import FraudTransport
import FraudWire
import Logging
import NIOCore
import NIOPosix
import Testing

/// `GRPCClientConnection` over TLS against an in-process `GRPCServer` behind a `TLSServerHandler` (real
/// sockets, real OpenSSL on both ends, certificates from the `openssl` command).
@Suite("TLS client")
struct TLSClientTests {
    /// Answers every Score with an APPROVE for the request's transaction id; health is SERVING.
    private struct EchoService: RPCService {
        func score(_ request: ScoreRequest, receivedAtNanos: UInt64) -> ScoreReply {
            .decided(
                transactionID: request.transaction?.transactionID ?? "",
                assessment: Assessment(riskScore: 0.01, decision: .approve, reasons: [], modelVersion: "test"),
                replayed: false,
                serverTimeMicros: 1
            )
        }

        func servingStatus(of service: String) -> ServingStatus? { service.isEmpty ? .serving : nil }
    }

    /// Grants scoring to exactly `Bearer <token>`.
    private final class OneTokenAuthorizer: RPCAuthorizer {
        let token: String

        init(token: String) {
            self.token = token
        }

        var generation: UInt64 { 1 }

        func authorizeScoring(authorization: String?, peer: String) -> RPCGrant {
            authorization == "Bearer \(token)"
                ? .granted(untilUnixSeconds: Int64.max / 2)
                : .denied(Status(code: .unauthenticated, message: "test: missing or wrong token"))
        }
    }

    private static let token = "test.bearer-token_1"

    /// A server on a free loopback port, TLS with `alpn` (cleartext when `certificate` is nil), requiring
    /// ``token`` for Score; stopped after `body`.
    private func withServer(
        certificate: (cert: String, key: String)?,
        alpn: [String] = ["h2"],
        _ body: (Int, any EventLoopGroup) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = TransportConfiguration()
        configuration.authorizer = OneTokenAuthorizer(token: Self.token)
        var security: (@Sendable () -> any ChannelHandler)?
        if let certificate {
            let context = try TLSContext(
                configuration: TLSConfiguration(
                    certificateChainPath: certificate.cert,
                    privateKeyPath: certificate.key,
                    applicationProtocols: alpn
                )
            )
            security = { context.makeServerHandler() }
        }
        let server = try await GRPCServer.start(
            host: "127.0.0.1",
            port: 0,
            group: group,
            service: EchoService(),
            configuration: configuration,
            logger: Logger(label: "test"),
            security: security
        )
        do {
            try await body(try #require(server.localPort), group)
        } catch {
            _ = await server.drain(timeout: .seconds(5))
            try await group.shutdownGracefully()
            throw error
        }
        _ = await server.drain(timeout: .seconds(5))
        try await group.shutdownGracefully()
    }

    /// A server whose certificate (for `names`, e.g. `IP:127.0.0.1`) is signed by CA `ca` of a fresh
    /// ``TestPKI`` (the CA certificate is `pki.path("ca.pem")`).
    private func withSignedServer(
        names: String,
        alpn: [String] = ["h2"],
        _ body: (_ port: Int, _ group: any EventLoopGroup, _ pki: TestPKI) async throws -> Void
    ) async throws {
        let pki = try TestPKI()
        try pki.makeCA(named: "ca")
        let server = try pki.makeServerCertificate(named: "server", signedBy: "ca", names: names)
        try await withServer(certificate: server, alpn: alpn) { port, group in try await body(port, group, pki) }
    }

    private func clientConfiguration(ca: String?, token: String? = Self.token) throws -> GRPCClientConfiguration {
        var configuration = GRPCClientConfiguration()
        configuration.tls = try TLSClientContext(configuration: TLSClientConfiguration(trustedCAPath: ca))
        configuration.bearerToken = token
        return configuration
    }

    /// Connects and makes one Score call; returns its status and the transaction id answered.
    private func score(
        host: String = "127.0.0.1",
        port: Int,
        group: any EventLoopGroup,
        configuration: GRPCClientConfiguration
    ) async throws -> (Status, String?) {
        let bound = try await GRPCClientConnection.connect(
            to: GRPCTarget(host: host, port: port),
            on: group.next(),
            configuration: configuration
        ).get()
        let message = RequestRing(transactions: SyntheticTransactions.make(count: 1), idPrefix: "tls-").message(sequence: 0)
        let result = try await bound.eventLoop.flatSubmit {
            bound.value.unary(
                path: GRPCCallHeaders.scorePath,
                headers: GRPCCallHeaders.make(timeout: .seconds(5)),
                message: message
            )
        }.get()
        try await bound.eventLoop.submit { bound.value.close() }.get()
        guard result.status.code == .ok, result.body.count > 5 else { return (result.status, nil) }
        let response = try result.body.dropFirst(5).withUnsafeBytes { try ScoreResponse.decode(protobuf: $0) }
        return (result.status, response.transactionID)
    }

    /// The error a connect fails with (`nil` when it succeeds).
    private func connectError(
        host: String = "127.0.0.1",
        port: Int,
        group: any EventLoopGroup,
        configuration: GRPCClientConfiguration
    ) async -> GRPCClientError? {
        do {
            let bound = try await GRPCClientConnection.connect(
                to: GRPCTarget(host: host, port: port),
                on: group.next(),
                configuration: configuration
            ).get()
            try? await bound.eventLoop.submit { bound.value.close() }.get()
            return nil
        } catch {
            return error as? GRPCClientError
        }
    }

    @Test("a client that trusts the server's CA scores over TLS, by IP address and by host name, with the token")
    func scoresOverTLS() async throws {
        try await withSignedServer(names: "DNS:localhost,IP:127.0.0.1") { port, group, pki in
            let configuration = try clientConfiguration(ca: pki.path("ca.pem"))
            for host in ["127.0.0.1", "localhost"] {
                let (status, transactionID) = try await score(
                    host: host,
                    port: port,
                    group: group,
                    configuration: configuration
                )
                #expect(status.code == .ok, "\(host): \(status)")
                #expect(transactionID?.hasPrefix("tls-") == true)
            }
        }
    }

    @Test("over TLS without the token the call ends UNAUTHENTICATED")
    func noToken() async throws {
        try await withSignedServer(names: "IP:127.0.0.1") { port, group, pki in
            let configuration = try clientConfiguration(ca: pki.path("ca.pem"), token: nil)
            let (status, _) = try await score(port: port, group: group, configuration: configuration)
            #expect(status.code == .unauthenticated)
        }
    }

    @Test("a client that trusts another CA fails the connect, naming the verification failure")
    func wrongCA() async throws {
        try await withSignedServer(names: "IP:127.0.0.1") { port, group, pki in
            let other = try pki.makeCA(named: "other")
            let error = await connectError(port: port, group: group, configuration: try clientConfiguration(ca: other))
            #expect(error?.code == .tlsHandshakeFailed)
            #expect(error?.message.contains("certificate verify failed") == true, "\(String(describing: error))")
            #expect(error?.message.contains("unable to get local issuer certificate") == true)
        }
    }

    @Test("a certificate for other names fails the host check; skipping verification connects anyway")
    func wrongName() async throws {
        try await withSignedServer(names: "DNS:scoring.example") { port, group, pki in
            let configuration = try clientConfiguration(ca: pki.path("ca.pem"))
            for host in ["127.0.0.1", "localhost"] {
                let error = await connectError(host: host, port: port, group: group, configuration: configuration)
                #expect(error?.code == .tlsHandshakeFailed)
                #expect(error?.message.contains("certificate verify failed") == true, "\(String(describing: error))")
                #expect(error?.message.contains("mismatch") == true, "\(String(describing: error))")
            }
            var insecure = GRPCClientConfiguration()
            insecure.tls = try TLSClientContext(configuration: TLSClientConfiguration(verifiesServer: false))
            insecure.bearerToken = Self.token
            let (status, _) = try await score(port: port, group: group, configuration: insecure)
            #expect(status.code == .ok)
        }
    }

    @Test(
        "a server without h2 fails the connect: it refuses the handshake, or selects no protocol",
        arguments: [(["http/1.1"], "no application protocol"), ([], "selected ALPN protocol none, not h2")]
    )
    func alpnWithoutH2(serverProtocols: [String], reason: String) async throws {
        try await withSignedServer(names: "IP:127.0.0.1", alpn: serverProtocols) { port, group, pki in
            let configuration = try clientConfiguration(ca: pki.path("ca.pem"))
            let error = await connectError(port: port, group: group, configuration: configuration)
            #expect(error?.code == .tlsHandshakeFailed)
            #expect(error?.message.contains(reason) == true, "\(String(describing: error))")
        }
    }

    @Test("a cleartext h2c server fails the connect cleanly with the TLS reason")
    func cleartextServer() async throws {
        let pki = try TestPKI()
        let ca = try pki.makeCA(named: "ca")
        try await withServer(certificate: nil) { port, group in
            let error = await connectError(port: port, group: group, configuration: try clientConfiguration(ca: ca))
            #expect(error?.code == .tlsHandshakeFailed)
            #expect(error?.message.contains("TLS handshake failed") == true, "\(String(describing: error))")
        }
    }
}

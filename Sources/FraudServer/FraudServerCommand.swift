public import ArgumentParser
import Dispatch
import Foundation
import FraudAdmin
import FraudAuth
import FraudCore
public import FraudPersistence
import FraudService
import FraudTLS
import FraudTransport
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// `fraud-server`: the gRPC scoring server. Parses flags, wires the engine to the transport, serves until
/// SIGTERM/SIGINT, then drains in-flight calls (GOAWAY) and exits 0.
@main
struct FraudServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud-server",
        abstract: "Real-time fraud scoring over gRPC (TLS with ALPN h2, or h2c for local development)."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "TCP port to listen on (0 = any free port; the chosen one is printed).")
    var port = 50051

    @Option(help: "Event loop threads (default: one per core).")
    var threads = System.coreCount

    @Option(help: "Largest gRPC message accepted, in bytes.")
    var maxMessageBytes = 64 * 1024

    @Option(help: "SETTINGS_MAX_CONCURRENT_STREAMS per connection.")
    var maxConcurrentStreams: UInt32 = 1000

    @Option(help: "Model file (fraud-ctl train output); default: the bundled model trained on PaySim (data/model.json). 'rules' = the rules-v1 baseline.")
    var model: String?

    @Option(help: "Risk score at or above which a transaction is sent to REVIEW.")
    var reviewThreshold: Float?

    @Option(help: "Risk score at or above which a transaction is DECLINED.")
    var declineThreshold: Float?

    @Option(help: "How many recent transaction_ids are remembered for idempotent replays.")
    var idempotencyWindow = 2_000_000

    @Option(help: "Largest step a transaction may carry beyond the newest step scored so far (INVALID_ARGUMENT otherwise; 0 = no limit). A step far in the future would make every account of the velocity shards it touches look idle from then on.")
    var maxStepsAhead: UInt32 = 744

    @Option(help: "HTTP/1.1 admin port on the same host: /health, /metrics, /api/v1/analytics, /dashboard (0 = any free port; -1 = off).")
    var adminPort = 8061

    @Option(help: "Time slice asked of the Linux scheduler for each scoring event loop, in microseconds (sched_setattr runtime, Linux 6.12+; 100–100000; 0 = the kernel's default). A short slice lets a waking loop preempt other work on its core sooner.")
    var loopSliceMicros = 100

    @Option(help: "OS priority of the analytics query thread, of the PostgreSQL backend serving it (when local and permitted) and, unless normal, nice 10 for the admin event loop: idle (Linux SCHED_IDLE), low (nice 10) or normal.")
    var analyticsPriority: BackgroundPriority = .idle

    @Option(help: "PostgreSQL libpq URL for decisions (default: $FRAUD_POSTGRES_URL; none = journal only).")
    var postgresURL: String?

    @Option(help: "How the PostgreSQL writer steps aside while decisions are being appended (until a 0.5 s pause, 3/4 of --backlog-cap or 120 s): idle (its local backend at Linux SCHED_IDLE: a burst is scored first, PostgreSQL commits on free cores), low (backend at nice 10), normal (no change) or defer (nothing is sent to PostgreSQL until the burst is over; the journal holds the decisions). The writer thread runs at nice 10 unless normal.")
    var writerPriority: WriterPriority = .idle

    @Option(help: "Directory of the local decision journal.")
    var journalDir = "var/journal"

    @Option(help: "process: a decision is in the kernel (survives kill -9) before its answer; fsync: on disk (survives power loss), group commit.")
    var durability: Durability = .process

    @Option(help: "Decisions not yet in PostgreSQL before new calls are refused with UNAVAILABLE.")
    var backlogCap = 1_000_000

    @Option(
        help: "Longest a decision waits in the writer for more to fill a PostgreSQL batch, in milliseconds (each batch is one commit, i.e. one WAL flush)."
    )
    var commitIntervalMillis = 10

    @Option(help: "Steps of event time replayed into the engine at start-up (warm start); 0 disables.")
    var warmStartSteps: UInt32 = 24

    @Option(help: "Seconds to wait for in-flight calls when draining on SIGTERM.")
    var drainTimeout = 30

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "PEM certificate chain: serve gRPC over TLS (ALPN h2) and the admin port over HTTPS. Without it both ports are cleartext (local development only).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "PEM CA bundle: require client certificates signed by it on the gRPC port (mutual TLS).")
    var tlsClientCA: String?

    @Flag(help: "Keep the admin port on cleartext HTTP even when --tls-cert is given.")
    var adminCleartext = false

    @Option(help: "on: Score/ScoreStream need a scorer (or admin) JWT, analytics an analyst (or admin) one, /metrics admin; off: everything open (local development only, logged loudly).")
    var auth: AuthMode = .on

    @Option(help: "Key directory for JWTs (ES256 keys, <kid>.pem / <kid>.pub.pem; see fraud-ctl auth gen-key). Re-read on SIGHUP.")
    var jwtKeys: String?

    @Option(help: "Users file for POST /api/v1/auth/login (JSON lines with scrypt hashes; fraud-ctl auth add-user). Re-read on SIGHUP.")
    var users: String?

    @Option(help: "Append-only JSON-lines audit trail of logins, failures, denials and key reloads.")
    var auditLog = "var/audit.jsonl"

    @Option(help: "The iss claim tokens must carry (and issued tokens get).")
    var jwtIssuer = TokenAuthority.Configuration().issuer

    @Option(help: "The aud claim tokens must carry (and issued tokens get).")
    var jwtAudience = TokenAuthority.Configuration().audience

    @Option(help: "Lifetime of tokens issued by the login endpoint, in seconds.")
    var tokenTTL = 3600

    func validate() throws {
        guard loopSliceMicros == 0 || (100...100_000).contains(loopSliceMicros) else {
            throw ValidationError("--loop-slice-micros must be 0 (kernel default) or 100...100000, not \(loopSliceMicros)")
        }
        guard (1...10_000).contains(commitIntervalMillis) else {
            throw ValidationError("--commit-interval-millis must be 1...10000, not \(commitIntervalMillis)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "fraud-server")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        var engineConfiguration = RiskEngineConfiguration()
        engineConfiguration.idempotencyCapacity = idempotencyWindow
        engineConfiguration.maxStepsAhead = maxStepsAhead
        let trained: TrainedModel?
        switch model {
        case "rules":
            trained = nil
        case .some(let path):
            trained = try TrainedModel(json: Array(Data(contentsOf: URL(fileURLWithPath: path))))
        case nil:
            trained = .bundled
        }
        if let trained { engineConfiguration.adoptThresholds(of: trained) }
        if let reviewThreshold { engineConfiguration.reviewThreshold = reviewThreshold }
        if let declineThreshold { engineConfiguration.declineThreshold = declineThreshold }
        let engine =
            if let trained {
                RiskEngine(configuration: engineConfiguration, trainedModel: trained)
            } else {
                RiskEngine(configuration: engineConfiguration)
            }

        var persistence = PersistenceConfiguration(journalDirectory: journalDir)
        persistence.postgresURL = postgresURL ?? ProcessInfo.processInfo.environment["FRAUD_POSTGRES_URL"]
        persistence.durability = durability
        persistence.backlogCap = backlogCap
        persistence.batchInterval = .milliseconds(commitIntervalMillis)
        persistence.writerPriority = writerPriority
        var persistenceLogger = logger
        persistenceLogger[metadataKey: "component"] = "persistence"
        let decisionLog = try DecisionLog(configuration: persistence, logger: persistenceLogger)
        if persistence.postgresURL == nil {
            logger.warning(
                "no PostgreSQL configured (--postgres-url / FRAUD_POSTGRES_URL): decisions are scored and journaled in \(journalDir) only"
            )
        }
        if warmStartSteps > 0 {
            let started = ContinuousClock.now
            let records = decisionLog.warmStartRecords(lastSteps: warmStartSteps)
            for record in records {
                engine.restore(record.transaction, assessment: record.assessment)
            }
            logger.info(
                "warm start",
                metadata: [
                    "decisions": "\(records.count)", "steps": "\(warmStartSteps)",
                    "accounts": "\(engine.accountCount)", "took": "\(ContinuousClock.now - started)",
                ]
            )
        }
        let metrics = ServerMetrics()
        let service = ScoringService(engine: engine, decisionLog: decisionLog, metrics: metrics)

        var transport = TransportConfiguration()
        transport.observer = metrics
        transport.maxMessageBytes = maxMessageBytes
        transport.maxConcurrentStreams = maxConcurrentStreams

        let (rpcTLS, adminTLS) = try makeTLSContexts(logger: logger)
        let access = try makeAccessControl(logger: logger)
        transport.authorizer = access
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        if loopSliceMicros > 0 {
            // A short slice lets a scoring loop that wakes preempt whatever else runs on its core.
            let error = try await group.requestTimeSlice(micros: loopSliceMicros)
            if error != 0 {
                logger.notice(
                    "could not shorten the scoring loops' time slice (needs Linux 6.12+)",
                    metadata: ["errno": "\(error)"]
                )
            }
        }
        let server = try await GRPCServer.start(
            host: host,
            port: port,
            group: group,
            service: service,
            configuration: transport,
            logger: logger,
            security: Self.handlerFactory(rpcTLS)
        )
        logger.info(
            "fraud-server listening",
            metadata: [
                "address": "\(host):\(server.localPort ?? port)",
                "threads": "\(threads)",
                "model": "\(engine.modelVersion)",
                "tls": "\(rpcTLS == nil ? "off (cleartext h2c)" : tlsClientCA == nil ? "on" : "on, client certificates required")",
            ]
        )
        // Admin/analytics HTTP on its own event loop and its own PostgreSQL connections.
        let analytics = persistence.postgresURL.map { url in
            AnalyticsStore(
                url: url,
                threads: 1,
                statementTimeoutMillis: 2000,
                priority: analyticsPriority,
                logger: persistenceLogger
            )
        }
        var admin: AdminServer?
        if adminPort >= 0 {
            let context = AdminContext(
                engine: engine,
                service: service,
                decisionLog: decisionLog,
                metrics: metrics,
                analytics: analytics,
                access: access
            )
            // Scoring matters more than the admin port: a taken port is logged, not fatal.
            do {
                admin = try await AdminServer.start(
                    host: host,
                    port: adminPort,
                    context: context,
                    logger: logger,
                    security: Self.handlerFactory(adminTLS),
                    priority: analyticsPriority == .normal ? .normal : .low
                )
            } catch {
                logger.error("admin HTTP port \(adminPort) not available: \(error); serving gRPC without it")
            }
        }
        // A machine-readable line for scripts and tests that start the server on port 0.
        print("listening on \(host):\(server.localPort ?? port)")
        if let admin { print("admin listening on \(host):\(admin.localPort ?? adminPort)") }
        fflush(nil)

        // Health Watch streams hear about backlog-driven NOT_SERVING / SERVING changes within ~0.5 s.
        let healthPoller = Task {
            var last = service.servingStatus(of: "")
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                let now = service.servingStatus(of: "")
                if now != last {
                    logger.notice("health changed", metadata: ["status": "\(String(describing: now))"])
                    server.healthChanged()
                    last = now
                }
            }
        }

        // SIGHUP: JWT keys and users (audited), and the TLS certificate and key for new connections.
        let reloadLogger = logger
        let tlsContexts = [("gRPC", rpcTLS), ("admin", adminTLS)].compactMap { name, tls in tls.map { (name, $0) } }
        let reloader =
            access == nil && tlsContexts.isEmpty
            ? nil
            : Self.onSIGHUP {
                if let access { reloadLogger.notice("SIGHUP: \(access.reload())") }
                for (name, tls) in tlsContexts {
                    do throws(TLSError) {
                        try tls.reload()
                        let detail = "TLS certificate and key of the \(name) port: \(tls.configuration.certificateChainPath)"
                        access?.audit.record(AuditEvent(.keysReloaded, outcome: .success, detail: detail))
                        reloadLogger.notice("SIGHUP: reloaded \(detail)")
                    } catch {
                        let detail = "TLS certificate and key of the \(name) port: \(error); the old ones stay"
                        access?.audit.record(AuditEvent(.keysReloadFailed, outcome: .failure, detail: detail))
                        reloadLogger.error("SIGHUP: reload failed, \(detail)")
                    }
                }
                access?.audit.flush()
            }
        let auditFlusher = access.map { access in Task { await access.audit.run() } }

        let signal = await Self.waitForTerminationSignal()
        reloader?.cancel()
        auditFlusher?.cancel()
        access?.audit.flush()
        healthPoller.cancel()
        logger.info("received \(signal); draining in-flight calls", metadata: ["connections": "\(server.connectionCount)"])
        service.beginDraining()
        let drained = await server.drain(timeout: .seconds(drainTimeout))
        if drained {
            logger.info("drained; exiting")
        } else {
            logger.warning("drain timed out with \(server.connectionCount) connection(s) still open; exiting")
        }
        try? await group.shutdownGracefully()
        await admin?.shutdown()
        analytics?.shutdown()
        await decisionLog.shutdown()
        let stats = decisionLog.stats
        logger.info(
            "decision log closed",
            metadata: ["appended": "\(stats.appended)", "committed": "\(stats.committed)", "backlog": "\(stats.backlog)"]
        )
    }

    /// The authentication set-up, or `nil` with `--auth off`.
    private func makeAccessControl(logger: Logger) throws -> ServerAccessControl? {
        guard auth == .on else {
            for line in [
                "AUTHENTICATION IS OFF (--auth off): anyone who reaches the ports may score and read every decision",
                "use --auth on with --jwt-keys (and --users) outside local development",
            ] {
                logger.warning("\(line)")
            }
            return nil
        }
        guard let jwtKeys else {
            throw ValidationError(
                "authentication is on by default: give --jwt-keys DIR (and --users FILE for logins; scripts/dev-auth.sh makes throw-away ones), or --auth off for local development"
            )
        }
        let authority = try TokenAuthority(
            keyDirectory: jwtKeys,
            configuration: TokenAuthority.Configuration(issuer: jwtIssuer, audience: jwtAudience)
        )
        let directory = try users.map { path throws(AuthFailure) in try UserDirectory(path: path) }
        try FileManager.default.createDirectory(
            atPath: (auditLog as NSString).deletingLastPathComponent.isEmpty ? "." : (auditLog as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        let audit = try AuditLog(path: auditLog)
        logger.info(
            "authentication on",
            metadata: [
                "keys": "\(authority.keySet)", "users": "\(directory?.count ?? 0)", "audit_log": "\(auditLog)",
                "issuer": "\(jwtIssuer)", "audience": "\(jwtAudience)",
            ]
        )
        return ServerAccessControl(authority: authority, users: directory, audit: audit, tokenLifetime: TimeInterval(tokenTTL))
    }

    /// Runs `body` on every SIGHUP until the returned source is cancelled.
    private static func onSIGHUP(_ body: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "fraud-server.sighup"))
        source.setEventHandler(handler: body)
        source.resume()
        return source
    }

    /// Makes a TLS handler per connection, or `nil` for cleartext.
    private static func handlerFactory(_ tls: ReloadableTLSContext?) -> (@Sendable () -> any ChannelHandler)? {
        guard let tls else { return nil }
        return { tls.makeServerHandler() }
    }

    /// The TLS contexts for the gRPC port (ALPN h2) and the admin port (ALPN http/1.1), or `nil` for cleartext.
    private func makeTLSContexts(logger: Logger) throws -> (rpc: ReloadableTLSContext?, admin: ReloadableTLSContext?) {
        guard let tlsCert else {
            if tlsKey != nil || tlsClientCA != nil {
                throw ValidationError("--tls-key and --tls-client-ca need --tls-cert")
            }
            logger.warning("TLS is off: gRPC and admin ports speak cleartext (use --tls-cert/--tls-key outside local development)")
            return (nil, nil)
        }
        guard let tlsKey else { throw ValidationError("--tls-cert needs --tls-key") }
        let rpc = try ReloadableTLSContext(
            configuration: TLSConfiguration(
                certificateChainPath: tlsCert,
                privateKeyPath: tlsKey,
                clientCAPath: tlsClientCA,
                applicationProtocols: ["h2"]
            )
        )
        if adminCleartext {
            logger.warning("admin port stays cleartext HTTP (--admin-cleartext)")
            return (rpc, nil)
        }
        let admin = try ReloadableTLSContext(
            configuration: TLSConfiguration(
                certificateChainPath: tlsCert,
                privateKeyPath: tlsKey,
                applicationProtocols: ["http/1.1"]
            )
        )
        return (rpc, admin)
    }

    /// Suspends until SIGTERM or SIGINT arrives and returns its name.
    private static func waitForTerminationSignal() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let queue = DispatchQueue(label: "fraud-server.signals")
            let once = SignalOnce(continuation)
            for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { once.fire(name) }
                source.resume()
                once.keep(source)
            }
        }
    }
}

/// Resumes a continuation exactly once, from whichever signal comes first; keeps the sources alive.
private final class SignalOnce: @unchecked Sendable {
    // Touched only on the signal queue (and during setup before any handler can run).
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) { sources.append(source) }

    func fire(_ name: String) {
        continuation?.resume(returning: name)
        continuation = nil
    }
}

extension Durability: ExpressibleByArgument {}

/// `--auth on|off`.
enum AuthMode: String, ExpressibleByArgument, Sendable {
    case on
    case off
}

extension BackgroundPriority: ExpressibleByArgument {}

extension WriterPriority: ExpressibleByArgument {}

public import ArgumentParser
import Dispatch
import Foundation
import FraudAdmin
import FraudCore
public import FraudPersistence
import FraudService
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
        abstract: "Real-time fraud scoring over gRPC (h2c)."
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

    @Option(help: "HTTP/1.1 admin port on the same host: /health, /metrics, /api/v1/analytics, /dashboard (0 = any free port; -1 = off).")
    var adminPort = 8061

    @Option(help: "PostgreSQL libpq URL for decisions (default: $FRAUD_POSTGRES_URL; none = journal only).")
    var postgresURL: String?

    @Option(help: "Directory of the local decision journal.")
    var journalDir = "var/journal"

    @Option(help: "process: a decision is in the kernel (survives kill -9) before its answer; fsync: on disk (survives power loss), group commit.")
    var durability: Durability = .process

    @Option(help: "Decisions not yet in PostgreSQL before new calls are refused with UNAVAILABLE.")
    var backlogCap = 1_000_000

    @Option(help: "Steps of event time replayed into the engine at start-up (warm start); 0 disables.")
    var warmStartSteps: UInt32 = 24

    @Option(help: "Seconds to wait for in-flight calls when draining on SIGTERM.")
    var drainTimeout = 30

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "fraud-server")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        var engineConfiguration = RiskEngineConfiguration()
        engineConfiguration.idempotencyCapacity = idempotencyWindow
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

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let server = try await GRPCServer.start(
            host: host,
            port: port,
            group: group,
            service: service,
            configuration: transport,
            logger: logger
        )
        logger.info(
            "fraud-server listening",
            metadata: [
                "address": "\(host):\(server.localPort ?? port)",
                "threads": "\(threads)",
                "model": "\(engine.modelVersion)",
            ]
        )
        // Admin/analytics HTTP on its own event loop and its own PostgreSQL connections.
        let analytics = persistence.postgresURL.map { url in
            AnalyticsStore(url: url, threads: 1, statementTimeoutMillis: 2000, logger: persistenceLogger)
        }
        var admin: AdminServer?
        if adminPort >= 0 {
            let context = AdminContext(
                engine: engine,
                service: service,
                decisionLog: decisionLog,
                metrics: metrics,
                analytics: analytics
            )
            // Scoring matters more than the admin port: a taken port is logged, not fatal.
            do {
                admin = try await AdminServer.start(host: host, port: adminPort, context: context, logger: logger)
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

        let signal = await Self.waitForTerminationSignal()
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

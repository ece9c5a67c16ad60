import ArgumentParser
import Dispatch
import Foundation
import FraudClient
import FraudCore
import FraudTransport
import NIOCore
import NIOPosix

/// `fraud-loadgen`: open- or closed-loop load against a fraud-server, HDR latency percentiles, JSON report,
/// pass/fail targets, and a capacity sweep.
@main
struct LoadGenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud-loadgen",
        abstract: "Load generator for fraud.v1.FraudScoring/Score (HTTP/2 through libnghttp2, h2c or TLS).",
        discussion: """
            Open loop (--rate N) sends on a fixed schedule and measures every call from its scheduled send \
            time, so a stalled server shows its whole queue (no coordinated omission). Closed loop \
            (--rate max) keeps --streams calls in flight on each connection.

            A server with authentication on (fraud-server's default) needs a scorer token: --token-file or \
            $FRAUD_TOKEN. A server with --tls-cert needs --tls (and --tls-ca for a private CA). Calls the server \
            refuses are counted by status (UNAUTHENTICATED, PERMISSION_DENIED, ...); when every call is refused \
            for want of a valid token, the run exits 3.
            """
    )

    @Option(help: "Server address, host:port.")
    var target = "127.0.0.1:50051"

    @OptionGroup(title: "TLS and authentication")
    var security: ClientSecurityOptions

    @Option(help: "TCP connections.")
    var connections = 4

    @Option(
        help: """
            Calls in flight per connection (closed loop; default 32), or the cap before requests queue in the \
            client (open loop; default 1000).
            """
    )
    var streams: Int?

    @Option(help: "Arrival rate in requests/s (open loop), or 'max' (closed loop).")
    var rate = RateOption.max

    @Option(help: "Measured seconds (after the warm-up).")
    var duration = 10.0

    @Option(help: "Seconds of load before measuring.")
    var warmup = 2.0

    @Option(help: "Per-call deadline in milliseconds, sent as grpc-timeout (0 = none).")
    var timeout = 1000.0

    @Option(help: "Seconds to wait for answers after the last send (default: timeout + 1 s, at least 2 s).")
    var drainTimeout: Double?

    @Option(
        help: "PaySim CSV the requests are built from (default: data/paysim_sample.csv when present, else synthetic)."
    )
    var input: String?

    @Flag(help: "Use synthetic PaySim-like transactions instead of a CSV.")
    var synthetic = false

    @Option(help: "Distinct request bodies to cycle through.")
    var templates = 10_000

    @Flag(
        help: """
            Send one prebuilt request, the same bytes every time (what h2load -d does; all but the first are \
            idempotent replays).
            """
    )
    var fixedRequest = false

    @Option(help: "Write the --fixed-request request (length-prefixed, as for h2load -d) to this file and exit.")
    var writeRequest: String?

    @Option(help: "Run id in every transaction id (default: random).")
    var runID: String?

    @Option(help: "Event loop threads (default: min(connections, cores)).")
    var threads: Int?

    @Option(
        help: """
            EEVDF time slice of the event loop threads in microseconds (Linux 6.12+; 0 = kernel default): a \
            short slice lets an answer be taken when it arrives instead of after another task's slice, so the \
            latency measured on a shared machine is closer to the server's.
            """
    )
    var loopSliceMicros = 100

    @Option(help: "Write the report as JSON to this file.")
    var jsonOut: String?

    @Option(help: "Fail (exit 2) when the achieved rate is below this many requests/s.")
    var checkTps: Double?

    @Option(help: "Fail (exit 2) when p95 latency is above this many milliseconds.")
    var checkP95Ms: Double?

    @Flag(help: "Step the open-loop rate up until the p95 target breaks; print the capacity table.")
    var sweep = false

    @Option(help: "Sweep: first rate, requests/s.")
    var sweepStart = 500.0

    @Option(help: "Sweep: factor between steps while they pass.")
    var sweepFactor = 2.0

    @Option(help: "Sweep: bisection steps after the first failing rate.")
    var sweepRefinements = 3

    @Option(help: "Sweep: highest rate tried, requests/s.")
    var sweepMax = 1_000_000.0

    @Option(help: "Sweep: measured seconds per step.")
    var sweepStepDuration = 5.0

    @Option(help: "Sweep: p95 latency target in ms (default: --check-p95-ms, else 100).")
    var sweepP95Ms: Double?

    @Option(help: "Sweep: write the capacity chart as SVG to this file.")
    var svgOut: String?

    @Flag(help: "No live line every second.")
    var quiet = false

    mutating func validate() throws {
        guard GRPCTarget(parsing: target) != nil else { throw ValidationError("--target must be host:port") }
        guard connections > 0 else { throw ValidationError("--connections must be at least 1") }
        if let streams, streams < 1 { throw ValidationError("--streams must be at least 1") }
        guard duration > 0, warmup >= 0, timeout >= 0 else {
            throw ValidationError("--duration must be > 0, --warmup and --timeout >= 0")
        }
        guard templates > 0 else { throw ValidationError("--templates must be at least 1") }
        guard loopSliceMicros == 0 || (100...100_000).contains(loopSliceMicros) else {
            throw ValidationError("--loop-slice-micros must be 0 (kernel default) or 100...100000, not \(loopSliceMicros)")
        }
        if sweep && sweepStart <= 0 { throw ValidationError("--sweep-start must be > 0") }
        if let runID, runID.isEmpty || runID.utf8.count > 40 || runID.utf8.contains(where: { $0 <= 0x20 || $0 > 0x7E })
        {
            throw ValidationError("--run-id must be 1...40 printable ASCII characters")
        }
    }

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? min(connections, System.coreCount))
        if loopSliceMicros > 0, try await group.requestTimeSlice(micros: loopSliceMicros) != 0, !quiet {
            FileHandle.standardError.write(Data("fraud-loadgen: kernel default time slice (--loop-slice-micros needs Linux 6.12+)\n".utf8))
        }
        do {
            try await measure(group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    private func measure(group: MultiThreadedEventLoopGroup) async throws {
        let target = GRPCTarget(parsing: target)!
        let transactions = try loadTransactions()
        let runID = runID ?? Self.randomRunID()
        if let writeRequest {
            let ring = RequestRing(transactions: transactions, idPrefix: "lg-\(runID)-fixed-", fixed: true)
            try Data(ring.message(sequence: 0)).write(to: URL(fileURLWithPath: writeRequest))
            print("wrote \(ring.transactionID(sequence: 0)) to \(writeRequest)")
            return
        }
        let stopSwitch = StopSwitch()
        let signalSource = Self.installInterruptHandler(stopSwitch)
        defer { signalSource.cancel() }

        var client = GRPCClientConfiguration()
        try security.apply(to: &client)
        if let warning = security.warning { Self.printError(warning) }
        var settings = LoadRunSettings(
            target: target,
            client: client,
            connections: connections,
            streams: streams ?? (rate.perSecond == nil ? 32 : 1000),
            rate: rate.perSecond,
            durationSeconds: duration,
            warmupSeconds: warmup,
            timeoutMs: timeout,
            drainSeconds: drainTimeout ?? max(2, timeout / 1000 + 1),
            fixedRequest: fixedRequest,
            liveLines: !quiet,
            label: ""
        )

        if sweep {
            try await runSweep(
                settings: &settings,
                transactions: transactions,
                runID: runID,
                group: group,
                stopSwitch: stopSwitch
            )
            return
        }

        var report = try await LoadRun.run(
            settings,
            transactions: transactions,
            idPrefix: "lg-\(runID)-",
            group: group,
            stopSwitch: stopSwitch
        )
        report.runID = runID
        let targets = LoadTargets(minRate: checkTps, maxP95Ms: checkP95Ms)
        if checkTps != nil || checkP95Ms != nil {
            report.checkMisses = targets.misses(in: report)
        }
        print(report.text)
        if let jsonOut { try Self.writeJSON(report, to: jsonOut) }
        if let line = Self.refusalLine(for: report) {
            Self.printError(line)
            throw ExitCode(3)
        }
        if let line = targets.failureLine(for: report) {
            Self.printError(line)
            throw ExitCode(2)
        }
    }

    private func runSweep(
        settings: inout LoadRunSettings,
        transactions: [RawTransaction],
        runID: String,
        group: any EventLoopGroup,
        stopSwitch: StopSwitch
    ) async throws {
        let targetP95 = sweepP95Ms ?? checkP95Ms ?? 100
        var sweepState = RateSweep(
            startRate: sweepStart,
            growthFactor: sweepFactor,
            refinements: sweepRefinements,
            maxRate: max(sweepMax, sweepStart)
        )
        settings.durationSeconds = sweepStepDuration
        settings.streams = streams ?? 1000
        var index = 0
        while let rate = sweepState.nextRate, !stopSwitch.isStopped {
            index += 1
            settings.rate = rate
            settings.label = "step \(index) @ \(Int(rate))/s "
            let report = try await LoadRun.run(
                settings,
                transactions: transactions,
                idPrefix: "lg-\(runID)-s\(index)-",
                group: group,
                stopSwitch: stopSwitch
            )
            var step = RateSweep.Step(
                offeredRate: rate,
                achievedRate: report.achievedRate,
                p50Ms: report.latencyMs.p50,
                p95Ms: report.latencyMs.p95,
                p99Ms: report.latencyMs.p99,
                maxMs: report.latencyMs.max,
                errors: report.errors,
                passed: false
            )
            step.passed = RateSweep.passes(step, targetP95Ms: targetP95)
            sweepState.record(step)
            Self.printError(
                "step \(index): offered \(Int(rate))/s achieved \(String(format: "%.0f", step.achievedRate))/s "
                    + "p95 \(String(format: "%.3f", step.p95Ms)) ms errors \(step.errors)"
                    + " -> \(step.passed ? "pass" : "FAIL")"
            )
        }
        let result = SweepReport(
            target: settings.target.description,
            connections: settings.connections,
            streams: settings.streams,
            stepSeconds: sweepStepDuration,
            targetP95Ms: targetP95,
            steps: sweepState.steps,
            capacityRate: sweepState.capacity,
            runID: runID
        )
        print(result.markdownTable)
        if let jsonOut { try Self.writeJSON(result, to: jsonOut) }
        if let svgOut {
            let svg = CapacityChart.svg(
                steps: sweepState.steps,
                targetP95Ms: targetP95,
                title: "fraud-server capacity (\(settings.target))"
            )
            try Data(svg.utf8).write(to: URL(fileURLWithPath: svgOut))
        }
        if let checkTps, (result.capacityRate ?? 0) < checkTps {
            Self.printError(
                "CHECK FAILED: capacity \(String(format: "%.0f", result.capacityRate ?? 0)) req/s at p95 <= "
                    + "\(String(format: "%g", targetP95)) ms is below --check-tps \(String(format: "%g", checkTps))"
            )
            throw ExitCode(2)
        }
    }

    private func loadTransactions() throws -> [RawTransaction] {
        let path =
            input ?? (FileManager.default.fileExists(atPath: "data/paysim_sample.csv") ? "data/paysim_sample.csv" : nil)
        // A fixed request (or the request file) is the first transaction: read no more.
        let wanted = fixedRequest || writeRequest != nil ? 1 : templates
        guard !synthetic, let path else {
            return SyntheticTransactions.make(count: wanted)
        }
        var transactions: [RawTransaction] = []
        transactions.reserveCapacity(wanted)
        try CSVLineReader(path: path).forEachLine { lineNumber, _, line in
            if lineNumber == 1 && ReplayPlan.isHeader(line) { return true }
            let text = String(decoding: line, as: UTF8.self)
            guard let row = try? PaySimRow(csvLine: text[...]) else { return true }
            let raw = row.transaction(id: "x")
            guard (try? Transaction.validated(raw)) != nil else { return true }
            transactions.append(raw)
            return transactions.count < wanted
        }
        guard !transactions.isEmpty else {
            throw ValidationError("\(path) has no valid PaySim rows")
        }
        return transactions
    }

    /// When no call succeeded and the server refused calls for their credentials, a line that says so.
    static func refusalLine(for report: LoadReport) -> String? {
        let refusals = ["UNAUTHENTICATED", "PERMISSION_DENIED"].filter { (report.errorsByStatus[$0] ?? 0) > 0 }
        guard report.requests == 0, !refusals.isEmpty else { return nil }
        return "REFUSED: the server answered \(refusals.joined(separator: " and ")) to every call: pass a valid "
            + "scorer token (--token-file FILE or $\(ClientSecurityOptions.tokenVariable))"
    }

    private static func randomRunID() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(to: 8)
    }

    private static func writeJSON(_ value: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    }

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private static func installInterruptHandler(_ stopSwitch: StopSwitch) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if stopSwitch.isStopped { Foundation.exit(130) }
            printError("interrupted: stopping, waiting for answers (Ctrl-C again to quit now)")
            stopSwitch.stop()
        }
        source.resume()
        return source
    }
}

/// `--rate`: a number of requests/s, or `max`.
enum RateOption: ExpressibleByArgument, Sendable {
    case max
    case perSecond(Double)

    init?(argument: String) {
        if argument == "max" {
            self = .max
        } else if let value = Double(argument), value > 0, value.isFinite {
            self = .perSecond(value)
        } else {
            return nil
        }
    }

    var perSecond: Double? {
        if case .perSecond(let value) = self { return value }
        return nil
    }

    var defaultValueDescription: String {
        switch self {
        case .max: "max"
        case .perSecond(let value): "\(value)"
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

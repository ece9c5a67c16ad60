import Foundation
import FraudClient
import FraudCore
import Histogram
import NIOCore
import Synchronization

/// The settings of one measured run (a plain run, or one step of a sweep).
struct LoadRunSettings: Sendable {
    var target: GRPCTarget
    /// TLS and the bearer token (``LoadRun`` turns response collection off).
    var client: GRPCClientConfiguration
    var connections: Int
    var streams: Int
    /// Open-loop rate, or `nil` for closed loop.
    var rate: Double?
    var durationSeconds: Double
    var warmupSeconds: Double
    /// `grpc-timeout` in milliseconds; 0 = none.
    var timeoutMs: Double
    /// How long to wait for answers after the last send.
    var drainSeconds: Double
    var fixedRequest: Bool
    /// Print a live line every second (stderr).
    var liveLines: Bool
    /// Prefix of the live lines (e.g. the sweep step).
    var label: String
}

/// Stops running drivers on Ctrl-C (a second Ctrl-C exits at once).
final class StopSwitch: Sendable {
    private let state = Mutex<(stopped: Bool, actions: [@Sendable () -> Void])>((false, []))

    /// Whether Ctrl-C was pressed.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Registers what to do on stop (runs at once if already stopped).
    func onStop(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.stopped { return true }
            state.actions.append(action)
            return false
        }
        if runNow { action() }
    }

    /// Forgets the registered actions (between sweep steps).
    func reset() {
        state.withLock { $0.actions.removeAll() }
    }

    func stop() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            state.stopped = true
            defer { state.actions.removeAll() }
            return state.actions
        }
        for action in actions { action() }
    }
}

/// Runs one measured load: connects, starts one ``LoadDriver`` per connection at the same instant, prints a
/// live line every second, and merges the drivers' measurements into a ``LoadReport``.
enum LoadRun {
    static func run(
        _ settings: LoadRunSettings,
        transactions: [RawTransaction],
        idPrefix: String,
        group: any EventLoopGroup,
        stopSwitch: StopSwitch
    ) async throws -> LoadReport {
        // Only grpc-status is needed per call: no header strings or bodies are kept.
        var configuration = settings.client
        configuration.collectsResponses = false
        var connections: [NIOLoopBound<GRPCClientConnection>] = []
        for _ in 0..<settings.connections {
            connections.append(
                try await GRPCClientConnection.connect(
                    to: settings.target,
                    on: group.next(),
                    configuration: configuration
                ).get()
            )
        }

        // One ring for every connection: lane l numbers its calls from l * 10^10, so ids never collide.
        let ring = RequestRing(
            transactions: transactions,
            idPrefix: settings.fixedRequest ? "\(idPrefix)fixed-" : idPrefix,
            fixed: settings.fixedRequest
        )
        var drivers: [NIOLoopBound<LoadDriver>] = []
        var results: [EventLoopFuture<DriverResult>] = []
        for bound in connections {
            let loop = bound.eventLoop
            let driver = try await loop.submit {
                NIOLoopBound(LoadDriver(connection: bound.value, ring: ring), eventLoop: loop)
            }.get()
            drivers.append(driver)
            results.append(loop.flatSubmit { driver.value.resultFuture })
            stopSwitch.onStop {
                loop.execute { driver.value.stopEarly() }
            }
        }

        // Everything is ready: fix the clock now so every lane starts at the same instant.
        let start = NIODeadline.now().uptimeNanoseconds + 5_000_000
        let warmupEnd = start + nanos(settings.warmupSeconds)
        let stop = warmupEnd + nanos(settings.durationSeconds)
        let timeout: Duration? = settings.timeoutMs > 0 ? .microseconds(Int64(settings.timeoutMs * 1000)) : nil
        let basePlan = LoadPlan(
            rate: settings.rate,
            streams: settings.streams,
            lane: 0,
            laneCount: settings.connections,
            startNanos: start,
            warmupEndNanos: warmupEnd,
            stopNanos: stop,
            drainDeadlineNanos: stop + nanos(settings.drainSeconds),
            headers: GRPCCallHeaders.make(timeout: timeout),
            recordsInterval: settings.liveLines
        )
        for (lane, driver) in drivers.enumerated() {
            var lanePlan = basePlan
            lanePlan.lane = lane
            let plan = lanePlan
            driver.eventLoop.execute { driver.value.start(plan) }
        }

        let reporterLoop = group.next()
        let allDone = EventLoopFuture.whenAllSucceed(results, on: reporterLoop)
        if settings.liveLines {
            // Driven by an event-loop timer rather than Task.sleep: it must tick on time while every core is busy.
            let began = NIODeadline.uptimeNanoseconds(start)
            let previous = MutexBox(NIODeadline.now())
            let driverList = drivers
            let task = reporterLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                let futures = driverList.map { driver in driver.eventLoop.submit { driver.value.takeInterval() } }
                EventLoopFuture.whenAllSucceed(futures, on: reporterLoop).whenSuccess { intervals in
                    let now = NIODeadline.now()
                    let window = max(1e-3, Double((now - previous.withLockedValue { $0 }).nanoseconds) / 1e9)
                    previous.withLockedValue { $0 = now }
                    let elapsed = Double((now - began).nanoseconds) / 1e9
                    let phase: String
                    if now.uptimeNanoseconds < warmupEnd {
                        phase = " (warm-up)"
                    } else if now.uptimeNanoseconds > stop {
                        phase = " (draining)"
                    } else {
                        phase = ""
                    }
                    printLive(settings.label, elapsed: elapsed, window: window, stats: merge(intervals), phase: phase)
                }
            }
            allDone.whenComplete { _ in task.cancel() }
        }

        let perDriver = try await allDone.get()
        stopSwitch.reset()
        return makeReport(settings, results: perDriver)
    }

    private static func nanos(_ seconds: Double) -> UInt64 {
        UInt64(max(0, seconds) * 1e9)
    }

    private static func merge(_ intervals: [IntervalStats]) -> IntervalStats {
        var total = IntervalStats()
        for stats in intervals {
            total.ok += stats.ok
            total.errors += stats.errors
            total.inFlight += stats.inFlight
            total.backlog += stats.backlog
            total.histogram.add(stats.histogram)
        }
        return total
    }

    private static func printLive(_ label: String, elapsed: Double, window: Double, stats: IntervalStats, phase: String)
    {
        let h = stats.histogram
        let ms = { (value: UInt64) in String(format: "%.3f", Double(value) / 1000) }
        var line =
            "\(label)[\(String(format: "%5.1f", elapsed))s] \(String(format: "%.0f", Double(stats.ok) / window)) ok/s"
        if stats.ok > 0 {
            line +=
                "  p50 \(ms(h.valueAtPercentile(50))) ms  p99 \(ms(h.valueAtPercentile(99))) ms  max \(ms(h.max)) ms"
        }
        line += "  errors \(stats.errors)  in flight \(stats.inFlight)"
        if stats.backlog > 0 { line += "  backlog \(stats.backlog)" }
        FileHandle.standardError.write(Data((line + phase + "\n").utf8))
    }

    static func makeReport(_ settings: LoadRunSettings, results: [DriverResult]) -> LoadReport {
        var histogram = LatencyHistogram.make()
        var ok = 0
        var errors: [String: Int] = [:]
        for result in results {
            histogram.add(result.histogram)
            ok += result.ok
            errors.merge(result.errorsByStatus, uniquingKeysWith: +)
        }
        let latency: LatencyPercentiles
        if histogram.totalCount > 0 {
            let ms = { (value: UInt64) in Double(value) / 1000 }
            latency = LatencyPercentiles(
                p50: ms(histogram.valueAtPercentile(50)),
                p90: ms(histogram.valueAtPercentile(90)),
                p95: ms(histogram.valueAtPercentile(95)),
                p99: ms(histogram.valueAtPercentile(99)),
                p999: ms(histogram.valueAtPercentile(99.9)),
                max: ms(histogram.max),
                mean: histogram.mean / 1000
            )
        } else {
            latency = .zero
        }
        let elapsed = max(settings.durationSeconds, 1e-9)
        return LoadReport(
            target: settings.target.description,
            mode: settings.rate == nil ? "closed" : "open",
            offeredRate: settings.rate,
            connections: settings.connections,
            streams: settings.streams,
            durationSeconds: settings.durationSeconds,
            warmupSeconds: settings.warmupSeconds,
            timeoutMs: settings.timeoutMs,
            fixedRequest: settings.fixedRequest,
            requests: ok,
            errors: errors.values.reduce(0, +),
            errorsByStatus: errors,
            achievedRate: Double(ok) / elapsed,
            elapsedSeconds: settings.durationSeconds,
            latencyMs: latency
        )
    }
}

/// A `Mutex` that can be captured by sendable closures.
final class MutexBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLockedValue<R: Sendable>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }
}

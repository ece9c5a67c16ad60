import FraudClient
import FraudWire
import Histogram
import NIOCore

/// What one connection's driver is asked to do (the same for every connection but its lane).
struct LoadPlan: Sendable {
    /// Requests per second for the whole run (open loop), or `nil` for closed loop.
    var rate: Double?
    /// Closed loop: calls kept in flight. Open loop: the most in flight before requests queue in the client.
    var streams: Int
    /// Lane (connection index) and lane count: open-loop slots are interleaved across connections.
    var lane: Int
    var laneCount: Int
    /// Uptime nanoseconds: first send, end of warm-up, end of sending, last moment to wait for answers.
    var startNanos: UInt64
    var warmupEndNanos: UInt64
    var stopNanos: UInt64
    var drainDeadlineNanos: UInt64
    /// Request headers (incl. `grpc-timeout`).
    var headers: [(String, String)]
    /// Whether the live line's per-second latency histogram is kept (not with `--quiet`).
    var recordsInterval = true
}

/// Counters of one connection for the live line (since the previous one).
struct IntervalStats: Sendable {
    var ok = 0
    var errors = 0
    var inFlight = 0
    var backlog = 0
    var histogram = LatencyHistogram.make()
}

/// Everything one connection measured in the window [warm-up end, stop).
struct DriverResult: Sendable {
    var ok = 0
    var errorsByStatus: [String: Int] = [:]
    var histogram = LatencyHistogram.make()
}

/// Latency histograms in microseconds, 1 µs ... 100 s, 3 significant digits.
enum LatencyHistogram {
    static let highestMicros: UInt64 = 100_000_000

    static func make() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: highestMicros,
            numberOfSignificantValueDigits: .three
        )
    }

    static func micros(fromNanos nanos: UInt64) -> UInt64 {
        min(max(1, nanos / 1000), highestMicros)
    }
}

/// Drives the load on one connection: paces (open loop) or refills (closed loop) calls, records latency.
///
/// The hot path makes one allocation per call on our side (the copy of the pre-encoded request whose id
/// digits are patched); the call's tag is its scheduled (open loop) or actual (closed loop) send time, so
/// no per-call state is kept here.
///
/// - Important: Confined to the connection's event loop.
final class LoadDriver {
    private let connection: GRPCClientConnection
    private let ring: RequestRing
    @exclusivity(unchecked) private var plan: LoadPlan
    @exclusivity(unchecked) private var schedule: OpenLoopSchedule?
    private let finished: EventLoopPromise<DriverResult>

    // The per-call state skips the runtime exclusivity checks: confined to the event loop, and no access to
    // these fields is held open across a call out.

    /// Open loop: index of the next request to send, and how many were due at the last tick.
    @exclusivity(unchecked) private var nextRequest = 0
    @exclusivity(unchecked) private var dueRequests = 0
    /// Id counter.
    @exclusivity(unchecked) private var sequence: UInt64 = 0
    @exclusivity(unchecked) private var inFlight = 0
    @exclusivity(unchecked) private var isStopping = false
    @exclusivity(unchecked) private var isFinished = false
    private var timer: NIOScheduledCallback?
    /// The request headers, encoded once in ``start(_:)``.
    @exclusivity(unchecked) private var requestHead: GRPCRequestHead?

    @exclusivity(unchecked) private var result = DriverResult()
    @exclusivity(unchecked) private var interval = IntervalStats()
    @exclusivity(unchecked) private var errorCounts = [Int](repeating: 0, count: 18)  // by status code; 17 = no answer

    init(connection: GRPCClientConnection, ring: RequestRing) {
        self.connection = connection
        self.ring = ring
        self.plan = LoadPlan(
            rate: nil,
            streams: 1,
            lane: 0,
            laneCount: 1,
            startNanos: 0,
            warmupEndNanos: 0,
            stopNanos: 0,
            drainDeadlineNanos: 0,
            headers: []
        )
        self.finished = connection.eventLoop.makePromise(of: DriverResult.self)
    }

    /// Completed with the measurements once the run and its drain are over.
    var resultFuture: EventLoopFuture<DriverResult> { finished.futureResult }

    /// Starts sending at `plan.startNanos`.
    func start(_ plan: LoadPlan) {
        self.plan = plan
        requestHead = connection.makeRequestHead(path: GRPCCallHeaders.scorePath, headers: plan.headers)
        sequence = UInt64(plan.lane) * 10_000_000_000
        if let rate = plan.rate {
            schedule = OpenLoopSchedule(
                startNanos: plan.startNanos,
                ratePerSecond: rate,
                lane: plan.lane,
                laneCount: plan.laneCount
            )
        }
        // A strong reference (no unowned check per call); the cycle ends in `finish()`, which every run reaches.
        connection.onTaggedResponse = { tag, callResult in
            self.completed(tag: tag, status: callResult.status.code)
        }
        connection.onClose = { [unowned self] in
            self.connectionClosed()
        }
        arm(at: plan.startNanos)
    }

    /// Stops sending now (Ctrl-C); answers are still awaited until the drain deadline.
    func stopEarly() {
        guard !isStopping else { return }
        isStopping = true
        dueRequests = nextRequest
        finishIfDrained()
    }

    /// The live-line counters since the last call, reset.
    func takeInterval() -> IntervalStats {
        var stats = interval
        stats.inFlight = inFlight
        stats.backlog = max(0, dueRequests - nextRequest)
        interval.ok = 0
        interval.errors = 0
        interval.histogram.reset()
        return stats
    }

    // MARK: - Pacing

    private func arm(at nanos: UInt64) {
        if let timer { connection.eventLoop.assumeIsolated().cancelScheduledCallback(timer) }
        timer = try? connection.eventLoop.assumeIsolated().scheduleCallback(
            at: NIODeadline.uptimeNanoseconds(nanos),
            handler: Tick(driver: self)
        )
    }

    fileprivate func tick() {
        timer = nil
        guard !isFinished else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        if now >= plan.drainDeadlineNanos {
            finish()
            return
        }
        if now >= plan.stopNanos && !isStopping {
            isStopping = true
        }
        if let schedule {
            if !isStopping {
                dueRequests = schedule.requestsDue(at: now)
            } else {
                // Requests scheduled before the stop are still owed; no new ones.
                dueRequests = max(dueRequests, schedule.requestsDue(at: plan.stopNanos - 1))
            }
            sendBacklog()
            if !isStopping {
                // Next tick when the next request is due; at least 50 µs apart so high rates send batches.
                arm(at: max(schedule.sendTime(ofRequest: dueRequests), now + 50_000))
            } else {
                arm(at: plan.drainDeadlineNanos)
            }
        } else {
            if !isStopping {
                while inFlight < plan.streams && send(tag: now) {}
                connection.flush()
                arm(at: plan.stopNanos)
            } else {
                arm(at: plan.drainDeadlineNanos)
            }
        }
        finishIfDrained()
    }

    /// Open loop: sends what is due, as far as the in-flight cap allows (the rest waits for answers; its
    /// latency keeps counting from the scheduled time).
    private func sendBacklog() {
        guard let schedule else { return }
        var sent = false
        while nextRequest < dueRequests && inFlight < plan.streams {
            guard send(tag: schedule.sendTime(ofRequest: nextRequest)) else { break }
            nextRequest += 1
            sent = true
        }
        if sent { connection.flush() }
    }

    private func send(tag: UInt64) -> Bool {
        guard let requestHead, connection.startCall(requestHead, message: ring.message(sequence: sequence), tag: tag)
        else { return false }
        sequence += 1
        inFlight += 1
        return true
    }

    // MARK: - Answers

    private func completed(tag: UInt64, status: Status.Code) {
        inFlight -= 1
        let now = NIODeadline.now().uptimeNanoseconds
        let measured = tag >= plan.warmupEndNanos && tag < plan.stopNanos
        if status == .ok {
            let micros = LatencyHistogram.micros(fromNanos: now > tag ? now - tag : 0)
            interval.ok += 1
            if plan.recordsInterval { _ = interval.histogram.record(micros) }
            if measured {
                result.ok += 1
                _ = result.histogram.record(micros)
            }
        } else {
            interval.errors += 1
            if measured { errorCounts[status.rawValue] += 1 }
        }
        if isFinished { return }
        if schedule != nil {
            sendBacklog()
        } else if !isStopping {
            if now >= plan.stopNanos {
                isStopping = true
            } else {
                _ = send(tag: now)
            }
        }
        finishIfDrained()
    }

    private func connectionClosed() {
        // Every open call was just completed with UNAVAILABLE; nothing more can be sent.
        isStopping = true
        finish()
    }

    private func finishIfDrained() {
        if isStopping && inFlight == 0 && nextRequest >= dueRequests { finish() }
    }

    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        if let timer {
            connection.eventLoop.assumeIsolated().cancelScheduledCallback(timer)
            self.timer = nil
        }
        // Calls still open, and requests owed but never sent, in the window: no answer.
        if let schedule {
            let firstMeasured = schedule.firstRequest(notBefore: plan.warmupEndNanos)
            let unsent = max(0, dueRequests - max(nextRequest, firstMeasured))
            errorCounts[17] += unsent
        }
        errorCounts[17] += inFlight
        for (code, count) in errorCounts.enumerated() where count > 0 {
            let name = code == 17 ? "NO_ANSWER" : (Status.Code(rawValue: code)?.name ?? "STATUS_\(code)")
            result.errorsByStatus[name, default: 0] += count
        }
        connection.onTaggedResponse = nil
        connection.onClose = nil
        connection.close()
        finished.succeed(result)
    }
}

/// The pacing timer's handler (a struct: scheduling it allocates nothing per tick beyond NIO's own entry).
private struct Tick: NIOScheduledCallbackHandler {
    unowned let driver: LoadDriver

    func handleScheduledCallback(eventLoop: some EventLoop) {
        driver.tick()
    }
}

@available(*, unavailable)
extension LoadDriver: Sendable {}

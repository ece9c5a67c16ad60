import Dispatch
import Foundation
import FraudClient
import FraudCore
import FraudWire
import NIOCore

/// The fixed settings of a replay.
struct ReplaySettings: Sendable {
    var target: GRPCTarget
    /// TLS and the bearer token.
    var client: GRPCClientConfiguration
    var idPrefix: String
    /// Rows sent and not yet answered, at most (plus one batch).
    var windowRows: Int
    /// `ScoreStream`s (each on its own connection) the rows are spread over.
    var streams: Int = 1
    /// Reconnect attempts in a row without progress before giving up.
    var maxRetries: Int
    var checkpointPath: String
    var rejectsPath: String
    var checkpointInterval: TimeAmount
    /// Throttle: rows sent per second at most (`nil` = as fast as the window allows).
    var maxRowsPerSecond: Double?
    var progressInterval: TimeAmount
    var isTerminal: Bool
}

/// How a replay ended.
struct ReplayOutcome: Sendable {
    var checkpoint: BackfillCheckpoint
    /// Seconds of this run.
    var runSeconds: Double
    /// Rows done in this run.
    var rowsThisRun: Int
    var reconnects: Int
    /// `nil` when every row is done; otherwise why the run stopped.
    var failure: String?
}

/// Streams batches through one or more `ScoreStream`s with a bounded window, matches the in-order answers of
/// each stream to rows, writes the rejects file and the checkpoint, and reconnects (with back-off) when a
/// stream or the server goes away, re-sending that stream's rows that were not answered.
///
/// With several streams (``ReplaySettings/streams``, one connection each, so the server scores them on
/// different event loops) the result is the same as with one: a row that shares an account (origin or
/// destination — the velocity store is keyed by both) with a row still in flight goes to that row's stream,
/// behind it; a row linking accounts in flight on two different streams waits until one of them is answered;
/// and a row of a later step waits until every row of the earlier steps is answered (idle eviction counts
/// steps). The checkpoint covers the rows done without a gap, so a re-run re-sends at most the window.
///
/// - Important: Confined to one event loop. File writes go to a serial queue so the loop never blocks. Being
///   confined, its per-row fields skip the runtime exclusivity checks (`@exclusivity(unchecked)`).
final class StreamReplayer {
    /// One `ScoreStream` and its connection, with the rows sent on it and not yet answered, in order.
    private final class Lane {
        let index: Int
        var connection: GRPCClientConnection?
        var call: GRPCStreamingCall?
        var isConnecting = false
        var isEnding = false
        /// Rows sent (or to re-send after a reconnect) and not answered, oldest first: window serial and item.
        @exclusivity(unchecked) var inFlight: [(serial: Int, item: Int)] = []
        @exclusivity(unchecked) var inFlightHead = 0
        /// Request bytes routed here during one dispatch, sent together.
        @exclusivity(unchecked) var outgoing: [UInt8] = []
        /// Reconnect attempts since the last answer.
        var attempts = 0

        init(index: Int) { self.index = index }

        var inFlightCount: Int { inFlight.count - inFlightHead }
    }

    private let eventLoop: any EventLoop
    private let settings: ReplaySettings
    private let producer: RowProducer
    private let finished: EventLoopPromise<ReplayOutcome>
    private let io = DispatchQueue(label: "fraud-backfill.io")
    private let rejectsFile: FileHandle

    @exclusivity(unchecked) private var lanes: [Lane] = []
    /// Batches received from the producer and not yet done, in order. `window[i]` has serial
    /// `windowBaseSerial + i`; `windowHead`/`frontItem` is the first row not done, `sendSerial`/`sendItem`
    /// the first row not yet sent.
    @exclusivity(unchecked) private var window: [ReplayBatch] = []
    @exclusivity(unchecked) private var windowBaseSerial = 0
    @exclusivity(unchecked) private var windowHead = 0
    @exclusivity(unchecked) private var frontItem = 0
    @exclusivity(unchecked) private var sendSerial = 0
    @exclusivity(unchecked) private var sendItem = 0
    private var hasLastBatch = false
    @exclusivity(unchecked) private var inFlightRows = 0
    /// Accounts (hashes) with rows in flight: the lane they are on and how many (several streams only).
    @exclusivity(unchecked) private var accountLanes = InFlightAccounts()
    /// The step of the rows in flight (several streams only).
    @exclusivity(unchecked) private var currentStep: UInt32 = 0
    @exclusivity(unchecked) private var nextLane = 0
    /// Lanes with reconnect attempts since the last answer.
    private var failingLanes = 0

    private var checkpoint: BackfillCheckpoint
    private let startPosition: Int
    private let startTime = NIODeadline.now()
    private var rejectsBytes: UInt64
    private var pendingRejects = ""
    private var lastProgressPosition = 0
    private var lastProgressTime = NIODeadline.now()
    private var smoothedRate = 0.0
    private var reconnects = 0
    private var isFinished = false
    private var checkpointTask: RepeatedTask?
    private var progressTask: RepeatedTask?
    private var lastStatus = ""
    /// Rows handed to the streams in this run (for `maxRowsPerSecond`).
    @exclusivity(unchecked) private var sentRows = 0
    private var isThrottleTimerArmed = false

    init(
        eventLoop: any EventLoop,
        settings: ReplaySettings,
        producer: RowProducer,
        checkpoint: BackfillCheckpoint,
        rejectsFile: FileHandle
    ) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.producer = producer
        self.checkpoint = checkpoint
        self.startPosition = checkpoint.position
        self.rejectsBytes = checkpoint.rejectsBytes
        self.rejectsFile = rejectsFile
        self.lastProgressPosition = checkpoint.position
        self.finished = eventLoop.makePromise(of: ReplayOutcome.self)
        self.lanes = (0..<max(1, settings.streams)).map(Lane.init(index:))
    }

    var outcome: EventLoopFuture<ReplayOutcome> { finished.futureResult }

    private var isMultiStream: Bool { lanes.count > 1 }

    func start() {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        checkpointTask = eventLoop.scheduleRepeatedTask(
            initialDelay: settings.checkpointInterval,
            delay: settings.checkpointInterval
        ) { _ in bound.value.saveCheckpoint() }
        progressTask = eventLoop.scheduleRepeatedTask(
            initialDelay: settings.progressInterval,
            delay: settings.progressInterval
        ) { _ in bound.value.printProgress(final: false) }
        for lane in lanes { connect(lane) }
    }

    // MARK: - Input

    func accept(_ batch: ReplayBatch) {
        guard !isFinished else { return }
        if batch.isLast { hasLastBatch = true }
        if batch.items.isEmpty {
            producer.batchTaken()  // e.g. an empty last batch: nothing to send
        } else {
            window.append(batch)
        }
        fillWindow()
    }

    func inputFailed(_ message: String) {
        finish(failure: "cannot read the input: \(message)")
    }

    /// Ctrl-C: save what is done and stop.
    func interrupt() {
        finish(failure: "interrupted")
    }

    // MARK: - Connection

    private func connect(_ lane: Lane) {
        guard !isFinished, !lane.isConnecting, lane.call == nil else { return }
        guard !isAllDone else {
            // Nothing left for this stream.
            endIfDone()
            return
        }
        lane.isConnecting = true
        let connecting = GRPCClientConnection.connect(to: settings.target, on: eventLoop, configuration: settings.client)
        connecting.assumeIsolated().whenComplete { result in
            lane.isConnecting = false
            switch result {
            case .success(let bound):
                self.connected(bound.value, lane: lane)
            case .failure(let error as GRPCClientError) where error.code == .tlsHandshakeFailed:
                // A certificate that does not verify or a server without TLS or h2 will not change by retrying.
                self.finish(failure: error.message)
            case .failure(let error):
                self.lastStatus = "\(error)"
                self.retry(lane)
            }
        }
    }

    private func connected(_ connection: GRPCClientConnection, lane: Lane) {
        guard !isFinished, !isAllDone else {
            connection.close()
            endIfDone()
            return
        }
        lane.connection = connection
        let call = connection.openStream(
            path: GRPCCallHeaders.scoreStreamPath,
            headers: GRPCCallHeaders.make(timeout: nil),
            onMessage: { [unowned self] message in self.answered(message, on: lane) },
            onClose: { [unowned self] status in self.streamClosed(status, on: lane) }
        )
        guard let call else {
            lastStatus = "connection closed before the stream opened"
            connection.close()
            lane.connection = nil
            retry(lane)
            return
        }
        lane.call = call
        resend(lane)
        fillWindow()
    }

    private func batch(serial: Int) -> ReplayBatch {
        window[serial - windowBaseSerial]
    }

    /// Sends again every row of the lane not answered yet (a new stream after a reconnect).
    private func resend(_ lane: Lane) {
        guard let call = lane.call else { return }
        var bytes: [UInt8] = []
        var index = lane.inFlightHead
        while index < lane.inFlight.count {
            let (serial, first) = lane.inFlight[index]
            let batch = batch(serial: serial)
            if isMultiStream {
                let item = batch.items[first]
                bytes.append(contentsOf: batch.bytes[item.byteStart..<item.byteEnd])
                index += 1
            } else {
                // One lane: the rest of the batch is in flight on it, in order (rejects carry no bytes).
                bytes.append(contentsOf: batch.bytes[batch.items[first].byteStart...])
                while index < lane.inFlight.count && lane.inFlight[index].serial == serial { index += 1 }
            }
        }
        if !bytes.isEmpty { call.send(bytes) }
    }

    /// Sends rows while the window has room: with one stream whole batches (the bytes as the producer
    /// encoded them), with several row by row to the stream each row's accounts require.
    private func fillWindow() {
        guard !isFinished else { return }
        // Refill in chunks, not one row per answer: the answers of a read burst free a chunk at a time.
        let refillMark =
            isMultiStream ? max(0, settings.windowRows - max(64, settings.windowRows / 8)) : settings.windowRows - 1
        if inFlightRows <= refillMark {
            dispatch()
        }
        advanceOverRejects()
        endIfDone()
    }

    private func dispatch() {
        var isStalled = false
        while !isStalled && inFlightRows < settings.windowRows && sendSerial - windowBaseSerial < window.count {
            if let limit = settings.maxRowsPerSecond, sentRows > 0 {
                let allowed = limit * Double((NIODeadline.now() - startTime).nanoseconds) / 1e9
                if Double(sentRows) >= allowed {
                    armThrottleTimer(after: (Double(sentRows) - allowed) / limit)
                    break
                }
            }
            let index = sendSerial - windowBaseSerial
            if isMultiStream {
                let items = window[index].items
                while sendItem < items.count && inFlightRows < settings.windowRows {
                    let item = items[sendItem]
                    if !item.isReject {
                        guard let lane = route(item) else {
                            isStalled = true
                            break
                        }
                        lane.inFlight.append((sendSerial, sendItem))
                        if lane.call != nil {
                            lane.outgoing.append(contentsOf: window[index].bytes[item.byteStart..<item.byteEnd])
                        }
                        inFlightRows += 1
                    }
                    sentRows += 1
                    sendItem += 1
                }
                if sendItem < items.count { break }
            } else {
                let lane = lanes[0]
                let batch = window[index]
                for (itemIndex, item) in batch.items.enumerated().dropFirst(sendItem) where !item.isReject {
                    lane.inFlight.append((sendSerial, itemIndex))
                }
                if let call = lane.call, !batch.bytes.isEmpty { call.send(batch.bytes) }
                inFlightRows += batch.requestCount
                sentRows += batch.items.count
            }
            // The batch is sent: the producer may make another, and its bytes are only needed for resends.
            sendSerial += 1
            sendItem = 0
            producer.batchTaken()
        }
        if isMultiStream {
            for lane in lanes where !lane.outgoing.isEmpty {
                lane.call?.send(lane.outgoing)
                lane.outgoing.removeAll(keepingCapacity: true)
            }
        }
    }

    /// The lane for a row (several streams), recording its accounts as in flight there; `nil` when the row
    /// must wait: it starts a new step while rows are in flight, or its accounts are in flight on two lanes.
    private func route(_ item: ReplayItem) -> Lane? {
        if item.step != currentStep {
            guard inFlightRows == 0 else { return nil }
            currentStep = item.step
        }
        let origin = accountLanes.lane(of: item.originKey)
        let destination = accountLanes.lane(of: item.destinationKey)
        let chosen: Int
        switch (origin, destination) {
        case (let lane?, nil), (nil, let lane?):
            chosen = lane
        case (let a?, let b?):
            guard a == b else { return nil }
            chosen = a
        case (nil, nil):
            chosen = pickLane()
        }
        accountLanes.add(item.originKey, lane: chosen)
        if item.destinationKey != item.originKey {
            accountLanes.add(item.destinationKey, lane: chosen)
        }
        return lanes[chosen]
    }

    /// Round robin over the lanes, preferring connected ones.
    private func pickLane() -> Int {
        for _ in 0..<lanes.count {
            let candidate = nextLane
            nextLane = (nextLane + 1) % lanes.count
            if lanes[candidate].call != nil { return candidate }
        }
        return nextLane
    }

    private func release(_ item: ReplayItem) {
        guard isMultiStream else { return }
        accountLanes.release(item.originKey)
        if item.destinationKey != item.originKey { accountLanes.release(item.destinationKey) }
    }

    private func armThrottleTimer(after seconds: Double) {
        guard !isThrottleTimerArmed else { return }
        isThrottleTimerArmed = true
        eventLoop.assumeIsolated().scheduleTask(in: .microseconds(Int64(max(seconds, 0.001) * 1e6))) {
            self.isThrottleTimerArmed = false
            self.fillWindow()
        }
    }

    /// Every row is sent and answered (or rejected).
    private var isAllDone: Bool {
        hasLastBatch && sendSerial - windowBaseSerial == window.count && inFlightRows == 0
    }

    /// Once every row is done: half-closes the open streams, and ends the run when none is left open.
    private func endIfDone() {
        guard isAllDone else { return }
        for lane in lanes where !lane.isEnding {
            lane.isEnding = true
            lane.call?.finish()
        }
        if lanes.allSatisfy({ $0.call == nil && !$0.isConnecting }) {
            finish(failure: nil)
        }
    }

    // MARK: - Answers

    private func answered(_ message: [UInt8], on lane: Lane) {
        // Only the id, decision and replay flag are needed: read them without a full protobuf decode.
        let response: ScoreResponseSummary
        do {
            response = try message.withUnsafeBytes { try ScoreResponseSummary.decode(protobuf: $0) }
        } catch {
            protocolFailure("undecodable answer: \(error)")
            return
        }
        func answeredID() -> String {
            String(decoding: message[response.transactionIDRange], as: UTF8.self)
        }
        guard lane.inFlightHead < lane.inFlight.count else {
            protocolFailure("an answer arrived for no row in flight (id \(answeredID()))")
            return
        }
        let (serial, itemIndex) = lane.inFlight[lane.inFlightHead]
        let index = serial - windowBaseSerial
        let item = window[index].items[itemIndex]
        guard message.withUnsafeBytes({ response.hasTransactionID(item.transactionID, in: $0) }) else {
            protocolFailure("answer for \(answeredID()) where \(item.transactionID) was expected")
            return
        }
        popInFlight(lane)
        window[index].items[itemIndex].decision = response.decision
        window[index].items[itemIndex].isReplayed = response.replayed
        if failingLanes > 0 {
            // Progress: every stream gets its full number of reconnect attempts again.
            for other in lanes { other.attempts = 0 }
            failingLanes = 0
        }
        inFlightRows -= 1
        release(item)
        advanceFront()
        fillWindow()
    }

    private func popInFlight(_ lane: Lane) {
        lane.inFlightHead += 1
        if lane.inFlightHead == lane.inFlight.count {
            lane.inFlight.removeAll(keepingCapacity: true)
            lane.inFlightHead = 0
        } else if lane.inFlightHead >= 4096 {
            lane.inFlight.removeFirst(lane.inFlightHead)
            lane.inFlightHead = 0
        }
    }

    /// Moves the done mark over every answered or rejected row at the front, counting them.
    private func advanceFront() {
        while windowHead < window.count {
            let serial = windowBaseSerial + windowHead
            guard serial < sendSerial || (serial == sendSerial && frontItem < sendItem) else { return }
            let item = window[windowHead].items[frontItem]
            if let reason = item.rejectReason {
                writeReject(line: item.line, reason: reason, position: item.position)
            } else if let decision = item.decision {
                checkpoint.tally.record(decision, isFraud: item.isFraud, replayed: item.isReplayed)
            } else {
                return
            }
            markDone(item)
        }
    }

    /// Moves the done mark past the front row.
    private func markDone(_ item: ReplayItem) {
        checkpoint.position = item.position + 1
        checkpoint.lastLine = item.line
        frontItem += 1
        if frontItem == window[windowHead].items.count {
            window[windowHead] = ReplayBatch()  // free the bytes now
            windowHead += 1
            frontItem = 0
            if windowHead >= 64 || windowHead == window.count {
                window.removeFirst(windowHead)
                windowBaseSerial += windowHead
                windowHead = 0
            }
        }
    }

    /// Rejects at the front are done as soon as everything before them is.
    private func advanceOverRejects() {
        advanceFront()
    }

    private func writeReject(line: Int, reason: String, position: Int) {
        checkpoint.tally.rejected += 1
        let sanitized = String(reason.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
        let entry = "\(line)\t\(sanitized)\n"
        pendingRejects += entry
        rejectsBytes += UInt64(entry.utf8.count)
    }

    private func streamClosed(_ status: Status, on lane: Lane) {
        lane.call = nil
        lane.connection?.close()
        lane.connection = nil
        guard !isFinished else { return }
        if isAllDone {
            endIfDone()
            return
        }
        lane.isEnding = false
        lastStatus = status.description
        // Credentials the server refuses stay refused: stop now (the checkpoint keeps what is done).
        if status.code == .unauthenticated || status.code == .permissionDenied {
            finish(failure: "refused by the server: \(status)")
            return
        }
        // A row the server refuses ends the stream with the error; the refused row is the first one of this
        // stream not answered. Reject it and carry on with the rest.
        let refusals: [Status.Code] = [.invalidArgument, .failedPrecondition, .resourceExhausted, .outOfRange]
        if refusals.contains(status.code), lane.inFlightHead < lane.inFlight.count {
            let (serial, itemIndex) = lane.inFlight[lane.inFlightHead]
            let index = serial - windowBaseSerial
            let item = window[index].items[itemIndex]
            window[index].items[itemIndex].rejectReason = "refused by the server: \(status)"
            window[index].requestCount -= 1
            popInFlight(lane)
            inFlightRows -= 1
            release(item)
            advanceFront()
            connect(lane)
            return
        }
        retry(lane)
    }

    private func retry(_ lane: Lane) {
        guard !isFinished else { return }
        lane.attempts += 1
        if lane.attempts == 1 { failingLanes += 1 }
        if lane.attempts > settings.maxRetries {
            finish(
                failure:
                    "gave up after \(settings.maxRetries) reconnect attempts without progress (last: \(lastStatus))"
            )
            return
        }
        reconnects += 1
        let delay = min(5_000, 100 * (1 << min(lane.attempts - 1, 6)))
        let which = isMultiStream ? " (stream \(lane.index + 1))" : ""
        log(
            "connection lost\(which) (\(lastStatus)); reconnecting in \(delay) ms "
                + "(attempt \(lane.attempts)/\(settings.maxRetries))"
        )
        eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay))) { self.connect(lane) }
    }

    private func protocolFailure(_ message: String) {
        finish(failure: "protocol error: \(message)")
    }

    // MARK: - Checkpoint, progress, end

    private func saveCheckpoint() {
        var current = checkpoint
        current.rejectsBytes = rejectsBytes
        current.elapsedSeconds = checkpoint.elapsedSeconds + runSeconds
        let snapshot = current
        let rejects = pendingRejects
        pendingRejects = ""
        let path = settings.checkpointPath
        let file = rejectsFile
        io.async {
            // Rejects first: the checkpoint that covers them must never be on disk before they are.
            if !rejects.isEmpty { file.write(Data(rejects.utf8)) }
            do {
                try snapshot.write(to: path)
            } catch {
                FileHandle.standardError.write(Data("fraud-backfill: \(error)\n".utf8))
            }
        }
    }

    private var runSeconds: Double {
        Double((NIODeadline.now() - startTime).nanoseconds) / 1e9
    }

    private func printProgress(final: Bool) {
        let now = NIODeadline.now()
        let total = checkpoint.totalRows
        let done = checkpoint.position
        let seconds = max(1e-3, Double((now - lastProgressTime).nanoseconds) / 1e9)
        let instant = Double(done - lastProgressPosition) / seconds
        smoothedRate = smoothedRate == 0 ? instant : 0.7 * smoothedRate + 0.3 * instant
        lastProgressPosition = done
        lastProgressTime = now
        let line = Progress.line(
            done: done,
            total: total,
            rowsPerSecond: final ? Double(done - startPosition) / max(runSeconds, 1e-3) : smoothedRate,
            elapsed: runSeconds,
            rejects: checkpoint.tally.rejected,
            bar: settings.isTerminal
        )
        if settings.isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (final ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    private func log(_ message: String) {
        let prefix = settings.isTerminal ? "\r\u{1B}[2K" : ""
        FileHandle.standardError.write(Data((prefix + "fraud-backfill: " + message + "\n").utf8))
    }

    private func finish(failure: String?) {
        guard !isFinished else { return }
        isFinished = true
        producer.cancel()
        checkpointTask?.cancel()
        progressTask?.cancel()
        printProgress(final: true)
        for lane in lanes { lane.connection?.close() }
        saveCheckpoint()
        var final = checkpoint
        final.rejectsBytes = rejectsBytes
        final.elapsedSeconds += runSeconds
        let outcome = ReplayOutcome(
            checkpoint: final,
            runSeconds: runSeconds,
            rowsThisRun: checkpoint.position - startPosition,
            reconnects: reconnects,
            failure: failure
        )
        let promise = finished
        // Resolve after the last write is on disk.
        io.async { promise.succeed(outcome) }
    }
}

@available(*, unavailable)
extension StreamReplayer: Sendable {}

/// The progress line: a bar on a terminal, plain text otherwise.
enum Progress {
    static func line(done: Int, total: Int, rowsPerSecond: Double, elapsed: Double, rejects: Int, bar: Bool) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let remaining = total - done
        let eta = rowsPerSecond > 0 ? Double(remaining) / rowsPerSecond : .infinity
        var text = ""
        if bar {
            let width = 30
            let filled = Int((fraction * Double(width)).rounded(.down))
            text += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        }
        text += String(
            format: "%5.1f%% %@/%@ rows  %@ rows/s  elapsed %@  ETA %@",
            fraction * 100,
            grouped(done),
            grouped(total),
            grouped(Int(rowsPerSecond.rounded())),
            clock(elapsed),
            remaining == 0 ? "0:00" : clock(eta)
        )
        if rejects > 0 { text += "  rejects \(grouped(rejects))" }
        return text
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60) }
        return String(format: "%d:%02d", total / 60, total % 60)
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }
}

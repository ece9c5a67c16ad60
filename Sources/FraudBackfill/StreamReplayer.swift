import Dispatch
import Foundation
import FraudClient
import FraudCore
import FraudWire
import NIOCore

/// The fixed settings of a replay.
struct ReplaySettings: Sendable {
    var target: GRPCTarget
    var idPrefix: String
    /// Rows sent and not yet answered, at most (plus one batch).
    var windowRows: Int
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

/// Streams batches through `ScoreStream` with a bounded window, matches the in-order answers to rows, writes
/// the rejects file and the checkpoint, and reconnects (with back-off) when the stream or the server goes away,
/// re-sending the rows of the window that were not answered.
///
/// - Important: Confined to one event loop. File writes go to a serial queue so the loop never blocks.
final class StreamReplayer {
    private let eventLoop: any EventLoop
    private let settings: ReplaySettings
    private let producer: RowProducer
    private let finished: EventLoopPromise<ReplayOutcome>
    private let io = DispatchQueue(label: "fraud-backfill.io")
    private let rejectsFile: FileHandle

    private var connection: GRPCClientConnection?
    private var call: GRPCStreamingCall?
    /// Batches received from the producer, not yet sent.
    private var queued: [ReplayBatch] = []
    private var queuedHead = 0
    private var hasLastBatch = false
    /// Sent batches with rows not yet done, in order; `frontItem` is the first row of `window[windowHead]`
    /// not yet done.
    private var window: [ReplayBatch] = []
    private var windowHead = 0
    private var frontItem = 0
    private var inFlightRows = 0

    private var checkpoint: BackfillCheckpoint
    private let startPosition: Int
    private let startTime = NIODeadline.now()
    private var rejectsBytes: UInt64
    private var pendingRejects = ""
    private var lastProgressPosition = 0
    private var lastProgressTime = NIODeadline.now()
    private var smoothedRate = 0.0
    private var attempts = 0
    private var reconnects = 0
    private var isFinished = false
    private var isEnding = false
    private var checkpointTask: RepeatedTask?
    private var progressTask: RepeatedTask?
    private var lastStatus = ""
    /// Rows handed to the stream in this run (for `maxRowsPerSecond`).
    private var sentRows = 0
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
    }

    var outcome: EventLoopFuture<ReplayOutcome> { finished.futureResult }

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
        connect()
    }

    // MARK: - Input

    func accept(_ batch: ReplayBatch) {
        guard !isFinished else { return }
        if batch.isLast { hasLastBatch = true }
        queued.append(batch)
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

    private func connect() {
        guard !isFinished else { return }
        GRPCClientConnection.connect(to: settings.target, on: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let bound):
                self.connected(bound.value)
            case .failure(let error):
                self.lastStatus = "\(error)"
                self.retry()
            }
        }
    }

    private func connected(_ connection: GRPCClientConnection) {
        guard !isFinished else {
            connection.close()
            return
        }
        self.connection = connection
        let call = connection.openStream(
            path: GRPCCallHeaders.scoreStreamPath,
            headers: GRPCCallHeaders.make(timeout: nil),
            onMessage: { [unowned self] message in self.answered(message) },
            onClose: { [unowned self] status in self.streamClosed(status) }
        )
        guard let call else {
            lastStatus = "connection closed before the stream opened"
            retry()
            return
        }
        self.call = call
        resendWindow()
        fillWindow()
    }

    /// Sends again every row of the window that is not done (a new stream after a reconnect).
    private func resendWindow() {
        guard let call else { return }
        var bytes: [UInt8] = []
        var index = windowHead
        var first = frontItem
        while index < window.count {
            let batch = window[index]
            if let start = batch.items[first...].first(where: { !$0.isReject })?.byteStart {
                bytes.append(contentsOf: batch.bytes[start...])
            }
            index += 1
            first = 0
        }
        if !bytes.isEmpty { call.send(bytes) }
    }

    private func fillWindow() {
        guard let call, !isFinished else { return }
        while inFlightRows < settings.windowRows && queuedHead < queued.count {
            if let limit = settings.maxRowsPerSecond, sentRows > 0 {
                let allowed = limit * Double((NIODeadline.now() - startTime).nanoseconds) / 1e9
                if Double(sentRows) >= allowed {
                    armThrottleTimer(after: (Double(sentRows) - allowed) / limit)
                    break
                }
            }
            let batch = queued[queuedHead]
            queued[queuedHead] = ReplayBatch()  // the window holds it from now on
            queuedHead += 1
            producer.batchTaken()
            if batch.items.isEmpty { continue }
            if !batch.bytes.isEmpty { call.send(batch.bytes) }
            inFlightRows += batch.requestCount
            sentRows += batch.items.count
            window.append(batch)
        }
        if queuedHead == queued.count {
            queued.removeAll(keepingCapacity: true)
            queuedHead = 0
        } else if queuedHead >= 64 {
            queued.removeFirst(queuedHead)
            queuedHead = 0
        }
        advanceOverRejects()
        endIfDone()
    }

    private func armThrottleTimer(after seconds: Double) {
        guard !isThrottleTimerArmed else { return }
        isThrottleTimerArmed = true
        eventLoop.assumeIsolated().scheduleTask(in: .microseconds(Int64(max(seconds, 0.001) * 1e6))) {
            self.isThrottleTimerArmed = false
            self.fillWindow()
        }
    }

    private func endIfDone() {
        guard hasLastBatch, queuedHead == queued.count, windowHead == window.count, let call, !isEnding else { return }
        isEnding = true
        call.finish()
    }

    // MARK: - Answers

    private func answered(_ message: [UInt8]) {
        let response: ScoreResponse
        do {
            response = try message.withUnsafeBytes { try ScoreResponse.decode(protobuf: $0) }
        } catch {
            protocolFailure("undecodable answer: \(error)")
            return
        }
        advanceOverRejects()
        guard windowHead < window.count else {
            protocolFailure("an answer arrived for no row in flight (id \(response.transactionID))")
            return
        }
        let item = window[windowHead].items[frontItem]
        guard response.transactionID == item.transactionID else {
            protocolFailure("answer for \(response.transactionID) where \(item.transactionID) was expected")
            return
        }
        checkpoint.tally.record(response.assessment.decision, isFraud: item.isFraud, replayed: response.replayed)
        attempts = 0
        inFlightRows -= 1
        markDone(item)
        advanceOverRejects()
        fillWindow()
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
            if windowHead == window.count {
                window.removeAll(keepingCapacity: true)
                windowHead = 0
            } else if windowHead >= 64 {
                window.removeFirst(windowHead)
                windowHead = 0
            }
        }
    }

    /// Rejects at the front are done as soon as everything before them is.
    private func advanceOverRejects() {
        while windowHead < window.count {
            let item = window[windowHead].items[frontItem]
            guard let reason = item.rejectReason else { return }
            writeReject(line: item.line, reason: reason, position: item.position)
            markDone(item)
        }
    }

    private func writeReject(line: Int, reason: String, position: Int) {
        checkpoint.tally.rejected += 1
        let sanitized = String(reason.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
        let entry = "\(line)\t\(sanitized)\n"
        pendingRejects += entry
        rejectsBytes += UInt64(entry.utf8.count)
    }

    private func streamClosed(_ status: Status) {
        call = nil
        connection?.close()
        connection = nil
        guard !isFinished else { return }
        if status.code == .ok && isEnding && windowHead == window.count {
            finish(failure: nil)
            return
        }
        isEnding = false
        lastStatus = status.description
        // A row the server refuses ends the stream with the error; the refused row is the first one not
        // answered. Reject it and carry on with the rest.
        let refusals: [Status.Code] = [.invalidArgument, .failedPrecondition, .resourceExhausted, .outOfRange]
        if refusals.contains(status.code), windowHead < window.count {
            var batch = window[windowHead]
            batch.items[frontItem].rejectReason = "refused by the server: \(status)"
            batch.requestCount -= 1
            window[windowHead] = batch
            inFlightRows -= 1
            advanceOverRejects()
            connect()
            return
        }
        retry()
    }

    private func retry() {
        guard !isFinished else { return }
        attempts += 1
        if attempts > settings.maxRetries {
            finish(
                failure:
                    "gave up after \(settings.maxRetries) reconnect attempts without progress (last: \(lastStatus))"
            )
            return
        }
        reconnects += 1
        let delay = min(5_000, 100 * (1 << min(attempts - 1, 6)))
        log("connection lost (\(lastStatus)); reconnecting in \(delay) ms (attempt \(attempts)/\(settings.maxRetries))")
        eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay))) { self.connect() }
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
        connection?.close()
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

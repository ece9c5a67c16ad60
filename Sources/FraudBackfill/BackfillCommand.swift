import ArgumentParser
import Dispatch
import Foundation
import FraudClient
import FraudCore
import NIOCore
import NIOPosix

/// `fraud-backfill`: replays a PaySim CSV (plain or gzip) through `ScoreStream` in step order, resumably.
@main
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud-backfill",
        abstract: "Replay labelled PaySim history through fraud.v1.FraudScoring/ScoreStream.",
        discussion: """
            Rows are sent in step order (a file not sorted by step is indexed and replayed through a stable \
            sort) with transaction ids <id-prefix>-<line number> and the isFraud label. The checkpoint file \
            records how many rows are done; running the same command again continues from there (rows sent \
            twice are answered as idempotent replays). Rows that do not parse or validate go to the rejects \
            file as "<line>\\t<reason>".

            A server with authentication on (fraud-server's default) needs a scorer token: --token-file or \
            $FRAUD_TOKEN. A server with --tls-cert needs --tls (and --tls-ca for a private CA). A stream the server \
            refuses with UNAUTHENTICATED or PERMISSION_DENIED, or a failed TLS handshake, stops the run at once \
            (exit 1, the checkpoint kept); other lost connections are retried.
            """
    )

    @Argument(help: "PaySim CSV file (.gz for gzip).")
    var input: String

    @Option(help: "Server address, host:port.")
    var target = "127.0.0.1:50051"

    @OptionGroup(title: "TLS and authentication")
    var security: ClientSecurityOptions

    @Option(help: "Transaction id prefix (default: bf-<hash of the file's size and first MiB>).")
    var idPrefix: String?

    @Option(help: "Checkpoint file (default: <input>.checkpoint).")
    var checkpoint: String?

    @Option(help: "Rejects file (default: <input>.rejects).")
    var rejects: String?

    @Flag(help: "Ignore an existing checkpoint and start from the first row (the rejects file is emptied).")
    var restart = false

    @Option(help: "Rows in flight (sent, not yet answered).")
    var window = 8192

    @Option(
        help: ArgumentHelp(
            "ScoreStreams (one connection each) to spread the rows over.",
            discussion: """
                The server scores each connection on one event loop, so several streams use several cores. \
                Rows sharing an account stay in order and a new step starts only after the previous one is \
                answered, so the decisions are the same as with one stream.
                """
        )
    )
    var streams = 2

    @Option(help: "Rows per batch handed from the reader to the network.")
    var batch = 256

    @Option(
        help: "Send at most this many rows per second (spare a live server); default: as fast as the window allows."
    )
    var maxRate: Double?

    @Option(help: "Reconnect attempts in a row without progress before giving up.")
    var maxRetries = 10

    @Option(help: "Seconds between checkpoint writes.")
    var checkpointInterval = 1.0

    @Option(help: "Seconds between progress lines (default: 0.25 on a terminal, 5 otherwise).")
    var progressInterval: Double?

    @Option(help: "Write the summary as JSON to this file.")
    var jsonOut: String?

    @Option(help: "Directory for the decompressed copy of an unsorted .gz input.")
    var tempDir = NSTemporaryDirectory()

    mutating func validate() throws {
        guard GRPCTarget(parsing: target) != nil else { throw ValidationError("--target must be host:port") }
        guard window > 0, batch > 0, streams > 0, maxRetries >= 0, checkpointInterval > 0, (maxRate ?? 1) > 0 else {
            throw ValidationError("--window, --batch, --streams, --checkpoint-interval and --max-rate must be positive")
        }
        if let idPrefix {
            guard !idPrefix.isEmpty, idPrefix.utf8.count <= 100,
                !idPrefix.utf8.contains(where: { $0 <= 0x20 || $0 > 0x7E })
            else { throw ValidationError("--id-prefix must be 1...100 printable ASCII characters") }
        }
    }

    func run() async throws {
        let target = GRPCTarget(parsing: target)!
        var client = GRPCClientConfiguration()
        try security.apply(to: &client)
        if let warning = security.warning { Self.log(warning) }
        var reader = CSVLineReader(path: input)
        guard let inputBytes = reader.fileBytes else {
            throw ValidationError("\(input): no such file")
        }
        let idPrefix = try idPrefix ?? Self.defaultPrefix(path: input, bytes: inputBytes)
        // The checkpoint names the file absolutely, so a re-run from another directory still matches.
        let inputPath = URL(fileURLWithPath: input).standardizedFileURL.path
        let checkpointPath = checkpoint ?? input + ".checkpoint"
        let rejectsPath = rejects ?? input + ".rejects"

        var state: BackfillCheckpoint?
        if !restart, let saved = try BackfillCheckpoint.load(from: checkpointPath) {
            guard saved.matches(input: inputPath, inputBytes: inputBytes, idPrefix: idPrefix) else {
                throw ValidationError(
                    "\(checkpointPath) belongs to another run (input \(saved.input), \(saved.inputBytes) bytes, "
                        + "prefix \(saved.idPrefix)); pass --restart to start over or --checkpoint for another file"
                )
            }
            state = saved
        }

        let started = Date()
        var plan = try ReplayPlan.make(for: reader)
        if !plan.isSortedByStep && reader.isGzip {
            // Random access needs a plain file: decompress once, index the copy.
            let copy = (tempDir as NSString).appendingPathComponent("fraud-backfill-\(getpid()).csv")
            try Self.gunzip(input, to: copy)
            reader = CSVLineReader(path: copy)
            plan = try ReplayPlan.make(for: reader)
        }
        defer { if reader.path != input { try? FileManager.default.removeItem(atPath: reader.path) } }
        Self.log(
            "\(input): \(plan.rowCount) rows, "
                + (plan.isSortedByStep
                    ? "in step order (streamed)" : "not in step order (indexed, stable sort by step)")
                + String(format: ", scanned in %.2f s", Date().timeIntervalSince(started))
        )

        var checkpoint =
            state
            ?? BackfillCheckpoint(input: inputPath, inputBytes: inputBytes, idPrefix: idPrefix, totalRows: plan.rowCount)
        guard checkpoint.totalRows == plan.rowCount else {
            throw ValidationError(
                "\(checkpointPath) counts \(checkpoint.totalRows) rows but the file has \(plan.rowCount); "
                    + "pass --restart"
            )
        }
        let resumedFrom = checkpoint.position
        let resumedLine = checkpoint.lastLine
        if resumedFrom > 0 {
            Self.log("resuming after line \(resumedLine) (\(resumedFrom) of \(plan.rowCount) rows done)")
        }
        let rejectsFile = try Self.openRejects(rejectsPath, keepingBytes: state == nil ? 0 : checkpoint.rejectsBytes)
        checkpoint.rejectsBytes = state == nil ? 0 : checkpoint.rejectsBytes
        if checkpoint.isComplete {
            Self.log("nothing to do: every row is done (pass --restart to replay again)")
            try finish(
                checkpoint: checkpoint,
                run: .init(
                    rows: 0,
                    seconds: 0,
                    resumedFromPosition: resumedFrom,
                    resumedAfterLine: resumedLine,
                    reconnects: 0
                ),
                failure: nil
            )
            return
        }
        try checkpoint.write(to: checkpointPath)

        let isTerminal = isatty(STDERR_FILENO) == 1
        let settings = ReplaySettings(
            target: target,
            client: client,
            idPrefix: idPrefix,
            windowRows: window,
            streams: streams,
            maxRetries: maxRetries,
            checkpointPath: checkpointPath,
            rejectsPath: rejectsPath,
            checkpointInterval: .milliseconds(Int64(checkpointInterval * 1000)),
            maxRowsPerSecond: maxRate,
            progressInterval: .milliseconds(Int64((progressInterval ?? (isTerminal ? 0.25 : 5)) * 1000)),
            isTerminal: isTerminal
        )
        let producer = RowProducer(
            reader: reader,
            plan: plan,
            idPrefix: idPrefix,
            startPosition: checkpoint.position,
            batchRows: batch,
            maxQueuedBatches: max(4, window / batch * 2)
        )

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let initial = checkpoint
        let replayer = try await loop.submit {
            let replayer = StreamReplayer(
                eventLoop: loop,
                settings: settings,
                producer: producer,
                checkpoint: initial,
                rejectsFile: rejectsFile
            )
            replayer.start()
            return NIOLoopBound(replayer, eventLoop: loop)
        }.get()

        let thread = Thread {
            producer.run(
                deliver: { batch in loop.execute { replayer.value.accept(batch) } },
                failed: { message in loop.execute { replayer.value.inputFailed(message) } }
            )
        }
        thread.stackSize = 8 << 20
        thread.start()

        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { loop.execute { replayer.value.interrupt() } }
            source.resume()
            sources.append(source)
        }

        let outcome = try await loop.flatSubmit { replayer.value.outcome }.get()
        sources.forEach { $0.cancel() }
        try? await group.shutdownGracefully()
        try? rejectsFile.close()

        try finish(
            checkpoint: outcome.checkpoint,
            run: .init(
                rows: outcome.rowsThisRun,
                seconds: outcome.runSeconds,
                resumedFromPosition: resumedFrom,
                resumedAfterLine: resumedLine,
                reconnects: outcome.reconnects
            ),
            failure: outcome.failure
        )
        if let failure = outcome.failure {
            throw ExitCode(failure == "interrupted" ? 130 : 1)
        }
    }

    private func finish(checkpoint: BackfillCheckpoint, run: BackfillSummary.Run, failure: String?) throws {
        let summary = BackfillSummary(checkpoint: checkpoint, thisRun: run, failure: failure)
        print(summary.text)
        if let jsonOut {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(summary).write(to: URL(fileURLWithPath: jsonOut))
        }
    }

    /// `bf-` and 8 hex digits of FNV-1a over the file size and its first MiB: the same file gets the same ids
    /// (so re-runs are idempotent replays), a different file different ones.
    private static func defaultPrefix(path: String, bytes: UInt64) throws -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01B3
        }
        withUnsafeBytes(of: bytes.littleEndian) { $0.forEach(mix) }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("\(path): cannot open") }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        head.forEach(mix)
        let folded = UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
        let hex = String(folded, radix: 16)
        return "bf-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Opens the rejects file for appending, cut back to `keepingBytes` (what the checkpoint covers).
    private static func openRejects(_ path: String, keepingBytes: UInt64) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: path) || keepingBytes == 0 {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ValidationError("\(path): cannot create the rejects file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("\(path): cannot open the rejects file")
        }
        try handle.truncate(atOffset: keepingBytes)
        try handle.seekToEnd()
        return handle
    }

    private static func gunzip(_ path: String, to copy: String) throws {
        guard FileManager.default.createFile(atPath: copy, contents: nil), let out = FileHandle(forWritingAtPath: copy)
        else {
            throw ValidationError("\(copy): cannot create")
        }
        defer { try? out.close() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        child.arguments = ["gzip", "-dc", "--", path]
        child.standardOutput = out
        try child.run()
        child.waitUntilExit()
        guard child.terminationStatus == 0 else { throw ValidationError("\(path): gzip -dc failed") }
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data(("fraud-backfill: " + message + "\n").utf8))
    }
}

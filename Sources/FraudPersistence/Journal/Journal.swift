import Glibc
import Logging
import Synchronization

/// The journal's shared core: the active segment, the sequence counter, the writer's in-memory queue,
/// the durability waiters and the lifecycle, behind one ``ConditionLock``. The appending threads, the
/// writer thread and the flusher thread all work through it.
final class Journal: Sendable {
    /// A record handed to the writer, with the time it was appended (for the commit lag).
    struct QueuedRecord: Sendable {
        var sequence: UInt64
        var record: DecisionRecord
        var appendedAt: MonotonicTime
    }

    /// Where the log is in its life.
    enum Phase: Sendable, Equatable {
        case running
        /// ``DecisionLog/shutdown()``: commit what can be committed until `deadline`, then stop.
        case stopping(deadline: MonotonicTime)
        /// Stop now without flushing (a simulated crash, or the log was dropped without shutdown).
        case abandoned
        /// Files closed.
        case closed
    }

    /// Everything guarded by ``state``.
    struct State {
        var phase = Phase.running
        /// The open directory lock; `nil` once closed.
        var lockFile: JournalFile?
        /// The segment appended to; `nil` once closed.
        var active: JournalFile?
        var activeSize: Int64 = 0
        /// A failed write could not be cut back out of the active segment: start a new one first.
        var mustRotate = false
        /// First sequence numbers of the segments on disk, ascending; the last is the active one.
        var segments: [UInt64] = []
        /// Highest sequence number written.
        var lastSequence: UInt64 = 0
        var appendedByThisProcess: UInt64 = 0
        /// Records for the writer, ascending, with gaps where the queue was full.
        var queue = RecordQueue()
        /// `.fsync`: highest sequence covered by an fdatasync.
        var syncedSequence: UInt64 = 0
        /// `.fsync`: rotated-away segments the flusher must still sync (it closes them).
        var retired: [JournalFile] = []
        /// `.fsync`: a segment was created since the last directory fsync.
        var directoryNeedsSync = false
        var durabilityWaiters: [(sequence: UInt64, body: @Sendable (Result<Void, PersistenceError>) -> Void)] = []
        /// Set when fdatasync failed: nothing is accepted any more.
        var failure: PersistenceError?
        var runningThreads = 0
        var threadWaiters: [CheckedContinuation<Void, Never>] = []
        // Published by the writer.
        var isPostgresReachable = false
        var firstConnectionAttemptDone = false
        var committedRows: UInt64 = 0
        var lastBatchSize = 0
        var commitLagMillis = 0.0
        var rejectedRows: UInt64 = 0
        var quarantined: [String] = []
        /// Set by ``WriterYield`` (`--writer-priority defer`) during a burst: the writer sends nothing to
        /// PostgreSQL until it is cleared (with a ``statusChanged`` broadcast) or the phase changes.
        var defersWrites = false
        /// Set by the writer while it actually sleeps for ``defersWrites`` (no batch in flight).
        var isWriterDeferring = false
    }

    let directory: String
    let configuration: PersistenceConfiguration
    let logger: Logger
    let state: ConditionLock<State>
    /// Records appended, phase changes: the writer waits on it.
    let writerWake = Condition()
    /// Records appended, waiters added, phase changes: the flusher waits on it.
    let flusherWake = Condition()
    /// Writer status and thread exits: start-up and shutdown wait on it.
    let statusChanged = Condition()
    /// Mirrors of `lastSequence` and the committed sequence for lock-free ``DecisionLog/hasCapacity``.
    let appendedSequence = Atomic<UInt64>(0)
    let committedSequence = Atomic<UInt64>(0)
    /// Set with `State.failure`.
    let isFailed = Atomic<Bool>(false)
    /// The `committed` file, rewritten in place by the writer after each commit.
    let markerFile: MarkerFile
    /// The pid of the writer's PostgreSQL backend when it is a local process whose priority may be lowered,
    /// 0 otherwise (see ``WriterYield``).
    let writerBackendPID = Atomic<Int32>(0)

    /// Opens the journal directory: lock, marker, scan (with quarantine), new active segment.
    init(configuration: PersistenceConfiguration, logger: Logger) throws(PersistenceError) {
        let directory =
            configuration.journalDirectory.hasSuffix("/") && configuration.journalDirectory.count > 1
            ? String(configuration.journalDirectory.dropLast()) : configuration.journalDirectory
        self.directory = directory
        self.configuration = configuration
        self.logger = logger
        try FileSystem.makeDirectories(directory)
        let lockFile = try JournalFile(path: directory + "/" + JournalFormat.lockName, flags: O_RDWR | O_CREAT)
        guard try lockFile.tryLockExclusively() else {
            throw PersistenceError(
                code: .journalLocked,
                message: "\(directory) is in use by another process (flock on \(JournalFormat.lockName))"
            )
        }
        let committed = try CommitMarker.read(directory: directory, logger: logger)
        markerFile = MarkerFile(directory: directory)
        let scan = try JournalScanner.scan(directory: directory, logger: logger)
        let first = max(scan.lastSequence, committed) + 1
        let active = try Self.createSegment(
            directory: directory,
            firstSequence: first,
            durability: configuration.durability
        )
        var state = State()
        state.lockFile = lockFile
        state.active = active
        state.activeSize = Int64(JournalFormat.magic.count)
        state.segments = scan.segments.filter { $0 != first } + [first]
        state.lastSequence = first - 1
        state.syncedSequence = first - 1
        state.quarantined = scan.quarantined
        // Segments whose records are all committed (left when the last run stopped between a commit and
        // its clean-up, or had nothing newer to commit).
        while state.segments.count >= 2 && state.segments[1] <= committed + 1 {
            let removable = state.segments.removeFirst()
            try FileSystem.remove(directory + "/" + JournalFormat.segmentName(firstSequence: removable))
        }
        self.state = ConditionLock(state)
        appendedSequence.store(first - 1, ordering: .relaxed)
        committedSequence.store(committed, ordering: .relaxed)
        let backlog = first - 1 - min(committed, first - 1)
        logger.info(
            "journal opened",
            metadata: [
                LogKey.path: "\(directory)", LogKey.segments: "\(state.segments.count)",
                LogKey.records: "\(scan.recordCount)", LogKey.committedSequence: "\(committed)",
                LogKey.backlog: "\(backlog)", LogKey.durability: "\(configuration.durability.rawValue)",
            ]
        )
    }

    /// Creates (or empties) a segment file and writes its header; with `.fsync`, syncs it and the directory
    /// so the new name survives power loss.
    private static func createSegment(
        directory: String,
        firstSequence: UInt64,
        durability: Durability
    )
        throws(PersistenceError) -> JournalFile
    {
        let path = directory + "/" + JournalFormat.segmentName(firstSequence: firstSequence)
        let file = try JournalFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.writeAll(JournalFormat.magic)
        if durability == .fsync {
            try file.synchronize()
            try FileSystem.synchronizeDirectory(directory)
        }
        return file
    }

    // MARK: - Appending (any thread, fast)

    /// Writes records to the active segment, one `write(2)` for all of them, and queues them for the writer.
    ///
    /// - Returns: The sequence number of the last record.
    func append(
        _ framed: inout [JournalFormat.FramedRecord],
        records: [DecisionRecord]
    ) throws(PersistenceError)
        -> UInt64
    {
        let now = MonotonicTime.now()
        let capacity = configuration.memoryQueueCapacity
        let last = try state.withLock { (state) throws(PersistenceError) -> UInt64 in
            if let failure = state.failure { throw failure }
            guard state.phase == .running, state.active != nil else {
                throw PersistenceError(code: .closed, message: "the decision log is shut down")
            }
            let first = state.lastSequence + 1
            var size = 0
            for index in framed.indices {
                framed[index].seal(sequence: first + UInt64(index))
                size += framed[index].bytes.count
            }
            if state.mustRotate
                || (state.activeSize + Int64(size) > Int64(configuration.segmentBytes)
                    && state.activeSize > Int64(JournalFormat.magic.count))
            {
                try rotate(&state, firstSequence: first)
            }
            try write(framed, size: size, state: &state)
            let last = first + UInt64(framed.count) - 1
            state.lastSequence = last
            state.appendedByThisProcess += UInt64(framed.count)
            for (index, record) in records.enumerated() where state.queue.count < capacity {
                state.queue.append(QueuedRecord(sequence: first + UInt64(index), record: record, appendedAt: now))
            }
            return last
        }
        appendedSequence.store(last, ordering: .releasing)
        writerWake.signal()
        if configuration.durability == .fsync { flusherWake.signal() }
        return last
    }

    /// Writes one record to the active segment and queues it for the writer: ``append(_:records:)`` for a
    /// single record, without the arrays.
    ///
    /// - Returns: The record's sequence number.
    func append(one framed: inout JournalFormat.FramedRecord, record: DecisionRecord) throws(PersistenceError) -> UInt64 {
        let now = MonotonicTime.now()
        let capacity = configuration.memoryQueueCapacity
        let sequence = try state.withLock { (state) throws(PersistenceError) -> UInt64 in
            if let failure = state.failure { throw failure }
            guard state.phase == .running, state.active != nil else {
                throw PersistenceError(code: .closed, message: "the decision log is shut down")
            }
            let sequence = state.lastSequence + 1
            framed.seal(sequence: sequence)
            let size = framed.bytes.count
            if state.mustRotate
                || (state.activeSize + Int64(size) > Int64(configuration.segmentBytes)
                    && state.activeSize > Int64(JournalFormat.magic.count))
            {
                try rotate(&state, firstSequence: sequence)
            }
            try write(size: size, state: &state) { file throws(PersistenceError) in try file.writeAll(framed.bytes) }
            state.lastSequence = sequence
            state.appendedByThisProcess += 1
            if state.queue.count < capacity {
                state.queue.append(QueuedRecord(sequence: sequence, record: record, appendedAt: now))
            }
            return sequence
        }
        appendedSequence.store(sequence, ordering: .releasing)
        writerWake.signal()
        if configuration.durability == .fsync { flusherWake.signal() }
        return sequence
    }

    private func write(_ framed: [JournalFormat.FramedRecord], size: Int, state: inout State) throws(PersistenceError) {
        try write(size: size, state: &state) { active throws(PersistenceError) in
            if framed.count == 1 {
                try active.writeAll(framed[0].bytes)
            } else {
                var joined: [UInt8] = []
                joined.reserveCapacity(size)
                for record in framed { joined.append(contentsOf: record.bytes) }
                try active.writeAll(joined)
            }
        }
    }

    /// Runs `body` on the active segment (it writes `size` bytes); on failure cuts the segment back.
    private func write(
        size: Int,
        state: inout State,
        _ body: (JournalFile) throws(PersistenceError) -> Void
    ) throws(PersistenceError) {
        guard let active = state.active else {
            throw PersistenceError(code: .closed, message: "the decision log is shut down")
        }
        do {
            try body(active)
            state.activeSize += Int64(size)
        } catch {
            // A partial record would hide every later record of this segment from the scan: cut it off, or
            // if even that fails, leave this segment behind.
            do {
                try active.truncate(to: state.activeSize)
            } catch {
                state.mustRotate = true
            }
            logger.error("journal write failed", metadata: [LogKey.path: "\(active.path)", LogKey.error: "\(error)"])
            throw error
        }
    }

    private func rotate(_ state: inout State, firstSequence: UInt64) throws(PersistenceError) {
        let path = directory + "/" + JournalFormat.segmentName(firstSequence: firstSequence)
        let file = try JournalFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.writeAll(JournalFormat.magic)
        if configuration.durability == .fsync, let old = state.active {
            // The flusher syncs the old segment's tail and the new directory entry before it reports
            // anything in the new segment durable.
            state.retired.append(old)
            state.directoryNeedsSync = true
        }
        state.active = file
        state.activeSize = Int64(JournalFormat.magic.count)
        state.mustRotate = false
        state.segments.append(firstSequence)
    }

    // MARK: - Durability (.fsync)

    /// Runs `body` once `sequence` is durable (see ``DecisionLog/whenDurable(_:_:)``).
    func whenDurable(_ sequence: UInt64, _ body: @escaping @Sendable (Result<Void, PersistenceError>) -> Void) {
        if configuration.durability == .process {
            body(.success(()))
            return
        }
        let immediate: Result<Void, PersistenceError>? = state.withLock { state in
            if let failure = state.failure { return .failure(failure) }
            if sequence <= state.syncedSequence { return .success(()) }
            if state.phase == .closed || state.phase == .abandoned {
                return .failure(PersistenceError(code: .closed, message: "the decision log is shut down"))
            }
            state.durabilityWaiters.append((sequence, body))
            return nil
        }
        if let immediate {
            body(immediate)
        } else {
            flusherWake.signal()
        }
    }

    /// The flusher thread (`.fsync` only): group commit. Each round syncs everything written so far with
    /// one fdatasync per segment involved, then releases every waiter it covers; records appended during
    /// a sync wait for the next round, which starts at once.
    func runFlusher() {
        defer { threadExited() }
        while true {
            let work = state.wait(
                on: flusherWake,
                until: nil,
                for: { state in
                    state.lastSequence > state.syncedSequence || !state.durabilityWaiters.isEmpty
                        || state.phase != .running
                },
                then: { state, _ -> (target: UInt64, files: [JournalFile], directory: Bool)? in
                    if state.phase == .abandoned || state.phase == .closed { return nil }
                    if state.phase != .running && state.lastSequence == state.syncedSequence
                        && state.durabilityWaiters.isEmpty
                    {
                        return nil
                    }
                    let files = state.retired + (state.active.map { [$0] } ?? [])
                    state.retired = []
                    defer { state.directoryNeedsSync = false }
                    return (state.lastSequence, files, state.directoryNeedsSync)
                }
            )
            guard let work else { return }
            var failure: PersistenceError?
            do {
                for file in work.files { try file.synchronize() }
                if work.directory { try FileSystem.synchronizeDirectory(directory) }
            } catch {
                failure = error
            }
            let ready = state.withLock { state in
                if let failure {
                    state.failure = failure
                    isFailed.store(true, ordering: .relaxed)
                } else {
                    state.syncedSequence = max(state.syncedSequence, work.target)
                }
                var ready: [(@Sendable (Result<Void, PersistenceError>) -> Void, Result<Void, PersistenceError>)] = []
                var waiting: [(sequence: UInt64, body: @Sendable (Result<Void, PersistenceError>) -> Void)] = []
                for waiter in state.durabilityWaiters {
                    if let failure = state.failure {
                        ready.append((waiter.body, .failure(failure)))
                    } else if waiter.sequence <= state.syncedSequence {
                        ready.append((waiter.body, .success(())))
                    } else {
                        waiting.append(waiter)
                    }
                }
                state.durabilityWaiters = waiting
                return ready
            }
            if let failure {
                logger.critical(
                    "fdatasync of the journal failed: decisions can no longer be made durable; refusing new work",
                    metadata: [LogKey.error: "\(failure)"]
                )
            }
            for (body, result) in ready { body(result) }
            if failure != nil { return }
        }
    }

    // MARK: - Committed (writer thread)

    /// Records that PostgreSQL committed everything up to `sequence`: marker file, counters, and removal
    /// of segments that hold nothing newer.
    func markCommitted(through sequence: UInt64, rows: Int, lagMillis: Double?) {
        let removable: [UInt64] = state.withLock { state in
            state.committedRows += UInt64(rows)
            state.lastBatchSize = rows
            if let lagMillis { state.commitLagMillis = lagMillis }
            // Segment i holds [segments[i], segments[i+1]); the active (last) one is never removed.
            var removable: [UInt64] = []
            while state.segments.count >= 2 && state.segments[1] <= sequence + 1 {
                removable.append(state.segments.removeFirst())
            }
            return removable
        }
        committedSequence.store(sequence, ordering: .releasing)
        do {
            // Not synced, in either mode: everything below the marker is already committed (durably) in
            // PostgreSQL, so a marker lost with the page cache only means an idempotent replay, and a
            // removed segment only ever held committed records.
            try markerFile.write(sequence)
            for first in removable {
                try FileSystem.remove(directory + "/" + JournalFormat.segmentName(firstSequence: first))
            }
        } catch {
            logger.error(
                "could not update the commit marker or remove committed segments",
                metadata: [LogKey.error: "\(error)"]
            )
        }
    }

    // MARK: - Lifecycle

    /// Counts a thread about to be started.
    func threadStarting() {
        state.withLock { $0.runningThreads += 1 }
    }

    /// Called by a persistence thread as it exits.
    func threadExited() {
        let waiters = state.withLock { state in
            state.runningThreads -= 1
            if state.runningThreads > 0 { return [CheckedContinuation<Void, Never>]() }
            defer { state.threadWaiters = [] }
            return state.threadWaiters
        }
        statusChanged.broadcast()
        for waiter in waiters { waiter.resume() }
    }

    /// Moves to `phase` (unless already closed) and wakes every thread.
    func setPhase(_ phase: Phase) {
        state.withLock { state in
            if state.phase != .closed { state.phase = phase }
        }
        writerWake.broadcast()
        flusherWake.broadcast()
        statusChanged.broadcast()
    }

    /// Suspends until every persistence thread has exited (without blocking a thread of the pool).
    func waitForThreads() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.runningThreads == 0 { return true }
                state.threadWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Closes the files and releases the directory lock. `synchronize`: fdatasync the active segment first.
    func close(synchronize: Bool) {
        let (active, waiters) = state.withLock { state in
            state.phase = .closed
            let active = state.active
            state.active = nil
            state.retired = []
            state.lockFile = nil
            defer { state.durabilityWaiters = [] }
            return (active, state.durabilityWaiters)
        }
        if synchronize, let active {
            do { try active.synchronize() } catch {
                logger.error("final fdatasync of the journal failed", metadata: [LogKey.error: "\(error)"])
            }
        }
        for waiter in waiters {
            waiter.body(.failure(PersistenceError(code: .closed, message: "shut down before the record was synced")))
        }
    }
}

/// A FIFO of queued records (array with a moving head, compacted as it drains).
struct RecordQueue {
    private var storage: [Journal.QueuedRecord] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: Journal.QueuedRecord? { head < storage.count ? storage[head] : nil }

    mutating func append(_ record: Journal.QueuedRecord) { storage.append(record) }

    /// Removes and returns the first record.
    mutating func removeFirst() -> Journal.QueuedRecord {
        let record = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 65_536)
            head = 0
        } else if head >= 4096 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return record
    }
}

/// The `committed` file: the highest sequence number PostgreSQL has committed, as one line of text
/// `committed <n, 20 digits> <CRC32C of those digits, 8 hex digits>`, 40 bytes.
///
/// The writer updates it after every commit, in place: one `pwrite` of the whole line at offset 0 over a
/// descriptor kept open (``MarkerFile``). Replacing it by a temporary file and `rename(2)` instead freed the
/// old inode on every commit, which on this kind of VM issued a synchronous discard each time. A line
/// of fixed size within one sector is replaced whole in practice (PostgreSQL relies on the same for
/// `pg_control`); should a crash still leave a torn line, its checksum no longer matches and the marker
/// reads as 0, which only replays the journal (inserts are idempotent) — a torn value can never be
/// mistaken for a higher one. Lines without a checksum (`committed <n>`, written by earlier versions) are
/// still read.
enum CommitMarker {
    /// Bytes of a marker line.
    static let lineLength = 40

    /// The marker's value; 0 when missing. An unreadable marker also reads as 0 (with a warning): that only
    /// replays more, idempotently.
    static func read(directory: String, logger: Logger) throws(PersistenceError) -> UInt64 {
        guard let bytes = try FileSystem.readFile(directory + "/" + JournalFormat.markerName) else { return 0 }
        if let value = parse(bytes) {
            return value
        }
        logger.warning(
            "commit marker unreadable; replaying the whole journal (inserts are idempotent)",
            metadata: [LogKey.path: "\(directory)/\(JournalFormat.markerName)"]
        )
        return 0
    }

    /// The value of a marker file's bytes, nil when they are not a marker (or its checksum does not match).
    static func parse(_ bytes: [UInt8]) -> UInt64? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        guard text.hasPrefix("committed ") else { return nil }
        let fields = text.dropFirst("committed ".count).split(separator: " ", omittingEmptySubsequences: false)
        guard let digits = fields.first, let value = UInt64(digits) else { return nil }
        switch fields.count {
        case 1:
            // The format before checksums wrote no leading zeros: a zero-padded number without its checksum
            // is a new line cut short.
            return digits.count == 1 || digits.first != "0" ? value : nil
        case 2:
            guard let checksum = UInt32(fields[1], radix: 16), checksum == CRC32C.checksum(Array(digits.utf8))
            else { return nil }
            return value
        default:
            return nil
        }
    }

    /// The line for `sequence`.
    static func line(_ sequence: UInt64) -> [UInt8] {
        var digits = Array(String(sequence).utf8)
        digits.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: 20 - digits.count), at: 0)
        var checksum = Array(String(CRC32C.checksum(digits), radix: 16).utf8)
        checksum.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: 8 - checksum.count), at: 0)
        return Array("committed ".utf8) + digits + [UInt8(ascii: " ")] + checksum + [UInt8(ascii: "\n")]
    }

}

/// The writer's open `committed` file, rewritten in place after each commit (see ``CommitMarker``).
/// Used by the writer thread only.
final class MarkerFile: @unchecked Sendable {
    private var file: JournalFile?
    private let path: String

    init(directory: String) {
        path = directory + "/" + JournalFormat.markerName
    }

    /// Writes `sequence` over the marker (opening or creating it on first use; not synced).
    func write(_ sequence: UInt64) throws(PersistenceError) {
        let file: JournalFile
        if let open = self.file {
            file = open
        } else {
            file = try JournalFile(path: path, flags: O_WRONLY | O_CREAT)
            self.file = file
        }
        let line = CommitMarker.line(sequence)
        let written = line.withUnsafeBytes { pwrite(file.descriptor, $0.baseAddress, $0.count, 0) }
        guard written == line.count else {
            self.file = nil  // reopen next time
            throw PersistenceError(
                code: .journalIO,
                message: "pwrite \(path)" + (written >= 0 ? " (short write: \(written) bytes)" : ""),
                errno: written < 0 ? Glibc.errno : nil
            )
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return self[first...last]
    }
}

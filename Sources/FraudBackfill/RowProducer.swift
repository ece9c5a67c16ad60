import Foundation
import FraudClient
import FraudCore
import FraudWire

/// One row of a batch, in replay order.
struct ReplayItem: Sendable {
    /// Index in replay order.
    var position: Int
    /// 1-based line number in the file.
    var line: Int
    /// The `isFraud` label (requests only).
    var isFraud: Bool
    /// Where the row's framed request starts and ends in the batch bytes; empty for a reject.
    var byteStart: Int
    var byteEnd: Int
    /// Why the row is not sent, for a reject.
    var rejectReason: String?
    /// The transaction id sent (requests only), to check the answer against.
    var transactionID = ""
    /// The row's step (requests only): rows of a later step wait until every earlier row is answered when
    /// several streams are used.
    var step: UInt32 = 0
    /// Hashes of the origin and destination account (requests only). Rows sharing an account keep their
    /// order across streams; a hash collision only adds an ordering constraint.
    var originKey = 0
    var destinationKey = 0
    /// The answer, once it arrived (rows answered out of order wait here until every earlier row is done).
    var decision: Decision?
    var isReplayed = false

    var isReject: Bool { rejectReason != nil }
}

/// Consecutive rows in replay order: their encoded requests back to back, and what each one is.
struct ReplayBatch: Sendable {
    var bytes: [UInt8] = []
    var items: [ReplayItem] = []
    /// The last batch of the input.
    var isLast = false
    var requestCount = 0
}

/// Reads the input in replay order, parses, validates and encodes each row, and hands batches to the event
/// loop. Runs on its own thread so file reading, gunzip and encoding overlap with the network.
///
/// Back-pressure: at most `maxQueuedBatches` batches are handed over and not yet sent; the producer blocks
/// on a semaphore until the consumer takes one.
final class RowProducer: Sendable {
    private let reader: CSVLineReader
    private let plan: ReplayPlan
    /// `<id prefix>-`.
    private let idStem: String
    private let startPosition: Int
    private let batchRows: Int
    private let credits: CreditGate

    init(
        reader: CSVLineReader,
        plan: ReplayPlan,
        idPrefix: String,
        startPosition: Int,
        batchRows: Int,
        maxQueuedBatches: Int
    ) {
        self.reader = reader
        self.plan = plan
        self.idStem = idPrefix + "-"
        self.startPosition = startPosition
        self.batchRows = batchRows
        self.credits = CreditGate(credits: maxQueuedBatches)
    }

    /// The consumer took a batch: one more may be produced.
    func batchTaken() { credits.signal() }

    /// Stops producing (the current batch is dropped); unblocks a waiting producer.
    func cancel() {
        credits.cancel()
    }

    /// Produces every batch, calling `deliver` for each (from the producer thread); the last has `isLast`.
    /// `failed` is called instead when the input cannot be read.
    func run(deliver: @escaping @Sendable (ReplayBatch) -> Void, failed: @escaping @Sendable (String) -> Void) {
        var batch = ReplayBatch()
        batch.bytes.reserveCapacity(batchRows * 160)
        var position = 0

        func emit() -> Bool {
            guard credits.wait() else { return false }
            deliver(batch)
            batch = ReplayBatch()
            batch.bytes.reserveCapacity(batchRows * 160)
            return true
        }

        func process(line: Int, bytes: UnsafeRawBufferPointer) -> Bool {
            append(line: line, bytes: bytes, position: position, to: &batch)
            if batch.items.count >= batchRows { return emit() }
            return true
        }

        do {
            if let index = plan.index {
                let fetcher = try CSVLineFetcher(path: reader.path)
                for position_ in startPosition..<plan.rowCount {
                    position = position_
                    let row = Int(index.order[position])
                    let keepGoing = try fetcher.withLine(offset: index.offsets[row], length: Int(index.lengths[row])) {
                        process(line: Int(index.lineNumbers[row]), bytes: $0)
                    }
                    if !keepGoing { return }
                }
            } else {
                var stopped = false
                try reader.forEachLine { lineNumber, _, line in
                    if lineNumber == 1 && plan.hasHeader { return true }
                    if ReplayPlan.isBlank(line) { return true }
                    defer { position += 1 }
                    if position < startPosition { return true }
                    if !process(line: lineNumber, bytes: line) {
                        stopped = true
                        return false
                    }
                    return true
                }
                if stopped { return }
            }
        } catch {
            failed("\(error)")
            return
        }
        batch.isLast = true
        _ = emit()
    }

    private func append(line: Int, bytes: UnsafeRawBufferPointer, position: Int, to batch: inout ReplayBatch) {
        var item = ReplayItem(
            position: position,
            line: line,
            isFraud: false,
            byteStart: 0,
            byteEnd: 0,
            rejectReason: nil
        )
        let row: PaySimRow
        switch CSVRowParser.parse(bytes) {
        case .success(let parsed):
            row = parsed
        case .failure(let error):
            item.rejectReason = "parse error: \(error)"
            batch.items.append(item)
            return
        }
        let id = idStem + String(line)
        let raw = row.transaction(id: id)
        let transaction: Transaction
        do throws(ValidationError) {
            transaction = try Transaction.validated(raw)
        } catch {
            item.rejectReason = "invalid: \(error)"
            batch.items.append(item)
            return
        }
        item.isFraud = row.isFraud
        item.transactionID = id
        item.step = transaction.step
        item.originKey = transaction.originAccount.hashValue
        item.destinationKey = transaction.destinationAccount.hashValue
        item.byteStart = batch.bytes.count
        ScoreRequest(transaction: raw, labelRawValue: row.label.rawValue).appendFramed(to: &batch.bytes)
        item.byteEnd = batch.bytes.count
        batch.items.append(item)
        batch.requestCount += 1
    }
}

/// A counting gate for the producer thread: `wait` takes a credit (blocking while there is none), `signal`
/// returns one, `cancel` releases every waiter for good. (A DispatchSemaphore may not be released while its
/// count is below the initial value, which a cancelled run would do.)
final class CreditGate: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var credits: Int
    private var isCancelled = false

    init(credits: Int) { self.credits = credits }

    /// Takes a credit; `false` once cancelled.
    func wait() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while credits == 0 && !isCancelled { condition.wait() }
        guard !isCancelled else { return false }
        credits -= 1
        return true
    }

    func signal() {
        condition.lock()
        credits += 1
        condition.signal()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        isCancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

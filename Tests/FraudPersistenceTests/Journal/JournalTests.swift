import Foundation
import Logging
import FraudCore
import Synchronization
import Testing

@testable import FraudPersistence

@Suite("Journal")
struct JournalTests {
    @Test("CRC-32C matches the standard check value")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // Slicing-by-8 and the byte loop agree on every length around the 8-byte boundary.
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in 0..<bytes.count {
            var bytewise = CRC32C()
            for byte in bytes[..<length] { bytewise.update([byte]) }
            #expect(CRC32C.checksum(bytes[..<length]) == bytewise.value)
        }
    }

    @Test("The commit marker line round-trips; old lines are read; a torn or altered line reads as nothing")
    func commitMarkerLine() {
        for value: UInt64 in [0, 1, 12_345, 99_999_999_999, UInt64.max] {
            let line = CommitMarker.line(value)
            #expect(line.count == CommitMarker.lineLength)
            #expect(CommitMarker.parse(line) == value)
        }
        #expect(CommitMarker.parse(Array("committed 42\n".utf8)) == 42)  // written before checksums
        let line = CommitMarker.line(1_000)
        // Digits of two values mixed (a torn write): 1000's line with its last digit from 1009.
        var torn = line
        torn[10 + 19] = UInt8(ascii: "9")
        #expect(CommitMarker.parse(torn) == nil)
        #expect(CommitMarker.parse(Array(line[..<25])) == nil)
        #expect(CommitMarker.parse(Array("committed x\n".utf8)) == nil)
        #expect(CommitMarker.parse(Array("committed 5 zz\n".utf8)) == nil)
        #expect(CommitMarker.parse([]) == nil)
    }

    @Test("The writer's marker file is rewritten in place: same inode, newest value read back")
    func commitMarkerInPlace() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + JournalFormat.markerName
        // A marker in the old format, longer than nothing and shorter than a new line.
        try Data("committed 7\n".utf8).write(to: URL(fileURLWithPath: path))
        let inode = { try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64 }
        let before = try inode()
        let marker = MarkerFile(directory: directory.path)
        for sequence: UInt64 in [8, 9, 123_456] {
            try marker.write(sequence)
            #expect(try inode() == before)
            #expect(try CommitMarker.read(directory: directory.path, logger: Logger(label: "test")) == sequence)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count == CommitMarker.lineLength)
        // A missing marker is created.
        let fresh = TemporaryDirectory()
        defer { fresh.remove() }
        try MarkerFile(directory: fresh.path).write(3)
        #expect(try CommitMarker.read(directory: fresh.path, logger: Logger(label: "test")) == 3)
    }

    @Test("A record survives the binary payload bit for bit", arguments: [0, 1, 2, 3, 5, 17, 123])
    func payloadRoundTrip(index: Int) throws {
        let record = Records.make(index)
        var bytes: [UInt8] = []
        record.encode(into: &bytes)
        let decoded = try #require(DecisionRecord(payload: bytes[...]))
        #expect(decoded == record)
        #expect(decoded.assessment.riskScore.bitPattern == record.assessment.riskScore.bitPattern)
        // Every shorter prefix is rejected, as is a trailing byte.
        for length in 0..<bytes.count {
            #expect(DecisionRecord(payload: bytes[..<length]) == nil)
        }
        #expect(DecisionRecord(payload: (bytes + [0])[...]) == nil)
    }

    @Test("Appended records read back in order after reopening, across rotated segments")
    func roundTrip() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = Records.series("roundtrip", count: 1000, step: 7)
        var configuration = PersistenceConfiguration.testing(directory: directory.path, segmentBytes: 16 * 1024)
        do {
            let log = try DecisionLog(configuration: configuration)
            var last: UInt64 = 0
            for record in records[..<600] { last = try log.append(record) }
            let batchLast = try log.append(contentsOf: Array(records[600...]))
            #expect(last == 600)
            #expect(batchLast == 1000)
            #expect(log.hasCapacity)  // journal only: the cap does not apply
            #expect(log.stats.appended == 1000)
            #expect(log.stats.backlog == 1000)
            #expect(log.backlog == 1000)  // the lock-free reading agrees
            await log.shutdown()
            #expect(throws: PersistenceError.self) { try log.append(records[0]) }
        }
        #expect(directory.segments.count > 5)
        #expect(directory.quarantines.isEmpty)

        configuration.segmentBytes = 64 << 20
        let reopened = try DecisionLog(configuration: configuration)
        let readBack = reopened.warmStartRecords(lastSteps: 1)
        #expect(readBack.count == records.count)
        #expect(Set(readBack) == Set(records))
        // Sequence numbers continue after the recovered ones.
        #expect(try reopened.append(Records.make(5000, series: "roundtrip")) == 1001)
        #expect(reopened.stats.quarantinedFiles.isEmpty)
        await reopened.shutdown()
    }

    @Test("The reader returns exactly the requested range, from any position")
    func readerRanges() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = Records.series("reader", count: 300)
        let log = try DecisionLog(configuration: .testing(directory: directory.path, segmentBytes: 8 * 1024))
        try log.append(contentsOf: Array(records[..<100]))
        for record in records[100...] { try log.append(record) }
        let segments = log.journal.state.withLock { $0.segments }
        var reader = SegmentReader(directory: directory.path)
        let middle = reader.read(from: 50, through: 120, limit: 1000, segments: segments) { _ in Issue.record("damage")
        }
        #expect(middle.map(\.sequence) == Array(50...120))
        #expect(middle.map(\.record) == Array(records[49...119]))
        let limited = reader.read(from: 121, through: 300, limit: 10, segments: segments) { _ in }
        #expect(limited.map(\.sequence) == Array(121...130))
        let backwards = reader.read(from: 1, through: 3, limit: 10, segments: segments) { _ in }
        #expect(backwards.map(\.sequence) == [1, 2, 3])
        let all = reader.read(from: 1, through: 300, limit: 1000, segments: segments) { _ in }
        #expect(all.map(\.record) == records)
        await log.shutdown()
    }

    @Test("A flipped byte is caught by the checksum: only that record is quarantined, the rest replayed")
    func flippedByte() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = Records.series("flip", count: 10, step: 3)
        let configuration = PersistenceConfiguration.testing(directory: directory.path)
        let log = try DecisionLog(configuration: configuration)
        for record in records { try log.append(record) }
        await log.shutdown()

        let segment = directory.path + "/" + directory.segments[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
        let offsets = recordOffsets(bytes)
        #expect(offsets.count == 10)
        let damaged = offsets[4]  // the fifth record
        bytes[damaged.lowerBound + 16 + 20] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: segment))

        let reopened = try DecisionLog(configuration: configuration)
        #expect(reopened.stats.quarantinedFiles.count == 1)
        #expect(directory.quarantines.count == 1)
        let quarantine = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + directory.quarantines[0]))
        #expect(quarantine.count == damaged.count)
        let survivors = reopened.warmStartRecords(lastSteps: 1)
        #expect(survivors.count == 9)
        #expect(Set(survivors) == Set(records).subtracting([records[4]]))
        // The segment was rewritten without the damage: a second start finds nothing new to quarantine.
        await reopened.shutdown()
        let again = try DecisionLog(configuration: configuration)
        #expect(directory.quarantines.count == 1)
        #expect(again.warmStartRecords(lastSteps: 1).count == 9)
        await again.shutdown()
    }

    @Test("A truncated tail is quarantined, intact records kept, appending goes on in a new segment")
    func truncatedTail() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = Records.series("trunc", count: 10, step: 3)
        let configuration = PersistenceConfiguration.testing(directory: directory.path)
        let log = try DecisionLog(configuration: configuration)
        for record in records { try log.append(record) }
        await log.simulateCrash()

        let segment = directory.path + "/" + directory.segments[0]
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
        let last = recordOffsets(bytes).last!
        let cut = last.lowerBound + last.count / 2
        try Data(bytes[..<cut]).write(to: URL(fileURLWithPath: segment))

        let reopened = try DecisionLog(configuration: configuration)
        #expect(directory.quarantines.count == 1)
        let quarantine = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + directory.quarantines[0]))
        #expect(quarantine.count == cut - last.lowerBound)
        #expect(Set(reopened.warmStartRecords(lastSteps: 1)) == Set(records[..<9]))
        let extra = Records.make(99, series: "trunc", step: 3)
        #expect(try reopened.append(extra) == 10)  // the number of the cut-off record is free again
        await reopened.shutdown()
        #expect(directory.segments.count == 2)

        let third = try DecisionLog(configuration: configuration)
        #expect(Set(third.warmStartRecords(lastSteps: 1)) == Set(records[..<9] + [extra]))
        #expect(directory.quarantines.count == 1)
        await third.shutdown()
    }

    @Test("A corrupted length field costs only the damaged record: the scan finds the next intact one")
    func corruptedLength() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = Records.series("length", count: 20, step: 3)
        let configuration = PersistenceConfiguration.testing(directory: directory.path)
        let log = try DecisionLog(configuration: configuration)
        for record in records { try log.append(record) }
        await log.shutdown()

        let segment = directory.path + "/" + directory.segments[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
        let offsets = recordOffsets(bytes)
        // Length of record 8 (index 7) set to a plausible but wrong value.
        bytes[offsets[7].lowerBound] = 0xFF
        bytes[offsets[7].lowerBound + 1] = 0x03
        try Data(bytes).write(to: URL(fileURLWithPath: segment))

        let reopened = try DecisionLog(configuration: configuration)
        #expect(Set(reopened.warmStartRecords(lastSteps: 1)) == Set(records).subtracting([records[7]]))
        #expect(directory.quarantines.count == 1)
        await reopened.shutdown()
    }

    @Test("A segment with a damaged header is quarantined whole; a torn header from a crash is dropped")
    func damagedHeader() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = PersistenceConfiguration.testing(directory: directory.path)
        let log = try DecisionLog(configuration: configuration)
        try log.append(Records.make(1))
        await log.shutdown()
        let segment = directory.path + "/" + directory.segments[0]
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes[0] = UInt8(ascii: "X")
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        try Data("FRDJ".utf8).write(to: URL(fileURLWithPath: directory.path + "/journal-00000000000000ff.seg"))

        let reopened = try DecisionLog(configuration: configuration)
        #expect(directory.quarantines.count == 1)
        #expect(!directory.files.contains("journal-00000000000000ff.seg"))
        #expect(reopened.warmStartRecords(lastSteps: 1).isEmpty)
        await reopened.shutdown()
    }

    @Test("A second log on the same directory is refused while the first is open")
    func directoryLock() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = PersistenceConfiguration.testing(directory: directory.path)
        let first = try DecisionLog(configuration: configuration)
        #expect {
            _ = try DecisionLog(configuration: configuration)
        } throws: { ($0 as? PersistenceError)?.code == .journalLocked }
        await first.shutdown()
        let second = try DecisionLog(configuration: configuration)
        await second.shutdown()
    }

    @Test("fsync mode: whenDurable runs after the group fdatasync, and at once when already durable")
    func fsyncDurability() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let log = try DecisionLog(
            configuration: .testing(directory: directory.path, durability: .fsync, segmentBytes: 64 * 1024)
        )
        let records = Records.series("fsync", count: 400)
        let sequences = try records.map { try log.append($0) }
        let durable = await withTaskGroup(of: Bool.self) { group in
            for sequence in sequences {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        log.whenDurable(sequence) { continuation.resume(returning: (try? $0.get()) != nil) }
                    }
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        #expect(durable)
        #expect(log.stats.durableSequence >= sequences.last!)
        let ranInline = Atomic<Bool>(false)
        log.whenDurable(sequences[0]) { _ in ranInline.store(true, ordering: .relaxed) }
        let didRunInline = ranInline.load(ordering: .relaxed)
        #expect(didRunInline)
        await log.shutdown()
        // .process mode: immediate.
        let processLog = try DecisionLog(configuration: .testing(directory: directory.path))
        let sequence = try processLog.append(Records.make(1, series: "fsync-process"))
        let immediate = Atomic<Bool>(false)
        processLog.whenDurable(sequence) { immediate.store((try? $0.get()) != nil, ordering: .relaxed) }
        let wasImmediate = immediate.load(ordering: .relaxed)
        #expect(wasImmediate)
        await processLog.shutdown()
    }

    @Test("Settings out of range and an unparsable URL are refused")
    func invalidConfiguration() {
        let bad: [PersistenceConfiguration] = [
            .init(journalDirectory: ""),
            .init(backlogCap: 0),
            .init(batchSize: 0),
            .init(segmentBytes: 100),
            .init(postgresURL: "postgresql://host:notaport/db?bogus=1"),
        ]
        for configuration in bad {
            #expect {
                _ = try DecisionLog(configuration: configuration)
            } throws: { ($0 as? PersistenceError)?.code == .invalidConfiguration }
        }
    }

    /// Byte ranges of the records of a segment (after the 8-byte magic).
    private func recordOffsets(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var offset = JournalFormat.magic.count
        while case .record(_, _, let next) = JournalFormat.parse(bytes, at: offset) {
            ranges.append(offset..<next)
            offset = next
        }
        return ranges
    }
}

import FraudCore

/// The order in which a backfill replays a PaySim CSV: by `step`, ties (and rows whose step cannot be read)
/// in file order. A file already in step order is streamed as it is; another is indexed (offset, length and
/// line number of every row, 20 bytes a row) and replayed through a stable counting sort.
///
/// Rows are the non-empty lines after the optional header; a row's *position* is its index in replay order,
/// the unit of the checkpoint.
public struct ReplayPlan: Sendable {
    /// Data rows in the file.
    public var rowCount: Int
    /// Whether the rows are already in step order.
    public var isSortedByStep: Bool
    /// Whether line 1 is the PaySim header.
    public var hasHeader: Bool
    /// Present when the file is not sorted: where each row is and the order to replay them in.
    public var index: Index?

    /// Where the rows of an unsorted file are, and their replay order.
    public struct Index: Sendable {
        /// Byte offset of each row (file order).
        public var offsets: [UInt64]
        /// Byte length of each row, without the newline.
        public var lengths: [UInt32]
        /// 1-based line number of each row.
        public var lineNumbers: [UInt32]
        /// Row indexes in replay order.
        public var order: [UInt32]
    }

    /// Reads the file once to count rows and check the order; reads it a second time to index it when it is
    /// not sorted.
    /// - Throws: ``InputError`` from the reader.
    public static func make(for reader: CSVLineReader) throws -> ReplayPlan {
        var rows = 0
        var sorted = true
        var header = false
        var previous: UInt32 = 0
        try reader.forEachLine { lineNumber, _, line in
            if lineNumber == 1 && isHeader(line) {
                header = true
                return true
            }
            guard !isBlank(line) else { return true }
            rows += 1
            if let step = leadingStep(line) {
                if step < previous { sorted = false }
                previous = step
            }
            return true
        }
        var plan = ReplayPlan(rowCount: rows, isSortedByStep: sorted, hasHeader: header, index: nil)
        if !sorted {
            plan.index = try makeIndex(for: reader, expectedRows: rows)
        }
        return plan
    }

    private static func makeIndex(for reader: CSVLineReader, expectedRows: Int) throws -> Index {
        var offsets: [UInt64] = []
        var lengths: [UInt32] = []
        var lineNumbers: [UInt32] = []
        var steps: [UInt32] = []
        offsets.reserveCapacity(expectedRows)
        lengths.reserveCapacity(expectedRows)
        lineNumbers.reserveCapacity(expectedRows)
        steps.reserveCapacity(expectedRows)
        var previous: UInt32 = 0
        try reader.forEachLine { lineNumber, offset, line in
            if lineNumber == 1 && isHeader(line) { return true }
            guard !isBlank(line) else { return true }
            offsets.append(offset)
            lengths.append(UInt32(line.count))
            lineNumbers.append(UInt32(lineNumber))
            // A row without a readable step keeps its neighbour's, so it stays where it was.
            let step = leadingStep(line) ?? previous
            steps.append(step)
            previous = step
            return true
        }
        return Index(offsets: offsets, lengths: lengths, lineNumbers: lineNumbers, order: stableOrder(steps: steps))
    }

    /// Row indexes sorted by step, ties in input order (a counting sort: O(n + distinct steps)).
    public static func stableOrder(steps: [UInt32]) -> [UInt32] {
        guard let maxStep = steps.max() else { return [] }
        if Int(maxStep) > 4 * steps.count + 1024 {
            // Sparse steps: a comparison sort on (step, index) is cheaper than a huge count table.
            return steps.indices.sorted { (steps[$0], $0) < (steps[$1], $1) }.map { UInt32($0) }
        }
        var starts = [Int](repeating: 0, count: Int(maxStep) + 2)
        for step in steps { starts[Int(step) + 1] += 1 }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        var order = [UInt32](repeating: 0, count: steps.count)
        for (index, step) in steps.enumerated() {
            order[starts[Int(step)]] = UInt32(index)
            starts[Int(step)] += 1
        }
        return order
    }

    /// Whether the line is the PaySim header (a trailing `\r` allowed).
    public static func isHeader(_ line: UnsafeRawBufferPointer) -> Bool {
        var bytes = line[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        return bytes.elementsEqual(PaySimRow.header.utf8)
    }

    /// Whether the line is empty (or only `\r`): not a row.
    public static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.isEmpty || (line.count == 1 && line[0] == 0x0D)
    }

    /// The decimal number before the first comma, or `nil` when there is none.
    public static func leadingStep(_ line: UnsafeRawBufferPointer) -> UInt32? {
        var value: UInt32 = 0
        var digits = 0
        for byte in line {
            if byte == UInt8(ascii: ",") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            value = value * 10 + UInt32(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

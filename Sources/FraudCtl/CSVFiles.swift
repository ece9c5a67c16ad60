import Dispatch
import FraudCore
import Foundation
import Glibc

/// Reading and writing PaySim CSV files: the only file I/O of fraud-ctl, in large blocks.
enum CSVFiles {
    /// An I/O or format failure, with the file and what went wrong.
    struct Failure: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): \(reason)" }
    }

    /// Reads every row of a PaySim CSV (header checked, blank lines skipped), in file order. The file is read
    /// whole and parsed on all cores, in contiguous slices of lines.
    static func readRows(_ path: String) throws(Failure) -> [PaySimRow] {
        let bytes = try readFile(path)
        // Header.
        let firstNewline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        var bodyStart = 0
        if bytes.starts(with: Array("step,".utf8)) {
            var header = bytes[0..<firstNewline]
            if header.last == UInt8(ascii: "\r") { header = header.dropLast() }
            guard header.elementsEqual(PaySimRow.header.utf8) else {
                let text = String(decoding: header.prefix(120), as: UTF8.self)
                throw Failure(path: path, reason: "unexpected header \"\(text)\"")
            }
            bodyStart = min(firstNewline + 1, bytes.count)
        }
        // Slices end at newlines.
        let sliceCount = max(1, ProcessInfo.processInfo.activeProcessorCount * 4)
        var bounds = [bodyStart]
        for slice in 1..<sliceCount {
            var cut = max(bounds.last!, bodyStart + (bytes.count - bodyStart) * slice / sliceCount)
            while cut < bytes.count, bytes[cut] != UInt8(ascii: "\n") { cut += 1 }
            bounds.append(min(cut + 1, bytes.count))
        }
        bounds.append(bytes.count)
        let cuts = bounds
        var parts = [Result<[PaySimRow], Failure>](repeating: .success([]), count: sliceCount)
        bytes.withUnsafeBufferPointer { buffer in
            nonisolated(unsafe) let input = buffer
            parts.withUnsafeMutableBufferPointer { results in
                nonisolated(unsafe) let output = results
                DispatchQueue.concurrentPerform(iterations: sliceCount) { slice in
                    output[slice] = parse(input, from: cuts[slice], to: cuts[slice + 1], path: path)
                }
            }
        }
        var rows: [PaySimRow] = []
        rows.reserveCapacity(parts.reduce(0) { $0 + ((try? $1.get())?.count ?? 0) })
        for part in parts {
            switch part {
            case .success(let slice): rows.append(contentsOf: slice)
            case .failure(let failure): throw failure
            }
        }
        return rows
    }

    /// Parses the lines in `bytes[start..<end]` (which starts at a line start).
    private static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        path: String
    ) -> Result<[PaySimRow], Failure> {
        var rows: [PaySimRow] = []
        rows.reserveCapacity((end - start) / 90)
        var lineStart = start
        while lineStart < end {
            var lineEnd = lineStart
            while lineEnd < end, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            if lineEnd > lineStart {
                let line = String(decoding: UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd]), as: UTF8.self)
                do {
                    rows.append(try PaySimRow(csvLine: Substring(line)))
                } catch {
                    return .failure(Failure(path: path, reason: "byte \(lineStart): \(error)"))
                }
            }
            lineStart = lineEnd + 1
        }
        return .success(rows)
    }

    /// Writes bytes to a file through one large buffer. Single-threaded.
    final class Writer {
        private var descriptor: Int32
        let path: String
        /// Pending bytes; written out when over ``flushSize``.
        var buffer: [UInt8] = []
        static let flushSize = 8 << 20

        init(path: String) throws(Failure) {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
            self.path = path
            buffer.reserveCapacity(Self.flushSize + 4096)
        }

        /// Writes out the buffer if it is full enough.
        @inline(__always)
        func flushIfNeeded() throws(Failure) {
            if buffer.count >= Self.flushSize { try flush() }
        }

        /// Writes out the buffer.
        func flush() throws(Failure) {
            var failure: Failure?
            buffer.withUnsafeBytes { bytes in
                do throws(Failure) {
                    try write(bytes)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes `bytes` now, unbuffered.
        func write(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
            var written = 0
            while written < bytes.count {
                let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                guard result > 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
                written += result
            }
        }

        /// Flushes and closes.
        func close() throws(Failure) {
            try flush()
            let result = Glibc.close(descriptor)
            descriptor = -1
            guard result == 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        }

        deinit {
            if descriptor >= 0 { _ = Glibc.close(descriptor) }
        }
    }

    /// Writes `bytes` to `path` (small files: models, profiles, Swift sources).
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws(Failure) {
        let writer = try Writer(path: path)
        writer.buffer = bytes
        try writer.close()
    }

    /// The whole file.
    static func readFile(_ path: String) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        let blockSize = 16 << 20
        while true {
            let oldCount = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: blockSize))
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + oldCount, blockSize) }
            guard count >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
            bytes.removeLast(blockSize - count)
            if count == 0 { break }
        }
        return bytes
    }
}

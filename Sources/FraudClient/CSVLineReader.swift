import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why an input file cannot be read.
public struct InputError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A sentence naming the file and the cause.
    public var message: String

    /// Creates an error with its sentence.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Reads a text file line by line in large chunks: plain, or gzip (`.gz`, decompressed by a `gzip -dc` child
/// process so no zlib binding is needed).
///
/// Lines are handed out as bytes without their `\n` (a trailing `\r` is kept: PaySimRow drops it), with their
/// 1-based line number and the byte offset of their start in the (decompressed) stream. Memory stays at the
/// chunk size whatever the file size.
public struct CSVLineReader: Sendable {
    /// The file.
    public let path: String
    /// Whether the file is gzip-compressed (by its `.gz` suffix).
    public var isGzip: Bool { path.hasSuffix(".gz") }
    /// Read size.
    public var chunkBytes = 1 << 20

    /// A reader for `path` (nothing is opened until ``forEachLine(_:)``).
    public init(path: String) {
        self.path = path
    }

    /// Size of the file on disk (compressed size for gzip), or `nil` when it cannot be stat'ed.
    public var fileBytes: UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_size)
    }

    /// Calls `body` for every line, in order, until it returns `false` or the file ends.
    /// - Parameter body: `(lineNumber, offset, bytes)`; the bytes are valid only during the call.
    /// - Throws: ``InputError`` when the file cannot be opened or read (or gzip fails), and whatever `body`
    ///   throws.
    public func forEachLine(
        _ body: (_ lineNumber: Int, _ offset: UInt64, _ line: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var process: Process?
        var pipe: Pipe?
        let fd: Int32
        if isGzip {
            guard fileBytes != nil else {
                throw InputError("\(path): cannot open: \(String(cString: strerror(errno)))")
            }
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            child.arguments = ["gzip", "-dc", "--", path]
            let output = Pipe()
            child.standardOutput = output
            child.standardInput = FileHandle.nullDevice
            do {
                try child.run()
            } catch {
                throw InputError("\(path): cannot start gzip -dc: \(error)")
            }
            process = child
            pipe = output
            fd = output.fileHandleForReading.fileDescriptor
        } else {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw InputError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        }
        var stoppedEarly = false
        defer {
            if let process {
                if stoppedEarly || process.isRunning { process.terminate() }
                process.waitUntilExit()
                _ = pipe
            } else {
                close(fd)
            }
        }
        stoppedEarly = try readLines(from: fd, body)
        if let process {
            process.waitUntilExit()
            if !stoppedEarly && (process.terminationReason != .exit || process.terminationStatus != 0) {
                throw InputError(
                    "\(path): gzip -dc failed (status \(process.terminationStatus)): not a valid gzip file?"
                )
            }
        }
    }

    /// - Returns: whether `body` stopped the iteration.
    private func readLines(
        from fd: Int32,
        _ body: (Int, UInt64, UnsafeRawBufferPointer) throws -> Bool
    ) throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: max(chunkBytes, 4096))
        var filled = 0  // bytes in buffer
        var lineNumber = 0
        var streamOffset: UInt64 = 0  // offset of buffer[0] in the stream
        var atEnd = false
        while !atEnd {
            if filled == buffer.count {
                // One line longer than the buffer: grow.
                buffer.append(contentsOf: repeatElement(0, count: buffer.count))
            }
            let count = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + filled, raw.count - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw InputError("\(path): read failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { atEnd = true }
            filled += count
            var consumed = 0
            let stop = try buffer.withUnsafeBytes { raw -> Bool in
                let base = raw.baseAddress!
                while consumed < filled {
                    let rest = filled - consumed
                    guard let newline = memchr(base + consumed, 0x0A, rest) else {
                        guard atEnd else { return false }
                        // Last line without a newline.
                        lineNumber += 1
                        let line = UnsafeRawBufferPointer(start: base + consumed, count: rest)
                        let offset = streamOffset + UInt64(consumed)
                        consumed = filled
                        return try !body(lineNumber, offset, line)
                    }
                    let length = UnsafeRawPointer(newline) - (base + consumed)
                    lineNumber += 1
                    let line = UnsafeRawBufferPointer(start: base + consumed, count: length)
                    let offset = streamOffset + UInt64(consumed)
                    consumed += length + 1
                    if try !body(lineNumber, offset, line) { return true }
                }
                return false
            }
            if stop { return true }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    memmove(base, base + consumed, filled - consumed)
                }
                filled -= consumed
                streamOffset += UInt64(consumed)
            }
        }
        return false
    }
}

/// Random access to lines of a plain file by offset and length (for replaying an unsorted file in step
/// order), through a block cache so nearly sorted files cost few reads.
///
/// - Important: Not thread-safe; one owner.
public final class CSVLineFetcher {
    private let fd: Int32
    private let path: String
    private var block: [UInt8] = []
    private var blockStart: UInt64 = 0
    private let blockBytes: Int

    /// Opens `path` for reading.
    /// - Throws: ``InputError`` when it cannot be opened.
    public init(path: String, blockBytes: Int = 256 * 1024) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
        self.blockBytes = blockBytes
    }

    deinit { close(fd) }

    /// Calls `body` with the `length` bytes at `offset`.
    /// - Throws: ``InputError`` on a read error or a short file.
    public func withLine<R>(
        offset: UInt64,
        length: Int,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        let end = offset + UInt64(length)
        if offset < blockStart || end > blockStart + UInt64(block.count) {
            let size = max(blockBytes, length)
            block = [UInt8](repeating: 0, count: size)
            var got = 0
            while got < size {
                let n = block.withUnsafeMutableBytes { raw in
                    pread(fd, raw.baseAddress! + got, size - got, off_t(offset) + off_t(got))
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw InputError("\(path): read failed: \(String(cString: strerror(errno)))") }
                if n == 0 { break }
                got += n
            }
            block.removeLast(size - got)
            blockStart = offset
            guard got >= length else { throw InputError("\(path): file changed while reading (short read)") }
        }
        let start = Int(offset - blockStart)
        return try block.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
        }
    }
}

@available(*, unavailable)
extension CSVLineFetcher: Sendable {}

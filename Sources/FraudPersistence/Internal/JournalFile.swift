import Glibc

/// An open file descriptor, closed in `deinit`. Immutable, so it can be shared between the appending
/// threads and the flusher (which may `fdatasync` a segment that was just rotated away).
final class JournalFile: Sendable {
    /// The descriptor.
    let descriptor: Int32
    /// The path it was opened with (for messages).
    let path: String

    /// Opens `path`.
    ///
    /// - Throws: ``PersistenceError/Code/journalIO`` with the `errno` of `open(2)`.
    init(path: String, flags: Int32, mode: mode_t = 0o644) throws(PersistenceError) {
        let fd = path.withCString { open($0, flags | O_CLOEXEC, mode) }
        if fd < 0 {
            throw PersistenceError(code: .journalIO, message: "open \(path)", errno: Glibc.errno)
        }
        self.descriptor = fd
        self.path = path
    }

    deinit {
        close(descriptor)
    }

    /// Writes every byte (retrying short writes and EINTR).
    ///
    /// - Throws: ``PersistenceError/Code/journalIO`` (ENOSPC, EIO, EDQUOT, EFBIG…); some bytes may have
    ///   been written, the caller truncates them away.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws(PersistenceError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if Glibc.errno == EINTR { continue }
                throw PersistenceError(code: .journalIO, message: "write \(path)", errno: Glibc.errno)
            }
            offset += written
        }
    }

    /// Writes every byte of an array.
    func writeAll(_ bytes: [UInt8]) throws(PersistenceError) {
        var failure: PersistenceError?
        bytes.withUnsafeBytes { buffer in
            do throws(PersistenceError) { try writeAll(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(count: Int, at offset: Int64) throws(PersistenceError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = result.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if got < 0 {
                if Glibc.errno == EINTR { continue }
                throw PersistenceError(code: .journalIO, message: "read \(path)", errno: Glibc.errno)
            }
            if got == 0 { break }
            done += got
        }
        result.removeLast(count - done)
        return result
    }

    /// Size in bytes (`fstat`).
    func size() throws(PersistenceError) -> Int64 {
        var info = stat()
        if fstat(descriptor, &info) != 0 {
            throw PersistenceError(code: .journalIO, message: "fstat \(path)", errno: Glibc.errno)
        }
        return Int64(info.st_size)
    }

    /// Cuts the file to `length` bytes.
    func truncate(to length: Int64) throws(PersistenceError) {
        if ftruncate(descriptor, off_t(length)) != 0 {
            throw PersistenceError(code: .journalIO, message: "ftruncate \(path)", errno: Glibc.errno)
        }
    }

    /// `fdatasync(2)`: the data (and the size) reach stable storage.
    func synchronize() throws(PersistenceError) {
        while fdatasync(descriptor) != 0 {
            if Glibc.errno == EINTR { continue }
            throw PersistenceError(code: .durabilityLost, message: "fdatasync \(path)", errno: Glibc.errno)
        }
    }

    /// Takes an exclusive `flock` without waiting.
    ///
    /// - Returns: `false` if another open file description holds it.
    func tryLockExclusively() throws(PersistenceError) -> Bool {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        if Glibc.errno == EWOULDBLOCK { return false }
        throw PersistenceError(code: .journalIO, message: "flock \(path)", errno: Glibc.errno)
    }
}

/// Directory and whole-file operations on the journal directory.
enum FileSystem {
    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(PersistenceError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component + "/"
            if mkdir(prefix, 0o755) != 0 && Glibc.errno != EEXIST {
                throw PersistenceError(code: .journalIO, message: "mkdir \(prefix)", errno: Glibc.errno)
            }
        }
    }

    /// Names in a directory (no `.`/`..`), unsorted.
    static func listDirectory(_ path: String) throws(PersistenceError) -> [String] {
        guard let directory = opendir(path) else {
            throw PersistenceError(code: .journalIO, message: "opendir \(path)", errno: Glibc.errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `path` exists.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Renames atomically (same file system).
    static func rename(_ from: String, to: String) throws(PersistenceError) {
        if Glibc.rename(from, to) != 0 {
            throw PersistenceError(code: .journalIO, message: "rename \(from) -> \(to)", errno: Glibc.errno)
        }
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) throws(PersistenceError) {
        if unlink(path) != 0 && Glibc.errno != ENOENT {
            throw PersistenceError(code: .journalIO, message: "unlink \(path)", errno: Glibc.errno)
        }
    }

    /// The whole file, or `nil` if it does not exist.
    static func readFile(_ path: String) throws(PersistenceError) -> [UInt8]? {
        let file: JournalFile
        do {
            file = try JournalFile(path: path, flags: O_RDONLY)
        } catch {
            if error.errno == ENOENT { return nil }
            throw error
        }
        let size = try file.size()
        return try file.read(count: Int(size), at: 0)
    }

    /// Replaces `path` with `bytes` atomically: write `path.tmp`, optionally `fdatasync` it, rename over
    /// `path`, optionally `fsync` the directory. A crash leaves either the old or the new content.
    static func writeAtomically(_ bytes: [UInt8], to path: String, synchronize: Bool) throws(PersistenceError) {
        let temporary = path + ".tmp"
        do {
            let file = try JournalFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.writeAll(bytes)
            if synchronize { try file.synchronize() }
        }
        try rename(temporary, to: path)
        if synchronize { try synchronizeDirectory(of: path) }
    }

    /// `fsync` of the directory holding `path`, so that created, renamed and removed names are durable.
    static func synchronizeDirectory(of path: String) throws(PersistenceError) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        try synchronizeDirectory(directory)
    }

    /// `fsync` of a directory.
    static func synchronizeDirectory(_ directory: String) throws(PersistenceError) {
        let file = try JournalFile(path: directory, flags: O_RDONLY | O_DIRECTORY)
        while fsync(file.descriptor) != 0 {
            if Glibc.errno == EINTR { continue }
            throw PersistenceError(code: .durabilityLost, message: "fsync \(directory)", errno: Glibc.errno)
        }
    }
}

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers: files created with an explicit mode (private keys 0600), atomic replacement.
enum FileIO {
    /// Writes `bytes` to a new file at `path` with `mode` (umask does not widen it), failing if the file exists
    /// unless `replacing` (then it is replaced atomically through a temporary file and `rename`).
    static func writeFile(_ bytes: [UInt8], to path: String, mode: mode_t, replacing: Bool) throws(AuthFailure) {
        let target = replacing ? path + ".tmp-\(getpid())" : path
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replacing ? O_TRUNC : O_EXCL)
        let fd = open(target, flags, mode)
        guard fd >= 0 else {
            let reason = errno == EEXIST ? "already exists" : String(cString: strerror(errno))
            throw AuthFailure(.configuration, "cannot create \(path): \(reason)")
        }
        var failure: String?
        if fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
        var offset = 0
        while failure == nil, offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
            } else {
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil, replacing, rename(target, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(target)
            throw AuthFailure(.configuration, "cannot write \(path): \(failure)")
        }
    }

    /// Creates `path` (and parents) as a directory with `mode` if it does not exist.
    static func makeDirectory(_ path: String, mode: Int) throws(AuthFailure) {
        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: mode]
            )
        } catch {
            throw AuthFailure(.configuration, "cannot create directory \(path)")
        }
    }
}

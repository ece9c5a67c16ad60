import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only audit trail: one JSON object per line, e.g.
///
///     {"time":"2026-11-25T14:03:07.123Z","event":"login_failed","outcome":"failure","subject":"alice",
///      "source":"10.0.0.7","detail":"user failures 6, address failures 6, locked 1 s"}
///
/// (one line in the file). Fields: `time` (RFC 3339 UTC, ms), `event`, `outcome`, and when known `subject`,
/// `role`, `source`, `resource`, `detail`.
///
/// Cheap on the hot path: ``record(_:)`` formats the line and appends it to an in-memory buffer under a lock;
/// the buffer is written with `write(2)` (file opened `O_APPEND`, mode 0600) by ``flush()``, which runs when the
/// buffer passes ``flushThreshold`` bytes, every second from ``run(flushInterval:)``, and on deinit.
///
/// Never pass tokens or passwords. As a second line of defence every field is cut to 256 characters and a
/// field that contains `eyJ` (how every JWT starts) is replaced by `[redacted]`.
public final class AuditLog: Sendable {
    /// The file written.
    public let path: String
    /// Buffered bytes that trigger an immediate flush.
    public let flushThreshold: Int
    private let fd: Int32
    private let buffer = Mutex<[UInt8]>([])
    /// Serialises writes so lines reach the file in the order they were buffered.
    private let writer = Mutex<Void>(())
    private let failedWrites = Atomic<Int>(0)

    /// Opens (creating with mode 0600) the audit log for appending.
    /// - Parameters:
    ///   - path: The file, e.g. `var/audit.jsonl`.
    ///   - flushThreshold: Buffer size that forces a write; default 64 KiB.
    /// - Throws: ``AuthFailure`` `configuration` if the file cannot be opened.
    public init(path: String, flushThreshold: Int = 64 * 1024) throws(AuthFailure) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AuthFailure(.configuration, "cannot open audit log \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.fd = fd
        self.flushThreshold = flushThreshold
    }

    deinit {
        flush()
        close(fd)
    }

    /// Appends one event (buffered).
    /// - Parameter event: The event.
    public func record(_ event: AuditEvent) {
        let line = Self.format(event)
        let shouldFlush = buffer.withLock { buffer in
            buffer.append(contentsOf: line.utf8)
            return buffer.count >= flushThreshold
        }
        if shouldFlush { flush() }
    }

    /// Writes everything buffered so far to the file.
    public func flush() {
        writer.withLock { _ in
            let pending = buffer.withLock { buffer in
                let pending = buffer
                buffer.removeAll(keepingCapacity: true)
                return pending
            }
            guard !pending.isEmpty else { return }
            var offset = 0
            while offset < pending.count {
                let written = pending[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    failedWrites.add(1, ordering: .relaxed)
                    return
                }
                offset += written
            }
        }
    }

    /// Number of flushes that failed (disk full, I/O error): export as a metric; the lines are lost.
    public var failedWriteCount: Int {
        failedWrites.load(ordering: .relaxed)
    }

    /// Flushes every `flushInterval` until the task is cancelled, then once more.
    /// - Parameter flushInterval: Default one second.
    public func run(flushInterval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            flush()
        }
        flush()
    }

    // MARK: Formatting

    static func format(_ event: AuditEvent) -> String {
        var line = "{\"time\":\"" + timestamp(event.time) + "\",\"event\":"
        appendJSONString(event.kind.rawValue, to: &line)
        line += ",\"outcome\":\"" + event.outcome.rawValue + "\""
        let fields: [(String, String?)] = [
            ("subject", event.subject), ("role", event.role?.rawValue), ("source", event.source),
            ("resource", event.resource), ("detail", event.detail),
        ]
        for (name, value) in fields {
            guard let value else { continue }
            line += ",\"" + name + "\":"
            appendJSONString(sanitized(value), to: &line)
        }
        line += "}\n"
        return line
    }

    /// Cut to 256 characters; anything that looks like a JWT becomes `[redacted]`.
    static func sanitized(_ value: String) -> String {
        if value.contains("eyJ") { return "[redacted]" }
        return value.count > 256 ? String(value.prefix(256)) + "…" : value
    }

    private static func appendJSONString(_ value: String, to line: inout String) {
        line.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                line +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: line.unicodeScalars.append(scalar)
            }
        }
        line.append("\"")
    }

    /// `2026-11-25T14:03:07.123Z`.
    private static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "."
            + pad(Int32(milliseconds % 1000), 3) + "Z"
    }
}

import Glibc

/// How far background work (analytics queries, and the PostgreSQL backend answering them) steps aside for
/// scoring, which shares the machine's cores.
public enum BackgroundPriority: String, Sendable, CaseIterable {
    /// Linux `SCHED_IDLE`: runs only on a core nothing else wants, and a waking scoring thread preempts it
    /// at once (the kernel checks the policy on every wake-up, across process groups — nice values only
    /// weigh against the same session's threads when autogroup scheduling is on).
    case idle
    /// Nice 10: a tenth of a normal thread's share when cores are contended.
    case low
    /// As the rest of the process.
    case normal

    /// Applies this priority to the calling thread.
    ///
    /// - Returns: `nil` on success, else the `errno` of the failed call.
    public func applyToCurrentThread() -> Int32? {
        guard let tid = PersistenceThread.currentThreadID() else { return ENOENT }
        return apply(to: tid)
    }

    /// Applies this priority to the thread or single-threaded process `id` (Linux: a thread id is a pid).
    ///
    /// Unprivileged callers may lower the priority of their own user's processes only (`EPERM` otherwise).
    /// - Returns: `nil` on success, else the `errno` of the failed call.
    func apply(to id: pid_t) -> Int32? {
        switch self {
        case .idle:
            var parameters = sched_param(sched_priority: 0)
            return sched_setscheduler(id, Self.schedIdle, &parameters) == 0 ? nil : errno
        case .low:
            return setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(id), 10) == 0 ? nil : errno
        case .normal:
            return nil
        }
    }

    /// `SCHED_IDLE` from `<bits/sched.h>` (behind `_GNU_SOURCE`, so not visible through Glibc).
    private static let schedIdle: Int32 = 5

    /// Whether `pid` on this machine is a PostgreSQL backend: its `/proc/<pid>/comm` is `postgres`. Guards
    /// against changing an unrelated process when a backend pid comes from a server on another host.
    static func isLocalPostgresBackend(_ pid: pid_t) -> Bool {
        guard pid > 0, let file = fopen("/proc/\(pid)/comm", "r") else { return false }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 32)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return false }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.hasPrefix("postgres")
    }
}

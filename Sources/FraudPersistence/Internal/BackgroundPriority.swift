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

    /// Applies this priority to a local PostgreSQL backend: the policy or nice value as ``apply(to:)``, and
    /// the weight of its autogroup.
    ///
    /// With autogroup scheduling on (Linux's default for desktop-style kernels, and on here), the scheduler
    /// first picks between sessions, each weighted by its autogroup's nice value, and only then between the
    /// threads of the chosen session; a `SCHED_IDLE` or niced thread is light only inside its own session.
    /// PostgreSQL starts every backend in a session of its own (`setsid`), so the backend's session weighs as
    /// much as the whole fraud-server and, once picked, keeps a core for its slice while a scoring thread
    /// waits (seen with `perf sched`: 1.5–3.6 ms). Setting the autogroup's nice (`/proc/<pid>/autogroup`)
    /// makes the backend light against every other session too. Only done when the backend leads its own
    /// session (so no other process is affected); a refusal (another user's process) is ignored.
    /// - Returns: `nil` on success, else the `errno` of the policy call.
    func applyToBackend(_ pid: pid_t) -> Int32? {
        if let error = apply(to: pid) { return error }
        switch self {
        case .idle: Self.setAutogroupNice(19, of: pid)
        case .low: Self.setAutogroupNice(10, of: pid)
        case .normal: break
        }
        return nil
    }

    /// Writes `nice` to `/proc/<pid>/autogroup` when `pid` leads its own session; `false` when it does not or
    /// the write fails.
    @discardableResult
    static func setAutogroupNice(_ nice: Int, of pid: pid_t) -> Bool {
        guard pid > 0, getsid(pid) == pid, let file = fopen("/proc/\(pid)/autogroup", "w") else { return false }
        let written = fputs("\(nice)\n", file) >= 0
        return fclose(file) == 0 && written
    }

    /// The nice value of the autogroup of `pid` (`/proc/<pid>/autogroup` reads `/autogroup-N nice K`), or `nil`.
    static func autogroupNice(of pid: pid_t) -> Int? {
        guard let file = fopen("/proc/\(pid)/autogroup", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let last = text.split(separator: " ").last else { return nil }
        return Int(last.prefix { $0 == "-" || $0.isNumber })
    }

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

import Glibc

/// Lowers, and on demand restores, the OS priority of the PostgreSQL backend serving one connection, when
/// that backend is a process of this machine: the server address is loopback or a socket
/// (`inet_server_addr()` is NULL) and `/proc/<pid>/comm` names postgres. A backend on another host is left
/// alone (its pid means nothing here).
///
/// The writer lowers its backend after connecting and whenever the backlog is small again; any appending
/// thread restores it (one system call, once per crossing) when the backlog grows past the catch-up mark,
/// because the writer itself may then be stuck in a slow COPY. ``Journal/loweredBackendPID`` says which
/// backend is currently lowered (0: none).
enum BackendPriorityControl {
    /// Finds the backend of `connection`; `nil` when it is not a local PostgreSQL process.
    static func localBackend(of connection: PGConnection) -> pid_t? {
        let pid = connection.backendPID
        let isLocal =
            (try? connection.execute(
                "SELECT coalesce(host(inet_server_addr()) IN ('127.0.0.1', '::1'), true)"
            ))?.rows.first?.first == "t"
        guard isLocal, BackgroundPriority.isLocalPostgresBackend(pid) else { return nil }
        return pid
    }

    /// Gives process `pid` its normal scheduling back (`SCHED_OTHER`, nice 0).
    ///
    /// An unprivileged caller may leave `SCHED_IDLE` within its `RLIMIT_NICE` but not lower a nice value
    /// it raised; the error is returned and the backend keeps running, only slower.
    /// - Returns: `nil` on success, else the `errno` of the failed call.
    static func restore(_ pid: pid_t) -> Int32? {
        var parameters = sched_param(sched_priority: 0)
        // SCHED_OTHER is 0 in <bits/sched.h>.
        if sched_setscheduler(pid, 0, &parameters) != 0 { return errno }
        if getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid)) != 0 {
            if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), 0) != 0 { return errno }
        }
        if let nice = BackgroundPriority.autogroupNice(of: pid), nice != 0 {
            BackgroundPriority.setAutogroupNice(0, of: pid)
        }
        return nil
    }
}

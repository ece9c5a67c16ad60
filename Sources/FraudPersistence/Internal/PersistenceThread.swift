import Glibc

/// Starts a detached OS thread (not part of the Swift concurrency pool: it may block in libpq and
/// fdatasync).
enum PersistenceThread {
    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Runs `body` on a new detached thread. `name` appears in the precondition message if creation fails.
    ///
    /// - Precondition: The thread can be created (failure means the process is out of resources).
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let rc = pthread_create(
            &thread,
            &attributes,
            { argument in
                guard let argument else { return nil }
                let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
                box.body()
                return nil
            },
            box
        )
        // EAGAIN (thread limit) or ENOMEM: nothing sensible to do without the persistence threads.
        precondition(rc == 0, "pthread_create(\(name)) failed: \(rc)")
    }

    /// Sets the nice value of the calling thread only (on Linux `setpriority(PRIO_PROCESS, tid)` names one
    /// thread, not the process).
    ///
    /// - Returns: `nil` on success, else the `errno` (EACCES/EPERM when lowering the nice value without
    ///   the privilege; raising it is always allowed; ENOENT when the thread id is not available).
    static func setCurrentThreadNiceness(_ niceness: Int32) -> Int32? {
        guard let tid = currentThreadID() else { return ENOENT }
        return setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid), niceness) == 0 ? nil : errno
    }

    /// The kernel's id of the calling thread. Glibc's `gettid()` is not visible to Swift and `syscall` is
    /// variadic, so it is read from the `/proc/thread-self` link (`<pid>/task/<tid>`, Linux 3.17+).
    static func currentThreadID() -> pid_t? {
        var buffer = [CChar](repeating: 0, count: 64)
        let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let link = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = link.lastIndex(of: "/") else { return nil }
        return pid_t(link[link.index(after: slash)...])
    }
}

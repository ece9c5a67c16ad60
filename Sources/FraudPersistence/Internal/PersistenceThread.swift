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
}

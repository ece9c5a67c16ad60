public import NIOCore

/// Runs Swift concurrency jobs on one NIO event loop: the admin port's request handlers (parameter
/// parsing, JSON assembly, the resumption after an analytics query) then run on the admin loop's thread,
/// which is niced, instead of hopping to the shared concurrency pool, whose threads run at normal
/// priority and would wake on the cores scoring needs.
public final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    public init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

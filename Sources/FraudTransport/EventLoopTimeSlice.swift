import CFraudSched
import NIOCore
public import NIOPosix

extension MultiThreadedEventLoopGroup {
    /// Asks the kernel for a `micros`-long EEVDF time slice on every loop thread of the group (Linux 6.12+:
    /// `sched_setattr` with `sched_runtime` on a fair thread). A loop that wakes with a short slice preempts
    /// whatever else runs on its core (PostgreSQL, the admin port, another process) instead of waiting out
    /// that task's slice (1.4 ms by default on a 2-core machine).
    ///
    /// - Returns: 0 when every thread got it, else the `errno` of the first refusal (older kernels give
    ///   `EINVAL`); the threads before it keep theirs.
    public func requestTimeSlice(micros: Int) async throws -> Int32 {
        let runtime = UInt64(micros) * 1000
        for loop in makeIterator() {
            let error = try await loop.submit { fraud_sched_set_slice(runtime) }.get()
            if error != 0 { return error }
        }
        return 0
    }
}

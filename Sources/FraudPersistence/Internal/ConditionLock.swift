import Glibc

/// A value protected by a pthread mutex, plus condition variables to wait for it to change.
///
/// `Synchronization.Mutex` has no condition variable, and the persistence threads need to sleep until
/// "records arrived", "a flush finished" or a deadline, so this is the one place that pairs a mutex
/// with `pthread_cond_t`. Waits use `CLOCK_MONOTONIC`.
///
/// - Important: Never call back into the lock from inside `body` or a predicate (not reentrant).
final class ConditionLock<State>: @unchecked Sendable {
    // @unchecked: `state` is only read or written with `mutex` held (every accessor below locks it).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    /// Creates the lock around `state`.
    init(_ state: State) {
        self.state = state
        self.mutex = .allocate(capacity: 1)
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")  // only ENOMEM/EAGAIN: impossible here
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the state, lock held.
    func withLock<Result, Failure: Error>(_ body: (inout State) throws(Failure) -> Result) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Waits on `condition` until `predicate` holds or `deadline` passes, then runs `body`, lock held
    /// throughout (except while waiting).
    ///
    /// - Parameters:
    ///   - condition: Signalled by whoever changes what `predicate` looks at.
    ///   - deadline: Monotonic deadline (``MonotonicTime``); `nil` waits without a time limit.
    ///   - predicate: Checked under the lock before every wait.
    ///   - body: Runs under the lock; its second argument says whether `predicate` held.
    func wait<Result>(
        on condition: Condition,
        until deadline: MonotonicTime?,
        for predicate: (inout State) -> Bool,
        then body: (inout State, Bool) -> Result
    ) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var satisfied = predicate(&state)
        while !satisfied {
            if let deadline {
                if MonotonicTime.now() >= deadline { break }
                var spec = deadline.asTimespec
                _ = pthread_cond_timedwait(condition.cond, mutex, &spec)
            } else {
                _ = pthread_cond_wait(condition.cond, mutex)
            }
            satisfied = predicate(&state)
        }
        return body(&state, satisfied)
    }
}

/// A condition variable on the monotonic clock, used with a ``ConditionLock``.
final class Condition: @unchecked Sendable {
    // @unchecked: pthread_cond_t is thread-safe by definition; the pointer never changes.
    fileprivate let cond: UnsafeMutablePointer<pthread_cond_t>

    init() {
        cond = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        let rc = pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
        precondition(rc == 0, "pthread_cond_init failed: \(rc)")
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
    }

    /// Wakes one waiter. Cheap when nobody waits.
    func signal() { pthread_cond_signal(cond) }

    /// Wakes every waiter.
    func broadcast() { pthread_cond_broadcast(cond) }
}

/// Nanoseconds on `CLOCK_MONOTONIC` (not affected by wall-clock changes).
struct MonotonicTime: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary start (boot).
    var nanoseconds: UInt64

    /// The current time.
    static func now() -> MonotonicTime {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return MonotonicTime(nanoseconds: UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec))
    }

    static func < (lhs: MonotonicTime, rhs: MonotonicTime) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// This time plus `duration` (negative durations count as zero).
    static func + (lhs: MonotonicTime, rhs: Duration) -> MonotonicTime {
        MonotonicTime(nanoseconds: lhs.nanoseconds &+ rhs.nanosecondsClamped)
    }

    /// Nanoseconds from `earlier` to `self`, 0 if `earlier` is later.
    func nanoseconds(since earlier: MonotonicTime) -> UInt64 {
        nanoseconds >= earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0
    }

    fileprivate var asTimespec: timespec {
        timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }
}

extension Duration {
    /// Whole nanoseconds, 0 for negative durations, saturating at `UInt64.max`.
    var nanosecondsClamped: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return product &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// Milliseconds as a `Double`, for logs and stats.
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

public import Logging
import Synchronization

/// Read-only analytics over the `decisions` table and its rollups, for the admin HTTP API.
///
/// Queries run on threads of their own, each with its own libpq connection (never an event loop, never
/// the decision writer's connection); callers `await` the answer. Every query is parameterised
/// (`PQexecParams`), runs under `SET statement_timeout`, and has an index behind it (see ``explain(_:)``).
/// Connections are opened lazily and reopened after a failure.
///
/// Analytics must stay out of the way of scoring, which shares the machine's cores: the query threads run
/// at ``BackgroundPriority/idle`` by default (Linux `SCHED_IDLE` on their own thread ids, nothing else in
/// the process), and so does the PostgreSQL backend serving each of them when it is a process of this
/// machine that we may change (loopback or socket connection, same OS user or root), each
/// thread rests after every query so that it (and the PostgreSQL backend working for it) is busy at most
/// ``maxBusyShare`` of the time, a full queue refuses work instead of piling it up, and
/// ``summary(windowMinutes:)`` answers from a cache for ``summaryCacheTTL`` (a dashboard polls it every
/// 2 s from every open tab).
public final class AnalyticsStore: Sendable {
    /// A query and its caller: `run` answers the caller with the query's result (when it does not throw),
    /// `fail` answers with an error.
    private struct Job {
        let run: (PGConnection) throws(PostgresError) -> Void
        let fail: @Sendable (AnalyticsError) -> Void
    }

    private struct State {
        var jobs: [Job] = []
        var isStopped = false
    }

    private struct CachedSummary {
        var json: String
        var at: ContinuousClock.Instant
    }

    private let url: String
    private let statementTimeoutMillis: Int
    private let logger: Logger
    private let state = ConditionLock(State())
    private let jobArrived = Condition()
    /// Most jobs waiting before new ones are refused (the dashboard polls; it must not pile up work).
    private let maxQueued = 64
    /// OS priority of the query threads and of their PostgreSQL backends.
    private let priority: BackgroundPriority
    /// Summaries by window, with the time they were computed.
    private let summaries = Mutex<[Int: CachedSummary]>([:])

    /// How long a computed summary is served again; `.zero` computes every call.
    public let summaryCacheTTL: Duration
    /// Largest share of wall time a query thread spends on queries: after a query that took `t`, the
    /// thread rests `t × (1 / share − 1)`. A dashboard's few queries per second never notice; a client
    /// looping over the API gets slower answers (or 503 once the queue is full) instead of a core.
    public let maxBusyShare: Double

    /// Starts `threads` query threads for the database at `url`.
    ///
    /// - Parameters:
    ///   - url: libpq URL (the server's `--postgres-url`).
    ///   - threads: Query threads, one connection each. One is enough for a dashboard and keeps analytics
    ///     to one PostgreSQL backend.
    ///   - statementTimeoutMillis: `statement_timeout` of every query.
    ///   - priority: OS priority of the query threads and, where possible, of the PostgreSQL backends
    ///     serving them (`.idle` by default, so scoring wins the cores). Failure to set it is logged and
    ///     ignored.
    ///   - summaryCacheTTL: How long a summary is reused (``summary(windowMinutes:)``).
    ///   - maxBusyShare: Busy share of each query thread, 0 < share ≤ 1 (1 = no rest); see
    ///     ``maxBusyShare``.
    ///   - logger: Connection failures (not queries).
    public init(
        url: String,
        threads: Int = 1,
        statementTimeoutMillis: Int = 2000,
        priority: BackgroundPriority = .idle,
        summaryCacheTTL: Duration = .seconds(1),
        maxBusyShare: Double = 0.25,
        logger: Logger
    ) {
        self.url = url
        self.statementTimeoutMillis = statementTimeoutMillis
        self.priority = priority
        self.summaryCacheTTL = summaryCacheTTL
        self.maxBusyShare = min(1, max(0.01, maxBusyShare))
        self.logger = logger
        for index in 0..<max(1, threads) {
            PersistenceThread.spawn(name: "fraud-analytics-\(index)") { [self] in self.runWorker() }
        }
    }

    /// The cached summary of `windowMinutes`, if younger than ``summaryCacheTTL``.
    func cachedSummary(windowMinutes: Int) -> String? {
        guard summaryCacheTTL > .zero else { return nil }
        let now = ContinuousClock.now
        return summaries.withLock { cache in
            guard let entry = cache[windowMinutes], entry.at.duration(to: now) < summaryCacheTTL else { return nil }
            return entry.json
        }
    }

    /// Remembers a summary computed at `at`.
    func cacheSummary(_ json: String, windowMinutes: Int, at: ContinuousClock.Instant) {
        guard summaryCacheTTL > .zero else { return }
        summaries.withLock { cache in
            // Bounded by the distinct windows asked for (1...10080); drop stale ones when it grows.
            if cache.count >= 64 { cache = cache.filter { $0.value.at.duration(to: at) < summaryCacheTTL } }
            cache[windowMinutes] = CachedSummary(json: json, at: at)
        }
    }

    /// Stops the query threads after the jobs already queued (which fail with `.unavailable`).
    public func shutdown() {
        let jobs = state.withLock { state in
            state.isStopped = true
            defer { state.jobs = [] }
            return state.jobs
        }
        jobArrived.broadcast()
        for job in jobs { job.fail(AnalyticsError(code: .unavailable, message: "analytics stopped")) }
    }

    /// Runs `body` on a query thread and returns its result. Parse and format in `body`: the query thread
    /// runs at the store's background priority, the caller's thread (the shared concurrency pool) does not.
    func perform<Value: Sendable>(
        _ body: @escaping (PGConnection) throws(PostgresError) -> Value
    ) async throws(AnalyticsError) -> Value {
        let result: Result<Value, AnalyticsError> = await withCheckedContinuation { continuation in
            let job = Job(
                run: { connection throws(PostgresError) in continuation.resume(returning: .success(try body(connection))) },
                fail: { continuation.resume(returning: .failure($0)) }
            )
            let accepted = state.withLock { state -> Bool in
                guard !state.isStopped, state.jobs.count < maxQueued else { return false }
                state.jobs.append(job)
                return true
            }
            if accepted {
                jobArrived.signal()
            } else {
                job.fail(AnalyticsError(code: .unavailable, message: "analytics queue is full"))
            }
        }
        return try result.get()
    }

    private func runWorker() {
        if let error = priority.applyToCurrentThread() {
            logger.notice(
                "could not lower the analytics thread's priority",
                metadata: ["priority": "\(priority.rawValue)", "errno": "\(error)"]
            )
        }
        var connection: PGConnection?
        while true {
            let job: Job? = state.wait(
                on: jobArrived,
                until: nil,
                for: { !$0.jobs.isEmpty || $0.isStopped },
                then: { state, _ in state.jobs.isEmpty ? nil : state.jobs.removeFirst() }
            )
            guard let job else { return }
            let started = MonotonicTime.now()
            defer { rest(after: started) }
            do throws(PostgresError) {
                if connection == nil || connection!.isBroken {
                    connection = nil
                    let opened = try PGConnection(
                        url: url,
                        applicationName: "fraud-server-analytics",
                        connectTimeoutSeconds: 3
                    )
                    try opened.execute("SET statement_timeout = \(statementTimeoutMillis)")
                    try opened.execute("SET default_transaction_read_only = on")
                    // Every query is index-backed and short; parallel workers would be new backend processes
                    // at normal priority, outside the priority given to this connection's backend below.
                    try opened.execute("SET max_parallel_workers_per_gather = 0")
                    lowerBackendPriority(of: opened)
                    connection = opened
                }
                try job.run(connection!)
            } catch {
                if error.isConnectionBroken || connection?.isBroken ?? true {
                    logger.warning("analytics connection failed", metadata: ["error": "\(error)"])
                    connection = nil
                }
                let code: AnalyticsError.Code = error.sqlState == "57014" ? .timeout : .unavailable
                job.fail(AnalyticsError(code: code, message: error.description))
            }
        }
    }

    /// Gives the PostgreSQL backend of `connection` this store's priority, when that backend is a process of
    /// this machine: the server's address is loopback or a socket (`inet_server_addr()` is NULL) and
    /// `/proc/<pid>/comm` names postgres. Otherwise (a database on another host, or not permitted) the
    /// backend keeps its priority; the query thread's own priority and rests still apply.
    private func lowerBackendPriority(of connection: PGConnection) {
        guard priority != .normal else { return }
        let pid = connection.backendPID
        let isLocal = (try? connection.execute(
            "SELECT coalesce(host(inet_server_addr()) IN ('127.0.0.1', '::1'), true)"
        ))?.rows.first?.first == "t"
        guard isLocal, BackgroundPriority.isLocalPostgresBackend(pid) else {
            logger.debug("analytics backend is not a local process; its priority is left alone")
            return
        }
        if let error = priority.applyToBackend(pid) {
            logger.notice(
                "could not lower the priority of the analytics PostgreSQL backend",
                metadata: ["pid": "\(pid)", "priority": "\(priority.rawValue)", "errno": "\(error)"]
            )
        } else {
            logger.debug("analytics PostgreSQL backend priority lowered", metadata: ["pid": "\(pid)"])
        }
    }

    /// Sleeps `busy × (1 / maxBusyShare − 1)` after a query that started at `started` (woken by shutdown).
    private func rest(after started: MonotonicTime) {
        guard maxBusyShare < 1 else { return }
        let busy = Double(MonotonicTime.now().nanoseconds(since: started))
        let until = MonotonicTime.now() + .nanoseconds(Int64(busy * (1 / maxBusyShare - 1)))
        state.wait(on: jobArrived, until: until, for: { $0.isStopped }, then: { _, _ in })
    }
}

public import FraudCore
public import FraudPersistence
public import FraudService

/// What the admin endpoints read: the engine, the service, the decision log, the metrics and, when
/// PostgreSQL is configured, the analytics store.
public struct AdminContext: Sendable {
    /// Velocity figures, account count, model version.
    public var engine: RiskEngine
    /// Serving status (draining, backlog cap).
    public var service: ScoringService
    /// Journal and PostgreSQL writer counters; `nil` when decisions are not recorded.
    public var decisionLog: DecisionLog?
    /// RPC and decision counters.
    public var metrics: ServerMetrics
    /// Analytics queries; `nil` without PostgreSQL (the analytics endpoints answer 503).
    public var analytics: AnalyticsStore?
    /// Authentication and roles; `nil` = every route open (`--auth off`).
    public var access: (any AdminAccessControl)?

    /// Creates the context.
    public init(
        engine: RiskEngine,
        service: ScoringService,
        decisionLog: DecisionLog?,
        metrics: ServerMetrics,
        analytics: AnalyticsStore?,
        access: (any AdminAccessControl)? = nil
    ) {
        self.access = access
        self.engine = engine
        self.service = service
        self.decisionLog = decisionLog
        self.metrics = metrics
        self.analytics = analytics
    }
}

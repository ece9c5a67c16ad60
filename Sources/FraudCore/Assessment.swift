/// What the engine decided for a transaction.
public enum Decision: Int32, Sendable, Hashable, CaseIterable {
    case approve = 1
    case review = 2
    case decline = 3

    /// Upper-case name as used in logs, reports and the database (`APPROVE`, `REVIEW`, `DECLINE`).
    public var name: String {
        switch self {
        case .approve: "APPROVE"
        case .review: "REVIEW"
        case .decline: "DECLINE"
        }
    }
}

/// One reason behind a score: a stable code, a sentence with the figures, and its weight.
public struct Reason: Sendable, Hashable {
    /// Stable machine code, e.g. `ORIGIN_DRAINED`.
    public var code: String
    /// One human sentence with the figures that triggered it.
    public var detail: String
    /// Its contribution to the score.
    public var weight: Float

    public init(code: String, detail: String, weight: Float) {
        self.code = code
        self.detail = detail
        self.weight = weight
    }
}

/// The engine's answer for one transaction.
public struct Assessment: Sendable, Hashable {
    /// 0...1.
    public var riskScore: Float
    public var decision: Decision
    /// Most important first.
    public var reasons: [Reason]
    public var modelVersion: String

    public init(riskScore: Float, decision: Decision, reasons: [Reason], modelVersion: String) {
        self.riskScore = riskScore
        self.decision = decision
        self.reasons = reasons
        self.modelVersion = modelVersion
    }
}

/// A validation failure: which field broke which rule, in words a client developer can act on.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Wire field path, e.g. `transaction.amount_cents`.
    public var field: String
    /// The rule, e.g. `must be > 0 (got -5)`.
    public var rule: String

    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field) \(rule)" }
}

public import FraudCore

/// The Swift side of a `fraud.v1.ScoreResponse`.
public struct ScoreResponse: Sendable, Hashable {
    /// Echo of the request's `transaction_id`.
    public var transactionID: String
    /// Score, decision, reasons and model version.
    public var assessment: Assessment
    /// Time the call spent inside the server, in microseconds.
    public var serverTimeMicros: UInt32
    /// `true` when this is the earlier decision for a repeated `transaction_id`.
    public var replayed: Bool

    public init(transactionID: String, assessment: Assessment, serverTimeMicros: UInt32, replayed: Bool) {
        self.transactionID = transactionID
        self.assessment = assessment
        self.serverTimeMicros = serverTimeMicros
        self.replayed = replayed
    }
}

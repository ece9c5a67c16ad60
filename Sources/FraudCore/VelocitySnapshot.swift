/// An account's recent activity as of one event step, *before* the event being scored.
///
/// Windows are inclusive of the event's own step: "last step" is `step` itself, "last 24 steps" is
/// `step - 23 ... step`. Counts and totals saturate instead of overflowing.
public struct VelocitySnapshot: Sendable, Hashable {
    /// Earlier transactions of the account in the event's own step (hour).
    public var countLastStep: UInt32
    /// Their total amount, in cents.
    public var amountLastStepCents: Int64
    /// Earlier transactions of the account in the last 24 steps, the event's step included.
    public var countLast24Steps: UInt32
    /// Their total amount, in cents.
    public var amountLast24StepsCents: Int64
    /// Distinct counterparties of the account in the last 24 steps, at most
    /// ``VelocityStore/maxTrackedCounterparties`` (that value means "that many or more").
    public var distinctCounterpartiesLast24Steps: UInt32
    /// Steps between the account's most recent earlier activity and this event; `nil` when the account was
    /// never seen (or was forgotten after ``VelocityStore/idleEvictionSteps`` idle steps); `0` when it was
    /// already seen at this step or, for an out-of-order event, at a later one.
    public var stepsSinceLastSeen: UInt32?

    /// Creates a snapshot from its figures.
    public init(
        countLastStep: UInt32 = 0,
        amountLastStepCents: Int64 = 0,
        countLast24Steps: UInt32 = 0,
        amountLast24StepsCents: Int64 = 0,
        distinctCounterpartiesLast24Steps: UInt32 = 0,
        stepsSinceLastSeen: UInt32? = nil
    ) {
        self.countLastStep = countLastStep
        self.amountLastStepCents = amountLastStepCents
        self.countLast24Steps = countLast24Steps
        self.amountLast24StepsCents = amountLast24StepsCents
        self.distinctCounterpartiesLast24Steps = distinctCounterpartiesLast24Steps
        self.stepsSinceLastSeen = stepsSinceLastSeen
    }

    /// The snapshot of an account with no known history.
    public static let unseen = VelocitySnapshot()

    /// `true` when the store knew nothing about the account.
    public var isUnseen: Bool { stepsSinceLastSeen == nil }
}

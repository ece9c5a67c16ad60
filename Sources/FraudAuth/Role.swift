/// What a caller may do. The server decides per route which role is required; ``permits(_:)`` answers
/// whether a principal's role is enough.
///
/// - `scorer`: payment systems — `Score`, `ScoreStream`.
/// - `analyst`: people — the analytics endpoints and the dashboard.
/// - `admin`: everything, including what is required of the other two.
///
/// Health stays open and needs no role.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    case scorer
    case analyst
    case admin

    /// Whether a principal with this role may use something that requires `required`.
    ///
    /// `admin` may do everything; the other roles only what requires exactly them.
    /// - Parameter required: The role a route asks for.
    /// - Returns: `true` when access is allowed.
    public func permits(_ required: Role) -> Bool {
        self == .admin || self == required
    }
}

import Glibc

/// A failure of the decision log: the journal could not be written or read, the configuration is unusable,
/// or the log is closed.
public struct PersistenceError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: Sendable, Hashable {
            case journalIO, journalLocked, invalidConfiguration, closed, durabilityLost
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A system call on the journal failed (disk full, I/O error, permissions). The record was not
        /// journaled; the caller must not report the decision as recorded.
        public static let journalIO = Code(.journalIO)
        /// Another process holds the journal directory's lock (two servers on one journal).
        public static let journalLocked = Code(.journalLocked)
        /// A setting is out of range or the PostgreSQL URL does not parse.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// ``DecisionLog/shutdown()`` has run.
        public static let closed = Code(.closed)
        /// `fdatasync` failed: records written since the last successful sync may not survive power loss,
        /// and the kernel may already have dropped the dirty pages, so the log stops accepting work.
        public static let durabilityLost = Code(.durabilityLost)

        public var description: String {
            switch wrapped {
            case .journalIO: "journal I/O error"
            case .journalLocked: "journal locked"
            case .invalidConfiguration: "invalid configuration"
            case .closed: "closed"
            case .durabilityLost: "durability lost"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// What was being done, with the path or setting involved.
    public var message: String
    /// The `errno` of the failed system call, if any.
    public var errno: Int32?

    /// Creates an error.
    public init(code: Code, message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String {
        if let errno {
            return "\(code): \(message): \(String(cString: strerror(errno))) (errno \(errno))"
        }
        return "\(code): \(message)"
    }
}

import Synchronization

/// A ``TLSContext`` that can be loaded again from its files while the server runs (certificate renewal
/// without a restart; the server calls ``reload()`` on SIGHUP). New connections get the newest context;
/// a connection keeps the context it started with until it closes.
public final class ReloadableTLSContext: Sendable {
    /// The files and protocols every reload reads.
    public let configuration: TLSConfiguration
    private let current: Mutex<TLSContext>
    private let reloads = Atomic<Int>(0)

    /// Loads the certificate chain and key for the first time.
    /// - Throws: ``TLSError`` naming the file and OpenSSL's reason.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        self.configuration = configuration
        self.current = Mutex(try TLSContext(configuration: configuration))
    }

    /// The context new connections use.
    public var context: TLSContext { current.withLock { $0 } }

    /// Successful reloads so far.
    public var reloadCount: Int { reloads.load(ordering: .relaxed) }

    /// Reads the certificate chain, key and client CA again; when they load and the key matches the
    /// certificate, new connections use them. Otherwise the current context stays and the error says why.
    public func reload() throws(TLSError) {
        let fresh = try TLSContext(configuration: configuration)
        current.withLock { $0 = fresh }
        reloads.add(1, ordering: .relaxed)
    }

    /// A handler for one accepted connection, with the newest context.
    public func makeServerHandler() -> TLSServerHandler {
        context.makeServerHandler()
    }
}

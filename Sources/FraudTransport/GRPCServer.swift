public import Logging
public import NIOCore
import NIOPosix

/// A gRPC server on HTTP/2 (cleartext with prior knowledge, or behind a TLS handler): swift-nio sockets and event loops, libnghttp2
/// framing, one ``H2Session`` per connection, calls answered on the connection's own event loop.
public final class GRPCServer: Sendable {
    private let group: any EventLoopGroup
    private let service: any RPCService
    private let configuration: TransportConfiguration
    private let registry: ConnectionRegistry
    private let logger: Logger
    private let serverChannel: any Channel

    private init(
        group: any EventLoopGroup,
        service: any RPCService,
        configuration: TransportConfiguration,
        registry: ConnectionRegistry,
        logger: Logger,
        serverChannel: any Channel
    ) {
        self.group = group
        self.service = service
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.serverChannel = serverChannel
    }

    /// Binds and starts serving.
    /// - Parameters:
    ///   - host: address to bind (e.g. `127.0.0.1`).
    ///   - port: TCP port; 0 picks a free one (see ``localPort``).
    ///   - group: event loops (one per core is the intended setup).
    ///   - service: the application behind the methods.
    ///   - configuration: limits and HTTP/2 settings.
    ///   - logger: connection-level diagnostics (never per request).
    ///   - security: makes the handler that goes in front of HTTP/2 on every connection (TLS), or `nil`
    ///     for cleartext HTTP/2 with prior knowledge. Called on the connection's event loop.
    /// - Throws: when the address cannot be bound.
    public static func start(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        service: any RPCService,
        configuration: TransportConfiguration = .init(),
        logger: Logger,
        security: (@Sendable () -> any ChannelHandler)? = nil
    ) async throws -> GRPCServer {
        let registry = ConnectionRegistry(drainNoticeMilliseconds: configuration.drainNoticeMilliseconds)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let security {
                        try channel.pipeline.syncOperations.addHandler(security())
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        GRPCConnectionHandler(
                            service: service,
                            configuration: configuration,
                            registry: registry,
                            logger: logger
                        )
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
        return GRPCServer(
            group: group,
            service: service,
            configuration: configuration,
            registry: registry,
            logger: logger,
            serverChannel: channel
        )
    }

    /// The bound port.
    public var localPort: Int? { serverChannel.localAddress?.port }

    /// Number of open client connections.
    public var connectionCount: Int { registry.count }

    /// Tells health Watch streams on every connection to re-read the service's health.
    public func healthChanged() {
        registry.forEach { $0.refreshHealth() }
    }

    /// Graceful shutdown: stop accepting, GOAWAY every connection, let in-flight calls finish, and wait
    /// until every connection closed or `timeout` passed.
    /// - Returns: `true` when every connection closed in time.
    public func drain(timeout: Duration = .seconds(30)) async -> Bool {
        try? await serverChannel.close()
        registry.drainAll()
        let deadline = ContinuousClock.now + timeout
        while registry.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return registry.count == 0
    }
}

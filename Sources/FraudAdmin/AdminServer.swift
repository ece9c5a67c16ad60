import Foundation
public import FraudPersistence
public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin HTTP/1.1 server (`--admin-port`): health, Prometheus metrics, the analytics API, OpenAPI
/// document, docs and dashboard.
///
/// Runs on an event loop group of its own (one thread), so a slow client or a busy dashboard never
/// shares a loop with scoring; analytics queries wait on the ``FraudPersistence/AnalyticsStore`` threads.
public final class AdminServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
    }

    /// Binds and starts serving.
    ///
    /// - Parameters:
    ///   - host: Address to bind (the gRPC server's).
    ///   - port: TCP port; 0 picks a free one (see ``localPort``).
    ///   - context: What the endpoints read.
    ///   - logger: Bind and connection errors (never per request).
    ///   - security: makes the handler that goes in front of HTTP/1.1 on every connection (TLS), or `nil`
    ///     for cleartext HTTP.
    ///   - priority: OS priority of the admin event loop's thread (`.low` in the server: the admin port
    ///     must stay reachable under load, so not `.idle`).
    /// - Throws: When the address cannot be bound.
    public static func start(
        host: String,
        port: Int,
        context: AdminContext,
        logger: Logger,
        security: (@Sendable () -> any ChannelHandler)? = nil,
        priority: BackgroundPriority = .normal
    ) async throws -> AdminServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        if priority != .normal {
            // The loop's own thread only; scoring loops keep their priority.
            // `try?` flattens: nil when it worked (or the loop refused the task), else the errno.
            if let errno = try? await group.next().submit({ priority.applyToCurrentThread() }).get() {
                logger.notice("could not lower the admin event loop's priority", metadata: ["errno": "\(errno)"])
            }
        }
        let router = AdminRouter(context: context)
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 128)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    if let security {
                        do {
                            try channel.pipeline.syncOperations.addHandler(security())
                        } catch {
                            return channel.eventLoop.makeFailedFuture(error)
                        }
                    }
                    return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(router: router, eventLoop: channel.eventLoop))
                    }
                }
                .bind(host: host, port: port)
                .get()
            return AdminServer(group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// The bound port.
    public var localPort: Int? { channel.localAddress?.port }

    /// Closes the listener and the admin event loop.
    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// One admin connection: collects a request, asks the router, writes the answer (keep-alive aware).
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: AdminRouter
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var isBodyTooLarge = false
    /// Largest request body read (the login JSON); larger ones get 413.
    private static let maxBodyBytes = 8 * 1024

    /// Where request handlers run: this connection's event loop.
    private let executor: EventLoopTaskExecutor

    init(router: AdminRouter, eventLoop: any EventLoop) {
        self.router = router
        self.executor = EventLoopTaskExecutor(eventLoop: eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
            isBodyTooLarge = false
        case .body(let chunk):
            if body.count + chunk.readableBytes > Self.maxBodyBytes {
                isBodyTooLarge = true
            } else {
                body += chunk.readableBytesView
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if isBodyTooLarge {
                write(.json(JSONText.error("request body over \(Self.maxBodyBytes) bytes"), status: .payloadTooLarge), for: head, context: context)
                return
            }
            let router = self.router
            let promise = context.eventLoop.makePromise(of: AdminResponse.self)
            let request = AdminRequest(
                method: head.method,
                uri: head.uri,
                token: Self.token(in: head.headers),
                body: body,
                peer: context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
            )
            let executor = self.executor
            Task(executorPreference: executor) { promise.succeed(await router.handle(request)) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = loopBound.value
                handler.write(response, for: head, context: context)
            }
        }
    }

    private func write(_ response: AdminResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = request.isKeepAlive
        var body = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        body.writeString(response.body)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: "\(body.readableBytes)")
        headers.add(name: "cache-control", value: "no-store")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension AdminHTTPHandler {
    /// The bearer token of a request: `Authorization: Bearer …`, else the `fraud_token` cookie.
    static func token(in headers: HTTPHeaders) -> String? {
        if let authorization = headers.first(name: "authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
            return ""  // present but not a bearer token: verifies as malformed
        }
        for cookieHeader in headers["cookie"] {
            for cookie in cookieHeader.split(separator: ";") {
                let pair = cookie.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("fraud_token=") { return String(pair.dropFirst("fraud_token=".count)) }
            }
        }
        return nil
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}

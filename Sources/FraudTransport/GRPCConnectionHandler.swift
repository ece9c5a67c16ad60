import FraudWire
import Logging
import NIOCore

/// Bridges one NIO channel to its ``H2Session``: bytes in → nghttp2 → calls answered → bytes out.
///
/// Output is written once per read burst (`channelReadComplete`), so many answers share one syscall.
/// - Important: Lives on the channel's event loop only.
final class GRPCConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let session: H2Session
    private let registry: ConnectionRegistry
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var isClosing = false
    /// Output produced while the channel was not writable waits in nghttp2 until it is.
    private var isWritable = true

    init(service: any RPCService, configuration: TransportConfiguration, registry: ConnectionRegistry, logger: Logger) {
        self.session = H2Session(service: service, configuration: configuration)
        self.registry = registry
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        session.peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        session.scheduleDeadline = { streamID, nanos in
            eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                loopBound.value.deadlineExpired(streamID: streamID)
            }
        }
        session.makeDurableNotifier = { streamID, token in
            { failure in eventLoop.execute { loopBound.value.durable(streamID: streamID, token: token, failure: failure) } }
        }
        registry.add(ObjectIdentifier(self), NIOLoopBound(self, eventLoop: context.eventLoop))
        if registry.isDraining {
            beginDrain()
        }
        flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        registry.remove(ObjectIdentifier(self))
        session.scheduleDeadline = nil
        session.makeDurableNotifier = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let ok = buffer.withUnsafeReadableBytes { session.receive($0) }
        guard ok else {
            // Fatal protocol error (bad preface, flood, ...): send what nghttp2 queued (GOAWAY) and close.
            logger.debug("closing connection after a fatal HTTP/2 error")
            flush()
            close()
            return
        }
        session.processReady()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)")
        close()
    }

    /// Writes everything nghttp2 has queued, then closes the channel if the session is finished.
    private func flush() {
        guard let context, !isClosing else { return }
        if isWritable && session.wantsWrite {
            var output = context.channel.allocator.buffer(capacity: 16 * 1024)
            let ok = session.produceOutput { bytes in output.writeBytes(bytes) }
            if output.readableBytes > 0 {
                context.writeAndFlush(wrapOutboundOut(output), promise: nil)
            }
            if !ok {
                close()
                return
            }
        }
        if session.isDone { close() }
    }

    private func close() {
        guard let context, !isClosing else { return }
        isClosing = true
        context.close(promise: nil)
    }

    private func durable(streamID: Int32, token: UInt64, failure: Status?) {
        session.durable(streamID: streamID, token: token, failure: failure)
        flush()
    }

    private func deadlineExpired(streamID: Int32) {
        session.deadlineExpired(streamID: streamID)
        flush()
    }

    /// Draining step 1 (shutdown notice); step 2 (final GOAWAY) follows after the configured delay.
    func beginDrain() {
        guard let context else { return }
        session.beginDrain()
        flush()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(registry.drainNoticeMilliseconds)) {
            loopBound.value.finishDrain()
        }
    }

    private func finishDrain() {
        session.finishDrain()
        flush()
    }

    /// Sends changed health to Watch streams on this connection.
    func refreshHealth() {
        session.refreshHealthWatchers()
        flush()
    }
}

@available(*, unavailable)
extension GRPCConnectionHandler: Sendable {}

import FraudTransport
import FraudWire
import NIOCore

/// Bridges one NIO channel to its ``H2ClientSession``: calls submitted → nghttp2 → bytes out; bytes in →
/// responses and stream messages delivered to their owners.
///
/// Output is written once per read burst (`channelReadComplete`) or once per batch of submits made outside a
/// read (a single deferred flush), so many requests share one syscall. nghttp2 callbacks only record events;
/// they are delivered after `mem_recv` / `mem_send` return, so owners may submit new calls from them.
///
/// - Important: Lives on the channel's event loop only.
final class GRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Who is waiting for a stream.
    private enum Call {
        /// A unary call whose response goes to ``onTaggedResponse`` with the caller's tag.
        case tagged(UInt64)
        /// A unary call completed through a promise.
        case promise(EventLoopPromise<GRPCCallResult>)
        /// A streaming call (messages are delivered one by one).
        case streaming(GRPCStreamingCall)
    }

    /// Something that happened while nghttp2 was running, delivered afterwards in order.
    private enum Event {
        case message(GRPCStreamingCall, [UInt8])
        case closed(H2Response)
        /// A call that ended in lean mode: stream id, `grpc-status` (-1 when absent), RST_STREAM code.
        case status(Int32, Int, UInt32)
    }

    // The state touched per call skips the runtime exclusivity checks: the handler is confined to its event
    // loop and no access to these fields overlaps another (none is held open across a call out).
    private let session: H2ClientSession
    private let maxMessageBytes: Int
    @exclusivity(unchecked) private var calls = StreamTable<Call>(capacity: 512)
    @exclusivity(unchecked) private var events: [Event] = []
    @exclusivity(unchecked) private var spareEvents: [Event] = []
    /// Reused for every write once NIO has let go of it (no 16 KiB allocation per flush).
    @exclusivity(unchecked) private var output: ByteBuffer?
    /// Response bodies of unary calls, collected here only once a streaming call has installed `onData`.
    private var unaryBodies: [Int32: [UInt8]] = [:]
    private var isDataHookInstalled = false
    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    @exclusivity(unchecked) private var isWritable = true
    @exclusivity(unchecked) private var isInReadBurst = false
    @exclusivity(unchecked) private var isFlushScheduled = false
    @exclusivity(unchecked) private var isFlushing = false
    private var isPrefaceSent = false
    @exclusivity(unchecked) private var isClosed = false

    /// Whether calls can be started: the TCP connection is up and not closing. (The connect future can
    /// complete before `channelActive` runs; nghttp2 queues the preface first either way.)
    var isActive: Bool {
        guard !isClosed, let context else { return false }
        return context.channel.isActive
    }

    /// Receives every finished ``Call/tagged(_:)`` call.
    @exclusivity(unchecked) var onTaggedResponse: ((UInt64, GRPCCallResult) -> Void)?
    /// Called once when the connection is gone (after every open call was failed).
    var onClose: (() -> Void)?

    init(windowSize: Int32, maxMessageBytes: Int, collectsResponses: Bool) {
        self.session = H2ClientSession(windowSize: windowSize)
        self.maxMessageBytes = maxMessageBytes
        // The session is ours alone and only calls back from our own calls into it: `self` outlives it.
        session.onResponse = { [unowned(unsafe) self] response in
            self.events.append(.closed(response))
        }
        if !collectsResponses {
            session.onStatus = { [unowned(unsafe) self] streamID, status, resetCode in
                self.events.append(.status(streamID, status, resetCode))
            }
        }
    }

    // MARK: - Calls

    var openCallCount: Int { calls.count }

    var remainingStreamCapacity: Int { isActive ? session.remainingStreamCapacity : 0 }

    func startTagged(head: H2RequestHead, message: [UInt8], tag: UInt64) -> Bool {
        guard isActive else { return false }
        let id = session.submitRequest(head: head, body: message)
        guard id > 0 else { return false }
        calls.insert(.tagged(tag), for: id)
        requestFlush()
        return true
    }

    func startUnary(head: H2RequestHead, message: [UInt8], promise: EventLoopPromise<GRPCCallResult>) {
        guard isActive else {
            promise.fail(GRPCClientError(code: .connectionClosed, message: "connection is closed"))
            return
        }
        let id = session.submitRequest(head: head, body: message)
        guard id > 0 else {
            promise.fail(GRPCClientError(code: .streamRefused, message: "nghttp2 refused a new stream (\(id))"))
            return
        }
        calls.insert(.promise(promise), for: id)
        requestFlush()
    }

    func startStreaming(
        head: H2RequestHead,
        onMessage: @escaping ([UInt8]) -> Void,
        onClose: @escaping (Status) -> Void
    ) -> GRPCStreamingCall? {
        guard isActive else { return nil }
        installDataHook()
        let id = session.submitRequest(head: head, body: [], endStream: false)
        guard id > 0 else { return nil }
        let call = GRPCStreamingCall(
            streamID: id,
            handler: self,
            maxMessageBytes: maxMessageBytes,
            onMessage: onMessage,
            onClose: onClose
        )
        calls.insert(.streaming(call), for: id)
        requestFlush()
        return call
    }

    func send(_ bytes: [UInt8], on streamID: Int32, endStream: Bool) {
        guard isActive, calls.contains(streamID) else { return }
        session.send(bytes, on: streamID, endStream: endStream)
        requestFlush()
    }

    func close() {
        guard let context, !isClosed else { return }
        isClosed = true
        context.close(promise: nil)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { activate() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        activate()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        deliverEvents()
        failAllCalls(message: "connection closed")
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        isInReadBurst = true
        let ok = buffer.withUnsafeReadableBytes { session.receive($0) }
        deliverEvents()
        if !ok {
            // A fatal HTTP/2 error: send what nghttp2 queued (GOAWAY) and close.
            isInReadBurst = false
            flush()
            close()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isInReadBurst = false
        flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close()
    }

    // MARK: - Output

    /// Writes what nghttp2 has queued, delivering the events writing produced (a stream can close while
    /// its END_STREAM is sent), until nothing is left or the channel stops being writable.
    func flush() {
        isFlushScheduled = false
        guard let context, isActive, !isFlushing else { return }
        isFlushing = true
        defer { isFlushing = false }
        var rounds = 0
        while isWritable && session.wantsWrite && rounds < 8 {
            rounds += 1
            var buffer = output.take() ?? context.channel.allocator.buffer(capacity: 16 * 1024)
            buffer.clear()
            let ok = session.produceOutput { buffer.writeBytes($0) }
            if buffer.readableBytes > 0 {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            }
            output = buffer
            guard ok else {
                close()
                return
            }
            deliverEvents()
        }
        if session.isDone { close() }
    }

    /// Arranges one flush for submits made outside a read burst (the burst's end flushes anyway).
    private func requestFlush() {
        guard !isInReadBurst, !isFlushScheduled, !isFlushing, let context else { return }
        isFlushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            if isFlushScheduled { flush() }
        }
    }

    private func activate() {
        guard !isPrefaceSent, !isClosed else { return }
        isPrefaceSent = true
        flush()  // connection preface + SETTINGS
    }

    // MARK: - Delivery

    private func installDataHook() {
        guard !isDataHookInstalled else { return }
        isDataHookInstalled = true
        session.onData = { [unowned self] streamID, bytes in
            self.receiveData(bytes, on: streamID)
        }
    }

    private func receiveData(_ bytes: UnsafeRawBufferPointer, on streamID: Int32) {
        switch calls[streamID] {
        case .streaming(let call):
            call.deframe(bytes) { events.append(.message(call, $0)) }
        case .some:
            unaryBodies[streamID, default: []].append(contentsOf: bytes)
        case nil:
            break
        }
    }

    private func deliverEvents() {
        while !events.isEmpty {
            swap(&events, &spareEvents)
            for event in spareEvents {
                switch event {
                case .message(let call, let bytes):
                    call.deliver(bytes)
                case .status(let streamID, let status, let resetCode):
                    guard let call = calls.removeValue(for: streamID) else { continue }
                    let code: Status.Code =
                        status >= 0
                        ? (Status.Code(rawValue: status) ?? .unknown) : (resetCode == 7 ? .unavailable : .internal)
                    finish(call, with: GRPCCallResult(status: Status(code: code), body: []))
                case .closed(var response):
                    guard let call = calls.removeValue(for: response.streamID) else { continue }
                    if isDataHookInstalled, let body = unaryBodies.removeValue(forKey: response.streamID) {
                        response.body = body
                    }
                    finish(call, with: GRPCCallResult(status: response.status, body: response.body))
                }
            }
            spareEvents.removeAll(keepingCapacity: true)
        }
    }

    private func finish(_ call: Call, with result: GRPCCallResult) {
        switch call {
        case .tagged(let tag): onTaggedResponse?(tag, result)
        case .promise(let promise): promise.succeed(result)
        case .streaming(let call): call.finish(result.status)
        }
    }

    private func failAllCalls(message: String) {
        let open = calls.sortedEntries()
        calls.removeAll()
        unaryBodies.removeAll()
        for (_, call) in open {
            finish(call, with: GRPCCallResult(status: Status(code: .unavailable, message: message), body: []))
        }
    }
}

@available(*, unavailable)
extension GRPCClientHandler: Sendable {}

import FraudWire

/// A client- and server-streaming gRPC call (e.g. `ScoreStream`) on a ``GRPCClientConnection``.
///
/// Send length-prefixed messages with ``send(_:)`` (many at once is fine: one buffer, one DATA frame per
/// flow-control window), end the request side with ``finish()``. Response messages arrive in order through
/// the `onMessage` closure given to ``GRPCClientConnection/openStream(path:headers:onMessage:onClose:)``,
/// then `onClose` with the status.
///
/// - Important: Confined to the connection's event loop, like the connection.
public final class GRPCStreamingCall {
    /// The HTTP/2 stream id.
    public let streamID: Int32
    private unowned let handler: GRPCClientHandler
    private var deframer: MessageDeframer
    private var deframeError: WireError?
    private let onMessage: ([UInt8]) -> Void
    private let onClose: (Status) -> Void
    /// Whether ``finish()`` was called.
    public private(set) var isRequestFinished = false
    /// Whether the call is over (`onClose` was called).
    public private(set) var isClosed = false

    init(
        streamID: Int32,
        handler: GRPCClientHandler,
        maxMessageBytes: Int,
        onMessage: @escaping ([UInt8]) -> Void,
        onClose: @escaping (Status) -> Void
    ) {
        self.streamID = streamID
        self.handler = handler
        self.deframer = MessageDeframer(maxMessageBytes: maxMessageBytes)
        self.onMessage = onMessage
        self.onClose = onClose
    }

    /// Queues request bytes: one or more complete length-prefixed messages.
    /// - Parameter framedMessages: Bytes as produced by `ScoreRequest.appendFramed(to:)`.
    public func send(_ framedMessages: [UInt8]) {
        guard !isRequestFinished, !isClosed else { return }
        handler.send(framedMessages, on: streamID, endStream: false)
    }

    /// Ends the request side (half-close); the server answers what it has and sends its status.
    public func finish() {
        guard !isRequestFinished, !isClosed else { return }
        isRequestFinished = true
        handler.send([], on: streamID, endStream: true)
    }

    func deframe(_ bytes: UnsafeRawBufferPointer, _ collect: ([UInt8]) -> Void) {
        guard deframeError == nil else { return }
        do {
            try deframer.process(bytes) { collect(Array($0)) }
        } catch {
            deframeError = error
        }
    }

    func deliver(_ message: [UInt8]) {
        guard !isClosed, deframeError == nil else { return }
        onMessage(message)
    }

    func finish(_ status: Status) {
        guard !isClosed else { return }
        isClosed = true
        isRequestFinished = true
        if let deframeError {
            onClose(Status(code: .internal, message: "bad response framing: \(deframeError.message)"))
        } else if status.code == .ok && deframer.hasPartialMessage {
            onClose(Status(code: .internal, message: "response ended inside a message"))
        } else {
            onClose(status)
        }
    }
}

@available(*, unavailable)
extension GRPCStreamingCall: Sendable {}

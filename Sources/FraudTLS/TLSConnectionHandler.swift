import COpenSSL
public import NIOCore

/// TLS for one connection, OpenSSL driven through a stream BIO over our own buffers (`COpenSSL_StreamState`):
/// ciphertext from the socket is lent to OpenSSL while `SSL_read` turns it into plaintext, which travels up
/// the pipeline as one `ByteBuffer` per read; plaintext written by the handlers above goes through
/// `SSL_write`, and the ciphertext it produced leaves as one buffer. Each ciphertext byte is copied once on
/// the way in and once on the way out (a memory BIO zero-fills, then copies twice).
///
/// Output is coalesced per flush: writes only collect plaintext, and `flush` encrypts all of it with one
/// `SSL_write` (OpenSSL cuts records of at most 16 KiB), so the messages of one burst share records and
/// AEAD tags, and the ciphertext goes out as one write.
///
/// Writes made before the handshake finished (the HTTP/2 preface) wait and go out right after it. A failed
/// handshake sends OpenSSL's alert, fires the ``TLSError`` down the pipeline and closes the connection.
///
/// The common part of ``TLSServerHandler`` and ``TLSClientHandler``, which say which end they are and what a
/// completed or failed handshake means to them.
///
/// - Important: Lives on the channel's event loop only.
public class TLSConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Keeps the `SSL_CTX` and the BIO method alive as long as the connection.
    private let sslContext: SSLContextHandle
    private var ssl: OpaquePointer?
    /// The BIO's buffers (owned by the BIO, which the `SSL` owns).
    private var stream: UnsafeMutablePointer<COpenSSL_StreamState>?
    /// Whether the handshake completed (and was accepted by ``handshakeCompleted(context:negotiatedProtocol:)``).
    private(set) var isHandshakeDone = false
    /// Whether the connection failed; nothing is read or written any more.
    private(set) var isFailed = false
    /// Plaintext written since the last flush, and the promises of those writes.
    private var pendingPlaintext: ByteBuffer?
    private var pendingPromise: EventLoopPromise<Void>?
    /// Ciphertext OpenSSL did not take in the last read (normally none: it buffers partial records itself).
    private var leftoverCiphertext: ByteBuffer?
    /// The last read's plaintext buffer and the last flush's ciphertext buffer, reused by the next read and
    /// flush when nobody else holds them any more (so a busy connection allocates neither per read, and
    /// glibc does not consolidate its fast bins for each of these large requests); never kept above
    /// ``maxReusedCapacity``.
    private var sparePlaintext: ByteBuffer?
    private var spareCiphertext: ByteBuffer?
    /// Buffers that grew larger than this are not kept for reuse: an idle connection holds at most two of
    /// them (64 KiB), a busy one reuses buffers for reads and flushes of up to this many bytes (a read of 32
    /// Score calls is ≈ 7 KB of plaintext, their answers ≈ 15 KB of ciphertext).
    static let maxReusedCapacity = 32 * 1024

    init(sslContext: SSLContextHandle) {
        self.sslContext = sslContext
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    // MARK: What the ends decide

    /// Sets which end this is (`SSL_set_accept_state` / `SSL_set_connect_state`) and per-connection settings.
    /// - Returns: `false` when the connection cannot be set up (it is closed).
    func configure(_ ssl: OpaquePointer) -> Bool {
        preconditionFailure("TLSConnectionHandler.configure must be overridden")
    }

    /// The handshake completed with `negotiatedProtocol` (ALPN); pending writes go out after this returns.
    /// - Returns: why the connection must be closed instead, or `nil` to go on.
    func handshakeCompleted(context: ChannelHandlerContext, negotiatedProtocol: String?) -> String? {
        nil
    }

    /// The connection failed (during the handshake or later); called once, before the error is fired and the
    /// channel closed.
    func connectionFailed(_ error: TLSError) {}

    // MARK: Channel events

    public func handlerAdded(context: ChannelHandlerContext) {
        guard let ssl = SSL_new(sslContext.context) else {
            return fail(context, TLSError("SSL_new failed"))
        }
        guard let bio = BIO_new(sslContext.streamMethod), let stream = COpenSSL_streamState(bio) else {
            SSL_free(ssl)
            return fail(context, TLSError("cannot make the TLS stream BIO"))
        }
        SSL_set_bio(ssl, bio, bio)  // the SSL owns the BIO (one reference for both directions) from here
        self.ssl = ssl
        self.stream = stream
        guard configure(ssl) else {
            return fail(context, TLSError("cannot configure the TLS connection"))
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if let ssl { SSL_free(ssl) }
        ssl = nil
        stream = nil
        pendingPlaintext = nil
        leftoverCiphertext = nil
        sparePlaintext = nil
        spareCiphertext = nil
        pendingPromise?.fail(ChannelError.ioOnClosedChannel)
        pendingPromise = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        context.fireChannelInactive()
    }

    /// Runs the first handshake step without input (the client's ClientHello) and sends what it produced.
    func startHandshake(_ context: ChannelHandlerContext) {
        guard ssl != nil, !isFailed, !isHandshakeDone else { return }
        if case .failed(let what) = handshakeStep() {
            writeCiphertext(context, promise: nil)
            context.flush()
            return fail(context, makeError(what))
        }
        writeCiphertext(context, promise: nil)
        context.flush()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard ssl != nil, let stream, !isFailed else { return }
        var buffer = unwrapInboundIn(data)
        let wasHandshakeDone = isHandshakeDone
        if var leftover = leftoverCiphertext {
            leftoverCiphertext = nil
            leftover.writeBuffer(&buffer)
            buffer = leftover
        }
        // Lend the ciphertext to OpenSSL for the handshake step and the reads; whatever it did not take is kept.
        var plaintext: ByteBuffer?
        var outcome = ReadOutcome.open
        let consumed = buffer.withUnsafeReadableBytes { bytes in
            stream.pointee.input = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            stream.pointee.inputLength = bytes.count
            defer {
                stream.pointee.input = nil
                stream.pointee.inputLength = 0
            }
            if !isHandshakeDone {
                outcome = handshakeStep()
                guard outcome == .open, isHandshakeDone else { return bytes.count - stream.pointee.inputLength }
            }
            (plaintext, outcome) = decrypt(context)
            return bytes.count - stream.pointee.inputLength
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        if buffer.readableBytes > 0 && outcome == .open {
            leftoverCiphertext = buffer
        }
        switch outcome {
        case .failed(let what):
            writeCiphertext(context, promise: nil)  // the alert
            context.flush()
            return fail(context, makeError(what))
        case .open, .closedByPeer:
            break
        }
        if isHandshakeDone && !wasHandshakeDone {
            guard acceptHandshake(context) else { return }  // writes what waited for it
            writeCiphertext(context, promise: nil)
            context.flush()
        } else if let stream = self.stream, stream.pointee.outputLength > 0 {
            // The handshake's messages, TLS 1.3 session tickets or key updates produced while reading.
            writeCiphertext(context, promise: nil)
            context.flush()
        }
        if let plaintext, plaintext.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(plaintext))
        }
        if let plaintext, plaintext.capacity <= Self.maxReusedCapacity {
            sparePlaintext = plaintext  // unique again once the handlers above are done with it
        }
        if outcome == .closedByPeer {
            context.close(promise: nil)
        }
    }

    private enum ReadOutcome: Equatable {
        case open
        case closedByPeer
        case failed(String)
    }

    /// One `SSL_do_handshake` over the lent input.
    private func handshakeStep() -> ReadOutcome {
        guard let ssl else { return .failed("TLS handshake failed") }
        ERR_clear_error()  // the reason of a failure must be this connection's, not one left on the thread
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isHandshakeDone = true
            return .open
        }
        let error = SSL_get_error(ssl, result)
        return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? .open : .failed("TLS handshake failed")
    }

    /// Tells the end about the completed handshake and, when it accepts it, encrypts the writes that waited.
    /// - Returns: `false` when the connection failed instead.
    private func acceptHandshake(_ context: ChannelHandlerContext) -> Bool {
        var protocolName: UnsafePointer<UInt8>?
        var protocolLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &protocolName, &protocolLength)
        let negotiated = protocolName.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(protocolLength)), as: UTF8.self)
        }
        if let refusal = handshakeCompleted(context: context, negotiatedProtocol: negotiated) {
            fail(context, TLSError(description: refusal))
            return false
        }
        // Writes that waited for the handshake (the HTTP/2 preface) go out with its last flight.
        if pendingPlaintext != nil {
            encryptPending(context)
        }
        return true
    }

    /// Decrypts everything the lent input holds into one buffer.
    private func decrypt(_ context: ChannelHandlerContext) -> (ByteBuffer?, ReadOutcome) {
        guard let ssl, let stream else { return (nil, .failed("TLS read failed")) }
        // Plaintext is never longer than the ciphertext lent (plus what OpenSSL held back).
        let expected = stream.pointee.inputLength + Int(SSL_pending(ssl))
        var plaintext = reusableBuffer(&sparePlaintext, context: context, capacity: max(4096, expected))
        while true {
            var error: Int32 = SSL_ERROR_NONE
            let count = plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: 1024) { bytes in
                let result = SSL_read(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
                if result <= 0 {
                    error = SSL_get_error(ssl, result)
                    return 0
                }
                return Int(result)
            }
            if count > 0 { continue }
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return (plaintext, .open) }
            if error == SSL_ERROR_ZERO_RETURN { return (plaintext, .closedByPeer) }
            return (plaintext, .failed("TLS read failed"))
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        guard !isFailed, ssl != nil else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if pendingPlaintext == nil {
            pendingPlaintext = buffer
        } else {
            pendingPlaintext!.writeBuffer(&buffer)
        }
        if let promise {
            if let pendingPromise {
                pendingPromise.futureResult.cascade(to: promise)
            } else {
                pendingPromise = promise
            }
        }
    }

    public func flush(context: ChannelHandlerContext) {
        guard isHandshakeDone, !isFailed else { return }  // pending writes go out when the handshake completes
        if pendingPlaintext != nil {
            encryptPending(context)
        }
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, let ssl, isHandshakeDone, !isFailed {
            if pendingPlaintext != nil { encryptPending(context) }
            _ = SSL_shutdown(ssl)  // close_notify; we do not wait for the peer's
            writeCiphertext(context, promise: nil)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    /// Encrypts the collected plaintext with one `SSL_write` and writes the ciphertext (does not flush).
    private func encryptPending(_ context: ChannelHandlerContext) {
        guard let ssl, let buffer = pendingPlaintext else { return }
        let promise = pendingPromise
        pendingPlaintext = nil
        pendingPromise = nil
        var ok = true
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let result = SSL_write(ssl, bytes.baseAddress! + offset, Int32(clamping: bytes.count - offset))
                if result <= 0 {
                    ok = false
                    return
                }
                offset += Int(result)
            }
        }
        guard ok else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return fail(context, TLSError("TLS write failed"))
        }
        writeCiphertext(context, promise: promise)
    }

    /// Moves what OpenSSL produced into one buffer and writes it (does not flush).
    private func writeCiphertext(_ context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard let stream else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let pending = stream.pointee.outputLength
        guard pending > 0, let output = stream.pointee.output else {
            promise?.succeed()
            return
        }
        var ciphertext = reusableBuffer(&spareCiphertext, context: context, capacity: pending)
        ciphertext.writeBytes(UnsafeRawBufferPointer(start: output, count: pending))
        stream.pointee.outputLength = 0
        if ciphertext.capacity <= Self.maxReusedCapacity {
            spareCiphertext = ciphertext  // unique again once the channel has written it
        }
        context.write(wrapOutboundOut(ciphertext), promise: promise)
    }

    /// An empty buffer of at least `capacity` bytes: the spare one when it is there (cleared; it gets fresh
    /// storage only if something still holds the old one), else a new one.
    private func reusableBuffer(
        _ spare: inout ByteBuffer?,
        context: ChannelHandlerContext,
        capacity: Int
    ) -> ByteBuffer {
        guard var buffer = spare.take() else { return context.channel.allocator.buffer(capacity: capacity) }
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// `what` with OpenSSL's reason and, when the peer's certificate did not verify, the verifier's reason
    /// (e.g. `unable to get local issuer certificate`, `hostname mismatch`).
    private func makeError(_ what: String) -> TLSError {
        let error = TLSError(what)
        guard let ssl else { return error }
        let result = SSL_get_verify_result(ssl)
        guard result != Int(X509_V_OK), let reason = X509_verify_cert_error_string(result) else { return error }
        return TLSError(description: "\(error.description) (certificate: \(String(cString: reason)))")
    }

    /// Marks the connection failed, tells the end, fires `error` down the pipeline and closes.
    func fail(_ context: ChannelHandlerContext, _ error: TLSError) {
        guard !isFailed else { return }
        isFailed = true
        connectionFailed(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TLSConnectionHandler: Sendable {}

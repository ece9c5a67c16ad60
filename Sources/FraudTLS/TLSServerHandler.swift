import COpenSSL
public import NIOCore

/// Server-side TLS for one connection, OpenSSL driven through a stream BIO over our own buffers
/// (`COpenSSL_StreamState`): ciphertext from the socket is lent to OpenSSL while `SSL_read` turns it into
/// plaintext, which travels up the pipeline as one `ByteBuffer` per read; plaintext written by the handlers
/// above goes through `SSL_write`, and the ciphertext it produced leaves as one buffer. Each ciphertext byte is
/// copied once on the way in and once on the way out (a memory BIO zero-fills, then copies twice).
///
/// Output is coalesced per flush: writes only collect plaintext, and `flush` encrypts all of it with one
/// `SSL_write` (OpenSSL cuts records of at most 16 KiB), so the answers of one read burst share records and
/// AEAD tags, and the ciphertext goes out as one write.
///
/// Writes made before the handshake finished (the HTTP/2 server preface) wait and go out right after it.
/// A failed handshake (a cleartext client, a wrong ALPN protocol, an unverifiable client certificate) sends
/// OpenSSL's alert and closes the connection.
///
/// - Important: Lives on the channel's event loop only.
public final class TLSServerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Keeps the `SSL_CTX` and the BIO method alive as long as the connection.
    private let tlsContext: TLSContext
    private var ssl: OpaquePointer?
    /// The BIO's buffers (owned by the BIO, which the `SSL` owns).
    private var stream: UnsafeMutablePointer<COpenSSL_StreamState>?
    private var isHandshakeDone = false
    private var isFailed = false
    /// Plaintext written since the last flush, and the promises of those writes.
    private var pendingPlaintext: ByteBuffer?
    private var pendingPromise: EventLoopPromise<Void>?
    /// Ciphertext OpenSSL did not take in the last read (normally none: it buffers partial records itself).
    private var leftoverCiphertext: ByteBuffer?
    /// Called once, when the handshake completed, with the negotiated ALPN protocol (if any).
    public var onHandshake: ((String?) -> Void)?

    init(context: TLSContext) {
        self.tlsContext = context
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard let ssl = SSL_new(tlsContext.context) else {
            isFailed = true
            context.close(promise: nil)
            return
        }
        guard let bio = BIO_new(tlsContext.streamMethod), let stream = COpenSSL_streamState(bio) else {
            SSL_free(ssl)
            isFailed = true
            context.close(promise: nil)
            return
        }
        SSL_set_bio(ssl, bio, bio)  // the SSL owns the BIO (one reference for both directions) from here
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.stream = stream
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if let ssl { SSL_free(ssl) }
        ssl = nil
        stream = nil
        pendingPlaintext = nil
        leftoverCiphertext = nil
        pendingPromise?.fail(ChannelError.ioOnClosedChannel)
        pendingPromise = nil
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
            return fail(context, what)
        case .open, .closedByPeer:
            break
        }
        if isHandshakeDone && !wasHandshakeDone {
            handshakeCompleted(context)  // writes what waited for it
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
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isHandshakeDone = true
            return .open
        }
        let error = SSL_get_error(ssl, result)
        return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? .open : .failed("TLS handshake failed")
    }

    private func handshakeCompleted(_ context: ChannelHandlerContext) {
        var protocolName: UnsafePointer<UInt8>?
        var protocolLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &protocolName, &protocolLength)
        let negotiated = protocolName.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(protocolLength)), as: UTF8.self)
        }
        onHandshake?(negotiated)
        onHandshake = nil
        // Writes that waited for the handshake (the server preface) go out with its last flight.
        if pendingPlaintext != nil {
            encryptPending(context)
        }
    }

    /// Decrypts everything the lent input holds into one buffer.
    private func decrypt(_ context: ChannelHandlerContext) -> (ByteBuffer?, ReadOutcome) {
        guard let ssl, let stream else { return (nil, .failed("TLS read failed")) }
        // Plaintext is never longer than the ciphertext lent (plus what OpenSSL held back).
        let expected = stream.pointee.inputLength + Int(SSL_pending(ssl))
        var plaintext = context.channel.allocator.buffer(capacity: max(4096, expected))
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
            return fail(context, "TLS write failed")
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
        var ciphertext = context.channel.allocator.buffer(capacity: pending)
        ciphertext.writeBytes(UnsafeRawBufferPointer(start: output, count: pending))
        stream.pointee.outputLength = 0
        context.write(wrapOutboundOut(ciphertext), promise: promise)
    }

    private func fail(_ context: ChannelHandlerContext, _ what: String) {
        guard !isFailed else { return }
        isFailed = true
        let error = TLSError(what)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TLSServerHandler: Sendable {}

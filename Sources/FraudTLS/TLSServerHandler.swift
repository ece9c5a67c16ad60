import COpenSSL
public import NIOCore

/// Server-side TLS for one connection, OpenSSL driven through memory BIOs: ciphertext from the socket goes
/// into `rbio`, plaintext comes out of `SSL_read` and travels up the pipeline as `ByteBuffer`s; plaintext
/// written by the handlers above goes through `SSL_write` and leaves as the ciphertext in `wbio`.
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

    /// Keeps the `SSL_CTX` alive as long as the connection.
    private let tlsContext: TLSContext
    private var ssl: OpaquePointer?
    private var readBIO: OpaquePointer?
    private var writeBIO: OpaquePointer?
    private var isHandshakeDone = false
    private var isFailed = false
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    /// Called once, when the handshake completed, with the negotiated ALPN protocol (if any).
    public var onHandshake: ((String?) -> Void)?

    init(context: TLSContext) {
        self.tlsContext = context
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard let ssl = SSL_new(tlsContext.context),
            let readBIO = COpenSSL_newMemoryBIO(),
            let writeBIO = COpenSSL_newMemoryBIO()
        else {
            isFailed = true
            context.close(promise: nil)
            return
        }
        SSL_set_bio(ssl, readBIO, writeBIO)  // the SSL owns both BIOs from here
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if let ssl { SSL_free(ssl) }
        ssl = nil
        readBIO = nil
        writeBIO = nil
        for (_, promise) in pendingWrites {
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
        pendingWrites.removeAll()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let ssl, let readBIO, !isFailed else { return }
        var buffer = unwrapInboundIn(data)
        while buffer.readableBytes > 0 {
            let written = buffer.withUnsafeReadableBytes { bytes in
                BIO_write(readBIO, bytes.baseAddress, Int32(bytes.count))
            }
            guard written > 0 else { return fail(context, "cannot buffer TLS input") }
            buffer.moveReaderIndex(forwardBy: Int(written))
        }
        if !isHandshakeDone {
            let result = SSL_do_handshake(ssl)
            if result == 1 {
                handshakeCompleted(context)
            } else {
                let error = SSL_get_error(ssl, result)
                if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
                    writeCiphertext(context, promise: nil)  // the alert
                    context.flush()
                    return fail(context, "TLS handshake failed")
                }
                writeCiphertext(context, promise: nil)
                context.flush()
                return
            }
        }
        readPlaintext(context)
    }

    private func handshakeCompleted(_ context: ChannelHandlerContext) {
        isHandshakeDone = true
        var protocolName: UnsafePointer<UInt8>?
        var protocolLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &protocolName, &protocolLength)
        let negotiated = protocolName.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(protocolLength)), as: UTF8.self)
        }
        onHandshake?(negotiated)
        onHandshake = nil
        let writes = pendingWrites
        pendingWrites.removeAll()
        for (buffer, promise) in writes {
            encrypt(context, buffer, promise: promise)
        }
        writeCiphertext(context, promise: nil)
        context.flush()
    }

    /// Decrypts everything available and passes it up as one buffer per call.
    private func readPlaintext(_ context: ChannelHandlerContext) {
        guard let ssl, readBIO != nil else { return }
        // Plaintext is never longer than the ciphertext just buffered (plus what OpenSSL held back).
        let expected = Int(BIO_ctrl_pending(readBIO!)) + Int(SSL_pending(ssl))
        var plaintext = context.channel.allocator.buffer(capacity: max(4096, expected))
        var closedByPeer = false
        while true {
            var error: Int32 = SSL_ERROR_NONE
            let count = plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: 1024) { bytes in
                let result = SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))
                if result <= 0 {
                    error = SSL_get_error(ssl, result)
                    return 0
                }
                return Int(result)
            }
            if count > 0 { continue }
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { break }
            if error == SSL_ERROR_ZERO_RETURN {
                closedByPeer = true
                break
            }
            writeCiphertext(context, promise: nil)
            context.flush()
            return fail(context, "TLS read failed")
        }
        // TLS 1.3 may have produced output while reading (session tickets, key updates).
        if let writeBIO, BIO_ctrl_pending(writeBIO) > 0 {
            writeCiphertext(context, promise: nil)
            context.flush()
        }
        if plaintext.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(plaintext))
        }
        if closedByPeer {
            context.close(promise: nil)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard !isFailed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard isHandshakeDone else {
            pendingWrites.append((buffer, promise))
            return
        }
        encrypt(context, buffer, promise: promise)
    }

    public func flush(context: ChannelHandlerContext) {
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, let ssl, isHandshakeDone, !isFailed {
            _ = SSL_shutdown(ssl)  // close_notify; we do not wait for the peer's
            writeCiphertext(context, promise: nil)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    private func encrypt(_ context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let ssl else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var ok = true
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let result = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
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
        guard let writeBIO else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let pending = Int(BIO_ctrl_pending(writeBIO))
        guard pending > 0 else {
            promise?.succeed()
            return
        }
        var output = context.channel.allocator.buffer(capacity: pending)
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(0, BIO_read(writeBIO, bytes.baseAddress, Int32(pending))))
        }
        context.write(wrapOutboundOut(output), promise: promise)
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

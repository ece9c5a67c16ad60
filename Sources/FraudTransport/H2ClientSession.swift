internal import CNGHTTP2
#if canImport(Glibc)
import Glibc
#endif

/// A finished HTTP/2 exchange as the client saw it.
public struct H2Response: Sendable {
    /// The stream it travelled on.
    public var streamID: Int32
    /// Response header fields (pseudo-headers included), in order.
    public var headers: [(name: String, value: String)]
    /// The DATA bytes, concatenated.
    public var body: [UInt8]
    /// Trailer fields (empty for a trailers-only response: then `grpc-status` is in `headers`).
    public var trailers: [(name: String, value: String)]
    /// RST_STREAM error code when the server reset the stream (0 = closed normally).
    public var resetCode: UInt32

    /// The first value of `name` in the trailers, then in the headers.
    public func field(_ name: String) -> String? {
        trailers.first { $0.name == name }?.value ?? headers.first { $0.name == name }?.value
    }

    /// `grpc-status` as a number, when present.
    public var grpcStatus: Int? { field("grpc-status").flatMap { Int($0) } }
}

/// The request header block of a call (`:method POST`, `:scheme`, `:path`, `:authority`, then the extra
/// fields), encoded once as the `nghttp2_nv` array nghttp2 takes, so a client that makes many calls with the
/// same headers does not rebuild them per call.
///
/// Immutable once made; nghttp2 copies the fields during ``H2ClientSession/submitRequest(head:body:endStream:)``.
public final class H2RequestHead {
    fileprivate let fields: UnsafeMutableBufferPointer<nghttp2_nv>
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    /// The same fields for the session's own HPACK encoder (``H2ClientSession/HeaderEncoding/own``).
    let hpackFields: [HPACKRequestEncoder.Field]

    /// Encodes a POST request's header block.
    /// - Parameters:
    ///   - path: `:path`, e.g. `/fraud.v1.FraudScoring/Score`.
    ///   - authority: `:authority`.
    ///   - headers: extra fields (e.g. `content-type`, `te`, `grpc-timeout`), names in lower case.
    ///   - scheme: `:scheme`: `http` for cleartext h2c, `https` over TLS.
    public init(path: String, authority: String = "localhost", headers: [(String, String)] = [], scheme: String = "http") {
        let all = [(":method", "POST"), (":scheme", scheme), (":path", path), (":authority", authority)] + headers
        hpackFields = all.map { HPACKRequestEncoder.Field(name: $0.0, value: $0.1) }
        let total = all.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count }
        bytes = .allocate(capacity: max(total, 1))
        fields = .allocate(capacity: all.count)
        var used = 0
        for (index, (name, value)) in all.enumerated() {
            let nameStart = used
            used += UnsafeMutableBufferPointer(rebasing: bytes[used...]).initialize(fromContentsOf: name.utf8)
            let valueStart = used
            used += UnsafeMutableBufferPointer(rebasing: bytes[used...]).initialize(fromContentsOf: value.utf8)
            fields.initializeElement(
                at: index,
                to: nghttp2_nv(
                    name: bytes.baseAddress! + nameStart,
                    value: bytes.baseAddress! + valueStart,
                    namelen: valueStart - nameStart,
                    valuelen: used - valueStart,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                )
            )
        }
    }

    deinit {
        fields.deallocate()
        bytes.deallocate()
    }
}

@available(*, unavailable)
extension H2RequestHead: Sendable {}

/// A client-side HTTP/2 session through libnghttp2, driven from memory like ``H2Session``: used by the
/// load generator, the backfill client and the transport tests.
///
/// Per-stream state lives in reused slots whose index travels with the stream as nghttp2's stream user data
/// (and as the data source of the request body), so a call costs no dictionary lookup and, once the slots
/// are warm, no allocation on our side.
///
/// - Important: Not thread-safe; one instance per connection, on one thread.
public final class H2ClientSession {
    /// What we keep for one open stream; reused for later streams once it closes.
    ///
    /// Like the session it is confined to one thread, and no access to its fields overlaps another (nothing is
    /// called out while one is open), so the runtime exclusivity checks are left out on this per-call path.
    private final class StreamSlot {
        @exclusivity(unchecked) var streamID: Int32 = 0
        @exclusivity(unchecked) var response = H2Response(streamID: 0, headers: [], body: [], trailers: [], resetCode: 0)
        @exclusivity(unchecked) var outbound: [UInt8] = []
        @exclusivity(unchecked) var offset = 0
        @exclusivity(unchecked) var isRequestEnded = true
        @exclusivity(unchecked) var isDeferred = false
        @exclusivity(unchecked) var inTrailers = false
        /// `grpc-status` as read in lean mode (`onStatus`), -1 until seen.
        @exclusivity(unchecked) var status = -1
        /// Whether a stream holds this slot.
        @exclusivity(unchecked) var isInUse = false
        /// The request's header fields, for the session's own HPACK encoder.
        @exclusivity(unchecked) var head: H2RequestHead?

        func reset(streamID: Int32, body: [UInt8], isRequestEnded: Bool) {
            isInUse = true
            self.streamID = streamID
            response = H2Response(streamID: streamID, headers: [], body: [], trailers: [], resetCode: 0)
            outbound = body
            offset = 0
            self.isRequestEnded = isRequestEnded
            isDeferred = false
            inTrailers = false
            status = -1
        }
    }

    // The fields the nghttp2 callbacks touch per call skip the runtime exclusivity checks: the session is
    // confined to one thread and no access to them overlaps another (callbacks run inside nghttp2 calls made
    // from our methods, which hold no access open across them).
    private var session: OpaquePointer?
    /// Slot `i` is stream user data `i + 1` (nghttp2 answers NULL for streams it does not know).
    @exclusivity(unchecked) private var slots: [StreamSlot] = []
    @exclusivity(unchecked) private var freeSlots: [Int] = []
    @exclusivity(unchecked) private var openCount = 0
    /// Called once per stream when it closes, with everything received.
    @exclusivity(unchecked) public var onResponse: ((H2Response) -> Void)?
    /// When set, responses are not collected (no header strings, no body): only `grpc-status` is read, and this
    /// is called when a stream closes with `(streamID, grpc-status or -1, RST_STREAM code)`. For load generators.
    @exclusivity(unchecked) public var onStatus: ((Int32, Int, UInt32) -> Void)? {
        didSet { isLean = onStatus != nil }
    }
    /// Called for every DATA chunk as it arrives (for streaming clients), before `onResponse`.
    @exclusivity(unchecked) public var onData: ((Int32, UnsafeRawBufferPointer) -> Void)?
    @exclusivity(unchecked) private var isLean = false

    /// Who encodes request header blocks.
    public enum HeaderEncoding: Sendable {
        /// The session (``HPACKRequestEncoder``): stable fields, `authorization` included, are indexed once and
        /// then sent as one-byte references, as grpc-go and grpc-java do.
        case own
        /// nghttp2's encoder, which sends `authorization` as a never-indexed Huffman literal on every call.
        case nghttp2
    }

    private let headerEncoding: HeaderEncoding
    @exclusivity(unchecked) private var encoder = HPACKRequestEncoder()
    /// The fields part of the last block that was all indexes, and the head it was encoded for (held, so its
    /// identity cannot pass to a new head): valid while the table stays at `cachedGeneration`.
    @exclusivity(unchecked) private var cachedBlock: [UInt8] = []
    @exclusivity(unchecked) private var cachedHead: H2RequestHead?
    @exclusivity(unchecked) private var cachedGeneration = -1
    /// A rewritten HEADERS frame, reused.
    @exclusivity(unchecked) private var frameScratch: [UInt8] = []
    /// Bytes of a frame begun in an earlier output chunk that are still to come; at first, the connection
    /// preface (`PRI * HTTP/2.0…`, 24 bytes), which is not a frame.
    @exclusivity(unchecked) private var frameRemainder = 24

    /// Creates a client session and queues the connection preface and SETTINGS.
    /// - Parameters:
    ///   - windowSize: SETTINGS_INITIAL_WINDOW_SIZE and connection window we offer the server.
    ///   - headerEncoding: Who encodes request header blocks (default: the session itself).
    public init(windowSize: Int32 = 1 << 20, headerEncoding: HeaderEncoding = .own) {
        self.headerEncoding = headerEncoding
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "nghttp2_session_callbacks_new: out of memory")
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.installCallbacks(callbacks)
        let userData = Unmanaged.passUnretained(self).toOpaque()
        precondition(nghttp2_session_client_new(&session, callbacks, userData) == 0, "nghttp2_session_client_new failed")
        let settings: [nghttp2_settings_entry] = [
            .init(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(windowSize)),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
        ]
        let rc = settings.withUnsafeBufferPointer {
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress, $0.count)
        }
        precondition(rc == 0, "nghttp2_submit_settings failed: \(rc)")
        _ = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, windowSize)
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Queues a POST request.
    /// - Parameters:
    ///   - path: `:path`, e.g. `/fraud.v1.FraudScoring/Score`.
    ///   - authority: `:authority`.
    ///   - headers: extra fields (e.g. `content-type`, `te`, `grpc-timeout`).
    ///   - body: request bytes sent as DATA.
    ///   - endStream: `false` keeps the request open for ``send(_:on:endStream:)``.
    /// - Returns: the stream id, or a negative nghttp2 error (e.g. no more stream ids, GOAWAY received).
    @discardableResult
    public func submitRequest(
        path: String,
        authority: String = "localhost",
        headers: [(String, String)] = [],
        body: [UInt8],
        endStream: Bool = true
    ) -> Int32 {
        submitRequest(head: H2RequestHead(path: path, authority: authority, headers: headers), body: body, endStream: endStream)
    }

    /// Queues a POST request with a header block made once (the hot path of a load generator).
    /// - Parameters:
    ///   - head: The request's header fields.
    ///   - body: request bytes sent as DATA.
    ///   - endStream: `false` keeps the request open for ``send(_:on:endStream:)``.
    /// - Returns: the stream id, or a negative nghttp2 error (e.g. no more stream ids, GOAWAY received).
    @discardableResult
    public func submitRequest(head: H2RequestHead, body: [UInt8], endStream: Bool = true) -> Int32 {
        let index: Int
        if let free = freeSlots.popLast() {
            index = free
        } else {
            index = slots.count
            slots.append(StreamSlot())
        }
        let token = UnsafeMutableRawPointer(bitPattern: index + 1)
        var provider = nghttp2_data_provider()
        provider.source.ptr = token
        provider.read_callback = { _, _, buffer, length, flags, source, userData in
            guard let buffer, let flags, let index = H2ClientSession.slotIndex(source?.pointee.ptr) else {
                return ssize_t(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)
            }
            return H2ClientSession.withOwner(userData, failure: ssize_t(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)) { owner in
                owner.readOutbound(slot: owner.slots[index], into: buffer, capacity: length, flags: flags)
            }
        }
        // With our own encoding nghttp2 gets no fields: its (empty) block is replaced on the way out.
        let fieldCount = headerEncoding == .own ? 0 : head.fields.count
        let id = nghttp2_submit_request(session, nil, head.fields.baseAddress, fieldCount, &provider, token)
        guard id > 0 else {
            freeSlots.append(index)
            return id
        }
        slots[index].reset(streamID: id, body: body, isRequestEnded: endStream)
        slots[index].head = head
        openCount += 1
        return id
    }

    /// Sends more request bytes on an open stream (and optionally ends it).
    public func send(_ bytes: [UInt8], on streamID: Int32, endStream: Bool) {
        guard let stream = slot(of: streamID), !stream.isRequestEnded else { return }
        stream.outbound.append(contentsOf: bytes)
        stream.isRequestEnded = endStream
        if stream.isDeferred {
            stream.isDeferred = false
            _ = nghttp2_session_resume_data(session, streamID)
        }
    }

    /// Feeds bytes received from the server.
    /// - Returns: `false` on a fatal protocol error.
    public func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        return nghttp2_session_mem_recv(session, base, bytes.count) >= 0
    }

    /// Hands every frame waiting to be sent to `sink`.
    /// - Returns: `false` on a fatal error.
    public func produceOutput(_ sink: (UnsafeRawBufferPointer) -> Void) -> Bool {
        while true {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { return false }
            if count == 0 { return true }
            let chunk = UnsafeRawBufferPointer(start: data, count: count)
            if headerEncoding == .own {
                guard passRewritingHeaders(chunk, to: sink) else { return false }
            } else {
                sink(chunk)
            }
        }
    }

    // MARK: - Own header encoding

    /// Hands `chunk` (frames as nghttp2 serialised them) to `sink`, with the header block of every HEADERS
    /// frame replaced by the stream's fields as ``HPACKRequestEncoder`` encodes them. Frames other than HEADERS
    /// pass untouched and uncopied.
    /// - Returns: `false` when the chunk is not what nghttp2 writes (a HEADERS frame cut short, padded, or with a
    ///   block of its own): the connection cannot go on.
    private func passRewritingHeaders(_ chunk: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var offset = min(frameRemainder, chunk.count)
        frameRemainder -= offset
        var passed = 0
        while offset < chunk.count {
            guard chunk.count - offset >= 9 else { return false }
            let length = Int(chunk[offset]) << 16 | Int(chunk[offset + 1]) << 8 | Int(chunk[offset + 2])
            let end = offset + 9 + length
            if chunk[offset + 3] == 0x1 {  // HEADERS
                let streamID = Int32(chunk[offset + 5] & 0x7F) << 24 | Int32(chunk[offset + 6]) << 16
                    | Int32(chunk[offset + 7]) << 8 | Int32(chunk[offset + 8])
                guard end <= chunk.count, let head = slot(of: streamID)?.head else { return false }
                if passed < offset { sink(UnsafeRawBufferPointer(rebasing: chunk[passed..<offset])) }
                let frame = UnsafeRawBufferPointer(rebasing: chunk[offset..<end])
                guard rewriteHeaders(frame, streamID: streamID, head: head) else { return false }
                frameScratch.withUnsafeBytes { sink($0) }
                passed = end
            }
            if end > chunk.count {
                frameRemainder = end - chunk.count
                offset = chunk.count
            } else {
                offset = end
            }
        }
        if passed < chunk.count { sink(UnsafeRawBufferPointer(rebasing: chunk[passed...])) }
        return true
    }

    /// Writes into `frameScratch` the HEADERS frame (plus CONTINUATION frames if the block exceeds 16 KiB, the
    /// smallest SETTINGS_MAX_FRAME_SIZE) that replaces `frame`: its flags and priority, the dynamic table size
    /// updates nghttp2 put at the start of its block (applied to our table too), then `head`'s fields.
    private func rewriteHeaders(_ frame: UnsafeRawBufferPointer, streamID: Int32, head: H2RequestHead) -> Bool {
        let flags = frame[4]
        let endHeaders: UInt8 = 0x4
        let padded: UInt8 = 0x8
        let priority: UInt8 = 0x20
        guard flags & endHeaders != 0, flags & padded == 0 else { return false }
        var position = 9 + (flags & priority != 0 ? 5 : 0)
        guard position <= frame.count else { return false }
        var block: [UInt8] = Array(frame[9..<position])
        while position < frame.count, frame[position] & 0xE0 == 0x20 {
            let start = position
            guard let newSize = HPACKRequestEncoder.readInteger(frame, at: &position, prefixBits: 5) else { return false }
            encoder.apply(sizeUpdate: newSize)
            block.append(contentsOf: frame[start..<position])
        }
        guard position == frame.count else { return false }
        if cachedHead === head && cachedGeneration == encoder.generation {
            block.append(contentsOf: cachedBlock)
        } else {
            var fields: [UInt8] = []
            if encoder.encode(head.hpackFields, into: &fields) {
                cachedBlock = fields
                cachedHead = head
                cachedGeneration = encoder.generation
            }
            block.append(contentsOf: fields)
        }
        frameScratch.removeAll(keepingCapacity: true)
        let maxPayload = 16_384
        var start = 0
        repeat {
            let end = min(start + maxPayload, block.count)
            let isFirst = start == 0
            let isLast = end == block.count
            let type: UInt8 = isFirst ? 0x1 : 0x9  // HEADERS, then CONTINUATION
            var frameFlags = isFirst ? flags & ~endHeaders : 0
            if isLast { frameFlags |= endHeaders }
            let length = end - start
            frameScratch.append(contentsOf: [
                UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, frameFlags,
                UInt8(streamID >> 24 & 0x7F), UInt8(streamID >> 16 & 0xFF), UInt8(streamID >> 8 & 0xFF),
                UInt8(streamID & 0xFF),
            ])
            frameScratch.append(contentsOf: block[start..<end])
            start = end
        } while start < block.count
        return true
    }

    /// Whether frames are waiting to be sent.
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Whether the session is over (GOAWAY and no active stream, or a fatal error).
    public var isDone: Bool { nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 }

    /// Streams opened and not yet closed.
    public var openStreamCount: Int { openCount }

    /// How many more streams the server's SETTINGS_MAX_CONCURRENT_STREAMS allows right now.
    public var remainingStreamCapacity: Int {
        Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)) - openCount
    }

    // MARK: - Slots

    private static func slotIndex(_ token: UnsafeMutableRawPointer?) -> Int? {
        guard let token else { return nil }
        return Int(bitPattern: token) - 1
    }

    /// The slot of an open stream we started.
    private func slot(of streamID: Int32) -> StreamSlot? {
        if let index = Self.slotIndex(nghttp2_session_get_stream_user_data(session, streamID)) { return slots[index] }
        // nghttp2 creates the stream (and its user data) only when it sends the HEADERS: until then, search.
        return slots.first { $0.isInUse && $0.streamID == streamID }
    }

    private func readOutbound(
        slot stream: StreamSlot,
        into buffer: UnsafeMutablePointer<UInt8>,
        capacity: Int,
        flags: UnsafeMutablePointer<UInt32>
    ) -> ssize_t {
        let count = min(capacity, stream.outbound.count - stream.offset)
        if count > 0 {
            stream.outbound.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + stream.offset, count: count) }
            stream.offset += count
        }
        if stream.offset == stream.outbound.count {
            if stream.isRequestEnded {
                // The body is sent: drop our reference (a load generator's shared request is not copied).
                stream.outbound = []
                stream.offset = 0
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            } else {
                stream.outbound.removeAll(keepingCapacity: true)
                stream.offset = 0
                if count == 0 {
                    stream.isDeferred = true
                    return ssize_t(NGHTTP2_ERR_DEFERRED.rawValue)
                }
            }
        }
        return ssize_t(count)
    }

    /// Called when nghttp2 closes a stream we opened: delivers it and frees its slot.
    private func close(slotAt index: Int, errorCode: UInt32) {
        let stream = slots[index]
        stream.isInUse = false
        openCount -= 1
        freeSlots.append(index)
        if let onStatus {
            onStatus(stream.streamID, stream.status, errorCode)
            return
        }
        var response = stream.response
        stream.response = H2Response(streamID: 0, headers: [], body: [], trailers: [], resetCode: 0)
        stream.outbound = []
        response.resetCode = errorCode
        onResponse?(response)
    }

    /// Header names and values every gRPC response carries, shared instead of allocated per response.
    private static let commonFields: [(bytes: [UInt8], string: String)] = [
        ":status", "200", "content-type", "application/grpc", "grpc-accept-encoding", "identity", "grpc-status", "0",
        "grpc-message", "grpc-encoding",
    ].map { (Array($0.utf8), $0) }

    private static func interned(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        for field in commonFields where field.bytes.count == bytes.count {
            let equal = field.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 }
            if equal { return field.string }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Callbacks

    /// Runs `body` with the session `userData` points at, without retaining it: a callback runs inside an
    /// nghttp2 call the session itself made, so it is alive.
    private static func withOwner<R>(_ userData: UnsafeMutableRawPointer?, failure: R, _ body: (H2ClientSession) -> R) -> R {
        guard let userData else { return failure }
        return Unmanaged<H2ClientSession>.fromOpaque(userData)._withUnsafeGuaranteedRef(body)
    }

    private static func installCallbacks(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { session, frame, userData in
            guard let frame else { return 0 }
            return H2ClientSession.withOwner(userData, failure: 0) { owner in
                owner.beginHeaders(streamID: frame.pointee.hd.stream_id, session: session)
            }
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            session, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, let name, let value else { return 0 }
            return H2ClientSession.withOwner(userData, failure: 0) { owner in
                owner.header(
                    streamID: frame.pointee.hd.stream_id,
                    name: UnsafeBufferPointer(start: name, count: nameLength),
                    value: UnsafeBufferPointer(start: value, count: valueLength),
                    session: session
                )
            }
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) {
            session, _, streamID, data, length, userData in
            H2ClientSession.withOwner(userData, failure: 0) { owner in
                owner.dataChunk(streamID: streamID, bytes: UnsafeRawBufferPointer(start: data, count: length), session: session)
            }
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { session, streamID, errorCode, userData in
            H2ClientSession.withOwner(userData, failure: 0) { owner in
                guard let index = H2ClientSession.slotIndex(nghttp2_session_get_stream_user_data(session, streamID))
                else { return 0 }
                owner.close(slotAt: index, errorCode: errorCode)
                return 0
            }
        }
    }

    // MARK: - Callback bodies (the `session` argument is ours, passed in by nghttp2)

    private func beginHeaders(streamID: Int32, session: OpaquePointer?) -> Int32 {
        // Lean mode does not tell headers from trailers.
        guard !isLean, let index = Self.slotIndex(nghttp2_session_get_stream_user_data(session, streamID)) else {
            return 0
        }
        let stream = slots[index]
        if !stream.response.headers.isEmpty { stream.inTrailers = true }
        return 0
    }

    private func header(
        streamID: Int32,
        name: UnsafeBufferPointer<UInt8>,
        value: UnsafeBufferPointer<UInt8>,
        session: OpaquePointer?
    ) -> Int32 {
        if isLean {
            // Only "grpc-status" matters.
            guard name.count == 11 && memcmp(name.baseAddress!, "grpc-status", 11) == 0,
                let index = Self.slotIndex(nghttp2_session_get_stream_user_data(session, streamID))
            else { return 0 }
            var code = 0
            for byte in value {
                let digit = Int(byte) &- 48
                guard digit >= 0 && digit <= 9 else {
                    code = 2
                    break
                }
                code = code &* 10 &+ digit
            }
            slots[index].status = code
            return 0
        }
        guard let index = Self.slotIndex(nghttp2_session_get_stream_user_data(session, streamID)) else { return 0 }
        let stream = slots[index]
        if stream.response.headers.isEmpty && !stream.inTrailers { stream.response.headers.reserveCapacity(4) }
        let field = (name: Self.interned(name), value: Self.interned(value))
        if stream.inTrailers {
            stream.response.trailers.append(field)
        } else {
            stream.response.headers.append(field)
        }
        return 0
    }

    private func dataChunk(streamID: Int32, bytes: UnsafeRawBufferPointer, session: OpaquePointer?) -> Int32 {
        if let onData {
            onData(streamID, bytes)
            return 0
        }
        // Lean mode keeps no body.
        guard !isLean, let index = Self.slotIndex(nghttp2_session_get_stream_user_data(session, streamID)) else {
            return 0
        }
        slots[index].response.body.append(contentsOf: bytes)
        return 0
    }
}

@available(*, unavailable)
extension H2ClientSession: Sendable {}

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

/// A client-side HTTP/2 session through libnghttp2, driven from memory like ``H2Session``: used by the
/// load generator, the backfill client and the transport tests.
///
/// - Important: Not thread-safe; one instance per connection, on one thread.
public final class H2ClientSession {
    private final class PendingStream {
        var response: H2Response
        var outbound: [UInt8]
        var offset = 0
        var isRequestEnded: Bool
        var isDeferred = false
        var inTrailers = false
        /// `grpc-status` as read in lean mode (`onStatus`), -1 until seen.
        var status = -1

        init(streamID: Int32, body: [UInt8], isRequestEnded: Bool) {
            self.response = H2Response(streamID: streamID, headers: [], body: [], trailers: [], resetCode: 0)
            self.outbound = body
            self.isRequestEnded = isRequestEnded
        }
    }

    private var session: OpaquePointer?
    private var streams: [Int32: PendingStream] = [:]
    /// Called once per stream when it closes, with everything received.
    public var onResponse: ((H2Response) -> Void)?
    /// When set, responses are not collected (no header strings, no body): only `grpc-status` is read, and this
    /// is called when a stream closes with `(streamID, grpc-status or -1, RST_STREAM code)`. For load generators.
    public var onStatus: ((Int32, Int, UInt32) -> Void)?
    /// Called for every DATA chunk as it arrives (for streaming clients), before `onResponse`.
    public var onData: ((Int32, UnsafeRawBufferPointer) -> Void)?

    /// Creates a client session and queues the connection preface and SETTINGS.
    /// - Parameter windowSize: SETTINGS_INITIAL_WINDOW_SIZE and connection window we offer the server.
    public init(windowSize: Int32 = 1 << 20) {
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
        let pseudo = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", authority)]
        var provider = nghttp2_data_provider()
        provider.read_callback = { _, streamID, buffer, length, flags, _, userData in
            guard let userData, let buffer, let flags else { return ssize_t(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
            let owner = Unmanaged<H2ClientSession>.fromOpaque(userData).takeUnretainedValue()
            return owner.readOutbound(streamID: streamID, into: buffer, capacity: length, flags: flags)
        }
        let id = withNameValues(pseudo, headers) { nva, count in
            nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        if id > 0 {
            streams[id] = PendingStream(streamID: id, body: body, isRequestEnded: endStream)
        }
        return id
    }

    /// Sends more request bytes on an open stream (and optionally ends it).
    public func send(_ bytes: [UInt8], on streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID], !stream.isRequestEnded else { return }
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
            sink(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    /// Whether frames are waiting to be sent.
    public var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Whether the session is over (GOAWAY and no active stream, or a fatal error).
    public var isDone: Bool { nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 }

    /// Streams opened and not yet closed.
    public var openStreamCount: Int { streams.count }

    /// How many more streams the server's SETTINGS_MAX_CONCURRENT_STREAMS allows right now.
    public var remainingStreamCapacity: Int {
        Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)) - streams.count
    }

    private func readOutbound(
        streamID: Int32,
        into buffer: UnsafeMutablePointer<UInt8>,
        capacity: Int,
        flags: UnsafeMutablePointer<UInt32>
    ) -> ssize_t {
        guard let stream = streams[streamID] else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let count = min(capacity, stream.outbound.count - stream.offset)
        if count > 0 {
            stream.outbound.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + stream.offset, count: count) }
            stream.offset += count
        }
        if stream.offset == stream.outbound.count {
            stream.outbound.removeAll(keepingCapacity: true)
            stream.offset = 0
            if stream.isRequestEnded {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            } else if count == 0 {
                stream.isDeferred = true
                return ssize_t(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return ssize_t(count)
    }

    private func withNameValues<R>(
        _ pseudo: [(String, String)],
        _ fields: [(String, String)],
        _ body: (UnsafePointer<nghttp2_nv>, Int) -> R
    ) -> R {
        // nghttp2 copies names and values during submit, so one contiguous scratch buffer on the stack is
        // enough: no heap allocation per request.
        var total = 0
        for (name, value) in pseudo { total += name.utf8.count + value.utf8.count }
        for (name, value) in fields { total += name.utf8.count + value.utf8.count }
        let count = pseudo.count + fields.count
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(total, 1)) { scratch in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: count) { nva in
                var used = 0
                var index = 0
                func add(_ name: String, _ value: String) {
                    let nameStart = used
                    used += UnsafeMutableBufferPointer(rebasing: scratch[used...]).initialize(fromContentsOf: name.utf8)
                    let valueStart = used
                    used += UnsafeMutableBufferPointer(rebasing: scratch[used...]).initialize(fromContentsOf: value.utf8)
                    nva[index] = nghttp2_nv(
                        name: scratch.baseAddress! + nameStart,
                        value: scratch.baseAddress! + valueStart,
                        namelen: valueStart - nameStart,
                        valuelen: used - valueStart,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                    )
                    index += 1
                }
                for (name, value) in pseudo { add(name, value) }
                for (name, value) in fields { add(name, value) }
                return body(nva.baseAddress!, count)
            }
        }
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

    private static func owner(_ userData: UnsafeMutableRawPointer?) -> H2ClientSession? {
        guard let userData else { return nil }
        return Unmanaged<H2ClientSession>.fromOpaque(userData).takeUnretainedValue()
    }

    private static func installCallbacks(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            guard let frame, let owner = H2ClientSession.owner(userData) else { return 0 }
            if let stream = owner.streams[frame.pointee.hd.stream_id], !stream.response.headers.isEmpty {
                stream.inTrailers = true
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, let name, let value, let owner = H2ClientSession.owner(userData),
                let stream = owner.streams[frame.pointee.hd.stream_id]
            else { return 0 }
            if owner.onStatus != nil {
                // "grpc-status"
                if nameLength == 11 && memcmp(name, "grpc-status", 11) == 0 {
                    var code = 0
                    for index in 0..<valueLength {
                        let digit = Int(value[index]) - 48
                        guard (0...9).contains(digit) else { code = 2; break }
                        code = code * 10 + digit
                    }
                    stream.status = code
                }
                return 0
            }
            if stream.response.headers.isEmpty && !stream.inTrailers { stream.response.headers.reserveCapacity(4) }
            let field = (
                name: H2ClientSession.interned(UnsafeBufferPointer(start: name, count: nameLength)),
                value: H2ClientSession.interned(UnsafeBufferPointer(start: value, count: valueLength))
            )
            if stream.inTrailers {
                stream.response.trailers.append(field)
            } else {
                stream.response.headers.append(field)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            guard let owner = H2ClientSession.owner(userData), let stream = owner.streams[streamID] else { return 0 }
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            if owner.onStatus != nil && owner.onData == nil { return 0 }
            if let onData = owner.onData {
                onData(streamID, bytes)
            } else {
                stream.response.body.append(contentsOf: bytes)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, userData in
            guard let owner = H2ClientSession.owner(userData),
                let stream = owner.streams.removeValue(forKey: streamID)
            else { return 0 }
            if let onStatus = owner.onStatus {
                onStatus(streamID, stream.status, errorCode)
                return 0
            }
            stream.response.resetCode = errorCode
            owner.onResponse?(stream.response)
            return 0
        }
    }
}

@available(*, unavailable)
extension H2ClientSession: Sendable {}

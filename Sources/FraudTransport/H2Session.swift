internal import CNGHTTP2
import FraudCore
import FraudWire
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the time base for deadlines and `server_time_us`.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// One server-side HTTP/2 connection driven through libnghttp2, speaking gRPC on top.
///
/// Swift drives the I/O: ``receive(_:)`` feeds bytes with `nghttp2_session_mem_recv`, the callbacks only
/// record what arrived (per-stream state, decoded messages, a ready list), ``processReady()`` answers the
/// calls, and ``produceOutput(_:)`` pulls the frames to write with `nghttp2_session_mem_send`.
///
/// - Important: Not thread-safe. One instance per connection, used only from that connection's event loop.
final class H2Session {
    /// The nghttp2 session (`nghttp2_session *`); nil only before `init` finishes.
    private var session: OpaquePointer?
    /// Open streams by id: a shift-and-mask lookup on every nghttp2 callback instead of a SipHash.
    @exclusivity(unchecked) private var streams = StreamTable<StreamState>(capacity: 128)
    /// Streams with something to act on after the current `mem_recv`, in event order.
    private var ready: [Int32] = []
    private let service: any RPCService
    private let configuration: TransportConfiguration
    /// `configuration.authorizer`, read once.
    private let authorizer: (any RPCAuthorizer)?
    /// Asks the owner to call ``deadlineExpired(streamID:)`` after the given nanoseconds.
    var scheduleDeadline: ((Int32, Int64) -> Void)?
    /// Makes a thread-safe callback that brings ``durable(streamID:token:)`` back to this session's loop.
    /// Without it (tests), held answers are released at once.
    var makeDurableNotifier: ((Int32, UInt64) -> @Sendable (Status?) -> Void)?
    /// Set once draining started: health watchers hear NOT_SERVING, new work is still answered.
    private(set) var isDraining = false
    /// Count of RPCs answered, for the drain log.
    private(set) var completedCalls = 0
    /// The client's address, for the authorizer's audit trail.
    var peer = ""
    /// The last `authorization` value granted on this connection, so that reusing a token costs a byte
    /// comparison instead of a signature check: its bytes, the authorizer generation and its expiry.
    private var grantedAuthorization: [UInt8] = []
    private var grantedGeneration: UInt64 = 0
    private var grantedUntil: Int64 = 0
    /// Cuts the granted token's `authorization` field (a literal or an indexed reference) out of request
    /// HEADERS before nghttp2 would decode and validate it again (only with an authorizer).
    private var elider = AuthorizationElider()
    /// The rewritten bytes of the current read at its start, when the elider removed something (kept and
    /// reused by later reads).
    private var elisionScratch: [UInt8] = []
    /// What the elider found in the current read, in frame order; `findingCursor` is the next to look at.
    private var findings: [AuthorizationElider.Finding] = []
    private var findingCursor = 0
    /// The granted token that an ``AuthorizationElider/Finding/elided(streamID:)`` in the current read stands for.
    private var elidedToken: [UInt8] = []
    /// The finding for the request header block being decoded now (header blocks never interleave), and how
    /// many `authorization` fields that block has delivered so far.
    private var blockFinding: AuthorizationElider.Finding?
    private var blockAuthorizationFields = 0

    /// Creates the nghttp2 server session and queues our SETTINGS.
    init(service: any RPCService, configuration: TransportConfiguration) {
        self.service = service
        self.configuration = configuration
        self.authorizer = configuration.authorizer
        var callbacks: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&callbacks) == 0, "nghttp2_session_callbacks_new: out of memory")
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.installCallbacks(callbacks)

        var options: OpaquePointer?
        precondition(nghttp2_option_new(&options) == 0, "nghttp2_option_new: out of memory")
        defer { nghttp2_option_del(options) }
        nghttp2_option_set_max_settings(options, configuration.maxSettingsEntries)
        nghttp2_option_set_max_outbound_ack(options, configuration.maxOutboundAcks)
        nghttp2_option_set_stream_reset_rate_limit(
            options,
            configuration.streamResetBurst,
            configuration.streamResetRatePerSecond
        )
        nghttp2_option_set_max_continuations(options, configuration.maxContinuations)
        nghttp2_option_set_max_deflate_dynamic_table_size(options, 4096)
        nghttp2_option_set_no_closed_streams(options, 1)

        let userData = Unmanaged.passUnretained(self).toOpaque()
        // Possible codes: 0, NGHTTP2_ERR_NOMEM.
        precondition(
            nghttp2_session_server_new2(&session, callbacks, userData, options) == 0,
            "nghttp2_session_server_new2: out of memory"
        )
        let settings: [nghttp2_settings_entry] = [
            .init(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                  value: configuration.maxConcurrentStreams),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                  value: configuration.initialStreamWindow),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                  value: configuration.maxHeaderListBytes),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
        ]
        // Possible codes: 0, NGHTTP2_ERR_INVALID_ARGUMENT (our values are valid), NGHTTP2_ERR_NOMEM.
        let rc = settings.withUnsafeBufferPointer {
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress, $0.count)
        }
        precondition(rc == 0, "nghttp2_submit_settings failed: \(rc)")
        let windowRC = nghttp2_session_set_local_window_size(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, configuration.connectionWindow)
        precondition(windowRC == 0, "nghttp2_session_set_local_window_size failed: \(windowRC)")
    }

    deinit {
        nghttp2_session_del(session)
    }

    // MARK: - I/O entry points

    /// Feeds received bytes to nghttp2.
    /// - Returns: `false` on a fatal connection error (bad preface, flood, callback failure): close it.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        guard let authorizer else {
            return nghttp2_session_mem_recv(session, base, bytes.count) >= 0
        }
        let mayElide = isGrantValid(authorizer)
        if mayElide { elidedToken = grantedAuthorization }
        let consumed: Int
        if let count = elider.scan(bytes, mayElide: mayElide, scratch: &elisionScratch, findings: &findings) {
            consumed = elisionScratch.withUnsafeBufferPointer {
                nghttp2_session_mem_recv(session, $0.baseAddress, count)
            }
        } else {
            consumed = nghttp2_session_mem_recv(session, base, bytes.count)
        }
        // Every frame a finding came from lay whole in these bytes, so nghttp2 has decoded it by now.
        findings.removeAll(keepingCapacity: true)
        findingCursor = 0
        blockFinding = nil
        return consumed >= 0
    }

    /// `authorization` fields removed so far by the elider (the granted token, sent again).
    var elidedAuthorizationCount: Int { elider.elidedCount }

    /// Appends every frame nghttp2 wants to send to `sink`, in one pass.
    /// - Returns: `false` on a fatal error (the connection must close).
    func produceOutput(_ sink: (UnsafeRawBufferPointer) -> Void) -> Bool {
        while true {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { return false }
            if count == 0 { return true }
            sink(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    /// Whether nghttp2 has frames waiting to be written.
    var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Whether the connection is finished (GOAWAY exchanged and no active stream, or a fatal error).
    var isDone: Bool { nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 }

    /// Number of open streams (for drain bookkeeping and tests).
    var openStreamCount: Int { streams.count }

    // MARK: - Draining

    /// Step 1 of a graceful shutdown: a GOAWAY shutdown notice, and NOT_SERVING to health watchers.
    func beginDrain() {
        guard !isDraining else { return }
        isDraining = true
        _ = nghttp2_submit_shutdown_notice(session)
        for (_, stream) in streams.sortedEntries() where stream.isWatching && !stream.isEnding {
            HealthCodec.appendFramedCheckResponse(.notServing, to: &stream.outbound)
            finish(stream, with: Status(code: .unavailable, message: "server is shutting down"))
        }
    }

    /// Step 2, about one round trip later: the final GOAWAY naming the last stream we will process.
    /// Streams already open finish normally; the connection closes when they are done.
    func finishDrain() {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, NGHTTP2_NO_ERROR.rawValue, nil, 0)
    }

    // MARK: - Answering calls

    /// Acts on every stream the last `receive` touched: scores, answers, or fails them.
    func processReady() {
        guard !ready.isEmpty else { return }
        var index = 0
        while index < ready.count {
            let id = ready[index]
            index += 1
            guard let stream = streams[id] else { continue }
            stream.isQueued = false
            guard !stream.isEnding else { continue }
            process(stream)
        }
        ready.removeAll(keepingCapacity: true)
    }

    /// Called by the owner when a stream's `grpc-timeout` ran out.
    func deadlineExpired(streamID: Int32) {
        guard let stream = streams[streamID], !stream.isEnding else { return }
        let millis = (stream.timeoutNanos ?? 0) / 1_000_000
        finish(stream, with: Status(code: .deadlineExceeded, message: "deadline of \(millis) ms exceeded"))
    }

    private func process(_ stream: StreamState) {
        switch stream.method {
        case .score:
            guard stream.failure == nil else { return finish(stream, with: stream.failure!) }
            guard stream.isRemoteClosed else { return }
            if let status = unaryShapeError(stream, count: stream.requests.count) { return finish(stream, with: status) }
            if let deadline = stream.deadlineNanos, monotonicNanos() > deadline {
                return deadlineExpired(streamID: stream.id)
            }
            let request = stream.requests.removeFirst()
            answer(stream, request: request, startNanos: stream.startNanos, last: true)

        case .scoreStream:
            var requestIndex = 0
            while requestIndex < stream.requests.count, !stream.isEnding {
                answer(
                    stream,
                    request: stream.requests[requestIndex],
                    startNanos: stream.requestNanos[requestIndex],
                    last: false
                )
                requestIndex += 1
            }
            stream.requests.removeAll(keepingCapacity: true)
            stream.requestNanos.removeAll(keepingCapacity: true)
            guard !stream.isEnding else { return }
            if let failure = stream.failure { return finish(stream, with: failure) }
            if stream.isRemoteClosed {
                if stream.deframer.hasPartialMessage {
                    return finish(stream, with: Status(code: .internal, message: "stream ended inside a message"))
                }
                finish(stream, with: .ok)
            }

        case .healthCheck:
            guard stream.failure == nil else { return finish(stream, with: stream.failure!) }
            guard stream.isRemoteClosed else { return }
            if let status = unaryShapeError(stream, count: stream.healthServices.count) {
                return finish(stream, with: status)
            }
            let name = stream.healthServices[0]
            guard let status = isDraining ? .notServing : service.servingStatus(of: name) else {
                return finish(stream, with: Status(code: .notFound, message: "unknown service \"\(name)\""))
            }
            HealthCodec.appendFramedCheckResponse(status, to: &stream.outbound)
            finish(stream, with: .ok)

        case .healthWatch:
            guard stream.failure == nil else { return finish(stream, with: stream.failure!) }
            guard !stream.isWatching, let name = stream.healthServices.first else { return }
            stream.isWatching = true
            stream.watchedService = name
            let status = isDraining ? .notServing : (service.servingStatus(of: name) ?? .serviceUnknown)
            stream.watchedStatus = status
            HealthCodec.appendFramedCheckResponse(status, to: &stream.outbound)
            flushOutbound(stream)

        case .unknown:
            finish(stream, with: stream.failure ?? Status(code: .unimplemented, message: "unknown method"))
        }
    }

    /// Sends fresh health to every Watch stream whose status changed (called when the service's health moves).
    func refreshHealthWatchers() {
        for (_, stream) in streams.sortedEntries() where stream.isWatching && !stream.isEnding {
            let status = isDraining ? .notServing : (service.servingStatus(of: stream.watchedService) ?? .serviceUnknown)
            guard status != stream.watchedStatus else { continue }
            stream.watchedStatus = status
            HealthCodec.appendFramedCheckResponse(status, to: &stream.outbound)
            flushOutbound(stream)
        }
    }

    /// A unary call must carry exactly one complete message.
    private func unaryShapeError(_ stream: StreamState, count: Int) -> Status? {
        if stream.deframer.hasPartialMessage {
            return Status(code: .internal, message: "request ended inside a message (truncated length-prefixed message)")
        }
        if count == 0 { return Status(code: .internal, message: "unary call carried no request message") }
        if stream.messageCount > 1 {
            return Status(
                code: .internal,
                message: "unary call carried \(stream.messageCount) request messages, expected exactly one"
            )
        }
        return nil
    }

    private func answer(_ stream: StreamState, request: ScoreRequest, startNanos: UInt64, last: Bool) {
        switch service.score(request, receivedAtNanos: startNanos) {
        case .decided(let transactionID, let assessment, let replayed, let serverTimeMicros):
            ScoreResponse(
                transactionID: transactionID,
                assessment: assessment,
                serverTimeMicros: serverTimeMicros,
                replayed: replayed
            ).appendFramed(to: &stream.outbound)
            if last {
                finish(stream, with: .ok)
            } else {
                flushOutbound(stream)
            }
        case .decidedWhenDurable(let ticket, let transactionID, let assessment, let replayed, let serverTimeMicros):
            var bytes: [UInt8] = []
            ScoreResponse(
                transactionID: transactionID,
                assessment: assessment,
                serverTimeMicros: serverTimeMicros,
                replayed: replayed
            ).appendFramed(to: &bytes)
            let token = stream.nextHeldToken
            stream.nextHeldToken += 1
            stream.held.append((token: token, bytes: bytes, isReady: false, failure: nil))
            if last { finish(stream, with: .ok) }
            if let notifier = makeDurableNotifier?(stream.id, token) {
                ticket.whenDurable(notifier)
            } else {
                durable(streamID: stream.id, token: token, failure: nil)
            }
        case .failed(var status):
            if stream.method == .scoreStream {
                status.message = "request \(stream.messageCountAnswered + 1) on the stream: \(status.message)"
            }
            finish(stream, with: status)
        }
        stream.messageCountAnswered += 1
    }

    /// A held answer became durable: release every ready answer at the head of the queue, in order, and the
    /// final status once none is left.
    /// A failed one ends the call with its status after the answers before it; later answers are dropped
    /// (they were not made durable either).
    func durable(streamID: Int32, token: UInt64, failure: Status?) {
        guard let stream = streams[streamID] else { return }
        if let index = stream.held.firstIndex(where: { $0.token == token }) {
            stream.held[index].isReady = true
            stream.held[index].failure = failure
        }
        var released = false
        while let first = stream.held.first, first.isReady {
            if let failure = first.failure {
                stream.held.removeAll()
                stream.pendingFinish = nil
                finish(stream, with: failure)
                return
            }
            stream.outbound.append(contentsOf: first.bytes)
            stream.held.removeFirst()
            released = true
        }
        if stream.held.isEmpty, let status = stream.pendingFinish {
            stream.pendingFinish = nil
            finish(stream, with: status)
        } else if released {
            flushOutbound(stream)
        }
    }

    /// Ends a call with `status`: trailers after any queued messages, or a trailers-only response.
    private func finish(_ stream: StreamState, with status: Status) {
        guard !stream.isEnding else { return }
        if !stream.held.isEmpty {
            stream.pendingFinish = status
            return
        }
        completedCalls += 1
        configuration.observer?.callCompleted(
            method: stream.method,
            status: status.code,
            durationNanos: monotonicNanos() &- stream.startNanos
        )
        if !stream.isResponseStarted && stream.outbound.isEmpty {
            stream.isFinished = true
            submitTrailersOnly(stream.id, status: status)
            return
        }
        stream.trailerStatus = status
        flushOutbound(stream)
    }

    /// Makes sure nghttp2 will pull the stream's queued bytes (starting the response or resuming the provider).
    private func flushOutbound(_ stream: StreamState) {
        if !stream.isResponseStarted {
            stream.isResponseStarted = true
            submitResponseHeaders(stream.id)
        } else if stream.isDeferred {
            stream.isDeferred = false
            _ = nghttp2_session_resume_data(session, stream.id)
        }
    }

    // MARK: - Submitting frames

    private func submitResponseHeaders(_ streamID: Int32) {
        var provider = nghttp2_data_provider()
        provider.source.ptr = nil
        provider.read_callback = { session, streamID, buffer, length, flags, _, userData in
            guard let userData, let buffer, let flags else { return ssize_t(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
            let owner = Unmanaged<H2Session>.fromOpaque(userData).takeUnretainedValue()
            return owner.readOutbound(streamID: streamID, into: buffer, capacity: length, flags: flags)
        }
        withHeaders(
            [(":status", "200"), ("content-type", "application/grpc"), ("grpc-accept-encoding", "identity")],
            dynamic: nil
        ) { nva, count in
            // Possible codes: NGHTTP2_ERR_INVALID_ARGUMENT (stream id 0), NGHTTP2_ERR_DATA_EXIST, NGHTTP2_ERR_PROTO,
            // NGHTTP2_ERR_NOMEM; none can happen for a fresh stream answered once.
            _ = nghttp2_submit_response(session, streamID, nva, count, &provider)
        }
    }

    /// Copies queued response bytes for nghttp2; at the end, adds the trailers (or defers until more arrives).
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
        let available = stream.outbound.count - stream.outboundOffset
        let count = min(available, capacity)
        if count > 0 {
            stream.outbound.withUnsafeBufferPointer { bytes in
                buffer.update(from: bytes.baseAddress! + stream.outboundOffset, count: count)
            }
            stream.outboundOffset += count
        }
        if stream.outboundOffset == stream.outbound.count {
            stream.outbound.removeAll(keepingCapacity: true)
            stream.outboundOffset = 0
            if let status = stream.trailerStatus, !stream.isFinished {
                stream.isFinished = true
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                submitTrailers(streamID, status: status)
                return ssize_t(count)
            }
            if count == 0 {
                stream.isDeferred = true
                return ssize_t(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return ssize_t(count)
    }

    private func submitTrailers(_ streamID: Int32, status: Status) {
        withHeaders([("grpc-status", statusValue(status.code))], dynamic: status.message) { nva, count in
            _ = nghttp2_submit_trailer(session, streamID, nva, count)
        }
    }

    /// A response that is only HEADERS with END_STREAM (used for every error before any message was sent).
    private func submitTrailersOnly(_ streamID: Int32, status: Status, httpStatus: StaticString = "200") {
        withHeaders(
            [
                (":status", httpStatus), ("content-type", "application/grpc"),
                ("grpc-accept-encoding", "identity"), ("grpc-status", statusValue(status.code)),
            ],
            dynamic: status.message
        ) { nva, count in
            _ = nghttp2_submit_response(session, streamID, nva, count, nil)
        }
    }

    /// Builds an `nghttp2_nv` array over static strings (no copy), plus `grpc-message` when `dynamic` is
    /// non-empty (percent-encoded, copied by nghttp2), and hands it to `body`.
    private func withHeaders(
        _ fields: [(StaticString, StaticString)],
        dynamic message: String?,
        _ body: (UnsafePointer<nghttp2_nv>, Int) -> Void
    ) {
        let noCopy = UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue)
        withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: fields.count + 1) { nva in
            for (index, field) in fields.enumerated() {
                nva[index] = nghttp2_nv(
                    name: UnsafeMutablePointer(mutating: field.0.utf8Start),
                    value: UnsafeMutablePointer(mutating: field.1.utf8Start),
                    namelen: field.0.utf8CodeUnitCount,
                    valuelen: field.1.utf8CodeUnitCount,
                    flags: noCopy
                )
            }
            guard let message, !message.isEmpty else {
                return body(nva.baseAddress!, fields.count)
            }
            var encoded = Status.percentEncoded(message)
            let name: StaticString = "grpc-message"
            encoded.withUTF8 { value in
                nva[fields.count] = nghttp2_nv(
                    name: UnsafeMutablePointer(mutating: name.utf8Start),
                    value: UnsafeMutablePointer(mutating: value.baseAddress ?? name.utf8Start),
                    namelen: name.utf8CodeUnitCount,
                    valuelen: value.count,
                    flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue)
                )
                body(nva.baseAddress!, fields.count + 1)
            }
        }
    }

    // MARK: - Callbacks (record only)

    private func queue(_ stream: StreamState) {
        guard !stream.isQueued else { return }
        stream.isQueued = true
        ready.append(stream.id)
    }

    fileprivate func onBeginHeaders(streamID: Int32) {
        let stream = StreamState(
            id: streamID, startNanos: monotonicNanos(), maxMessageBytes: configuration.maxMessageBytes)
        streams.insert(stream, for: streamID)
        blockAuthorizationFields = 0
        blockFinding = findings.isEmpty ? nil : takeFinding(for: streamID)
        if case .elided = blockFinding {
            // The elider removed the granted token's field: the call goes on exactly as if it were here.
            // The grant held when this read began (the elider cuts nothing otherwise) and the field was that
            // token: the call is authorized without comparing the token again or reading the clock.
            stream.headerListBytes += 13 + elidedToken.count + 32
            blockAuthorizationFields += 1
            stream.isAuthorized = true
        }
    }

    /// The elider's finding for a stream's request HEADERS, if it made one in the current read.
    private func takeFinding(for streamID: Int32) -> AuthorizationElider.Finding? {
        var index = findingCursor
        while index < findings.count {
            let finding = findings[index]
            index += 1
            switch finding {
            case .elided(let id) where id == streamID, .seen(let id, _) where id == streamID:
                findingCursor = index
                return finding
            default:
                continue
            }
        }
        return nil
    }

    /// Whether the connection's granted token still holds: same key generation, not expired.
    private func isGrantValid(_ authorizer: any RPCAuthorizer) -> Bool {
        !grantedAuthorization.isEmpty && grantedGeneration == authorizer.generation && Int64(time(nil)) < grantedUntil
    }

    /// One `authorization` field of a request: the granted token again costs a byte comparison; any other
    /// value is kept for the authorizer.
    private func noteAuthorization(_ stream: StreamState, value: UnsafeBufferPointer<UInt8>) {
        guard let authorizer else { return }
        blockAuthorizationFields += 1
        if isGrantValid(authorizer), value.count == grantedAuthorization.count,
            grantedAuthorization.withUnsafeBufferPointer({ memcmp($0.baseAddress!, value.baseAddress!, value.count) == 0 })
        {
            stream.isAuthorized = true
        } else {
            stream.authorization = String(decoding: value.prefix(8192), as: UTF8.self)
        }
    }

    /// The encoded value the elider saw for this stream's only `authorization` field, if that is what the
    /// call was authorized with.
    private func seenEncoding(streamID: Int32) -> [UInt8]? {
        guard blockAuthorizationFields == 1, case .seen(let id, let encoded) = blockFinding, id == streamID else {
            return nil
        }
        return encoded
    }

    /// Records one request header. Returns false when the header list is over the limit (the stream is reset).
    fileprivate func onHeader(streamID: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let stream = streams[streamID] else { return true }
        stream.headerListBytes += name.count + value.count + 32
        if stream.headerListBytes > Int(configuration.maxHeaderListBytes) { return false }
        switch name.count {
        case 5 where bytesEqual(name, ":path"):
            stream.method = .unknown
            for route in RPCMethod.routes where bytesEqual(value, route.path) {
                stream.method = route.method
                break
            }
            if stream.method == .unknown {
                stream.unknownPath = String(decoding: value.prefix(256), as: UTF8.self)
            }
        case 7 where bytesEqual(name, ":method"):
            stream.isPost = bytesEqual(value, "POST")
        case 12 where bytesEqual(name, "content-type"):
            stream.hasGRPCContentType = isGRPCContentType(value)
        case 13 where bytesEqual(name, "grpc-encoding"):
            if !bytesEqual(value, "identity") {
                stream.unsupportedEncoding = String(decoding: value.prefix(64), as: UTF8.self)
            }
        case 13 where bytesEqual(name, "authorization"):
            noteAuthorization(stream, value: value)
        case 12 where bytesEqual(name, "grpc-timeout"):
            if let nanos = parseGRPCTimeout(value) {
                stream.timeoutNanos = nanos
            } else {
                stream.failure = Status(
                    code: .invalidArgument,
                    message: "grpc-timeout \"\(String(decoding: value.prefix(32), as: UTF8.self))\" is malformed"
                )
            }
        default:
            break
        }
        return true
    }

    /// The request HEADERS are complete: check the call's shape and arm its deadline.
    fileprivate func onRequestHeaders(streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID] else { return }
        if !stream.isPost {
            stream.isFinished = true
            submitTrailersOnly(
                streamID,
                status: Status(code: .unimplemented, message: "gRPC requires POST"),
                httpStatus: "405"
            )
            return
        }
        if !stream.hasGRPCContentType {
            stream.isFinished = true
            submitTrailersOnly(
                streamID,
                status: Status(code: .internal, message: "content-type must be application/grpc"),
                httpStatus: "415"
            )
            return
        }
        if stream.failure == nil {
            if let encoding = stream.unsupportedEncoding {
                stream.failure = Status(
                    code: .unimplemented,
                    message: "grpc-encoding \"\(encoding)\" is not supported; this server accepts identity only"
                )
            } else if stream.method == .unknown {
                stream.failure = Status(code: .unimplemented, message: "unknown method \(stream.unknownPath)")
            }
        }
        if stream.failure == nil, !stream.isAuthorized, stream.method == .score || stream.method == .scoreStream,
            let authorizer
        {
            let generation = authorizer.generation
            switch authorizer.authorizeScoring(authorization: stream.authorization, peer: peer) {
            case .granted(let until):
                if let authorization = stream.authorization {
                    grantedAuthorization = Array(authorization.utf8)
                    grantedGeneration = generation
                    grantedUntil = until
                    // From now on the elider may cut this encoding of the token (none known: only indexed
                    // references to it) and indexed references to a table entry holding it.
                    elider.grantedEncodedValue = seenEncoding(streamID: streamID) ?? []
                    elider.grantedToken = grantedAuthorization
                }
            case .denied(let status):
                stream.failure = status
            }
            stream.authorization = nil
        } else if stream.isAuthorized, let encoded = seenEncoding(streamID: streamID),
            encoded != elider.grantedEncodedValue
        {
            // The granted token again, encoded in a way the elider did not know yet (say the first grant came
            // in a split frame): adopt it.
            elider.grantedEncodedValue = encoded
        }
        if let timeout = stream.timeoutNanos, stream.failure == nil {
            stream.deadlineNanos = stream.startNanos &+ UInt64(timeout)
            scheduleDeadline?(streamID, timeout)
        }
        if endStream { stream.isRemoteClosed = true }
        if stream.failure != nil || endStream { queue(stream) }
    }

    fileprivate func onData(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        guard let stream = streams[streamID], !stream.isEnding, stream.failure == nil else { return }
        do throws(WireError) {
            try stream.deframer.process(bytes) { message in
                stream.messageCount += 1
                switch stream.method {
                case .score, .scoreStream:
                    do throws(WireError) {
                        stream.requests.append(try ScoreRequest.decode(protobuf: message))
                        if stream.method == .scoreStream {
                            stream.requestNanos.append(monotonicNanos())
                        }
                    } catch {
                        if stream.failure == nil { stream.failure = error.status }
                    }
                case .healthCheck, .healthWatch:
                    do throws(WireError) {
                        stream.healthServices.append(try HealthCodec.decodeCheckRequest(protobuf: message))
                    } catch {
                        if stream.failure == nil { stream.failure = error.status }
                    }
                case .unknown:
                    break
                }
            }
        } catch {
            stream.failure = error.status
        }
        if stream.method == .scoreStream || stream.method == .healthWatch || stream.failure != nil {
            queue(stream)
        }
    }

    fileprivate func onEndStream(streamID: Int32) {
        guard let stream = streams[streamID] else { return }
        stream.isRemoteClosed = true
        queue(stream)
    }

    fileprivate func onFinalHeadersSent(streamID: Int32) {
        guard let stream = streams[streamID], !stream.isRemoteClosed else { return }
        stream.isRemoteClosed = true
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, NGHTTP2_NO_ERROR.rawValue)
    }

    fileprivate func onStreamClose(streamID: Int32) {
        streams.removeValue(for: streamID)
    }

    // MARK: - Callback table

    private static func owner(_ userData: UnsafeMutableRawPointer?) -> H2Session? {
        guard let userData else { return nil }
        return Unmanaged<H2Session>.fromOpaque(userData).takeUnretainedValue()
    }

    private static func installCallbacks(_ callbacks: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            guard let frame, let owner = H2Session.owner(userData) else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
            if frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
                frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
            {
                owner.onBeginHeaders(streamID: frame.pointee.hd.stream_id)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            guard let frame, let name, let value, let owner = H2Session.owner(userData) else {
                return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
            }
            guard frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
                frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
            else { return 0 }  // client trailers carry nothing we use
            let accepted = owner.onHeader(
                streamID: frame.pointee.hd.stream_id,
                name: UnsafeBufferPointer(start: name, count: nameLength),
                value: UnsafeBufferPointer(start: value, count: valueLength)
            )
            return accepted ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            guard let frame, let owner = H2Session.owner(userData) else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
            let header = frame.pointee.hd
            let endStream = header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            switch UInt32(header.type) {
            case NGHTTP2_HEADERS.rawValue:
                if frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST {
                    owner.onRequestHeaders(streamID: header.stream_id, endStream: endStream)
                } else if endStream {
                    owner.onEndStream(streamID: header.stream_id)
                }
            case NGHTTP2_DATA.rawValue where endStream:
                owner.onEndStream(streamID: header.stream_id)
            default:
                break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            guard let owner = H2Session.owner(userData) else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
            owner.onData(streamID: streamID, bytes: UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        // Our final HEADERS (END_STREAM) went out while the client is still sending: tell it to stop with
        // RST_STREAM(NO_ERROR), as PROTOCOL-HTTP2.md asks. Done after the send so the status is never overtaken.
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            guard let frame, let owner = H2Session.owner(userData) else { return 0 }
            let header = frame.pointee.hd
            if header.type == UInt8(NGHTTP2_HEADERS.rawValue),
                header.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            {
                owner.onFinalHeadersSent(streamID: header.stream_id)
            }
            return 0
        }
        // Never fails: a fatal error here would tear down every other stream on the connection.
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, _, userData in
            H2Session.owner(userData)?.onStreamClose(streamID: streamID)
            return 0
        }
    }
}

@available(*, unavailable)
extension H2Session: Sendable {}

// MARK: - Byte helpers

@inline(__always)
private func bytesEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount else { return false }
    return hasPrefix(bytes, literal)
}

@inline(__always)
private func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard bytes.count >= count else { return false }
    let start = literal.utf8Start
    for index in 0..<count where bytes[index] != start[index] { return false }
    return true
}

/// `application/grpc`, optionally followed by `+proto` / `+json` / `;params`.
private func isGRPCContentType(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
    let prefix: StaticString = "application/grpc"
    let length = prefix.utf8CodeUnitCount
    guard hasPrefix(value, prefix) else { return false }
    if value.count == length { return true }
    let next = value[length]
    if next == UInt8(ascii: ";") { return true }
    if next == UInt8(ascii: "+") {
        let rest = UnsafeBufferPointer(rebasing: value[(length + 1)...])
        return bytesEqual(rest, "proto") || rest.first == UInt8(ascii: ";")
            || hasPrefix(rest, "proto;")
    }
    return false
}

/// The `grpc-status` trailer value for a code, as a static string.
private func statusValue(_ code: Status.Code) -> StaticString {
    switch code.rawValue {
    case 0: "0"
    case 1: "1"
    case 2: "2"
    case 3: "3"
    case 4: "4"
    case 5: "5"
    case 6: "6"
    case 7: "7"
    case 8: "8"
    case 9: "9"
    case 10: "10"
    case 11: "11"
    case 12: "12"
    case 13: "13"
    case 14: "14"
    case 15: "15"
    default: "16"
    }
}

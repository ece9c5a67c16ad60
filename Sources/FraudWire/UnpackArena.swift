internal import CFraudProto
internal import CProtobufC

#if canImport(Glibc)
import Glibc
#endif

/// A `ProtobufCAllocator` over a stack buffer, for one `unpack` … `free_unpacked` pair: protobuf-c's
/// allocations for the message, its sub-messages and strings (five or six for a `ScoreRequest`) become pointer
/// bumps, its frees no-ops; what does not fit goes to `malloc` and back to `free`.
enum UnpackArena {
    /// The arena's state, behind `allocator_data`.
    private struct State {
        var base: UnsafeMutableRawPointer
        var used: Int
        var capacity: Int
    }

    /// Bytes on the stack: a decoded request takes about twice its wire size (~150 bytes for PaySim ids).
    /// `withUnsafeTemporaryAllocation` puts at most 1 KiB on the stack; above that it calls `posix_memalign`.
    static let stackBytes = 1024

    /// Runs `body` with an allocator whose memory lives until `body` returns; the message it unpacks must be
    /// freed (with the same allocator) inside `body`.
    static func with<Result>(_ body: (UnsafeMutablePointer<ProtobufCAllocator>) throws(WireError) -> Result) throws(WireError) -> Result {
        try withUnsafeTemporaryAllocation(byteCount: stackBytes, alignment: 16) { buffer throws(WireError) in
            var state = State(base: buffer.baseAddress!, used: 0, capacity: buffer.count)
            return try withUnsafeMutablePointer(to: &state) { state throws(WireError) in
                var allocator = ProtobufCAllocator(alloc: allocate, free: release, allocator_data: UnsafeMutableRawPointer(state))
                return try body(&allocator)
            }
        }
    }

    private static let allocate: @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer? = { data, size in
        let state = data!.assumingMemoryBound(to: State.self)
        let rounded = (size + 15) & ~15
        if rounded <= state.pointee.capacity - state.pointee.used {
            let pointer = state.pointee.base + state.pointee.used
            state.pointee.used += rounded
            return pointer
        }
        return malloc(size)
    }

    private static let release: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { data, pointer in
        guard let pointer else { return }
        let state = data!.assumingMemoryBound(to: State.self)
        let base = state.pointee.base
        if pointer >= base && pointer < base + state.pointee.capacity { return }
        free(pointer)
    }
}

/// How fast this machine runs plain dependent integer work right now, so figures taken minutes apart (or on a
/// virtual machine whose speed drifts, as ours does by up to 1.6× from minute to minute) can be read against
/// each other: a chain of dependent multiply, shift and xor steps (non-linear, so the compiler cannot fold it)
/// that no cache, memory or branch predictor affects.
enum SpeedReference {
    /// Millions of chain steps per second over about `seconds` of the calling thread.
    @inline(never)
    static func measure(seconds budget: Double = 0.25) -> Double {
        let clock = ContinuousClock()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var steps = 0
        var elapsed = 0.0
        let round = 1_000_000
        while elapsed < budget {
            let duration = clock.measure {
                for _ in 0..<round {
                    state = (state &* (state | 1)) ^ (state >> 29)
                }
            }
            steps += round
            let (whole, attoseconds) = duration.components
            elapsed += Double(whole) + Double(attoseconds) / 1e18
        }
        if state == 0 { print("") }  // keeps the chain alive
        return Double(steps) / elapsed / 1e6
    }
}

/// How long a dependent read from memory takes right now: a random cycle through 64 MiB (twice the L3 cache
/// of the machine this was tuned on), one load after another. On a shared virtual machine the engine's speed
/// follows this figure more than the clock (other tenants' traffic in the shared cache and memory).
enum MemoryLatencyReference {
    /// Nanoseconds per dependent load, averaged over `steps` loads.
    @inline(never)
    static func measure(steps: Int = 2_000_000) -> Double {
        let count = 16 * 1_048_576  // UInt32 entries: 64 MiB
        var next = [UInt32](repeating: 0, count: count)
        // Sattolo's algorithm: a single cycle through every entry, in random order.
        var order = Array(0..<UInt32(count))
        var random: UInt64 = 0x2545_F491_4F6C_DD1D
        var index = count - 1
        while index > 0 {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            let other = Int(random % UInt64(index))
            order.swapAt(index, other)
            index -= 1
        }
        for position in 0..<count {
            next[Int(order[position])] = order[(position + 1) % count]
        }
        let clock = ContinuousClock()
        var cursor: UInt32 = 0
        let duration = next.withUnsafeBufferPointer { next in
            clock.measure {
                for _ in 0..<steps {
                    cursor = next[Int(cursor)]
                }
            }
        }
        if cursor == UInt32.max { print("") }
        let (whole, attoseconds) = duration.components
        return (Double(whole) + Double(attoseconds) / 1e18) / Double(steps) * 1e9
    }
}

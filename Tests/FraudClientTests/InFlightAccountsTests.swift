import Testing

@testable import FraudClient

@Suite("In-flight accounts (backfill lanes)")
struct InFlightAccountsTests {
    @Test("agrees with a Dictionary through random adds and releases, colliding homes, growth and key 0")
    func matchesDictionary() {
        var table = InFlightAccounts(capacity: 4)
        var reference: [Int: (lane: Int, rows: Int)] = [:]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func random(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        // Keys from a small pool (so accounts come back and rows pile up), with neighbours in the probe
        // sequence: multiples of a large power of two share their home slot in every table size used here.
        let pool = (0..<600).map { i in i % 3 == 0 ? i << 40 : i % 3 == 1 ? -i * 7919 : i }
        for step in 0..<60_000 {
            let key = pool[random(pool.count)]
            if random(100) < 52 || reference.isEmpty {
                let lane = reference[key]?.lane ?? random(4)
                table.add(key, lane: lane)
                reference[key, default: (lane, 0)].rows += 1
            } else {
                let keys = Array(reference.keys)
                let victim = random(3) == 0 ? key : keys[random(keys.count)]
                table.release(victim)
                if let entry = reference[victim] {
                    reference[victim] = entry.rows > 1 ? (entry.lane, entry.rows - 1) : nil
                }
            }
            if step % 97 == 0 {
                #expect(table.count == reference.count)
                for candidate in pool {
                    #expect(table.lane(of: candidate) == reference[candidate]?.lane, "key \(candidate) at step \(step)")
                }
            }
        }
        // Drain: everything leaves with its last row.
        for (key, entry) in reference {
            for _ in 0..<entry.rows { table.release(key) }
        }
        #expect(table.count == 0)
        #expect(pool.allSatisfy { table.lane(of: $0) == nil })
    }
}

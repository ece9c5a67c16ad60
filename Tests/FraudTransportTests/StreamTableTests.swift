import Testing

@testable import FraudTransport

@Suite("Stream table (calls by stream id)")
struct StreamTableTests {
    @Test("agrees with a Dictionary through random opens and closes, growth and wrap-around included")
    func matchesDictionary() {
        var table = StreamTable<UInt64>(capacity: 4)
        var reference: [Int32: UInt64] = [:]
        var nextID: Int32 = 1
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        for step in 0..<20_000 {
            // Mostly open while few are open, mostly close while many are: the open set drifts up the id space
            // (as on a real connection) and its size swings between 0 and ~300, forcing growth.
            let open = reference.count
            if open == 0 || random(300) >= open {
                table.insert(UInt64(step), for: nextID)
                reference[nextID] = UInt64(step)
                nextID += 2
            } else {
                // Close a random open stream (out of order, like answers).
                let keys = Array(reference.keys)
                let key = keys[random(keys.count)]
                #expect(table.removeValue(for: key) == reference.removeValue(forKey: key))
            }
            #expect(table.count == reference.count)
            if step % 500 == 0 {
                for (key, value) in reference { #expect(table[key] == value) }
                #expect(table.sortedEntries().map(\.key) == reference.keys.sorted())
            }
        }
        // Ids never opened, or already closed, are absent.
        #expect(table[nextID] == nil)
        #expect(table.removeValue(for: nextID) == nil)
        #expect(table.contains(1) == (reference[1] != nil))
        table.removeAll()
        #expect(table.isEmpty)
        #expect(table.sortedEntries().isEmpty)
    }

    @Test("ids that collide on the same home slot are all kept, and removing one keeps the others reachable")
    func collisions() {
        var table = StreamTable<String>(capacity: 4)  // 16 slots: ids 1, 33, 65, 97 share home slot 0
        for id: Int32 in [1, 33, 65, 97, 3] { table.insert("s\(id)", for: id) }
        #expect(table.removeValue(for: 33) == "s33")
        #expect(table[1] == "s1")
        #expect(table[65] == "s65")
        #expect(table[97] == "s97")
        #expect(table[3] == "s3")
        #expect(table[33] == nil)
        table.insert("again", for: 33)
        #expect(table[33] == "again")
        #expect(table.count == 5)
    }
}

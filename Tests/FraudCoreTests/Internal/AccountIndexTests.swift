import Testing

@testable import FraudCore

@Suite("AccountIndex")
struct AccountIndexTests {
    /// A dense code array indexed by an `AccountIndex`, with swap-removal like `AccountTable` (which keeps only
    /// each slot's hash), and a hash function that can be made to collide on purpose.
    struct Model {
        var index = AccountIndex()
        var hashes: [UInt32] = []
        var codes: [UInt64] = []
        let hash: (UInt64) -> UInt32

        func find(_ code: UInt64) -> Int? {
            index.find(code: code, hash: hash(code))
        }

        mutating func insert(_ code: UInt64) {
            index.insert(code: code, hash: hash(code), slot: codes.count)
            hashes.append(hash(code))
            codes.append(code)
        }

        mutating func remove(_ code: UInt64) {
            let position = find(code)!
            let removed = index.remove(hash: hashes[position], slot: position)
            #expect(removed == code)
            let lastHash = hashes.removeLast()
            let lastCode = codes.removeLast()
            if position < codes.count {
                index.moveEntry(hash: lastHash, from: codes.count, to: position)
                hashes[position] = lastHash
                codes[position] = lastCode
            }
        }

        func check(present: Set<UInt64>, absent: some Sequence<UInt64>) {
            #expect(index.count == present.count)
            for code in present {
                let slot = find(code)
                #expect(slot != nil && codes[slot!] == code, "code \(code) lost")
            }
            for code in absent where !present.contains(code) {
                #expect(find(code) == nil, "code \(code) found after removal")
            }
        }
    }

    @Test(
        "Random inserts and removals agree with a set, under heavy collisions and growth",
        arguments: SlotIndexTests.HashKind.allCases
    )
    func randomOperations(_ kind: SlotIndexTests.HashKind) {
        var model = Model(hash: kind.hash)
        var present = Set<UInt64>()
        var random: UInt64 = 54_321
        func next() -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return random >> 33
        }
        for round in 0..<4_000 {
            let code = 1 + next() % 600
            if present.contains(code) {
                model.remove(code)
                present.remove(code)
            } else {
                model.insert(code)
                present.insert(code)
            }
            if round % 500 == 0 {
                model.check(present: present, absent: 1...600)
            }
        }
        model.check(present: present, absent: 1...600)
        for code in present {
            model.remove(code)
        }
        model.check(present: [], absent: 1...600)
        #expect(model.index.bucketCount >= 16)
    }

    @Test("Codes with the same hash are told apart by the code itself")
    func sameHashDifferentCodes() {
        var model = Model(hash: { _ in 99 })
        for code: UInt64 in [5, 6, 1 << 63 | 5] {
            model.insert(code)
        }
        #expect(model.find(5) == 0 && model.find(6) == 1 && model.find(1 << 63 | 5) == 2)
        #expect(model.find(7) == nil)
        model.remove(5)
        model.check(present: [6, 1 << 63 | 5], absent: [5, 7])
    }

    @Test("Grows by doubling, never past 3/4 full; a large index lives in its own mapping")
    func growth() {
        var model = Model(hash: { UInt32(truncatingIfNeeded: $0.mixed) })
        for code: UInt64 in 1...12 {
            model.insert(code)
        }
        #expect(model.index.bucketCount == 16)
        model.insert(13)
        #expect(model.index.bucketCount == 32)
        for code: UInt64 in 14...200_000 {
            model.insert(code)
        }
        #expect(model.index.count * 4 <= model.index.bucketCount * 3)
        #expect(model.index.memoryFootprint >= 4 << 20)
        model.check(present: Set(1...200_000), absent: 200_001...200_100)
    }

    @Test("Copies are independent (copy on write)")
    func copyOnWrite() {
        var original = AccountIndex()
        original.insert(code: 42, hash: 1, slot: 0)
        var copy = original
        copy.insert(code: 43, hash: 2, slot: 1)
        copy.remove(hash: 1, slot: 0)
        #expect(original.find(code: 42, hash: 1) == 0)
        #expect(original.find(code: 43, hash: 2) == nil)
        #expect(copy.find(code: 42, hash: 1) == nil)
        #expect(copy.find(code: 43, hash: 2) == 1)
    }
}

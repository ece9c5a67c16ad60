import Testing

@testable import FraudCore

@Suite("SlotIndex")
struct SlotIndexTests {
    /// A dense key array indexed by a `SlotIndex`, with swap-removal like `AccountTable`, and a hash function
    /// that can be made to collide on purpose.
    struct Model {
        var index = SlotIndex()
        var keys: [UInt64] = []
        let hash: (UInt64) -> UInt32

        func find(_ key: UInt64) -> Int? {
            index.find(hash: hash(key)) { keys[$0] == key }
        }

        mutating func insert(_ key: UInt64) {
            index.insert(hash: hash(key), slot: keys.count)
            keys.append(key)
        }

        mutating func remove(_ key: UInt64) {
            let position = find(key)!
            let last = keys.removeLast()
            index.remove(hash: hash(key), slot: position)
            if position < keys.count {
                index.moveEntry(hash: hash(last), from: keys.count, to: position)
                keys[position] = last
            }
        }

        func check(present: Set<UInt64>, absent: some Sequence<UInt64>) {
            #expect(index.count == present.count)
            #expect(keys.count == present.count)
            for key in present {
                let slot = find(key)
                #expect(slot != nil && keys[slot!] == key, "key \(key) lost")
            }
            for key in absent where !present.contains(key) {
                #expect(find(key) == nil, "key \(key) found after removal")
            }
        }
    }

    /// Hash functions from good to adversarial.
    enum HashKind: CaseIterable, Sendable {
        case distinct, eightValues, oneValue, sameHomeDifferentTags

        func hash(_ key: UInt64) -> UInt32 {
            switch self {
            case .distinct: UInt32(truncatingIfNeeded: key.mixed)
            case .eightValues: UInt32(key % 8)
            case .oneValue: 7
            case .sameHomeDifferentTags: UInt32(truncatingIfNeeded: key << 16)
            }
        }
    }

    @Test(
        "Random inserts and removals agree with a set, under heavy collisions and growth",
        arguments: HashKind.allCases
    )
    func randomOperations(_ kind: HashKind) {
        var model = Model(hash: kind.hash)
        var present = Set<UInt64>()
        var random: UInt64 = 12_345
        func next() -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return random >> 33
        }
        for round in 0..<4_000 {
            let key = next() % 600
            if present.contains(key) {
                model.remove(key)
                present.remove(key)
            } else {
                model.insert(key)
                present.insert(key)
            }
            if round % 500 == 0 {
                model.check(present: present, absent: 0..<600)
            }
        }
        model.check(present: present, absent: 0..<600)
        // Empty it completely, then refill: nothing left behind.
        for key in present {
            model.remove(key)
        }
        model.check(present: [], absent: 0..<600)
        for key: UInt64 in 0..<100 {
            model.insert(key)
        }
        model.check(present: Set(0..<100), absent: 0..<600)
    }

    @Test("Grows by doubling, never past 3/4 full")
    func growth() {
        var model = Model(hash: { UInt32(truncatingIfNeeded: $0.mixed) })
        #expect(model.index.bucketCount == 16)
        for key: UInt64 in 1...12 {
            model.insert(key)
        }
        #expect(model.index.bucketCount == 16)
        model.insert(13)
        #expect(model.index.bucketCount == 32)
        for key: UInt64 in 14...10_000 {
            model.insert(key)
            #expect(model.index.count * 4 <= model.index.bucketCount * 3)
        }
        model.check(present: Set(1...10_000), absent: 10_001...10_100)
        #expect(SlotIndex(minimumCapacity: 1_000).bucketCount == 2_048)
    }

    @Test("Probe runs wrap around the end of the table, and removal shifts across the wrap")
    func wrapAround() {
        // Home = last bucket of 16 for every key.
        var model = Model(hash: { UInt32(15) | UInt32(truncatingIfNeeded: $0) << 8 })
        for key: UInt64 in 1...6 {
            model.insert(key)
        }
        model.check(present: Set(1...6), absent: 7...20)
        model.remove(1)  // the one at the home bucket: all the others shift back across the wrap
        model.check(present: Set(2...6), absent: 1...20)
        model.remove(4)
        model.check(present: [2, 3, 5, 6], absent: 1...20)
    }
}

@Suite("AccountCode")
struct AccountCodeTests {
    @Test("PaySim names get distinct, non-zero codes with bit 63 clear")
    func paysimNames() {
        let names = [
            "C1231006815", "M1979787155", "C1", "C0", "C01", "C001", "M1", "A999999999999999", "Z123",
            "C123100681", "C12310068150",
        ]
        let codes = names.map(AccountCode.pack)
        #expect(Set(codes).count == names.count)
        #expect(codes.allSatisfy { $0 != 0 && $0 & AccountCode.internedBit == 0 })
        #expect(AccountKey("C1231006815").code == AccountCode.pack("C1231006815"))
    }

    @Test(
        "Other names have no compact code",
        arguments: ["", "C", "1234", "c123", "CC123", "C12a", "C1234567890123456", "Cé1", "C-1", "C 1", "tx-1"]
    )
    func otherNames(_ name: String) {
        #expect(AccountCode.pack(name) == 0)
        #expect(AccountKey(name).code == 0)
    }

    @Test("The key's hash is the code's mix (FNV-1a of a name without a code); shard and mark come from it")
    func keyHash() {
        for name in ["C1231006815", "alice", "", "Cé1", String(repeating: "x", count: 40)] {
            let code = AccountCode.pack(name)
            let hash = code != 0 ? code.mixed : FNV1a.hash(name)
            #expect(AccountKey.hashAndCode(of: name).hash == hash)
            #expect(AccountKey(name).counterpartyHash == hash.folded32)
            #expect(UInt64.shardIndex(mixed: AccountKey(name).mixedHash, count: 8) == hash.shardIndex(count: 8))
        }
    }
}

@Suite("SlotIndex storage")
struct SlotIndexStorageTests {
    @Test("A large index (its own huge-page mapping) finds, moves and removes entries")
    func largeIndex() {
        var index = SlotIndex(minimumCapacity: 400_000)
        #expect(index.bucketCount * 8 >= 4 << 20)
        let hash = { (key: Int) in UInt32(truncatingIfNeeded: UInt64(key).mixed) }
        for key in 0..<400_000 {
            index.insert(hash: hash(key), slot: key)
        }
        #expect(index.count == 400_000)
        #expect(index.find(hash: hash(123_456)) { $0 == 123_456 } == 123_456)
        index.remove(hash: hash(5), slot: 5)
        #expect(index.find(hash: hash(5)) { $0 == 5 } == nil)
        index.moveEntry(hash: hash(7), from: 7, to: 5)
        #expect(index.find(hash: hash(7)) { $0 == 5 } == 5)
        #expect(index.count == 399_999)
    }

    @Test("Copies are independent (copy on write)")
    func copyOnWrite() {
        var original = SlotIndex()
        original.insert(hash: 42, slot: 0)
        var copy = original
        copy.insert(hash: 43, slot: 1)
        copy.remove(hash: 42, slot: 0)
        #expect(original.find(hash: 42) { $0 == 0 } == 0)
        #expect(original.find(hash: 43) { _ in true } == nil)
        #expect(copy.find(hash: 42) { _ in true } == nil)
        #expect(copy.find(hash: 43) { $0 == 1 } == 1)
    }
}

import Testing

@testable import FraudCore

@Suite("AlignedArray")
struct AlignedArrayTests {
    @Test("Appends, reads, overwrites and removes like an Array, on 64-byte aligned storage, across growth")
    func behavesLikeAnArray() {
        var aligned = AlignedArray<UInt64>()
        var reference: [UInt64] = []
        for value in 0..<1_000 as Range<UInt64> {
            aligned.append(value &* 2_654_435_761)
            reference.append(value &* 2_654_435_761)
            if value % 7 == 0 {
                aligned[Int(value) / 2] = value
                reference[Int(value) / 2] = value
            }
            if value % 11 == 0 {
                #expect(aligned.removeLast() == reference.removeLast())
            }
        }
        #expect(aligned.count == reference.count)
        #expect((0..<aligned.count).allSatisfy { aligned[$0] == reference[$0] })
        aligned.withUnsafeBufferPointer { buffer in
            #expect(Int(bitPattern: buffer.baseAddress) % 64 == 0)
            #expect(Array(buffer) == reference)
        }
    }

    @Test("A copy is independent of the original (copy on write)")
    func copyOnWrite() {
        var original = AlignedArray<Int32>()
        for value in 0..<10 as Range<Int32> { original.append(value) }
        var copy = original
        copy[3] = 99
        copy.append(10)
        #expect(original[3] == 3 && original.count == 10)
        #expect(copy[3] == 99 && copy.count == 11)
    }

    @Test("Prefetching clamps to the elements held and changes nothing, whatever the range")
    func prefetchClamps() {
        var aligned = AlignedArray<UInt64>()
        aligned.prefetchForWriting(from: 0, count: 4)  // empty
        for value in 0..<100 as Range<UInt64> { aligned.append(value) }
        for (start, count) in [(0, 4), (98, 4), (99, 1), (100, 4), (5_000, 4), (-3, 4), (10, 0), (10, -2), (0, 1_000)] {
            aligned.prefetchForWriting(from: start, count: count)
        }
        #expect(aligned.count == 100)
        #expect((0..<100).allSatisfy { aligned[$0] == UInt64($0) })
    }
}

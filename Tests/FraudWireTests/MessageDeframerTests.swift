import FraudWire
import Testing

@Suite("Message deframer")
struct MessageDeframerTests {
    private func frame(_ body: [UInt8], compressed: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        appendMessagePrefix(length: body.count, to: &out)
        if compressed { out[0] = 1 }
        return out + body
    }

    private func feed(_ deframer: inout MessageDeframer, _ chunk: [UInt8]) throws(WireError) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunk.count, 1), alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: chunk)
        try deframer.process(UnsafeRawBufferPointer(rebasing: copy[..<chunk.count])) { messages.append(Array($0)) }
        return messages
    }

    @Test("whole messages in one chunk come out in order")
    func wholeMessages() throws {
        var deframer = MessageDeframer(maxMessageBytes: 100)
        let chunk = frame([1, 2, 3]) + frame([]) + frame([9])
        let messages = try feed(&deframer, chunk)
        #expect(messages == [[1, 2, 3], [], [9]])
        #expect(!deframer.hasPartialMessage)
    }

    @Test("a message split at every possible byte boundary is reassembled", arguments: 1..<12)
    func splitMessages(splitAt: Int) throws {
        var deframer = MessageDeframer(maxMessageBytes: 100)
        let bytes = frame([10, 20, 30, 40, 50, 60]) + frame([7])
        var messages = try feed(&deframer, Array(bytes[..<splitAt]))
        #expect(deframer.hasPartialMessage == (splitAt != 11))  // 11 is exactly the first message's end
        messages += try feed(&deframer, Array(bytes[splitAt...]))
        #expect(messages == [[10, 20, 30, 40, 50, 60], [7]])
        #expect(!deframer.hasPartialMessage)
    }

    @Test("an oversized length is refused from the prefix alone, before the body arrives")
    func oversized() {
        var deframer = MessageDeframer(maxMessageBytes: 64 * 1024)
        let prefixOnly: [UInt8] = [0, 0, 1, 0x11, 0x70]  // 70,000 bytes announced
        #expect {
            _ = try feed(&deframer, prefixOnly)
        } throws: { error in
            let wire = error as? WireError
            return wire?.code == .messageTooLarge && wire?.status.code == .resourceExhausted
                && wire?.message.contains("70000") == true
        }
    }

    @Test("the compressed flag without a grpc-encoding is a protocol error (INTERNAL)")
    func compressedFlag() {
        var deframer = MessageDeframer(maxMessageBytes: 100)
        #expect {
            _ = try feed(&deframer, frame([1, 2], compressed: true))
        } throws: { error in
            (error as? WireError)?.status.code == .internal
        }
    }
}

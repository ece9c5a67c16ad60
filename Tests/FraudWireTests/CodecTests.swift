import FraudCore
import FraudWire
import Testing

@Suite("protobuf-c codec")
struct CodecTests {
    private func unframe(_ framed: [UInt8]) -> [UInt8] {
        #expect(framed.count >= 5)
        let length = Int(framed[1]) << 24 | Int(framed[2]) << 16 | Int(framed[3]) << 8 | Int(framed[4])
        #expect(framed.count == 5 + length)
        return Array(framed[5...])
    }

    @Test("ScoreRequest survives an encode/decode round trip, unknown enum values included")
    func requestRoundTrip() throws {
        let request = ScoreRequest(
            transaction: RawTransaction(
                transactionID: "tx-éé-1",
                step: 743,
                typeRawValue: 42,
                amountCents: 18_100,
                originAccount: "C1305486145",
                originBalanceBeforeCents: 18_100,
                originBalanceAfterCents: 0,
                destinationAccount: "C553264065",
                destinationBalanceBeforeCents: -1,
                destinationBalanceAfterCents: Int64.max
            ),
            labelRawValue: 2
        )
        var framed: [UInt8] = []
        request.appendFramed(to: &framed)
        let body = unframe(framed)
        let decoded = try body.withUnsafeBytes { try ScoreRequest.decode(protobuf: $0) }
        #expect(decoded == request)
    }

    @Test("requests larger than the 1 KiB unpack arena decode the same (its overflow goes to malloc)", arguments: [10, 700, 5000])
    func requestBeyondTheArena(idLength: Int) throws {
        let request = ScoreRequest(
            transaction: RawTransaction(
                transactionID: String(repeating: "t", count: idLength),
                step: 1,
                typeRawValue: 4,
                amountCents: 1,
                originAccount: String(repeating: "o", count: idLength),
                originBalanceBeforeCents: 1,
                originBalanceAfterCents: 0,
                destinationAccount: String(repeating: "d", count: idLength),
                destinationBalanceBeforeCents: 0,
                destinationBalanceAfterCents: 1
            ),
            labelRawValue: 0
        )
        var framed: [UInt8] = []
        request.appendFramed(to: &framed)
        for _ in 0..<3 {  // the same stack space again: nothing left over from the previous call
            let decoded = try unframe(framed).withUnsafeBytes { try ScoreRequest.decode(protobuf: $0) }
            #expect(decoded == request)
        }
    }

    @Test("a request without a transaction decodes with transaction == nil")
    func missingTransaction() throws {
        var framed: [UInt8] = []
        ScoreRequest(transaction: nil, labelRawValue: 0).appendFramed(to: &framed)
        let decoded = try unframe(framed).withUnsafeBytes { try ScoreRequest.decode(protobuf: $0) }
        #expect(decoded.transaction == nil)
    }

    @Test("garbage bytes are undecodable, mapped to INTERNAL")
    func garbage() {
        let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]
        #expect {
            _ = try garbage.withUnsafeBytes { try ScoreRequest.decode(protobuf: $0) }
        } throws: { error in
            (error as? WireError)?.status.code == .internal
        }
    }

    @Test("ScoreResponse with several reasons survives a round trip")
    func responseRoundTrip() throws {
        let response = ScoreResponse(
            transactionID: "paysim-1",
            assessment: Assessment(
                riskScore: 0.875,
                decision: .decline,
                reasons: [
                    Reason(code: "ORIGIN_DRAINED", detail: "origin balance 181.00 fully drained", weight: 0.5),
                    Reason(code: "RISKY_TYPE", detail: "TRANSFER", weight: 0.375),
                ],
                modelVersion: "rules-v1"
            ),
            serverTimeMicros: 17,
            replayed: true
        )
        var framed: [UInt8] = []
        response.appendFramed(to: &framed)
        let decoded = try unframe(framed).withUnsafeBytes { try ScoreResponse.decode(protobuf: $0) }
        #expect(decoded == response)
    }

    @Test("ScoreResponseSummary reads id, decision and replayed like the full decode", arguments: [false, true])
    func responseSummary(replayed: Bool) throws {
        for decision in Decision.allCases {
            let response = ScoreResponse(
                transactionID: "bf-0123abcd-6362621",
                assessment: Assessment(
                    riskScore: 0.5,
                    decision: decision,
                    reasons: [Reason(code: "RISKY_TYPE", detail: "TRANSFER", weight: 0.25)],
                    modelVersion: "lr-paysim-v1"
                ),
                serverTimeMicros: 300,
                replayed: replayed
            )
            var framed: [UInt8] = []
            response.appendFramed(to: &framed)
            let message = unframe(framed)
            try message.withUnsafeBytes { bytes in
                let summary = try ScoreResponseSummary.decode(protobuf: bytes)
                #expect(summary.decision == decision)
                #expect(summary.replayed == replayed)
                #expect(summary.hasTransactionID("bf-0123abcd-6362621", in: bytes))
                #expect(!summary.hasTransactionID("bf-0123abcd-636262", in: bytes))
                #expect(!summary.hasTransactionID("bf-0123abcd-6362622", in: bytes))
            }
            // Every truncation is either undecodable or a prefix that still parses; none crashes.
            for cut in 0..<message.count {
                _ = try? Array(message[..<cut]).withUnsafeBytes { try ScoreResponseSummary.decode(protobuf: $0) }
            }
        }
        #expect(throws: WireError.self) {
            try [UInt8]([0x0A, 0x05, 0x41]).withUnsafeBytes { try ScoreResponseSummary.decode(protobuf: $0) }
        }
    }

    @Test("grpc-message percent-encoding escapes %, controls and non-ASCII only")
    func percentEncoding() {
        #expect(Status.percentEncoded("plain text: ok") == "plain text: ok")
        #expect(Status.percentEncoded("100% bad\né") == "100%25 bad%0A%C3%A9")
    }

    @Test("health messages round trip through the standard proto")
    func health() throws {
        var framed: [UInt8] = []
        HealthCodec.appendFramedCheckRequest(service: "fraud.v1.FraudScoring", to: &framed)
        let name = try unframe(framed).withUnsafeBytes { try HealthCodec.decodeCheckRequest(protobuf: $0) }
        #expect(name == "fraud.v1.FraudScoring")
        var response: [UInt8] = []
        HealthCodec.appendFramedCheckResponse(.notServing, to: &response)
        #expect(unframe(response) == [0x08, 0x02])
    }
}

internal import CFraudProto
internal import CProtobufC
internal import FraudCore

extension ScoreResponse {
    /// Encodes this response as protobuf and appends it to `buffer` behind a 5-byte gRPC prefix.
    ///
    /// Strings are copied once into a temporary arena and the reason structs live in temporary storage,
    /// so encoding makes no heap allocation besides growing `buffer`.
    public func appendFramed(to buffer: inout [UInt8]) {
        let reasons = assessment.reasons
        var arenaSize = CStringArena.size(of: transactionID) + CStringArena.size(of: assessment.modelVersion)
        for reason in reasons {
            arenaSize += CStringArena.size(of: reason.code) + CStringArena.size(of: reason.detail)
        }
        CStringArena.withArena(capacity: arenaSize) { arena in
            withUnsafeTemporaryAllocation(of: Fraud__V1__Reason.self, capacity: max(reasons.count, 1)) { wireReasons in
                withUnsafeTemporaryAllocation(
                    of: UnsafeMutablePointer<Fraud__V1__Reason>?.self,
                    capacity: max(reasons.count, 1)
                ) { reasonPointers in
                    for (index, reason) in reasons.enumerated() {
                        let slot = wireReasons.baseAddress! + index
                        slot.initialize(to: Fraud__V1__Reason())
                        fraud__v1__reason__init(slot)
                        slot.pointee.code = arena.copy(reason.code)
                        slot.pointee.detail = arena.copy(reason.detail)
                        slot.pointee.weight = reason.weight
                        reasonPointers[index] = slot
                    }
                    var message = Fraud__V1__ScoreResponse()
                    fraud__v1__score_response__init(&message)
                    message.transaction_id = arena.copy(transactionID)
                    message.risk_score = assessment.riskScore
                    message.decision = Fraud__V1__Decision(rawValue: UInt32(assessment.decision.rawValue))
                    message.n_reasons = reasons.count
                    message.reasons = reasons.isEmpty ? nil : reasonPointers.baseAddress
                    message.model_version = arena.copy(assessment.modelVersion)
                    message.server_time_us = serverTimeMicros
                    message.replayed = replayed ? 1 : 0
                    let size = fraud__v1__score_response__get_packed_size(&message)
                    // One growth at most (an empty per-call buffer would otherwise grow for the prefix and
                    // again for the body), geometric so that a buffer collecting many answers stays linear.
                    if buffer.capacity - buffer.count < 5 + size {
                        buffer.reserveCapacity(max(buffer.count + 5 + size, buffer.capacity * 2))
                    }
                    appendPackedMessage(size: size, to: &buffer) { fraud__v1__score_response__pack(&message, $0) }
                }
            }
        }
    }

    /// Decodes a protobuf `fraud.v1.ScoreResponse` (used by clients and tests).
    ///
    /// - Throws: `WireError.Code.undecodable` when the bytes don't parse or the decision is unknown.
    public static func decode(protobuf bytes: UnsafeRawBufferPointer) throws(WireError) -> ScoreResponse {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard let message = fraud__v1__score_response__unpack(nil, bytes.count, base) else {
            throw WireError(code: .undecodable, message: "not a valid fraud.v1.ScoreResponse protobuf")
        }
        defer { fraud__v1__score_response__free_unpacked(message, nil) }
        let response = message.pointee
        guard let decision = Decision(rawValue: Int32(response.decision.rawValue)) else {
            throw WireError(code: .undecodable, message: "ScoreResponse has unknown decision \(response.decision.rawValue)")
        }
        var reasons: [Reason] = []
        reasons.reserveCapacity(response.n_reasons)
        for index in 0..<response.n_reasons {
            guard let reason = response.reasons[index]?.pointee else { continue }
            reasons.append(
                Reason(code: String(cString: reason.code), detail: String(cString: reason.detail), weight: reason.weight)
            )
        }
        return ScoreResponse(
            transactionID: String(cString: response.transaction_id),
            assessment: Assessment(
                riskScore: response.risk_score,
                decision: decision,
                reasons: reasons,
                modelVersion: String(cString: response.model_version)
            ),
            serverTimeMicros: response.server_time_us,
            replayed: response.replayed != 0
        )
    }
}

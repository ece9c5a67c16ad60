internal import CFraudProto
internal import CProtobufC
public import FraudCore

extension ScoreRequest {
    /// Decodes a protobuf `fraud.v1.ScoreRequest` (the body of one gRPC message).
    ///
    /// Unknown enum values are kept as raw numbers so validation can name them.
    /// - Throws: `WireError.Code.undecodable` when protobuf-c cannot parse the bytes.
    public static func decode(protobuf bytes: UnsafeRawBufferPointer) throws(WireError) -> ScoreRequest {
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        return try UnpackArena.with { allocator throws(WireError) in
            guard let message = fraud__v1__score_request__unpack(allocator, bytes.count, base) else {
                throw WireError(
                    code: .undecodable,
                    message: "request is not a valid fraud.v1.ScoreRequest protobuf (\(bytes.count) bytes)"
                )
            }
            defer { fraud__v1__score_request__free_unpacked(message, allocator) }
            let request = message.pointee
            var transaction: RawTransaction?
            if let t = request.transaction?.pointee {
                transaction = RawTransaction(
                    transactionID: String(cString: t.transaction_id),
                    step: t.step,
                    typeRawValue: Int32(t.type.rawValue),
                    amountCents: t.amount_cents,
                    originAccount: String(cString: t.origin_account),
                    originBalanceBeforeCents: t.origin_balance_before_cents,
                    originBalanceAfterCents: t.origin_balance_after_cents,
                    destinationAccount: String(cString: t.destination_account),
                    destinationBalanceBeforeCents: t.destination_balance_before_cents,
                    destinationBalanceAfterCents: t.destination_balance_after_cents
                )
            }
            return ScoreRequest(transaction: transaction, labelRawValue: Int32(request.label.rawValue))
        }
    }

    /// Encodes this request as protobuf and appends it to `buffer` behind a 5-byte gRPC prefix.
    public func appendFramed(to buffer: inout [UInt8]) {
        let t = transaction
        let arenaSize =
            CStringArena.size(of: t?.transactionID ?? "") + CStringArena.size(of: t?.originAccount ?? "")
            + CStringArena.size(of: t?.destinationAccount ?? "")
        CStringArena.withArena(capacity: arenaSize) { arena in
            var message = Fraud__V1__ScoreRequest()
            fraud__v1__score_request__init(&message)
            message.label = Fraud__V1__Label(rawValue: UInt32(bitPattern: labelRawValue))
            var wireTransaction = Fraud__V1__Transaction()
            fraud__v1__transaction__init(&wireTransaction)
            if let t {
                wireTransaction.transaction_id = arena.copy(t.transactionID)
                wireTransaction.step = t.step
                wireTransaction.type = Fraud__V1__TransactionType(rawValue: UInt32(bitPattern: t.typeRawValue))
                wireTransaction.amount_cents = t.amountCents
                wireTransaction.origin_account = arena.copy(t.originAccount)
                wireTransaction.origin_balance_before_cents = t.originBalanceBeforeCents
                wireTransaction.origin_balance_after_cents = t.originBalanceAfterCents
                wireTransaction.destination_account = arena.copy(t.destinationAccount)
                wireTransaction.destination_balance_before_cents = t.destinationBalanceBeforeCents
                wireTransaction.destination_balance_after_cents = t.destinationBalanceAfterCents
            }
            withUnsafeMutablePointer(to: &wireTransaction) { transactionPointer in
                if t != nil { message.transaction = transactionPointer }
                let size = fraud__v1__score_request__get_packed_size(&message)
                appendPackedMessage(size: size, to: &buffer) { fraud__v1__score_request__pack(&message, $0) }
            }
        }
    }
}

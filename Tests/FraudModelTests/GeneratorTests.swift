import FraudCore
import FraudModel
import Testing

@Suite("PaySim generator")
struct GeneratorTests {
    static func csv(rows: Int, seed: UInt64, fraudRate: Double = 0.01, linked: Bool = true) -> [UInt8] {
        var generator = PaySimGenerator(
            options: .init(rows: rows, seed: seed, fraudRate: fraudRate, linkedAccounts: linked)
        )
        var output: [UInt8] = []
        _ = generator.writeCSV(blockSize: 4_096) { output.append(contentsOf: $0) }
        return output
    }

    static func rows(rows: Int, seed: UInt64, fraudRate: Double = 0.01, linked: Bool = true) -> [PaySimRow] {
        var generator = PaySimGenerator(
            options: .init(rows: rows, seed: seed, fraudRate: fraudRate, linkedAccounts: linked)
        )
        var result: [PaySimRow] = []
        while let row = generator.next() { result.append(row) }
        return result
    }

    @Test("The same seed gives the same bytes; another seed does not")
    func deterministic() {
        let first = Self.csv(rows: 20_000, seed: 42)
        let second = Self.csv(rows: 20_000, seed: 42)
        let other = Self.csv(rows: 20_000, seed: 43)
        #expect(first == second)
        #expect(first != other)
    }

    @Test("Output is the PaySim header, then rows that parse back exactly")
    func headerAndRoundTrip() throws {
        let text = String(decoding: Self.csv(rows: 5_000, seed: 7), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first.map(String.init) == PaySimRow.header)
        #expect(lines.last == "")  // ends with a newline
        let body = lines.dropFirst().dropLast()
        #expect(body.count == 5_000)
        let expected = Self.rows(rows: 5_000, seed: 7)
        for (line, row) in zip(body, expected) {
            #expect(try PaySimRow(csvLine: line) == row)
            #expect(line == row.csvLine[...])
        }
    }

    @Test("Steps run through 1...743 in order; no legitimate row after step 718")
    func steps() {
        let rows = Self.rows(rows: 60_000, seed: 1)
        #expect(rows.count == 60_000)
        #expect(rows.first?.step == 1)
        #expect(rows.allSatisfy { (1...743).contains($0.step) })
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.step <= $1.step })
        #expect(rows.contains { $0.step == 743 })
        #expect(!rows.contains { !$0.isFraud && $0.step > 718 })
    }

    @Test("Fraud follows PaySim: exact drain TRANSFERs of at most 10,000,000.00, each followed by the mule's CASH_OUT")
    func fraudPattern() throws {
        let rows = Self.rows(rows: 100_000, seed: 5, fraudRate: 0.02)
        let frauds = rows.filter(\.isFraud)
        #expect(abs(Double(frauds.count) / Double(rows.count) - 0.02) < 0.001)
        #expect(frauds.allSatisfy { $0.type == .transfer || $0.type == .cashOut })
        #expect(frauds.allSatisfy { $0.amountCents <= FraudInjection.chunkCents })
        var pairs = 0
        var chunks = 0
        var drains = 0
        for index in rows.indices where rows[index].isFraud && rows[index].type == .transfer {
            let transfer = rows[index]
            if transfer.isFlaggedFraud {
                // The blocked last chunk: nothing moves, no cash-out follows.
                #expect(transfer.originBalanceAfterCents == transfer.originBalanceBeforeCents)
                continue
            }
            #expect(transfer.originBalanceBeforeCents - transfer.amountCents == transfer.originBalanceAfterCents)
            if transfer.originBalanceAfterCents == 0 { drains += 1 }
            if transfer.amountCents == FraudInjection.chunkCents, transfer.originBalanceAfterCents > 0 { chunks += 1 }
            let cashOut = try #require(index + 1 < rows.count ? rows[index + 1] : nil)
            #expect(cashOut.isFraud && cashOut.type == .cashOut)
            #expect(cashOut.originAccount == transfer.destinationAccount)
            #expect(cashOut.amountCents == transfer.amountCents)
            #expect(cashOut.originBalanceBeforeCents == cashOut.amountCents && cashOut.originBalanceAfterCents == 0)
            pairs += 1
        }
        #expect(pairs > 500)
        #expect(drains > 400)
        #expect(chunks > 0)  // some balances exceed 10,000,000.00 and go out in several TRANSFERs
    }

    @Test("Unlinked mode gives every fraud row fresh accounts, as in the published file")
    func unlinked() {
        let rows = Self.rows(rows: 50_000, seed: 5, fraudRate: 0.01, linked: false)
        for index in rows.indices.dropLast() where rows[index].isFraud && rows[index].type == .transfer {
            if rows[index + 1].isFraud && rows[index + 1].type == .cashOut {
                #expect(rows[index + 1].originAccount != rows[index].destinationAccount)
            }
        }
    }

    @Test("Legitimate rows never drain an account to the cent; merchants only receive PAYMENTs")
    func legitimateShape() {
        let rows = Self.rows(rows: 50_000, seed: 9, fraudRate: 0)
        #expect(rows.allSatisfy { !$0.isFraud })
        for row in rows {
            #expect(!(row.originBalanceBeforeCents > 0 && row.originBalanceAfterCents == 0
                && row.amountCents == row.originBalanceBeforeCents) || row.type == .cashIn)
            #expect((row.type == .payment) == row.destinationAccount.hasPrefix("M"))
            #expect(row.originAccount.hasPrefix("C"))
        }
        let transfers = Double(rows.count { $0.type == .transfer }) / Double(rows.count)
        #expect(abs(transfers - PaySimProfile.sample.profile(of: .transfer).share) < 0.01)
    }

    @Test("appendCSVLine writes csvLine byte for byte")
    func csvBytes() {
        let row = PaySimRow(
            step: 1, type: .transfer, amountCents: 18_100, originAccount: "C1305486145",
            originBalanceBeforeCents: 18_100, originBalanceAfterCents: 0, destinationAccount: "C553264065",
            destinationBalanceBeforeCents: 0, destinationBalanceAfterCents: -5, isFraud: true, isFlaggedFraud: false
        )
        var bytes: [UInt8] = []
        row.appendCSVLine(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == row.csvLine + "\n")
        #expect(row.csvLine == "1,TRANSFER,181.00,C1305486145,181.00,0.00,C553264065,0.00,-0.05,1,0")
    }
}

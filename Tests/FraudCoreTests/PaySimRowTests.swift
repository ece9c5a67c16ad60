import FraudCore
import Testing

@Suite("PaySim rows")
struct PaySimRowTests {
    @Test("a real PaySim fraud row parses exactly, in cents")
    func fraudRow() throws {
        let row = try PaySimRow(csvLine: "1,TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0")
        #expect(row.step == 1)
        #expect(row.type == .transfer)
        #expect(row.amountCents == 18_100)
        #expect(row.originBalanceBeforeCents == 18_100)
        #expect(row.originBalanceAfterCents == 0)
        #expect(row.isFraud && !row.isFlaggedFraud)
        #expect(row.label == .fraud)
    }

    @Test("decimal amounts convert without floating-point error", arguments: [
        ("0.1", Int64(10)), ("1234567.89", 123_456_789), ("22619.81", 2_261_981), ("5", 500), ("0.005", 1),
        ("-0.5", -50),
    ])
    func cents(text: String, expected: Int64) {
        #expect(PaySimRow.parseCents(text[...]) == expected)
    }

    @Test("bad lines name the column", arguments: [
        ("1,TRANSFER,abc,C1,1,0,C2,0,0,1,0", "amount"),
        ("1,WIRE,1,C1,1,0,C2,0,0,1,0", "type"),
        ("x,TRANSFER,1,C1,1,0,C2,0,0,1,0", "step"),
        ("1,TRANSFER,1,C1,1,0,C2,0,0,2,0", "isFraud"),
        ("1,TRANSFER,1,C1", "line"),
    ])
    func badLines(line: String, column: String) {
        #expect(throws: PaySimRow.ParseError.self) { try PaySimRow(csvLine: line[...]) }
        do {
            _ = try PaySimRow(csvLine: line[...])
        } catch {
            #expect(error.column == column)
        }
    }

    @Test("csvLine round-trips through the parser")
    func roundTrip() throws {
        let row = try PaySimRow(csvLine: "330,CASH_IN,394858.12,C960599901,762408.55,1157266.67,C1561072817,1479749.7,1084891.58,0,0")
        #expect(try PaySimRow(csvLine: row.csvLine[...]) == row)
    }
}

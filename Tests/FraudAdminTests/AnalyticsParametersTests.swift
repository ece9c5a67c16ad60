import FraudPersistence
import Testing

@testable import FraudAdmin

@Suite("Analytics parameters")
struct AnalyticsParametersTests {
    @Test("a full filter parses")
    func fullFilter() throws {
        let pairs = try AnalyticsParameters.parse(
            query: "account=C1&type=transfer,CASH_OUT&decision=DECLINE&step_from=1&step_to=9&min_score=0.5&max_score=1&limit=10&since=2024-11-25T13:00:00Z&until=1732600000"
        )
        let filter = try AnalyticsParameters.filter(from: pairs)
        #expect(filter.account == "C1")
        #expect(filter.types == ["TRANSFER", "CASH_OUT"])
        #expect(filter.decisions == ["DECLINE"])
        #expect(filter.stepFrom == 1 && filter.stepTo == 9)
        #expect(filter.minScore == 0.5 && filter.maxScore == 1)
        #expect(filter.limit == 10)
        #expect(filter.sinceMicros == 1_732_539_600_000_000)
        #expect(filter.untilMicros == 1_732_600_000_000_000)
    }

    @Test(
        "bad values name their parameter",
        arguments: [
            ("limit=0", "limit"), ("limit=abc", "limit"), ("type=WIRE", "type"), ("decision=MAYBE", "decision"),
            ("step_from=-1", "step_from"), ("min_score=2", "min_score"), ("since=yesterday", "since"),
            ("cursor=!!", "cursor"), ("colour=red", "colour"), ("step_from=5&step_to=1", "step_from"),
        ]
    )
    func badValues(query: String, parameter: String) throws {
        let pairs = try AnalyticsParameters.parse(query: Substring(query))
        #expect(throws: ParameterError.self) { try AnalyticsParameters.filter(from: pairs) }
        do {
            _ = try AnalyticsParameters.filter(from: pairs)
        } catch {
            #expect(error.parameter == parameter)
        }
    }

    @Test("alerts refuse APPROVE")
    func alertsRefuseApprove() throws {
        let pairs = try AnalyticsParameters.parse(query: "decision=APPROVE")
        #expect(throws: ParameterError.self) {
            try AnalyticsParameters.filter(from: pairs, allowedDecisions: ["REVIEW", "DECLINE"])
        }
    }

    @Test("cursors round-trip", arguments: ["t-1", "tx:with:colons", "ü-ñ", "ab", "abc", "abcd"])
    func cursorRoundTrip(id: String) {
        let cursor = PageCursor(scoredAtMicros: 1_732_539_600_123_456, transactionID: id)
        #expect(CursorCoding.decode(CursorCoding.encode(cursor)) == cursor)
    }

    @Test("percent-decoding")
    func percentDecoding() {
        #expect(AnalyticsParameters.percentDecoded("a%20b+c") == "a b c")
        #expect(AnalyticsParameters.percentDecoded("%zz") == nil)
    }

    @Test("seconds without floating-point noise")
    func seconds() {
        #expect(PrometheusExposition.seconds(25_000) == "0.000025")
        #expect(PrometheusExposition.seconds(1_000_000_000) == "1")
        #expect(PrometheusExposition.seconds(2_500_000) == "0.0025")
    }
}

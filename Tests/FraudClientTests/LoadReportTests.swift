import Foundation
import Testing

@testable import FraudClient

@Suite("Load report")
struct LoadReportTests {
    private func report(achieved: Double = 5000, p95: Double = 12.5, requests: Int = 50_000) -> LoadReport {
        LoadReport(
            target: "127.0.0.1:50051",
            mode: "open",
            offeredRate: 5000,
            connections: 4,
            streams: 1000,
            durationSeconds: 10,
            warmupSeconds: 2,
            timeoutMs: 1000,
            fixedRequest: false,
            requests: requests,
            errors: 3,
            errorsByStatus: ["DEADLINE_EXCEEDED": 2, "NO_ANSWER": 1],
            achievedRate: achieved,
            elapsedSeconds: 10,
            latencyMs: LatencyPercentiles(p50: 1.5, p90: 4, p95: p95, p99: 30, p999: 80, max: 120, mean: 2.25)
        )
    }

    @Test("JSON has snake_case keys and every percentile")
    func jsonShape() throws {
        var value = report()
        value.runID = "abc123"
        value.checkMisses = []
        let data = try JSONEncoder().encode(value)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in [
            "target", "mode", "offered_rate", "connections", "streams", "duration_s", "warmup_s", "timeout_ms",
            "fixed_request", "requests", "errors", "errors_by_status", "achieved_rate", "elapsed_s", "latency_ms",
            "run_id", "check_misses",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let latency = try #require(object["latency_ms"] as? [String: Double])
        #expect(Set(latency.keys) == ["p50", "p90", "p95", "p99", "p99_9", "max", "mean"])
        #expect(latency["p99_9"] == 80)
        #expect(object["errors_by_status"] as? [String: Int] == ["DEADLINE_EXCEEDED": 2, "NO_ANSWER": 1])
        #expect(try JSONDecoder().decode(LoadReport.self, from: data) == value)
    }

    @Test("closed loop encodes no offered rate")
    func closedLoop() throws {
        var value = report()
        value.mode = "closed"
        value.offeredRate = nil
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any]
        #expect(object?["offered_rate"] == nil)
    }

    @Test("targets: met, throughput missed, latency missed, both missed in one line")
    func targets() {
        let targets = LoadTargets(minRate: 1000, maxP95Ms: 100)
        #expect(targets.failureLine(for: report()) == nil)
        let slowRate = targets.failureLine(for: report(achieved: 812.34))
        #expect(slowRate == "CHECK FAILED: throughput 812.3 req/s is below --check-tps 1000")
        let slowLatency = targets.failureLine(for: report(p95: 123.456))
        #expect(slowLatency == "CHECK FAILED: p95 latency 123.5 ms is above --check-p95-ms 100")
        let both = targets.misses(in: report(achieved: 10, p95: 500))
        #expect(both.count == 2)
        #expect(LoadTargets().failureLine(for: report(achieved: 0, requests: 0)) == nil)
        #expect(LoadTargets(maxP95Ms: 100).misses(in: report(achieved: 0, p95: 0, requests: 0)).count == 1)
    }

    @Test("text report names the mode, the rate and the percentiles")
    func text() {
        let text = report().text
        #expect(text.contains("open loop"))
        #expect(text.contains("achieved 5000.0 req/s"))
        #expect(text.contains("p99.9 80.0"))
        #expect(text.contains("errors by status: DEADLINE_EXCEEDED 2, NO_ANSWER 1"))
    }

    @Test("sweep report: markdown table sorted by rate, capacity line, JSON keys")
    func sweepReport() throws {
        let steps = [
            RateSweep.Step(
                offeredRate: 2000,
                achievedRate: 1990,
                p50Ms: 1,
                p95Ms: 3,
                p99Ms: 5,
                maxMs: 9,
                errors: 0,
                passed: true
            ),
            RateSweep.Step(
                offeredRate: 4000,
                achievedRate: 3000,
                p50Ms: 80,
                p95Ms: 300,
                p99Ms: 400,
                maxMs: 900,
                errors: 0,
                passed: false
            ),
            RateSweep.Step(
                offeredRate: 1000,
                achievedRate: 1000,
                p50Ms: 1,
                p95Ms: 2,
                p99Ms: 4,
                maxMs: 8,
                errors: 0,
                passed: true
            ),
        ]
        let sweep = SweepReport(
            target: "t:1",
            connections: 2,
            streams: 100,
            stepSeconds: 5,
            targetP95Ms: 100,
            steps: steps,
            capacityRate: 2000,
            runID: "r"
        )
        let lines = sweep.markdownTable.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines[2].hasPrefix("| 1000 |"))
        #expect(lines[4].hasSuffix("| no |"))
        #expect(lines[5] == "capacity: 2000 req/s at p95 <= 100 ms")
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(sweep)) as? [String: Any]
        #expect(object?["capacity_rate"] as? Double == 2000)
        let first = (object?["steps"] as? [[String: Any]])?.first
        #expect(
            Set(first?.keys.map { $0 } ?? []) == [
                "offered_rate", "achieved_rate", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors", "passed",
            ]
        )
        let svg = CapacityChart.svg(steps: steps, targetP95Ms: 100, title: "cap <test>")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("cap &lt;test&gt;"))
        #expect(svg.components(separatedBy: "<polyline").count == 5)  // achieved, p50, p95, p99
        #expect(svg.hasSuffix("</svg>\n"))
    }

    @Test(
        "fixed-point formatting",
        arguments: [(1.005, 2, "1.00"), (0.5, 0, "1"), (-2.25, 1, "-2.3"), (12.0, 3, "12.000")]
    )
    func format(value: Double, decimals: Int, expected: String) {
        // 1.005 is 1.00499999… in binary; the others round half away from zero.
        #expect(LoadReport.format(value, decimals: decimals) == expected)
    }
}

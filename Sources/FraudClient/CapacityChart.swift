/// The capacity curve of a sweep as a self-contained SVG, built as a string (no plotting dependency):
/// achieved vs offered rate on the left, p50/p95/p99 latency vs offered rate on the right with the target line.
public enum CapacityChart {
    /// The SVG document.
    /// - Parameters:
    ///   - steps: The sweep's steps (any order; plotted by offered rate).
    ///   - targetP95Ms: Drawn as a dashed line on the latency panel.
    ///   - title: The heading.
    public static func svg(steps: [RateSweep.Step], targetP95Ms: Double, title: String) -> String {
        let sorted = steps.sorted { $0.offeredRate < $1.offeredRate }
        let width = 960.0
        let height = 420.0
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="15">\(escaped(title))</text>

            """
        guard !sorted.isEmpty else { return out + "</svg>\n" }
        let maxRate = niceCeiling(sorted.map { max($0.offeredRate, $0.achievedRate) }.max() ?? 1)
        let maxLatency = niceCeiling(max(targetP95Ms * 1.2, sorted.map(\.p99Ms).max() ?? 1))

        let left = Panel(x: 70, y: 50, width: 360, height: 300, xMax: maxRate, yMax: maxRate)
        out += left.axes(xLabel: "offered req/s", yLabel: "achieved req/s")
        out += left.line(from: (0, 0), to: (maxRate, maxRate), color: "#bbbbbb", dashed: true)
        out += left.polyline(sorted.map { ($0.offeredRate, $0.achievedRate) }, color: "#1f77b4", label: "achieved")

        let right = Panel(x: 560, y: 50, width: 360, height: 300, xMax: maxRate, yMax: maxLatency)
        out += right.axes(xLabel: "offered req/s", yLabel: "latency ms")
        out += right.line(from: (0, targetP95Ms), to: (maxRate, targetP95Ms), color: "#d62728", dashed: true)
        out += right.polyline(sorted.map { ($0.offeredRate, $0.p50Ms) }, color: "#2ca02c", label: "p50")
        out += right.polyline(sorted.map { ($0.offeredRate, $0.p95Ms) }, color: "#ff7f0e", label: "p95")
        out += right.polyline(sorted.map { ($0.offeredRate, $0.p99Ms) }, color: "#9467bd", label: "p99")
        out += "<text x=\"\(fmt(right.x + right.width - 4))\" y=\"\(fmt(right.py(targetP95Ms) - 4))\" "
        out += "text-anchor=\"end\" fill=\"#d62728\">target p95 \(fmt(targetP95Ms)) ms</text>\n"
        return out + "</svg>\n"
    }

    private struct Panel {
        var x: Double
        var y: Double
        var width: Double
        var height: Double
        var xMax: Double
        var yMax: Double

        func px(_ value: Double) -> Double { x + width * min(max(value / xMax, 0), 1) }
        func py(_ value: Double) -> Double { y + height - height * min(max(value / yMax, 0), 1) }

        func axes(xLabel: String, yLabel: String) -> String {
            var out = "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
            out += "fill=\"none\" stroke=\"#444\"/>\n"
            for tick in 0...4 {
                let fraction = Double(tick) / 4
                let tx = x + width * fraction
                let ty = y + height - height * fraction
                out += "<line x1=\"\(fmt(tx))\" y1=\"\(fmt(y + height))\" x2=\"\(fmt(tx))\" y2=\"\(fmt(y))\" "
                out += "stroke=\"#eee\"/>\n"
                out += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(ty))\" x2=\"\(fmt(x + width))\" y2=\"\(fmt(ty))\" "
                out += "stroke=\"#eee\"/>\n"
                out += "<text x=\"\(fmt(tx))\" y=\"\(fmt(y + height + 16))\" text-anchor=\"middle\">"
                out += "\(fmt(xMax * fraction))</text>\n"
                out += "<text x=\"\(fmt(x - 6))\" y=\"\(fmt(ty + 4))\" text-anchor=\"end\">"
                out += "\(fmt(yMax * fraction))</text>\n"
            }
            out += "<text x=\"\(fmt(x + width / 2))\" y=\"\(fmt(y + height + 36))\" text-anchor=\"middle\">"
            out += "\(xLabel)</text>\n"
            out += "<text x=\"\(fmt(x - 52))\" y=\"\(fmt(y + height / 2))\" text-anchor=\"middle\" "
            out += "transform=\"rotate(-90 \(fmt(x - 52)) \(fmt(y + height / 2)))\">\(yLabel)</text>\n"
            return out
        }

        func line(from: (Double, Double), to: (Double, Double), color: String, dashed: Bool) -> String {
            "<line x1=\"\(fmt(px(from.0)))\" y1=\"\(fmt(py(from.1)))\" x2=\"\(fmt(px(to.0)))\" y2=\"\(fmt(py(to.1)))\" "
                + "stroke=\"\(color)\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
        }

        func polyline(_ points: [(Double, Double)], color: String, label: String) -> String {
            let path = points.map { "\(fmt(px($0.0))),\(fmt(py($0.1)))" }.joined(separator: " ")
            var out = "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for point in points {
                out += "<circle cx=\"\(fmt(px(point.0)))\" cy=\"\(fmt(py(point.1)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
            if let last = points.last {
                out += "<text x=\"\(fmt(px(last.0) + 5))\" y=\"\(fmt(py(last.1) - 5))\" fill=\"\(color)\">"
                out += "\(label)</text>\n"
            }
            return out
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        var power = 1.0
        while power * 10 <= value { power *= 10 }
        while power > value { power /= 10 }
        for factor in [1.0, 2.0, 5.0, 10.0] where factor * power >= value { return factor * power }
        return 10 * power
    }

    static func fmt(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return LoadReport.format(value, decimals: abs(value) < 10 ? 2 : 1)
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}

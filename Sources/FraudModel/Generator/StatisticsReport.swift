public import FraudCore
import Foundation

/// The statistics `fraud-ctl stats` prints for one or more PaySim files, side by side: size, fraud rate,
/// type mix, amount quantiles per type, balance behaviour, fraud shape.
public struct StatisticsReport: Sendable {
    /// One measured file.
    public struct Column: Sendable {
        /// Header of the column (usually the file name).
        public var name: String
        /// The measured profile.
        public var profile: PaySimProfile
        /// Rows in the file.
        public var rows: Int
        /// Fraud rows.
        public var frauds: Int
        /// Rows with `isFlaggedFraud = 1`.
        public var flagged: Int
        /// Weight given to each legitimate row for the natural-rate figure.
        public var legitWeight: Double
        /// First and last step.
        public var steps: ClosedRange<UInt32>
        /// Fraud rows that drain the origin exactly (after 0, amount = before > 0).
        public var fraudExactDrains: Int
        /// Fraud TRANSFERs of exactly 10,000,000.00.
        public var fraudChunks: Int
        /// Largest fraud amount, in cents.
        public var fraudMaxAmountCents: Int64

        /// Measures `rows`.
        public init(name: String, rows: [PaySimRow], legitWeight: Double = 1) {
            self.name = name
            self.profile = PaySimProfile.measure(rows)
            self.rows = rows.count
            self.frauds = rows.count(where: \.isFraud)
            self.flagged = rows.count(where: \.isFlaggedFraud)
            self.legitWeight = legitWeight
            let steps = rows.map(\.step)
            self.steps = (steps.min() ?? 0)...(steps.max() ?? 0)
            self.fraudExactDrains = rows.count {
                $0.isFraud && $0.originBalanceBeforeCents > 0 && $0.originBalanceAfterCents == 0
                    && $0.amountCents == $0.originBalanceBeforeCents
            }
            self.fraudChunks = rows.count {
                $0.isFraud && $0.type == .transfer && $0.amountCents == FraudInjection.chunkCents
            }
            self.fraudMaxAmountCents = rows.filter(\.isFraud).map(\.amountCents).max() ?? 0
        }
    }

    /// The files, in order.
    public var columns: [Column]

    /// Creates a report.
    public init(columns: [Column]) {
        self.columns = columns
    }

    /// Amount quantile levels shown (a subset of ``PaySimProfile/quantileLevels``).
    static let shownLevels: [Double] = [0.01, 0.1, 0.5, 0.9, 0.99]

    /// The report as aligned text.
    public func render() -> String {
        var lines: [(String, [String])] = []
        func row(_ label: String, _ value: (Column) -> String) {
            lines.append((label, columns.map(value)))
        }
        func percent(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f %%", x * 100) }
        row("rows") { String($0.rows) }
        row("steps") { "\($0.steps.lowerBound)-\($0.steps.upperBound)" }
        row("fraud rows") { String($0.frauds) }
        row("fraud rate (rows)") { percent(Double($0.frauds) / Double(max($0.rows, 1)), 3) }
        row("fraud rate, legit weighted") {
            let legit = Double($0.rows - $0.frauds) * $0.legitWeight
            return percent(Double($0.frauds) / max(Double($0.frauds) + legit, 1), 3) + " (w \($0.legitWeight))"
        }
        row("isFlaggedFraud rows") { String($0.flagged) }
        row("frauds draining origin exactly") { percent(Double($0.fraudExactDrains) / Double(max($0.frauds, 1)), 1) }
        row("fraud TRANSFERs of 10,000,000.00") { String($0.fraudChunks) }
        row("largest fraud amount") { Money.format(cents: $0.fraudMaxAmountCents) }
        row("fraud TRANSFERs, mule balance moves") { percent($0.profile.fraudTransferDestinationMoves, 1) }
        lines.append(("legitimate rows: type mix", []))
        for (index, type) in TransactionType.allCases.enumerated() {
            row("  \(type.paysimName)") { percent($0.profile.types[index].share, 1) }
        }
        let levels = Self.shownLevels.map { "p\(Int(($0 * 100).rounded()))" }.joined(separator: "/")
        lines.append(("legitimate amounts \(levels)", []))
        for (index, type) in TransactionType.allCases.enumerated() {
            row("  \(type.paysimName)") { column in
                Self.shownLevels.map { level in
                    let position = PaySimProfile.quantileLevels.firstIndex(of: level)!
                    return Self.compact(column.profile.types[index].amount[position])
                }.joined(separator: " / ")
            }
        }
        lines.append(("legitimate origin: zero / overdraw / off by 1 cent", []))
        for (index, type) in TransactionType.allCases.enumerated() {
            row("  \(type.paysimName)") { column in
                let t = column.profile.types[index]
                return "\(percent(t.originZero, 1)) / \(percent(t.originOverdraw, 1)) / "
                    + percent(t.originOffByOneCent, 1)
            }
        }
        lines.append(("legitimate destination: zero / off by 1 cent / other", []))
        for (index, type) in TransactionType.allCases.enumerated() where type != .payment {
            row("  \(type.paysimName)") { column in
                let t = column.profile.types[index]
                return "\(percent(t.destinationZero, 1)) / \(percent(t.destinationOffByOneCent, 1)) / "
                    + percent(t.destinationOther, 1)
            }
        }
        row("legit rows at hours 0-6") { percent($0.profile.hourWeights[0...6].reduce(0, +), 1) }
        let labelWidth = lines.map(\.0.count).max() ?? 0
        let widths = columns.indices.map { index in
            max(columns[index].name.count, lines.map { $0.1.count > index ? $0.1[index].count : 0 }.max() ?? 0)
        }
        var text = "".padding(toLength: labelWidth, withPad: " ", startingAt: 0)
        for (index, column) in columns.enumerated() {
            text += "  " + column.name.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        text += "\n"
        for (label, values) in lines {
            text += label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
            for (index, value) in values.enumerated() {
                text += "  " + value.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            text += "\n"
        }
        return text
    }

    /// `log10(1 + cents)` as a short amount in units: `181`, `5.2k`, `1.3M`.
    static func compact(_ log10OnePlusCents: Double) -> String {
        let units = (pow(10, log10OnePlusCents) - 1) / 100
        switch units {
        case ..<1_000: return String(format: "%.0f", units)
        case ..<1_000_000: return String(format: "%.1fk", units / 1_000)
        default: return String(format: "%.2fM", units / 1_000_000)
        }
    }
}

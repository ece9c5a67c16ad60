import ArgumentParser
import FraudCore
import FraudModel
import Foundation

/// `fraud-ctl stats`: the statistics the generator follows, for one or more files side by side.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Type mix, amount quantiles per type, balance behaviour and fraud rate of PaySim CSV files."
    )

    @Argument(help: "PaySim CSV files (shown side by side).")
    var files: [String]

    @Option(
        parsing: .upToNextOption,
        help: "Weight of each legitimate row, one per file (256.37 for the uniform sample; default 1)."
    )
    var legitWeight: [Double] = []

    @Option(help: "Also write the first file's profile (what the generator draws from) as JSON.")
    var emitProfile: String?

    func run() throws {
        var columns: [StatisticsReport.Column] = []
        for (index, file) in files.enumerated() {
            let rows = try CSVFiles.readRows(file)
            let weight = index < legitWeight.count ? legitWeight[index] : 1
            let column = StatisticsReport.Column(
                name: URL(fileURLWithPath: file).lastPathComponent,
                rows: rows,
                legitWeight: weight
            )
            if index == 0, let emitProfile {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try CSVFiles.writeFile(emitProfile, Array(try encoder.encode(column.profile)) + [10])
            }
            columns.append(column)
        }
        print(StatisticsReport(columns: columns).render(), terminator: "")
    }
}

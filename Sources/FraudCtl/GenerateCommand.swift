import ArgumentParser
import FraudCore
import FraudModel
import Foundation

/// `fraud-ctl generate`: PaySim-compatible rows, streamed to a file.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write PaySim-compatible rows (same header, steps 1-743, PaySim-style fraud) to a CSV file."
    )

    @Option(help: "Rows to write, fraud included (the full PaySim file has 6,362,620).")
    var rows: Int

    @Option(help: "Seed: the same seed gives the same file.")
    var seed: UInt64 = 1

    @Option(help: "Output CSV file.")
    var out: String

    @Option(help: "Fraud rows as a share of all rows (PaySim: 8213 / 6362620 = 0.00129).")
    var fraudRate: Double = FraudInjection.naturalFraudRate

    @Flag(help: "Fresh account names on every fraud row, as in the published PaySim file (default: linked).")
    var unlinked = false

    func validate() throws {
        guard rows > 0 else { throw ValidationError("--rows must be positive") }
        guard (0...1).contains(fraudRate) else { throw ValidationError("--fraud-rate must be in 0...1") }
    }

    func run() throws {
        let start = ContinuousClock.now
        var generator = PaySimGenerator(
            options: .init(rows: rows, seed: seed, fraudRate: fraudRate, linkedAccounts: !unlinked)
        )
        let writer = try CSVFiles.Writer(path: out)
        let (written, frauds) = try generator.writeCSV { (block) throws(CSVFiles.Failure) in
            try writer.write(block)
        }
        try writer.close()
        let seconds = secondsSince(start)
        print(
            "wrote \(written) rows (\(frauds) fraud, "
                + "\(String(format: "%.4f", Double(frauds) / Double(written) * 100)) %)"
                + " to \(out) in \(String(format: "%.2f", seconds)) s"
                + " (\(String(format: "%.2f", Double(written) / seconds / 1e6)) M rows/s)"
        )
    }
}

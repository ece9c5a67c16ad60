import ArgumentParser
import FraudCore
import FraudModel
import Foundation

/// `fraud-ctl evaluate`: replays a file through the engine with a model and the baselines.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Replay a PaySim file in step order and report the model against rules-v1 and isFlaggedFraud."
    )

    @Option(parsing: .upToNextOption, help: "PaySim CSV file(s) (merged, de-duplicated, replayed in step order).")
    var data: [String]

    @Option(help: "Model file (JSON); \"bundled\" for the compiled-in default, \"none\" for the baselines only.")
    var model: String = "bundled"

    @Option(help: "Weight of each legitimate row (256.37 for uniform_steps_1_400.csv / data/paysim_sample.csv).")
    var legitWeight: Double = 1

    @Option(help: "First step counted (earlier rows are replayed for the velocity state, not counted).")
    var fromStep: UInt32 = 0

    @Option(help: "Last step counted.")
    var toStep: UInt32 = .max

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let trained: TrainedModel?
        switch model {
        case "none": trained = nil
        case "bundled": trained = TrainedModel.bundled
        default: trained = try TrainedModel(json: CSVFiles.readFile(model))
        }
        let files = try data.map { path throws(CSVFiles.Failure) in try CSVFiles.readRows(path) }
        let dataset = PaySimDataset(files: files)
        let report = EvaluationReport(
            data: data.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " + "),
            rows: dataset.rows,
            model: trained,
            steps: fromStep...toStep,
            legitWeight: legitWeight
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf",
                negativeInfinity: "-inf",
                nan: "nan"
            )
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.render(), terminator: "")
        }
    }
}

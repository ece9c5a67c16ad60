import ArgumentParser

/// fraud-ctl: offline model work — generate PaySim-compatible data, measure it, train and evaluate models —
/// and authentication set-up (keys, users, tokens).
@main
struct FraudCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fraud-ctl",
        abstract: "Generate PaySim data, train and evaluate the fraud model; manage auth keys, users and tokens.",
        subcommands: [
            GenerateCommand.self, StatsCommand.self, TrainCommand.self, EvaluateCommand.self, AuthCommand.self,
        ]
    )
}

/// Wall-clock seconds since `start`.
func secondsSince(_ start: ContinuousClock.Instant) -> Double {
    let (seconds, attoseconds) = (ContinuousClock.now - start).components
    return Double(seconds) + Double(attoseconds) / 1e18
}

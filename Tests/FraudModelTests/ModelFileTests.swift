import FraudCore
import FraudModel
import Foundation
import Testing

@Suite("Model file")
struct ModelFileTests {
    static let logistic = TrainedModel(
        version: "lr-test",
        kind: .logisticRegression,
        inputs: [
            TrainedModel.Input(column: "origin_drained", transform: .identity)!,
            TrainedModel.Input(column: "origin_balance_error", transform: .isZero)!,
            TrainedModel.Input(column: "log10_amount_cents", transform: .signedLog10)!,
        ],
        logistic: .init(intercept: -7.25, means: [0.1, 0.3, 0.7], scales: [0.3, 0.46, 0.2], weights: [2.5, 1.25, 0.1]),
        thresholds: .init(review: 0.25, decline: 0.75),
        training: ["data": "test"]
    )

    static let trees = TrainedModel(
        version: "gbt-test",
        kind: .gradientBoostedTrees,
        inputs: [TrainedModel.Input(column: "origin_drained", transform: .identity)!],
        trees: .init(
            baseLogit: -6,
            trees: [
                .init(nodes: [
                    .init(input: 0, threshold: 0.5, left: 1, right: 2, value: 0.01),
                    .init(input: -1, threshold: 0, left: -1, right: -1, value: -0.1),
                    .init(input: -1, threshold: 0, left: -1, right: -1, value: 8.5),
                ])
            ]
        ),
        thresholds: .init(review: 0.5, decline: 0.9)
    )

    @Test("JSON round-trips exactly", arguments: [logistic, trees])
    func roundTrip(model: TrainedModel) throws {
        let decoded = try TrainedModel(json: model.jsonBytes())
        #expect(decoded == model)
        #expect(decoded.jsonBytes() == model.jsonBytes())
    }

    @Test("The file names its version, kind, features and thresholds")
    func contents() throws {
        let text = String(decoding: Self.logistic.jsonBytes(), as: UTF8.self)
        let needles = [
            "\"version\" : \"lr-test\"", "\"kind\" : \"logistic-regression\"", "\"column\" : \"origin_drained\"",
            "\"transform\" : \"is-zero\"", "\"decline\" : 0.75", "\"format\" : 1",
        ]
        for needle in needles {
            #expect(text.contains(needle), "missing \(needle)")
        }
    }

    @Test("Inconsistent or unknown content is rejected")
    func rejects() throws {
        let text = String(decoding: Self.logistic.jsonBytes(), as: UTF8.self)
        #expect(throws: ModelFileError.self) {
            try TrainedModel(json: Array(text.replacingOccurrences(of: "origin_drained", with: "raw_step").utf8))
        }
        #expect(throws: ModelFileError.self) { try TrainedModel(json: Array("{".utf8)) }
        var short = Self.logistic
        short.logistic?.weights.removeLast()
        #expect(throws: ModelFileError.self) { try TrainedModel(json: short.jsonBytes()) }
        var thresholds = Self.logistic
        thresholds.thresholds = .init(review: 0.9, decline: 0.5)
        #expect(throws: ModelFileError.self) { try TrainedModel(json: thresholds.jsonBytes()) }
        var loop = Self.trees
        loop.trees?.trees[0].nodes[0].left = 0
        #expect(throws: ModelFileError.self) { try TrainedModel(json: loop.jsonBytes()) }
    }

    @Test("The compiled-in default is data/model.json, byte for byte, and loads")
    func bundled() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("data/model.json"))
        #expect(Array(file) == Array(TrainedModel.bundledJSON.utf8) + [UInt8(ascii: "\n")])
        let model = try TrainedModel(json: Array(file))
        #expect(model == TrainedModel.bundled)
        #expect(!model.inputs.contains { $0.column.contains("step") && $0.column != "origin_steps_since_seen"
            && $0.column != "destination_steps_since_seen" })
        #expect(model.thresholds.review <= model.thresholds.decline)
    }

    @Test(
        "Scores are the logistic of the logit, within one Float ulp of a plain computation",
        arguments: [-30.0, -7.5, -1, 0, 0.3, 4, 12, 40]
    )
    func riskScore(logit: Double) {
        let expected = Float(1 / (1 + Foundation.exp(-logit)))
        let score = TrainedModel.riskScore(logit: logit)
        #expect(abs(score - expected) <= expected.ulp)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a model file cannot be used: undecodable JSON or inconsistent parameters.
public struct ModelFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in words.
    public var reason: String

    /// Creates an error.
    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "invalid model file: \(reason)" }
}

extension TrainedModel {
    /// Decodes and checks a model file's bytes (the JSON written by `fraud-ctl train`). Pure: the caller
    /// reads the file, e.g. `try TrainedModel(json: Array(Data(contentsOf: url)))`.
    ///
    /// - Parameter bytes: UTF-8 JSON.
    /// - Throws: ``ModelFileError`` when the JSON does not decode or the parameters are inconsistent.
    public init(json bytes: [UInt8]) throws(ModelFileError) {
        let model: TrainedModel
        do {
            model = try JSONDecoder().decode(TrainedModel.self, from: Data(bytes))
        } catch {
            throw ModelFileError(reason: "\(error)")
        }
        try model.validate()
        self = model
    }

    /// The model as pretty-printed JSON with sorted keys (stable diffs), ending in a newline.
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain structs, arrays, strings and finite numbers cannot fail.
        guard let data = try? encoder.encode(self) else {
            preconditionFailure("TrainedModel failed to encode")
        }
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// Checks that the parameters fit together.
    ///
    /// - Throws: ``ModelFileError`` naming the first inconsistency.
    public func validate() throws(ModelFileError) {
        guard format == Self.currentFormat else {
            throw ModelFileError(reason: "format \(format) is not supported (expected \(Self.currentFormat))")
        }
        guard !version.isEmpty else { throw ModelFileError(reason: "version is empty") }
        let t = thresholds
        guard t.review >= 0, t.decline <= 1, t.review <= t.decline else {
            throw ModelFileError(reason: "thresholds need 0 <= review <= decline <= 1 (got \(t.review), \(t.decline))")
        }
        switch kind {
        case .logisticRegression:
            guard let logistic else { throw ModelFileError(reason: "logistic-regression without \"logistic\"") }
            let n = inputs.count
            guard logistic.means.count == n, logistic.scales.count == n, logistic.weights.count == n else {
                throw ModelFileError(reason: "logistic parameters do not have one value per input (\(n))")
            }
            guard logistic.scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ModelFileError(reason: "logistic scales must be positive and finite")
            }
            guard logistic.intercept.isFinite, (logistic.means + logistic.weights).allSatisfy(\.isFinite) else {
                throw ModelFileError(reason: "logistic parameters must be finite")
            }
        case .gradientBoostedTrees:
            guard let trees else { throw ModelFileError(reason: "gradient-boosted-trees without \"trees\"") }
            guard trees.baseLogit.isFinite else { throw ModelFileError(reason: "baseLogit must be finite") }
            for (number, tree) in trees.trees.enumerated() {
                guard !tree.nodes.isEmpty else { throw ModelFileError(reason: "tree \(number) has no nodes") }
                for (position, node) in tree.nodes.enumerated() {
                    guard node.value.isFinite else {
                        throw ModelFileError(reason: "tree \(number) node \(position): value must be finite")
                    }
                    if node.input < 0 { continue }
                    // Children after their parent: evaluation always terminates.
                    guard node.input < inputs.count, node.left > position, node.right > position,
                        node.left < tree.nodes.count, node.right < tree.nodes.count, !node.threshold.isNaN
                    else {
                        throw ModelFileError(reason: "tree \(number) node \(position) is malformed")
                    }
                }
            }
        }
    }
}

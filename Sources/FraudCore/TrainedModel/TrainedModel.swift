/// A scoring model learnt from labelled history (by `fraud-ctl train`), as opposed to the hand-set rules of
/// ``RiskModel``.
///
/// It reads the same ``Features`` as the rules, through ``Features/value(at:)``: each ``Input`` names a
/// column of ``Features/columnNames`` and a ``Transform``. Two kinds of parameters are supported:
/// standardised logistic regression (``Logistic``) and gradient-boosted regression trees on the logit
/// (``TreeEnsemble``). Either way the model computes a logit and the risk score is its logistic, `0...1`,
/// an estimate of the probability of fraud at the fraud rate the model was trained for.
///
/// Every REVIEW / DECLINE carries reasons whose weights add up to the score: per-input contributions to
/// the logit (for logistic regression `w·z`; for trees the change of the node value along the path),
/// grouped onto readable reason codes, and the positive groups share the score in proportion (see
/// ``evaluate(_:reasonsAtOrAbove:)``).
///
/// `Codable`: the JSON file written by `fraud-ctl train` is this value (see ``init(json:)``);
/// ``bundled`` is the default model compiled into the binary.
public struct TrainedModel: Sendable, Hashable, Codable {
    /// The file format this code reads and writes.
    public static let currentFormat = 1

    /// File format version (``currentFormat``).
    public var format: Int
    /// Reported with every assessment, e.g. `lr-paysim-v1`.
    public var version: String
    /// Which parameters are used.
    public var kind: Kind
    /// The model's inputs, in parameter order.
    public var inputs: [Input]
    /// Parameters when ``kind`` is ``Kind/logisticRegression``.
    public var logistic: Logistic?
    /// Parameters when ``kind`` is ``Kind/gradientBoostedTrees``.
    public var trees: TreeEnsemble?
    /// Decision thresholds chosen on the training data.
    public var thresholds: Thresholds
    /// Free-form provenance: training files, steps, weights, training metrics.
    public var training: [String: String]

    /// The kind of model.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Standardised logistic regression with L2 regularisation.
        case logisticRegression = "logistic-regression"
        /// Gradient-boosted regression trees on the logit.
        case gradientBoostedTrees = "gradient-boosted-trees"
    }

    /// How a feature column is turned into a model input.
    public enum Transform: String, Sendable, Hashable, Codable, CaseIterable {
        /// The value itself.
        case identity
        /// `sign(x) · log10(1 + |x|)`: tames money amounts and balance errors.
        case signedLog10 = "signed-log10"
        /// `1` when the value is exactly 0, else `0` (e.g. "the origin's books add up to the cent").
        case isZero = "is-zero"
        /// `1` when the value is exactly 1, else `0` (e.g. "the amount equals the origin balance").
        case isOne = "is-one"

        /// Applies the transform.
        @inline(__always)
        public func apply(_ value: Double) -> Double {
            switch self {
            case .identity: value
            case .signedLog10:
                value >= 0 ? Logarithm.base10(1 + value) : -Logarithm.base10(1 - value)
            case .isZero: value == 0 ? 1 : 0
            case .isOne: value == 1 ? 1 : 0
            }
        }
    }

    /// One model input: a feature column and its transform.
    public struct Input: Sendable, Hashable, Codable, CustomStringConvertible {
        /// A name from ``Features/columnNames``.
        public let column: String
        /// How the column's value is transformed.
        public let transform: Transform
        /// Position of ``column`` in ``Features/columnNames``.
        public let columnIndex: Int

        /// Creates an input, or returns nil when `column` is not a feature column.
        public init?(column: String, transform: Transform) {
            guard let index = Features.columnNames.firstIndex(of: column) else { return nil }
            self.column = column
            self.transform = transform
            self.columnIndex = index
        }

        private enum CodingKeys: String, CodingKey {
            case column
            case transform
        }

        /// Decodes an input; fails on a column the feature extractor does not produce.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let column = try container.decode(String.self, forKey: .column)
            let transform = try container.decode(Transform.self, forKey: .transform)
            guard let input = Input(column: column, transform: transform) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .column,
                    in: container,
                    debugDescription: "unknown feature column \"\(column)\""
                )
            }
            self = input
        }

        /// Encodes the column name and the transform.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(column, forKey: .column)
            try container.encode(transform, forKey: .transform)
        }

        /// `column` or `transform(column)`.
        public var description: String {
            transform == .identity ? column : "\(transform.rawValue)(\(column))"
        }

        /// The input's value for `features`.
        @inline(__always)
        public func value(in features: Features) -> Double {
            transform.apply(features.value(at: columnIndex))
        }
    }

    /// Logistic regression: `logit = intercept + Σ (x[i] − means[i]) · (weights[i] / scales[i])`.
    public struct Logistic: Sendable, Hashable, Codable {
        /// Logit at the mean input.
        public var intercept: Double
        /// Training mean of each input.
        public var means: [Double]
        /// Training standard deviation of each input (1 where it was 0).
        public var scales: [Double]
        /// Coefficient of each standardised input.
        public var weights: [Double]

        /// Creates the parameters.
        public init(intercept: Double, means: [Double], scales: [Double], weights: [Double]) {
            self.intercept = intercept
            self.means = means
            self.scales = scales
            self.weights = weights
        }
    }

    /// Gradient-boosted trees: `logit = baseLogit + Σ leaf value of each tree`.
    public struct TreeEnsemble: Sendable, Hashable, Codable {
        /// The logit before any tree (log-odds of the weighted training fraud rate).
        public var baseLogit: Double
        /// The trees, learning rate already applied to their values.
        public var trees: [Tree]

        /// Creates the ensemble.
        public init(baseLogit: Double, trees: [Tree]) {
            self.baseLogit = baseLogit
            self.trees = trees
        }
    }

    /// One regression tree, nodes in an array, the root first.
    public struct Tree: Sendable, Hashable, Codable {
        /// The nodes; children always come after their parent.
        public var nodes: [Node]

        /// Creates a tree.
        public init(nodes: [Node]) {
            self.nodes = nodes
        }
    }

    /// A tree node: a split (`input >= 0`) or a leaf (`input == -1`).
    public struct Node: Sendable, Hashable, Codable {
        /// Index into ``TrainedModel/inputs`` of the split, or -1 for a leaf.
        public var input: Int
        /// Values `<= threshold` go left.
        public var threshold: Double
        /// Index of the left child (-1 for a leaf).
        public var left: Int
        /// Index of the right child (-1 for a leaf).
        public var right: Int
        /// The tree's output at this node (for a leaf: its prediction; for a split: the weighted mean of
        /// its subtree, used to attribute the path to inputs).
        public var value: Double

        /// Creates a node.
        public init(input: Int, threshold: Double, left: Int, right: Int, value: Double) {
            self.input = input
            self.threshold = threshold
            self.left = left
            self.right = right
            self.value = value
        }
    }

    /// Decision thresholds on the risk score.
    public struct Thresholds: Sendable, Hashable, Codable {
        /// Scores at or above this (and below ``decline``) are REVIEW.
        public var review: Float
        /// Scores at or above this are DECLINE.
        public var decline: Float

        /// Creates thresholds.
        public init(review: Float, decline: Float) {
            self.review = review
            self.decline = decline
        }
    }

    /// Creates a model.
    public init(
        version: String,
        kind: Kind,
        inputs: [Input],
        logistic: Logistic? = nil,
        trees: TreeEnsemble? = nil,
        thresholds: Thresholds,
        training: [String: String] = [:]
    ) {
        self.format = Self.currentFormat
        self.version = version
        self.kind = kind
        self.inputs = inputs
        self.logistic = logistic
        self.trees = trees
        self.thresholds = thresholds
        self.training = training
    }
}

extension RiskEngineConfiguration {
    /// Takes the REVIEW and DECLINE thresholds stored in `model` (chosen when it was trained).
    ///
    /// - Parameter model: The trained model the engine will use.
    public mutating func adoptThresholds(of model: TrainedModel) {
        reviewThreshold = model.thresholds.review
        declineThreshold = model.thresholds.decline
    }
}

extension TrainedModel {
    /// Scores features: the logit, its logistic as the risk score and, at or above `reasonThreshold`, the
    /// reasons.
    ///
    /// Reasons: each input's contribution to the logit (logistic regression: `weight · standardised
    /// input`, i.e. relative to the training mean; trees: the change of node value at each split on the
    /// path, relative to the root) is added to its ``ReasonGroup``; the groups with a positive total
    /// share the score in proportion to their totals, so the reasons' weights add up to the score (up to
    /// `Float` rounding). Groups that lowered the score are not listed. Heaviest first.
    ///
    /// Allocates nothing below `reasonThreshold`; above it, the reasons array and one string per reason.
    ///
    /// - Parameters:
    ///   - features: Output of ``FeatureExtractor/features(for:origin:destination:)``.
    ///   - reasonThreshold: Scores below this get no reasons (pass the REVIEW threshold).
    /// - Returns: The score, `0...1`, and the reasons.
    public func evaluate(_ features: Features, reasonsAtOrAbove reasonThreshold: Float) -> (
        riskScore: Float, reasons: [Reason]
    ) {
        let score = Self.riskScore(logit: logit(features))
        guard score >= reasonThreshold, score > 0 else { return (score, []) }
        return (score, reasons(for: features, score: score))
    }

    /// The model's logit for `features` (the score is its logistic).
    public func logit(_ features: Features) -> Double {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: inputs.count) { x in
            fillInputValues(features, into: x)
            return logit(inputValues: UnsafeBufferPointer(x))
        }
    }

    /// Writes each input's value for `features` into `x` (`inputs.count` elements).
    @inline(__always)
    func fillInputValues(_ features: Features, into x: UnsafeMutableBufferPointer<Double>) {
        inputs.withUnsafeBufferPointer { inputs in
            for index in inputs.indices {
                x.initializeElement(
                    at: index,
                    to: inputs[index].transform.apply(features.value(at: inputs[index].columnIndex))
                )
            }
        }
    }

    /// The model's logit for already computed input values (``Input/value(in:)`` of each input, in order):
    /// the one scoring path, shared by ``logit(_:)`` and training.
    ///
    /// - Parameter x: `inputs.count` values.
    public func logit(inputValues x: UnsafeBufferPointer<Double>) -> Double {
        switch kind {
        case .logisticRegression:
            guard let logistic else { return 0 }
            var sum = logistic.intercept
            logistic.weights.withUnsafeBufferPointer { weights in
                logistic.means.withUnsafeBufferPointer { means in
                    logistic.scales.withUnsafeBufferPointer { scales in
                        for index in 0..<min(x.count, weights.count) {
                            sum += (x[index] - means[index]) * (weights[index] / scales[index])
                        }
                    }
                }
            }
            return sum
        case .gradientBoostedTrees:
            guard let trees else { return 0 }
            var sum = trees.baseLogit
            for tree in trees.trees {
                sum += tree.nodes.withUnsafeBufferPointer { nodes in
                    var position = 0
                    while nodes[position].input >= 0 {
                        let node = nodes[position]
                        position = x[node.input] <= node.threshold ? node.left : node.right
                    }
                    return nodes[position].value
                }
            }
            return sum
        }
    }

    /// The risk score for a logit: its logistic, as a `Float` in `0...1` (pure Swift, bit-identical
    /// everywhere).
    public static func riskScore(logit: Double) -> Float {
        Float(Exponential.logistic(logit))
    }

    /// Each input's contribution to the logit; they add up to `logit(features) − baseline`, where the
    /// baseline is the logistic intercept or the sum of the trees' root values plus the base logit.
    ///
    /// - Returns: One value per input, in ``inputs`` order.
    public func contributions(_ features: Features) -> [Double] {
        var result = [Double](repeating: 0, count: inputs.count)
        result.withUnsafeMutableBufferPointer { addContributions(features, into: $0) }
        return result
    }

    /// Adds each input's contribution to the logit into `buffer` (which has `inputs.count` elements).
    func addContributions(_ features: Features, into buffer: UnsafeMutableBufferPointer<Double>) {
        switch kind {
        case .logisticRegression:
            guard let logistic else { return }
            for index in inputs.indices {
                let x = inputs[index].value(in: features)
                buffer[index] += (x - logistic.means[index]) * (logistic.weights[index] / logistic.scales[index])
            }
        case .gradientBoostedTrees:
            guard let trees else { return }
            withUnsafeTemporaryAllocation(of: Double.self, capacity: inputs.count) { x in
                fillInputValues(features, into: x)
                for tree in trees.trees {
                    tree.nodes.withUnsafeBufferPointer { nodes in
                        var position = 0
                        while nodes[position].input >= 0 {
                            let node = nodes[position]
                            let next = x[node.input] <= node.threshold ? node.left : node.right
                            buffer[node.input] += nodes[next].value - node.value
                            position = next
                        }
                    }
                }
            }
        }
    }

    /// Groups contributions by reason and shares `score` among the positive groups.
    private func reasons(for features: Features, score: Float) -> [Reason] {
        let groupCount = ReasonGroup.allCases.count
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: inputs.count + groupCount) { scratch in
            scratch.initialize(repeating: 0)
            let perInput = UnsafeMutableBufferPointer(rebasing: scratch[0..<inputs.count])
            addContributions(features, into: perInput)
            let perGroup = UnsafeMutableBufferPointer(rebasing: scratch[inputs.count...])
            for index in inputs.indices {
                perGroup[Int(ReasonGroup.of(column: inputs[index].columnIndex).rawValue)] += perInput[index]
            }
            var positiveTotal = 0.0
            var positiveCount = 0
            for total in perGroup where total > 0 {
                positiveTotal += total
                positiveCount += 1
            }
            guard positiveCount > 0, positiveTotal > 0 else { return [] }
            var reasons: [Reason] = []
            reasons.reserveCapacity(positiveCount)
            for group in ReasonGroup.allCases where perGroup[Int(group.rawValue)] > 0 {
                let share = Float(Double(score) * perGroup[Int(group.rawValue)] / positiveTotal)
                let (code, detail) = group.explain(features)
                reasons.append(Reason(code: code, detail: detail, weight: share))
            }
            // Insertion sort, heaviest first, stable: a dozen elements at most, no allocation.
            var index = 1
            while index < reasons.count {
                var position = index
                while position > 0, reasons[position - 1].weight < reasons[position].weight {
                    reasons.swapAt(position - 1, position)
                    position -= 1
                }
                index += 1
            }
            return reasons
        }
    }
}

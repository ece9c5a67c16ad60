/// A logistic-regression ``TrainedModel`` laid out for the scoring hot path: one array of terms (column,
/// transform, weight, mean, scale) in a final class, so a score reads one contiguous array and copies no
/// model struct (no retain/release of its arrays and strings).
///
/// ``logit(_:)`` performs exactly the operations of ``TrainedModel/logit(_:)``, in the same order, so the
/// result is bit-identical (tested).
final class LogisticPlan: Sendable {
    struct Term: Sendable {
        let columnIndex: Int
        let transform: TrainedModel.Transform
        let weight: Double
        let mean: Double
        let scale: Double
    }

    let intercept: Double
    let terms: [Term]

    /// The plan of `model`; nil unless it is a logistic regression.
    init?(_ model: TrainedModel) {
        guard model.kind == .logisticRegression, let logistic = model.logistic else { return nil }
        let count = min(model.inputs.count, logistic.weights.count)
        intercept = logistic.intercept
        terms = (0..<count).map { index in
            Term(
                columnIndex: model.inputs[index].columnIndex,
                transform: model.inputs[index].transform,
                weight: logistic.weights[index],
                mean: logistic.means[index],
                scale: logistic.scales[index]
            )
        }
    }

    /// The model's logit for `features`.
    @inline(__always)
    func logit(_ features: Features) -> Double {
        var sum = intercept
        terms.withUnsafeBufferPointer { terms in
            for term in terms {
                let x = term.transform.apply(features.value(at: term.columnIndex))
                sum += term.weight * ((x - term.mean) / term.scale)
            }
        }
        return sum
    }
}

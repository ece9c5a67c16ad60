/// A logistic-regression ``TrainedModel`` laid out for the scoring hot path: one buffer of terms (column,
/// transform, weight, mean, scale) owned by a final class, so a score reads one contiguous block and copies no
/// model struct. The buffer is raw memory rather than an `Array`, so reading it retains nothing (an array's
/// storage is retained around the loop: one atomic increment and decrement per score).
///
/// ``logit(_:)`` performs exactly the operations of ``TrainedModel/logit(_:)``, in the same order, so the
/// result is bit-identical (tested).
///
/// `@unchecked Sendable`: the buffer is written once, in `init`, and only read afterwards.
final class LogisticPlan: @unchecked Sendable {
    struct Term: Sendable {
        let columnIndex: Int
        let transform: TrainedModel.Transform
        let weight: Double
        let mean: Double
        let scale: Double
    }

    let intercept: Double
    /// Owned: allocated and initialised in `init`, freed in `deinit`.
    let terms: UnsafeMutableBufferPointer<Term>

    /// The plan of `model`; nil unless it is a logistic regression.
    init?(_ model: TrainedModel) {
        guard model.kind == .logisticRegression, let logistic = model.logistic else { return nil }
        let count = min(model.inputs.count, logistic.weights.count)
        intercept = logistic.intercept
        terms = .allocate(capacity: count)
        for index in 0..<count {
            terms.initializeElement(at: index, to: Term(
                columnIndex: model.inputs[index].columnIndex,
                transform: model.inputs[index].transform,
                weight: logistic.weights[index],
                mean: logistic.means[index],
                scale: logistic.scales[index]
            ))
        }
    }

    deinit {
        terms.deallocate()
    }

    /// The model's logit for `features`.
    @inline(__always)
    func logit(_ features: Features) -> Double {
        evaluator.logit(features)
    }

    /// A trivial view of the plan (no reference), valid while the plan lives: held by an object that also
    /// holds the plan (``RiskEngine``), it lets each score read the terms without retaining the plan — one
    /// atomic increment and decrement fewer per score, on a counter every scoring thread would share.
    var evaluator: Evaluator {
        Evaluator(intercept: intercept, terms: UnsafeBufferPointer(terms))
    }

    /// See ``evaluator``.
    struct Evaluator: @unchecked Sendable {
        let intercept: Double
        let terms: UnsafeBufferPointer<Term>

        /// The model's logit for `features`.
        @inline(__always)
        func logit(_ features: Features) -> Double {
            var sum = intercept
            for term in terms {
                let x = term.transform.apply(features.value(at: term.columnIndex))
                sum += term.weight * ((x - term.mean) / term.scale)
            }
            return sum
        }
    }
}

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
        /// `weight / scale`: a term is `(x − mean) · factor`, a multiplication rather than a division.
        let factor: Double
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
                scale: logistic.scales[index],
                factor: logistic.weights[index] / logistic.scales[index]
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
        Evaluator(
            intercept: intercept,
            terms: UnsafeBufferPointer(terms),
            hasNoVelocityInputs: terms.map { Input(column: $0.columnIndex, transform: $0.transform) }
                == Self.noVelocityInputs
        )
    }

    /// A column index and transform: the shape of one term, without its numbers.
    struct Input: Equatable {
        let column: Int
        let transform: TrainedModel.Transform
    }

    /// The inputs of a model trained with `fraud-ctl train --inputs no-velocity` (the bundled model), in
    /// order: every non-velocity column, the three ratio-like ones also through the transforms that make them
    /// usable. ``Evaluator/logitOfNoVelocityInputs(_:)`` is written out for exactly these.
    static let noVelocityInputs: [Input] = [
        Input(column: 0, transform: .identity), Input(column: 1, transform: .identity),
        Input(column: 2, transform: .identity), Input(column: 3, transform: .identity),
        Input(column: 4, transform: .identity), Input(column: 5, transform: .identity),
        Input(column: 6, transform: .identity),
        Input(column: 7, transform: .signedLog10), Input(column: 7, transform: .isOne),
        Input(column: 8, transform: .signedLog10), Input(column: 8, transform: .isZero),
        Input(column: 9, transform: .signedLog10), Input(column: 9, transform: .isZero),
        Input(column: 10, transform: .identity), Input(column: 11, transform: .identity),
        Input(column: 12, transform: .identity),
    ]

    /// See ``evaluator``.
    struct Evaluator: @unchecked Sendable {
        let intercept: Double
        let terms: UnsafeBufferPointer<Term>
        /// The terms are ``LogisticPlan/noVelocityInputs``, so ``logitOfNoVelocityInputs(_:)`` applies.
        let hasNoVelocityInputs: Bool

        /// The model's logit for `features`.
        @inline(__always)
        func logit(_ features: Features) -> Double {
            if hasNoVelocityInputs {
                return logitOfNoVelocityInputs(features)
            }
            var sum = intercept
            for term in terms {
                let x = term.transform.apply(features.value(at: term.columnIndex))
                sum += (x - term.mean) * term.factor
            }
            return sum
        }

        /// ``logit(_:)``'s loop written out for ``LogisticPlan/noVelocityInputs``: the same operations in the
        /// same order (so the same bits, tested), with each column and transform known where it is used, so
        /// no term goes through the two switches of `value(at:)` and `apply`.
        @inline(__always)
        func logitOfNoVelocityInputs(_ features: Features) -> Double {
            @inline(__always)
            func term(_ index: Int, _ x: Double) -> Double {
                let term = terms[index]
                return (x - term.mean) * term.factor
            }
            var sum = intercept
            sum += term(0, features.value(at: 0))
            sum += term(1, features.value(at: 1))
            sum += term(2, features.value(at: 2))
            sum += term(3, features.value(at: 3))
            sum += term(4, features.value(at: 4))
            sum += term(5, features.value(at: 5))
            sum += term(6, features.value(at: 6))
            let ratio = features.value(at: 7)
            sum += term(7, TrainedModel.Transform.signedLog10.apply(ratio))
            sum += term(8, TrainedModel.Transform.isOne.apply(ratio))
            let originError = features.value(at: 8)
            sum += term(9, TrainedModel.Transform.signedLog10.apply(originError))
            sum += term(10, TrainedModel.Transform.isZero.apply(originError))
            let destinationError = features.value(at: 9)
            sum += term(11, TrainedModel.Transform.signedLog10.apply(destinationError))
            sum += term(12, TrainedModel.Transform.isZero.apply(destinationError))
            sum += term(13, features.value(at: 10))
            sum += term(14, features.value(at: 11))
            sum += term(15, features.value(at: 12))
            return sum
        }
    }
}

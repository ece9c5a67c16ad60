public import FraudCore
import Foundation

/// Weighted logistic regression on standardised inputs with an L2 penalty, fitted by Newton's method
/// (exact Hessian, Cholesky solve): a few dozen inputs, so each step is cheap and convergence is quadratic.
public struct LogisticRegressionTrainer: Sendable {
    /// L2 penalty on the standardised weights, per unit of total sample weight (the intercept is free).
    public var l2: Double
    /// Newton steps at most.
    public var maxIterations: Int
    /// Stop when the largest step is below this.
    public var tolerance: Double

    /// Creates a trainer.
    public init(l2: Double = 1e-4, maxIterations: Int = 100, tolerance: Double = 1e-9) {
        self.l2 = l2
        self.maxIterations = maxIterations
        self.tolerance = tolerance
    }

    /// Fits the parameters.
    ///
    /// - Parameter set: The weighted training rows.
    /// - Returns: Intercept, means, scales and weights, plus the iterations used.
    public func fit(_ set: TrainingSet) -> (parameters: TrainedModel.Logistic, iterations: Int) {
        let d = set.inputs.count
        let n = set.count
        let totalWeight = set.weights.reduce(0, +)
        // Weighted standardisation.
        var means = [Double](repeating: 0, count: d)
        var scales = [Double](repeating: 0, count: d)
        for row in 0..<n {
            for column in 0..<d {
                means[column] += set.weights[row] * set.value(row: row, column: column)
            }
        }
        means = means.map { $0 / totalWeight }
        for row in 0..<n {
            for column in 0..<d {
                let deviation = set.value(row: row, column: column) - means[column]
                scales[column] += set.weights[row] * deviation * deviation
            }
        }
        scales = scales.map { variance in
            let scale = (variance / totalWeight).squareRoot()
            return scale > 1e-12 ? scale : 1
        }
        var z = [Double](repeating: 0, count: n * (d + 1))  // intercept column first
        for row in 0..<n {
            z[row * (d + 1)] = 1
            for column in 0..<d {
                z[row * (d + 1) + column + 1] = (set.value(row: row, column: column) - means[column]) / scales[column]
            }
        }
        let positives = zip(set.labels, set.weights).reduce(0.0) { $0 + ($1.0 ? $1.1 : 0) }
        var beta = [Double](repeating: 0, count: d + 1)
        beta[0] = log(max(positives, 1e-12) / max(totalWeight - positives, 1e-12))
        let lambda = l2 * totalWeight
        var iterations = 0
        let p1 = d + 1
        /// Weighted log-loss plus the L2 penalty, computed stably.
        func loss(_ beta: [Double]) -> Double {
            var total = 0.0
            for row in 0..<n {
                let base = row * p1
                var logit = 0.0
                for k in 0..<p1 { logit += beta[k] * z[base + k] }
                // log(1 + e^logit) − y·logit
                let softplus = logit > 0 ? logit + log1p(exp(-logit)) : log1p(exp(logit))
                total += set.weights[row] * (softplus - (set.labels[row] ? logit : 0))
            }
            var penalty = 0.0
            for j in 1..<p1 { penalty += beta[j] * beta[j] }
            return total + lambda / 2 * penalty
        }
        while iterations < maxIterations {
            iterations += 1
            var gradient = [Double](repeating: 0, count: p1)
            var hessian = [Double](repeating: 0, count: p1 * p1)
            for row in 0..<n {
                let base = row * p1
                var logit = 0.0
                for k in 0..<p1 { logit += beta[k] * z[base + k] }
                let p = 1 / (1 + exp(-logit))
                let w = set.weights[row]
                let residual = w * (p - (set.labels[row] ? 1 : 0))
                let curvature = max(w * p * (1 - p), 1e-300)
                for j in 0..<p1 {
                    let zj = z[base + j]
                    gradient[j] += residual * zj
                    let scaled = curvature * zj
                    for k in 0...j {
                        hessian[j * p1 + k] += scaled * z[base + k]
                    }
                }
            }
            for j in 1..<p1 {
                gradient[j] += lambda * beta[j]
                hessian[j * p1 + j] += lambda
            }
            hessian[0] += 1e-9 * totalWeight  // keeps the intercept's curvature positive on separable data
            guard let step = Self.solveSymmetric(hessian, gradient, size: p1) else { break }
            // Damped Newton: halve the step until the penalised loss goes down (separable data would
            // otherwise overshoot).
            let current = loss(beta)
            var factor = 1.0
            var candidate = beta
            while factor > 1e-10 {
                for j in 0..<p1 { candidate[j] = beta[j] - factor * step[j] }
                if loss(candidate) <= current { break }
                factor /= 2
            }
            var largest = 0.0
            for j in 0..<p1 {
                largest = max(largest, abs(candidate[j] - beta[j]))
            }
            beta = candidate
            if largest < tolerance { break }
        }
        return (
            TrainedModel.Logistic(
                intercept: beta[0],
                means: means,
                scales: scales,
                weights: Array(beta[1...])
            ),
            iterations
        )
    }

    /// Solves `A x = b` for a symmetric positive-definite `A` (lower triangle filled) by Cholesky.
    static func solveSymmetric(_ a: [Double], _ b: [Double], size n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * n + k] * y[k] }
            y[i] = sum / l[i * n + i]
        }
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<n { sum -= l[k * n + i] * x[k] }
            x[i] = sum / l[i * n + i]
        }
        return x
    }
}

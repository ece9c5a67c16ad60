public import FraudCore
import Foundation

/// Gradient-boosted regression trees on the logit (logistic loss, second-order leaf values as in
/// XGBoost), with weighted rows and histogram splits: each input is cut into at most ``maxBins`` bins
/// at its distinct values or quantiles, so a split such as "balance error is exactly 0" is available.
public struct GradientBoostingTrainer: Sendable {
    /// Number of trees.
    public var trees: Int
    /// Depth of each tree.
    public var maxDepth: Int
    /// Shrinkage applied to every leaf.
    public var learningRate: Double
    /// L2 penalty on leaf values (in units of Hessian weight).
    public var l2: Double
    /// Smallest Hessian weight of a child.
    public var minChildWeight: Double
    /// Bins per input at most (≤ 255).
    public var maxBins: Int

    /// Creates a trainer.
    public init(
        trees: Int = 200,
        maxDepth: Int = 4,
        learningRate: Double = 0.1,
        l2: Double = 1,
        minChildWeight: Double = 1,
        maxBins: Int = 64
    ) {
        self.trees = trees
        self.maxDepth = maxDepth
        self.learningRate = learningRate
        self.l2 = l2
        self.minChildWeight = minChildWeight
        self.maxBins = min(maxBins, 255)
    }

    /// Fits the ensemble.
    public func fit(_ set: TrainingSet) -> TrainedModel.TreeEnsemble {
        let n = set.count
        let d = set.inputs.count
        // Cut points per input: values <= cuts[b] fall in bin b; the last bin is open.
        var cuts: [[Double]] = []
        var bins = [UInt8](repeating: 0, count: n * d)
        for column in 0..<d {
            var values = (0..<n).map { set.value(row: $0, column: column) }
            values.sort()
            var distinct: [Double] = []
            for value in values where distinct.last != value {
                distinct.append(value)
            }
            var columnCuts: [Double] = []
            if distinct.count <= maxBins {
                for index in 0..<(distinct.count - 1) {
                    columnCuts.append((distinct[index] + distinct[index + 1]) / 2)
                }
            } else {
                // Quantile cuts, each moved to the midpoint between two distinct values.
                var last = -Double.infinity
                for bin in 1..<maxBins {
                    let value = values[bin * (n - 1) / maxBins]
                    guard let next = distinct.firstIndex(where: { $0 > value }) else { break }
                    let cut = (value + distinct[next]) / 2
                    if cut > last {
                        columnCuts.append(cut)
                        last = cut
                    }
                }
            }
            cuts.append(columnCuts)
            for row in 0..<n {
                let value = set.value(row: row, column: column)
                var low = 0
                var high = columnCuts.count
                while low < high {
                    let middle = (low + high) / 2
                    if value <= columnCuts[middle] { high = middle } else { low = middle + 1 }
                }
                bins[row * d + column] = UInt8(low)
            }
        }

        let positives = zip(set.labels, set.weights).reduce(0.0) { $0 + ($1.0 ? $1.1 : 0) }
        let negatives = set.weights.reduce(0, +) - positives
        let baseLogit = log(max(positives, 1e-12) / max(negatives, 1e-12))
        var logits = [Double](repeating: baseLogit, count: n)
        var gradients = [Double](repeating: 0, count: n)
        var hessians = [Double](repeating: 0, count: n)
        var ensemble: [TrainedModel.Tree] = []
        var order = Array(0..<n)
        let binCount = maxBins + 1

        for _ in 0..<trees {
            for row in 0..<n {
                let p = 1 / (1 + exp(-logits[row]))
                let w = set.weights[row]
                gradients[row] = w * (p - (set.labels[row] ? 1 : 0))
                hessians[row] = max(w * p * (1 - p), 1e-16)
            }
            var nodes: [TrainedModel.Node] = []
            // Work list: node index, range in `order`, depth.
            for index in 0..<n { order[index] = index }
            var work: [(node: Int, start: Int, end: Int, depth: Int)] = []
            func leafValue(_ g: Double, _ h: Double) -> Double { -g / (h + l2) * learningRate }
            var g0 = 0.0
            var h0 = 0.0
            for row in 0..<n {
                g0 += gradients[row]
                h0 += hessians[row]
            }
            nodes.append(TrainedModel.Node(input: -1, threshold: 0, left: -1, right: -1, value: leafValue(g0, h0)))
            work.append((0, 0, n, 0))
            var histogramG = [Double](repeating: 0, count: d * binCount)
            var histogramH = [Double](repeating: 0, count: d * binCount)
            while let item = work.popLast() {
                guard item.depth < maxDepth, item.end - item.start >= 2 else { continue }
                for index in histogramG.indices {
                    histogramG[index] = 0
                    histogramH[index] = 0
                }
                var gTotal = 0.0
                var hTotal = 0.0
                for position in item.start..<item.end {
                    let row = order[position]
                    let g = gradients[row]
                    let h = hessians[row]
                    gTotal += g
                    hTotal += h
                    let base = row * d
                    for column in 0..<d {
                        let slot = column * binCount + Int(bins[base + column])
                        histogramG[slot] += g
                        histogramH[slot] += h
                    }
                }
                let parentScore = gTotal * gTotal / (hTotal + l2)
                var best = (gain: 1e-9, column: -1, bin: -1)
                for column in 0..<d where !cuts[column].isEmpty {
                    var gLeft = 0.0
                    var hLeft = 0.0
                    for bin in 0..<cuts[column].count {
                        gLeft += histogramG[column * binCount + bin]
                        hLeft += histogramH[column * binCount + bin]
                        let gRight = gTotal - gLeft
                        let hRight = hTotal - hLeft
                        guard hLeft >= minChildWeight, hRight >= minChildWeight else { continue }
                        let gain = gLeft * gLeft / (hLeft + l2) + gRight * gRight / (hRight + l2) - parentScore
                        if gain > best.gain {
                            best = (gain, column, bin)
                        }
                    }
                }
                guard best.column >= 0 else { continue }
                // Partition rows: bin <= best.bin go left.
                var left = item.start
                var right = item.end - 1
                while left <= right {
                    if Int(bins[order[left] * d + best.column]) <= best.bin {
                        left += 1
                    } else {
                        order.swapAt(left, right)
                        right -= 1
                    }
                }
                var gLeft = 0.0
                var hLeft = 0.0
                for position in item.start..<left {
                    gLeft += gradients[order[position]]
                    hLeft += hessians[order[position]]
                }
                let leftIndex = nodes.count
                nodes.append(
                    TrainedModel.Node(input: -1, threshold: 0, left: -1, right: -1, value: leafValue(gLeft, hLeft))
                )
                nodes.append(
                    TrainedModel.Node(
                        input: -1, threshold: 0, left: -1, right: -1,
                        value: leafValue(gTotal - gLeft, hTotal - hLeft)
                    )
                )
                nodes[item.node].input = best.column
                nodes[item.node].threshold = cuts[best.column][best.bin]
                nodes[item.node].left = leftIndex
                nodes[item.node].right = leftIndex + 1
                work.append((leftIndex, item.start, left, item.depth + 1))
                work.append((leftIndex + 1, left, item.end, item.depth + 1))
            }
            let tree = TrainedModel.Tree(nodes: nodes)
            // Update logits with this tree's leaves (walk with raw values, as scoring does).
            for row in 0..<n {
                var position = 0
                while nodes[position].input >= 0 {
                    let node = nodes[position]
                    position = set.value(row: row, column: node.input) <= node.threshold ? node.left : node.right
                }
                logits[row] += nodes[position].value
            }
            ensemble.append(tree)
        }
        return TrainedModel.TreeEnsemble(baseLogit: baseLogit, trees: ensemble)
    }
}

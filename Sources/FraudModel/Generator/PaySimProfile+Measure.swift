public import FraudCore
import Foundation

extension PaySimProfile {
    /// Measures a profile on PaySim rows (any order).
    ///
    /// - Parameters:
    ///   - rows: The rows.
    ///   - legitimateShareMeasured: Share of all legitimate rows of the full data set that fall in the
    ///     measured steps (22,572 / 24,786 for the bundled sample, whose uniform legit sample spans all
    ///     743 steps); the rest is spread over the later steps up to ``lastLegitimateStep``.
    /// - Returns: The profile.
    public static func measure(_ rows: [PaySimRow], legitimateShareMeasured: Double = 22_572.0 / 24_786.0)
        -> PaySimProfile
    {
        func log1p10(_ cents: Int64) -> Double { log10(1 + Double(max(cents, 0))) }
        let legit = rows.filter { !$0.isFraud }
        var types: [TypeProfile] = []
        for type in TransactionType.allCases {
            let ofType = legit.filter { $0.type == type }
            let n = Double(max(ofType.count, 1))
            var zero = 0
            var overdraw = 0
            var offByOne = 0
            var ratios: [Double] = []
            var balances: [Double] = []
            var destinationZero = 0
            var destinationOffByOne = 0
            var destinationOther = 0
            var destinationBalances: [Double] = []
            var otherRatios: [Double] = []
            for row in ofType {
                let a = row.amountCents
                let before = row.originBalanceBeforeCents
                let after = row.originBalanceAfterCents
                if type == .cashIn {
                    if after != before + a { offByOne += 1 }
                    balances.append(log1p10(before))
                } else if before == 0 && after == 0 {
                    zero += 1
                } else if after == 0 && before < a {
                    overdraw += 1
                    ratios.append(Double(before) / Double(a))
                } else {
                    if after != before - a { offByOne += 1 }
                    balances.append(log1p10(after))
                }
                guard type != .payment else { continue }
                let dBefore = row.destinationBalanceBeforeCents
                let dAfter = row.destinationBalanceAfterCents
                let expected = type == .cashIn ? dBefore - a : dBefore + a
                if dBefore == 0 && dAfter == 0 {
                    destinationZero += 1
                    continue
                }
                destinationBalances.append(log1p10(dBefore))
                if dAfter == expected { continue }
                if abs(dAfter - expected) == 1 {
                    destinationOffByOne += 1
                } else {
                    destinationOther += 1
                    otherRatios.append(Double(dAfter - expected) / Double(a))
                }
            }
            let outflows = Double(max(ofType.count - zero - overdraw, 1))
            types.append(
                TypeProfile(
                    type: type.paysimName,
                    share: Double(ofType.count) / Double(max(legit.count, 1)),
                    amount: quantiles(of: ofType.map { log1p10($0.amountCents) }),
                    originZero: Double(zero) / n,
                    originOverdraw: Double(overdraw) / n,
                    originOffByOneCent: Double(offByOne) / (type == .cashIn ? n : outflows),
                    overdrawRatio: quantiles(of: ratios),
                    originBalance: quantiles(of: balances),
                    destinationZero: Double(destinationZero) / n,
                    destinationOffByOneCent: Double(destinationOffByOne) / n,
                    destinationOther: Double(destinationOther) / n,
                    destinationBalance: quantiles(of: destinationBalances),
                    destinationOtherRatio: quantiles(of: otherRatios)
                )
            )
        }

        // Volume: hour-of-day shape times a level per day.
        var hourCounts = [Double](repeating: 0, count: 24)
        var dayCounts: [Double] = []
        let maxStep = Int(rows.map(\.step).max() ?? 0)
        for row in legit {
            hourCounts[Int(row.step % 24)] += 1
            let day = Int(row.step / 24)
            while dayCounts.count <= day { dayCounts.append(0) }
            dayCounts[day] += 1
        }
        let hourTotal = max(hourCounts.reduce(0, +), 1)
        let hourWeights = hourCounts.map { $0 / hourTotal }
        var dayLevels: [Double] = []
        for (day, count) in dayCounts.enumerated() {
            // Normalise by the hours of this day the file covers (the last day may be partial).
            var covered = 0.0
            for step in (day * 24)..<(day * 24 + 24) where step >= 1 && step <= maxStep {
                covered += hourWeights[step % 24]
            }
            dayLevels.append(covered > 0 ? count / covered : 0)
        }

        // Fraud.
        let frauds = rows.filter(\.isFraud)
        let fraudTransfers = frauds.filter { $0.type == .transfer }
        // Chunked takeovers: one 10,000,000.00 TRANSFER leaves the first balance of a chain; chains are
        // told apart by their start (a balance no other chunk's after-balance leads to).
        let chunks = fraudTransfers.filter {
            $0.amountCents == FraudInjection.chunkCents && $0.originBalanceAfterCents > 0
        }
        let afterBalances = Set(chunks.map(\.originBalanceAfterCents))
        let chainStarts = chunks.filter { !afterBalances.contains($0.originBalanceBeforeCents) }.count
        // The balance a takeover drains: every fraud TRANSFER's balance before, except chain continuations.
        let drainedBalances = fraudTransfers.filter {
            $0.originBalanceBeforeCents > 0 && !afterBalances.contains($0.originBalanceBeforeCents)
        }.map { log1p10($0.originBalanceBeforeCents) }
        let zeroOrigin = frauds.filter { $0.originBalanceBeforeCents == 0 && $0.amountCents > 0 }.count
        let moves = fraudTransfers.filter {
            $0.destinationBalanceBeforeCents != 0 || $0.destinationBalanceAfterCents != 0
        }.count
        let flagged = frauds.filter(\.isFlaggedFraud).count
        return PaySimProfile(
            types: types,
            hourWeights: hourWeights,
            dayLevels: dayLevels,
            lastMeasuredStep: maxStep,
            laterLegitimateShare: max(0, 1 - legitimateShareMeasured),
            lastLegitimateStep: 718,
            fraudRate: Double(frauds.count) / Double(max(rows.count, 1)),
            fraudBalance: quantiles(of: drainedBalances),
            fraudZeroOriginShare: Double(zeroOrigin) / Double(max(frauds.count / 2, 1)),
            fraudTransferDestinationMoves: Double(moves) / Double(max(fraudTransfers.count, 1)),
            fraudFlaggedRemainder: Double(flagged) / Double(max(chainStarts, 1))
        )
    }
}

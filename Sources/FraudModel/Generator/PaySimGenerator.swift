public import FraudCore
import Foundation

/// Constants of PaySim's fraud model.
public enum FraudInjection {
    /// A takeover moves the balance in TRANSFERs of at most this much (10,000,000.00).
    public static let chunkCents: Int64 = 1_000_000_000
    /// The natural fraud rate of the full PaySim file: 8,213 frauds in 6,362,620 rows.
    public static let naturalFraudRate = 8_213.0 / 6_362_620.0
    /// PaySim's last step (one step = one hour of a 30-day simulation).
    public static let lastStep: UInt32 = 743
}

/// A PaySim-compatible generator: rows in step order, deterministic for a seed, one row at a time (no
/// file in memory; the caller writes them, e.g. through ``PaySimRow/appendCSVLine(to:)``).
///
/// Legitimate rows follow a ``PaySimProfile`` measured on real rows: type mix, amount quantiles per type,
/// origin balance cases (unfunded, overdraw ending at 0, exact debit, off by one cent), destination
/// balance cases, the volume per hour of day and per day (none after step 718). Origins are fresh `C…`
/// customers, PAYMENT destinations fresh `M…` merchants (balances 0), other destinations come from a
/// pool of customers that recur.
///
/// Fraud is injected the way PaySim does it, at a constant number of takeovers per step over 1–743: the
/// victim's whole balance goes out in TRANSFERs of at most 10,000,000.00 (books exact, the victim drained
/// by the last one), each to a mule whose balance shows 0 before and after, each followed by the mule's
/// CASH_OUT of that amount (mule drained from exactly that amount). Quirks kept: a chunked takeover's last
/// TRANSFER is sometimes blocked (balance unchanged, `isFlaggedFraud = 1`, no CASH_OUT), and a few
/// takeovers show up as a lone CASH_OUT from a zero-balance origin.
public struct PaySimGenerator: Sendable {
    /// What to generate.
    public struct Options: Sendable, Hashable {
        /// Rows to write (fraud included).
        public var rows: Int
        /// The seed: same seed, same rows.
        public var seed: UInt64
        /// Fraud rows as a share of all rows.
        public var fraudRate: Double
        /// `true`: a takeover's chunks all come from the victim and each CASH_OUT from the mule that
        /// received the TRANSFER (what happens). `false`: every fraud row gets fresh account names, as in
        /// the published PaySim file, where the accounts of one takeover cannot be linked.
        public var linkedAccounts: Bool
        /// The statistics to follow.
        public var profile: PaySimProfile

        /// Creates options.
        public init(
            rows: Int,
            seed: UInt64,
            fraudRate: Double = FraudInjection.naturalFraudRate,
            linkedAccounts: Bool = true,
            profile: PaySimProfile = .sample
        ) {
            self.rows = rows
            self.seed = seed
            self.fraudRate = fraudRate
            self.linkedAccounts = linkedAccounts
            self.profile = profile
        }
    }

    /// The options in use.
    public let options: Options
    private var random: Xoshiro256
    /// Legitimate rows of each step (index = step).
    private let legitPerStep: [Int]
    /// Fraud row groups (one takeover each), in step order.
    private let frauds: [[PaySimRow]]
    private let typeCumulative: [Double]
    private let destinationPoolSize: UInt64
    private let poolSalt: UInt64

    // Iteration state.
    private var step: UInt32 = 0
    private var legitEmitted = 0
    private var nextFraudGroup = 0
    /// Insertion points (legit index) of this step's fraud groups, sorted, with the group index.
    private var insertions: [(position: Int, group: Int)] = []
    private var nextInsertion = 0
    private var pending: [PaySimRow] = []
    private var pendingIndex = 0

    /// Fraud rows that will be generated (known up front).
    public let fraudRowCount: Int

    /// Prepares a run: plans the volume per step and draws the takeovers.
    public init(options: Options) {
        self.options = options
        let profile = options.profile
        var fraudRandom = Xoshiro256(seed: options.seed ^ 0x5EED_F4A0_D000_0001)
        poolSalt = fraudRandom.next()
        destinationPoolSize = UInt64(max(1_000, options.rows / 11))
        var cumulative: [Double] = []
        var total = 0.0
        for type in profile.types {
            total += type.share
            cumulative.append(total)
        }
        typeCumulative = cumulative.map { $0 / max(total, 1e-12) }

        // Takeovers until the fraud rows reach the target, then spread evenly over the steps.
        let targetFraudRows = Int((Double(options.rows) * options.fraudRate).rounded())
        var groups: [[PaySimRow]] = []
        var fraudRows = 0
        let draft = Drafter(
            profile: profile,
            linked: options.linkedAccounts,
            poolSize: destinationPoolSize,
            poolSalt: poolSalt
        )
        while fraudRows < targetFraudRows {
            let group = draft.takeover(random: &fraudRandom)
            fraudRows += group.count
            groups.append(group)
        }
        let lastStep = Int(FraudInjection.lastStep)
        for index in groups.indices {
            // Evenly from step 1 to the last step, both ends included.
            let step = UInt32(groups.count > 1 ? 1 + index * (lastStep - 1) / (groups.count - 1) : 1)
            for row in groups[index].indices {
                groups[index][row].step = step
            }
        }
        frauds = groups
        fraudRowCount = fraudRows

        // Legitimate volume per step: hour shape × day level, later days at the level that gives them
        // their share, nothing after the last legitimate step.
        let legitRows = max(0, options.rows - fraudRows)
        var weights = [Double](repeating: 0, count: lastStep + 1)
        var measured = 0.0
        var laterShape = 0.0
        for step in 1...lastStep {
            let hour = profile.hourWeights[step % 24]
            if step <= profile.lastMeasuredStep {
                let day = step / 24
                weights[step] = hour * (day < profile.dayLevels.count ? profile.dayLevels[day] : 0)
                measured += weights[step]
            } else if step <= profile.lastLegitimateStep {
                weights[step] = hour
                laterShape += hour
            }
        }
        if laterShape > 0, measured > 0, profile.laterLegitimateShare < 1 {
            let scale = measured * profile.laterLegitimateShare / (1 - profile.laterLegitimateShare) / laterShape
            for step in (profile.lastMeasuredStep + 1)...lastStep {
                weights[step] *= scale
            }
        }
        let weightTotal = max(weights.reduce(0, +), 1e-12)
        var perStep = [Int](repeating: 0, count: lastStep + 1)
        var running = 0.0
        var assigned = 0
        for step in 1...lastStep {
            running += weights[step]
            let upTo = Int((Double(legitRows) * running / weightTotal).rounded())
            perStep[step] = upTo - assigned
            assigned = upTo
        }
        perStep[lastStep] += legitRows - assigned
        legitPerStep = perStep
        random = Xoshiro256(seed: options.seed)
    }

    /// The next row, in step order; nil after the last.
    public mutating func next() -> PaySimRow? {
        while true {
            if pendingIndex < pending.count {
                pendingIndex += 1
                return pending[pendingIndex - 1]
            }
            if step == 0 || (legitEmitted >= legitPerStep[Int(step)] && nextInsertion >= insertions.count) {
                guard step < FraudInjection.lastStep else { return nil }
                startStep(step + 1)
                continue
            }
            if nextInsertion < insertions.count, insertions[nextInsertion].position <= legitEmitted {
                pending = frauds[insertions[nextInsertion].group]
                pendingIndex = 0
                nextInsertion += 1
                continue
            }
            legitEmitted += 1
            return legitimate()
        }
    }

    private mutating func startStep(_ newStep: UInt32) {
        step = newStep
        legitEmitted = 0
        insertions.removeAll(keepingCapacity: true)
        nextInsertion = 0
        let legit = legitPerStep[Int(step)]
        while nextFraudGroup < frauds.count, frauds[nextFraudGroup][0].step == step {
            insertions.append((Int(random.below(UInt64(legit + 1))), nextFraudGroup))
            nextFraudGroup += 1
        }
        insertions.sort { ($0.position, $0.group) < ($1.position, $1.group) }
    }

    /// One legitimate row of the current step.
    private mutating func legitimate() -> PaySimRow {
        let profile = options.profile
        let u = random.unit()
        var typeIndex = 0
        while typeIndex < typeCumulative.count - 1, u >= typeCumulative[typeIndex] {
            typeIndex += 1
        }
        let type = TransactionType.allCases[typeIndex]
        let shape = profile.types[typeIndex]
        let amount = max(1, Self.cents(PaySimProfile.inverse(shape.amount, at: random.unit())))
        var before: Int64
        var after: Int64
        if type == .cashIn {
            before = Self.cents(PaySimProfile.inverse(shape.originBalance, at: random.unit()))
            after = before + amount
            if random.chance(shape.originOffByOneCent) { after += random.chance(0.5) ? 1 : -1 }
        } else {
            let roll = random.unit()
            if roll < shape.originZero {
                before = 0
                after = 0
            } else if roll < shape.originZero + shape.originOverdraw {
                let ratio = PaySimProfile.inverse(shape.overdrawRatio, at: random.unit())
                before = min(max(1, Int64(ratio * Double(amount))), amount - 1)
                after = 0
                if before <= 0 {  // an amount of 1 cent cannot be overdrawn
                    before = 0
                }
            } else {
                // Never an exact drain: legitimate PaySim rows do not empty an account to the cent.
                after = max(1, Self.cents(PaySimProfile.inverse(shape.originBalance, at: random.unit())))
                before = after + amount
                if random.chance(shape.originOffByOneCent) { after += random.chance(0.5) ? 1 : -1 }
            }
        }
        let origin = Self.accountName(prefix: "C", number: 1_000_000 + random.below(2_146_483_647))
        let destination: String
        var destinationBefore: Int64 = 0
        var destinationAfter: Int64 = 0
        if type == .payment {
            destination = Self.accountName(prefix: "M", number: 1_000_000 + random.below(2_146_483_647))
        } else {
            destination = Self.poolName(random.below(destinationPoolSize), salt: poolSalt)
            let roll = random.unit()
            if roll >= shape.destinationZero {
                destinationBefore = Self.cents(PaySimProfile.inverse(shape.destinationBalance, at: random.unit()))
                if type == .cashIn, destinationBefore < amount {
                    destinationBefore += amount  // a CASH_IN agent pays out of its own balance
                }
                var expected = type == .cashIn ? destinationBefore - amount : destinationBefore + amount
                if roll < shape.destinationZero + shape.destinationOffByOneCent {
                    expected += random.chance(0.5) ? 1 : -1
                } else if roll < shape.destinationZero + shape.destinationOffByOneCent + shape.destinationOther {
                    let ratio = PaySimProfile.inverse(shape.destinationOtherRatio, at: random.unit())
                    expected += Int64(ratio * Double(amount))
                }
                destinationAfter = max(0, expected)
            }
        }
        return PaySimRow(
            step: step,
            type: type,
            amountCents: amount,
            originAccount: origin,
            originBalanceBeforeCents: max(0, before),
            originBalanceAfterCents: max(0, after),
            destinationAccount: destination,
            destinationBalanceBeforeCents: destinationBefore,
            destinationBalanceAfterCents: destinationAfter,
            isFraud: false,
            isFlaggedFraud: false
        )
    }

    /// `10^log10(1 + cents) − 1`, rounded to a cent.
    @inline(__always)
    static func cents(_ log10OnePlusCents: Double) -> Int64 {
        Int64(max(0, (pow(10, log10OnePlusCents) - 1).rounded()))
    }

    /// A member of the recurring customer pool: a fixed pseudo-random `C…` name per index.
    static func poolName(_ index: UInt64, salt: UInt64) -> String {
        var z = index &+ salt &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return accountName(prefix: "C", number: 1_000_000 + z % 2_146_483_647)
    }

    /// `prefix` followed by the decimal digits of `number`, built in place (a small string: no allocation).
    static func accountName(prefix: UInt8, number: UInt64) -> String {
        var digits = 1
        var rest = number / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return String(unsafeUninitializedCapacity: digits + 1) { buffer in
            buffer[0] = prefix
            var value = number
            var position = digits
            repeat {
                buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
                position -= 1
            } while value > 0
            return digits + 1
        }
    }

    static func accountName(prefix: Unicode.Scalar, number: UInt64) -> String {
        accountName(prefix: UInt8(ascii: prefix), number: number)
    }
}

/// Draws one takeover's rows (their step is set afterwards).
private struct Drafter {
    let profile: PaySimProfile
    let linked: Bool
    let poolSize: UInt64
    let poolSalt: UInt64

    func fresh(_ random: inout Xoshiro256) -> String {
        PaySimGenerator.accountName(prefix: "C", number: 1_000_000 + random.below(2_146_483_647))
    }

    func cashOutDestination(_ amount: Int64, _ random: inout Xoshiro256) -> (String, Int64, Int64) {
        let shape = profile.profile(of: .cashOut)
        let name = PaySimGenerator.poolName(random.below(poolSize), salt: poolSalt)
        let before = PaySimGenerator.cents(PaySimProfile.inverse(shape.destinationBalance, at: random.unit()))
        return (name, before, before + amount)
    }

    func takeover(random: inout Xoshiro256) -> [PaySimRow] {
        let balance = max(100, PaySimGenerator.cents(PaySimProfile.inverse(profile.fraudBalance, at: random.unit())))
        if random.chance(profile.fraudZeroOriginShare) {
            // PaySim quirk: a fraud CASH_OUT from an origin showing no balance at all.
            let amount = min(balance, FraudInjection.chunkCents)
            let (destination, before, after) = cashOutDestination(amount, &random)
            return [
                PaySimRow(
                    step: 0, type: .cashOut, amountCents: amount,
                    originAccount: fresh(&random), originBalanceBeforeCents: 0, originBalanceAfterCents: 0,
                    destinationAccount: destination, destinationBalanceBeforeCents: before,
                    destinationBalanceAfterCents: after, isFraud: true, isFlaggedFraud: false
                )
            ]
        }
        let victim = fresh(&random)
        let blockRemainder = balance > FraudInjection.chunkCents && random.chance(profile.fraudFlaggedRemainder)
        var rows: [PaySimRow] = []
        var remaining = balance
        while remaining > 0 {
            let amount = min(remaining, FraudInjection.chunkCents)
            let origin = linked ? victim : fresh(&random)
            let mule = fresh(&random)
            if remaining <= FraudInjection.chunkCents, blockRemainder {
                // The blocked last chunk: nothing moves, PaySim's own flag fires, no cash-out follows.
                rows.append(
                    PaySimRow(
                        step: 0, type: .transfer, amountCents: amount,
                        originAccount: origin, originBalanceBeforeCents: remaining, originBalanceAfterCents: remaining,
                        destinationAccount: mule, destinationBalanceBeforeCents: 0, destinationBalanceAfterCents: 0,
                        isFraud: true, isFlaggedFraud: true
                    )
                )
                break
            }
            var muleBefore: Int64 = 0
            var muleAfter: Int64 = 0
            if random.chance(profile.fraudTransferDestinationMoves) {
                let shape = profile.profile(of: .transfer)
                muleBefore = PaySimGenerator.cents(PaySimProfile.inverse(shape.destinationBalance, at: random.unit()))
                muleAfter = muleBefore + amount
            }
            rows.append(
                PaySimRow(
                    step: 0, type: .transfer, amountCents: amount,
                    originAccount: origin, originBalanceBeforeCents: remaining,
                    originBalanceAfterCents: remaining - amount,
                    destinationAccount: mule, destinationBalanceBeforeCents: muleBefore,
                    destinationBalanceAfterCents: muleAfter, isFraud: true, isFlaggedFraud: false
                )
            )
            let (destination, before, after) = cashOutDestination(amount, &random)
            rows.append(
                PaySimRow(
                    step: 0, type: .cashOut, amountCents: amount,
                    originAccount: linked ? mule : fresh(&random), originBalanceBeforeCents: amount,
                    originBalanceAfterCents: 0,
                    destinationAccount: destination, destinationBalanceBeforeCents: before,
                    destinationBalanceAfterCents: after, isFraud: true, isFlaggedFraud: false
                )
            )
            remaining -= amount
        }
        return rows
    }
}

extension PaySimGenerator {
    /// Runs the generator to the end as CSV: the header, then one line per row, handed to `write` in
    /// blocks of about `blockSize` bytes (the caller writes them to a file; nothing else is kept).
    ///
    /// - Parameters:
    ///   - blockSize: Bytes buffered before each `write`.
    ///   - write: Receives each block, in order (the last one may be smaller); the bytes are valid only
    ///     during the call.
    /// - Returns: Rows and fraud rows written.
    /// - Throws: Whatever `write` throws.
    public mutating func writeCSV<Failure: Error>(
        blockSize: Int = 8 << 20,
        _ write: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) -> (rows: Int, frauds: Int) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(blockSize + 1_024)
        buffer.append(contentsOf: PaySimRow.header.utf8)
        buffer.append(UInt8(ascii: "\n"))
        var rows = 0
        var frauds = 0
        while let row = next() {
            row.appendCSVLine(to: &buffer)
            rows += 1
            if row.isFraud { frauds += 1 }
            if buffer.count >= blockSize {
                try Self.hand(buffer, to: write)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if !buffer.isEmpty {
            try Self.hand(buffer, to: write)
        }
        return (rows, frauds)
    }

    private static func hand<Failure: Error>(
        _ buffer: [UInt8],
        to write: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) {
        var failure: Failure?
        buffer.withUnsafeBytes { bytes in
            do throws(Failure) {
                try write(bytes)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }
}

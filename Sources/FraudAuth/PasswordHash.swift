import Crypto
import CryptoExtras
import Foundation

/// A salted scrypt password hash in the PHC string format used by passlib and others:
///
///     $scrypt$ln=15,r=8,p=1$<salt>$<hash>
///
/// `ln` is log2(N); salt and hash are standard base64 without padding. With the defaults (N = 2^15, r = 8,
/// p = 1: 32 MiB, ~0.1 s per check) a stolen users file is expensive to attack. Python can check one with
/// `hashlib.scrypt(password, salt=salt, n=2**ln, r=r, p=p, maxmem=2**26, dklen=len(hash))`.
///
/// scrypt comes from swift-crypto's `CryptoExtras` (`KDF.Scrypt`, BoringSSL underneath). Passwords are
/// hashed as their UTF-8 bytes, unnormalised.
public struct PasswordHash: Sendable, Hashable, CustomStringConvertible {
    /// scrypt's cost parameters.
    public struct Parameters: Sendable, Hashable {
        /// log2 of the CPU/memory cost N (10...20).
        public var logN: Int
        /// Block size r (1...32).
        public var blockSize: Int
        /// Parallelism p (1...16).
        public var parallelism: Int

        /// Creates parameters.
        /// - Parameters:
        ///   - logN: log2(N).
        ///   - blockSize: r.
        ///   - parallelism: p.
        public init(logN: Int, blockSize: Int = 8, parallelism: Int = 1) {
            self.logN = logN
            self.blockSize = blockSize
            self.parallelism = parallelism
        }

        /// N = 2^15, r = 8, p = 1 (32 MiB).
        public static let `default` = Parameters(logN: 15)

        /// Whether the parameters are within the bounds this type accepts (also when parsing a file: a hostile
        /// users file must not make a login take minutes or gigabytes).
        var isSupported: Bool {
            (10...20).contains(logN) && (1...32).contains(blockSize) && (1...16).contains(parallelism)
        }
    }

    /// The cost parameters.
    public let parameters: Parameters
    private let salt: [UInt8]
    private let hash: [UInt8]

    /// Hashes `password` with a fresh 16-byte random salt into a 32-byte hash.
    ///
    /// - Important: Slow on purpose (~0.1 s with the defaults): never call it on an event loop.
    /// - Parameters:
    ///   - password: The password.
    ///   - parameters: The cost.
    public init(hashing password: String, parameters: Parameters = .default) {
        precondition(parameters.isSupported, "unsupported scrypt parameters")
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255) }
        self.parameters = parameters
        self.salt = salt
        self.hash = Self.derive(password, salt: salt, parameters: parameters, length: 32)
    }

    /// Parses a `$scrypt$ln=…,r=…,p=…$salt$hash` string.
    /// - Parameter encoded: The string.
    /// - Throws: ``AuthFailure`` `configuration` (without echoing the string).
    public init(parsing encoded: String) throws(AuthFailure) {
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else {
            throw AuthFailure(.configuration, "password hash is not \"$scrypt$ln=..,r=..,p=..$salt$hash\"")
        }
        var values: [Substring: Int] = [:]
        for pair in fields[2].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1]) else {
                throw AuthFailure(.configuration, "password hash has malformed parameters")
            }
            values[parts[0]] = value
        }
        guard let logN = values["ln"], let r = values["r"], let p = values["p"], values.count == 3 else {
            throw AuthFailure(.configuration, "password hash needs exactly ln, r and p")
        }
        let parameters = Parameters(logN: logN, blockSize: r, parallelism: p)
        guard parameters.isSupported else {
            throw AuthFailure(.configuration, "password hash parameters out of range (ln 10-20, r 1-32, p 1-16)")
        }
        guard let salt = Base64.phcDecoded(fields[3]), salt.count >= 8,
            let hash = Base64.phcDecoded(fields[4]), (16...64).contains(hash.count)
        else {
            throw AuthFailure(.configuration, "password hash has a malformed salt or hash")
        }
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    /// Whether `password` hashes to this hash; compared in constant time.
    ///
    /// - Important: Slow on purpose: never call it on an event loop.
    /// - Parameter password: The candidate.
    /// - Returns: `true` on a match.
    public func matches(_ password: String) -> Bool {
        let candidate = Self.derive(password, salt: salt, parameters: parameters, length: hash.count)
        return Self.constantTimeEquals(candidate, hash)
    }

    /// The PHC string.
    public var description: String {
        "$scrypt$ln=\(parameters.logN),r=\(parameters.blockSize),p=\(parameters.parallelism)$"
            + Base64.phcEncoded(salt) + "$" + Base64.phcEncoded(hash)
    }

    static func derive(_ password: String, salt: [UInt8], parameters: Parameters, length: Int) -> [UInt8] {
        let key: SymmetricKey
        do {
            key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8),
                salt: salt,
                outputByteCount: length,
                rounds: 1 << parameters.logN,
                blockSize: parameters.blockSize,
                parallelism: parameters.parallelism
            )
        } catch {
            // Parameters are range-checked above, so this is memory exhaustion in BoringSSL.
            preconditionFailure("scrypt failed: \(error)")
        }
        return key.withUnsafeBytes { Array($0) }
    }

    /// Equality whose running time depends only on the lengths.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

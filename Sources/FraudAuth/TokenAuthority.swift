import Crypto
public import Foundation
import JWTKit
import Synchronization

/// Issues and verifies the service's JWTs (ES256, RFC 7519 + RFC 8725), with keys from a directory that can be
/// reloaded while running (key rotation without a restart).
///
/// Which library does what:
/// - **jwt-kit** (vapor/jwt-kit 5) parses the compact serialisation (`DefaultJWTParser`: three base64url parts,
///   header and claims JSON), provides the header and claim types (`JWTHeader`, `ExpirationClaim`,
///   `AudienceClaim`, …) and their checks, and serialises our claims (`DefaultJWTSerializer`).
/// - **swift-crypto** (`P256.Signing`) loads the PEM keys and makes and checks the ES256 signatures.
///
/// jwt-kit's own key store (`JWTKeyCollection`) is an actor, and its signing and verifying entry points are
/// `async`; its ECDSA signer type is internal. Verification here must be synchronous — it runs on the NIO
/// event loop when request headers arrive — so the signature step goes straight to swift-crypto (which jwt-kit
/// itself uses underneath), and the key selection and algorithm pinning are ours, a few lines, below.
///
/// Verification order, all failures as ``AuthFailure`` (never echoing the token): size and shape → header
/// (`crit` refused; `alg: none` refused; `kid` must name a loaded key; `alg` must be the key's pinned `ES256`,
/// so an `HS256` token "signed" with the public key is refused before any MAC is computed) → signature →
/// `iss` → `aud` → `exp` / `nbf` / `iat` with ``Configuration-swift.struct/leeway`` → `sub` and `role`.
///
/// Verified tokens are cached (keyed by the token text, entries dropped at `exp`, at most
/// ``Configuration-swift.struct/cacheCapacity``), so with connection reuse a request costs one hash lookup
/// under a lock. ``reload()`` empties the cache.
///
/// Thread-safe: all state sits behind one `Mutex`; critical sections are a dictionary lookup or update.
public final class TokenAuthority: Sendable {
    /// What tokens must say and how they are checked.
    public struct Configuration: Sendable {
        /// The `iss` we write and require.
        public var issuer: String
        /// The `aud` we write and require (a token's `aud` array must contain it).
        public var audience: String
        /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
        public var leeway: TimeInterval
        /// Lifetime of issued tokens when ``TokenAuthority/issue(subject:role:now:lifetime:)`` is given none, in seconds.
        public var defaultLifetime: TimeInterval
        /// Most verified tokens kept in the cache.
        public var cacheCapacity: Int
        /// Longer tokens are refused as malformed before any parsing.
        public var maximumTokenLength: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - issuer: The `iss` claim. Default `fraud` (short: the token travels with every call).
        ///   - audience: The `aud` claim. Default `scoring`.
        ///   - leeway: Clock skew tolerance in seconds. Default 30.
        ///   - defaultLifetime: Token lifetime in seconds. Default 3600.
        ///   - cacheCapacity: Verified-token cache size. Default 10,000.
        ///   - maximumTokenLength: Largest accepted token in bytes. Default 4096.
        public init(
            issuer: String = "fraud",
            audience: String = "scoring",
            leeway: TimeInterval = 30,
            defaultLifetime: TimeInterval = 3600,
            cacheCapacity: Int = 10_000,
            maximumTokenLength: Int = 4096
        ) {
            self.issuer = issuer
            self.audience = audience
            self.leeway = leeway
            self.defaultLifetime = defaultLifetime
            self.cacheCapacity = cacheCapacity
            self.maximumTokenLength = maximumTokenLength
        }
    }

    /// What a (re)load found, for logging and the audit trail.
    public struct KeySetSummary: Sendable, Hashable, CustomStringConvertible {
        /// Every loaded kid, sorted.
        public var keyIDs: [String]
        /// The kid that signs new tokens; `nil` if the directory holds public keys only.
        public var signingKeyID: String?
        /// Non-fatal findings, e.g. a private key readable by others.
        public var warnings: [String]

        /// E.g. `keys k1, k2; signing k2`.
        public var description: String {
            "keys \(keyIDs.joined(separator: ", ")); signing \(signingKeyID ?? "none (verify only)")"
        }
    }

    private struct CachedPrincipal {
        var principal: Principal
        /// `exp` plus the leeway: past this the entry is dead.
        var deadline: Date
    }

    private enum Lookup {
        case hit(CachedPrincipal)
        case miss(KeyRing, UInt64)
    }

    private struct State {
        var ring: KeyRing
        /// Bumped by every reload, so a verification that raced a reload does not cache its result.
        var generation: UInt64 = 0
        var cache: [String: CachedPrincipal] = [:]
    }

    /// The directory read by ``init(keyDirectory:configuration:)`` and ``reload()``.
    public let keyDirectory: String
    /// Issuer, audience, leeway, lifetimes, limits.
    public let configuration: Configuration
    private let state: Mutex<State>
    private let parser = DefaultJWTParser()

    /// Loads the keys in `keyDirectory` (layout: see README, "Authentication").
    /// - Parameters:
    ///   - keyDirectory: `--jwt-keys DIR`.
    ///   - configuration: Issuer, audience, leeway and limits.
    /// - Throws: ``AuthFailure`` with code `configuration` when the directory cannot be read, holds no keys,
    ///   or holds an invalid key file.
    public init(keyDirectory: String, configuration: Configuration = Configuration()) throws(AuthFailure) {
        self.keyDirectory = keyDirectory
        self.configuration = configuration
        self.state = Mutex(State(ring: try KeyRing.load(directory: keyDirectory)))
    }

    /// Re-reads the key directory (on SIGHUP) and empties the verified-token cache.
    ///
    /// From the moment it returns, tokens whose `kid` is no longer in the directory fail with `unknownKey`, and
    /// tokens of newly added keys verify. If the directory is invalid, nothing changes (the old keys stay
    /// active) and the failure is thrown, so a half-copied key never locks everyone out.
    /// - Returns: What was loaded.
    /// - Throws: ``AuthFailure`` with code `configuration`.
    @discardableResult
    public func reload() throws(AuthFailure) -> KeySetSummary {
        let ring = try KeyRing.load(directory: keyDirectory)
        state.withLock { state in
            state.ring = ring
            state.generation &+= 1
            state.cache.removeAll(keepingCapacity: true)
        }
        return Self.summary(of: ring)
    }

    /// The keys now active.
    public var keySet: KeySetSummary {
        Self.summary(of: state.withLock { $0.ring })
    }

    /// The active key ring.
    var keyRingSnapshot: KeyRing {
        state.withLock { $0.ring }
    }

    /// How many verified tokens are cached now (for metrics and tests).
    public var cachedTokenCount: Int {
        state.withLock { $0.cache.count }
    }

    private static func summary(of ring: KeyRing) -> KeySetSummary {
        KeySetSummary(keyIDs: ring.keys.keys.sorted(), signingKeyID: ring.signingKeyID, warnings: ring.warnings)
    }

    // MARK: Issuing

    /// Issues a token signed by the signing key.
    /// - Parameters:
    ///   - subject: The `sub` claim (user name or client id).
    ///   - role: The `role` claim.
    ///   - now: The issue time (`iat`; issued tokens carry no `nbf`).
    ///   - lifetime: Seconds until `exp`; default ``Configuration-swift.struct/defaultLifetime``.
    /// - Returns: The compact JWS (`header.claims.signature`).
    /// - Throws: ``AuthFailure`` `noSigningKey` when only public keys are loaded.
    public func issue(
        subject: String,
        role: Role,
        now: Date = Date(),
        lifetime: TimeInterval? = nil
    ) throws(AuthFailure) -> String {
        let ring = state.withLock { $0.ring }
        guard let kid = ring.signingKeyID, let privateKey = ring.keys[kid]?.privateKey else {
            throw AuthFailure(.noSigningKey, "no signing key in \(keyDirectory) (public keys only)")
        }
        let claims = TokenClaims.make(
            subject: subject,
            role: role.rawValue,
            now: now,
            lifetime: lifetime ?? configuration.defaultLifetime,
            issuer: configuration.issuer,
            audience: configuration.audience
        )
        let input = try Self.signingInput(claims: claims, algorithm: "ES256", keyID: kid)
        return Self.append(signature: Self.sign(input, with: privateKey), to: input)
    }

    /// `base64url(header).base64url(claims)`.
    ///
    /// The header is `{"alg":…,"kid":…}`: no `typ` (optional, RFC 7519 §5.1; the verifier still accepts `JWT`),
    /// because every byte of a token is Huffman-coded on both ends of every call.
    static func signingInput(
        claims: TokenClaims,
        algorithm: String,
        keyID: String?,
        type: String? = nil
    ) throws(AuthFailure) -> String {
        var header = JWTHeader()
        header.alg = algorithm
        // Only fields that are set: jwt-kit writes a field assigned `nil` as `null`.
        if let type { header.typ = type }
        if let keyID { header.kid = keyID }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let headerJSON = try encoder.encode(header)
            let payload = try DefaultJWTSerializer().serialize(claims, header: header)
            return Base64.urlEncoded(headerJSON) + "." + String(decoding: payload, as: UTF8.self)
        } catch {
            throw AuthFailure(.configuration, "cannot encode token")
        }
    }

    /// The raw (r‖s, 64 bytes) ES256 signature of `input`.
    static func sign(_ input: String, with key: P256.Signing.PrivateKey) -> [UInt8] {
        // Signing only fails on allocation failure inside BoringSSL.
        guard let signature = try? key.signature(for: Data(input.utf8)) else {
            preconditionFailure("P-256 signing failed")
        }
        return Array(signature.rawRepresentation)
    }

    static func append(signature: some Sequence<UInt8>, to input: String) -> String {
        input + "." + Base64.urlEncoded(signature)
    }

    // MARK: Verifying

    /// The token in an `authorization` header value, or `nil` unless it is `Bearer <token>` (scheme
    /// case-insensitive, RFC 6750).
    /// - Parameter authorization: The header value.
    /// - Returns: The token, without surrounding spaces.
    public static func bearerToken(fromAuthorization authorization: Substring) -> Substring? {
        // Byte-wise, without allocating: this runs on every request.
        let bytes = authorization.utf8
        let space = UInt8(ascii: " ")
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] == space { index = bytes.index(after: index) }
        for expected in "bearer ".utf8 {
            guard index < bytes.endIndex else { return nil }
            let byte = bytes[index]
            // ASCII case folding for the letters; the space must be exact.
            guard byte == expected || (expected != space && byte | 0x20 == expected) else { return nil }
            index = bytes.index(after: index)
        }
        while index < bytes.endIndex, bytes[index] == space { index = bytes.index(after: index) }
        var end = bytes.endIndex
        while end > index, bytes[bytes.index(before: end)] == space { end = bytes.index(before: end) }
        return index < end ? authorization[index..<end] : nil
    }

    /// Verifies an `authorization` header value (`Bearer <token>`); `nil` or another scheme → `missingToken`.
    /// - Parameters:
    ///   - authorization: The header value, if the request had one.
    ///   - now: The current time.
    /// - Returns: The principal, or why not.
    public func verify(authorization: Substring?, now: Date = Date()) -> Result<Principal, AuthFailure> {
        guard let authorization, let token = Self.bearerToken(fromAuthorization: authorization) else {
            return .failure(AuthFailure(.missingToken, "missing bearer token"))
        }
        return verify(token, now: now)
    }

    /// Verifies a token. Synchronous and cheap when cached: safe to call on an event loop.
    /// - Parameters:
    ///   - token: The compact JWS, without `Bearer `.
    ///   - now: The current time.
    /// - Returns: The principal, or why not (never containing the token).
    public func verify(_ token: some StringProtocol, now: Date = Date()) -> Result<Principal, AuthFailure> {
        guard !token.isEmpty else { return .failure(AuthFailure(.missingToken, "missing bearer token")) }
        guard token.utf8.count <= configuration.maximumTokenLength else {
            return .failure(AuthFailure(.malformed, "malformed token (too long)"))
        }
        let text = String(token)
        // A hit copies nothing but the entry: the key ring is only needed on a miss.
        let lookup: Lookup = state.withLock { state in
            guard let entry = state.cache[text] else { return .miss(state.ring, state.generation) }
            if entry.deadline <= now {
                state.cache[text] = nil
            }
            return .hit(entry)
        }
        let ring: KeyRing
        let generation: UInt64
        switch lookup {
        case .hit(let entry):
            return entry.deadline > now ? .success(entry.principal) : .failure(AuthFailure(.expired, "token expired"))
        case .miss(let current, let currentGeneration):
            (ring, generation) = (current, currentGeneration)
        }
        let result = check(text, ring: ring, now: now)
        if case .success(let principal) = result {
            let entry = CachedPrincipal(
                principal: principal,
                deadline: principal.expiresAt.addingTimeInterval(configuration.leeway)
            )
            let capacity = configuration.cacheCapacity
            state.withLock { state in
                guard state.generation == generation, capacity > 0 else { return }
                if state.cache.count >= capacity {
                    state.cache = state.cache.filter { $0.value.deadline > now }
                    // Still full of live tokens: drop a quarter, arbitrarily; they are re-verified on next use.
                    if state.cache.count >= capacity {
                        for key in Array(state.cache.keys.prefix(max(1, capacity / 4))) { state.cache[key] = nil }
                    }
                }
                state.cache[text] = entry
            }
        }
        return result
    }

    /// The uncached verification: parse, header, signature, claims.
    private func check(_ text: String, ring: KeyRing, now: Date) -> Result<Principal, AuthFailure> {
        let bytes = Array(text.utf8)
        let parsed: (header: JWTHeader, payload: TokenClaims, signature: Data)
        do {
            parsed = try parser.parse(bytes, as: TokenClaims.self)
        } catch {
            return .failure(AuthFailure(.malformed, "malformed token"))
        }
        let (header, claims, signature) = (parsed.header, parsed.payload, parsed.signature)
        // Header (RFC 8725 §3.1, §3.10; RFC 7515 §4.1.11).
        if header.fields["crit"] != nil {
            return .failure(AuthFailure(.unsupportedAlgorithm, "critical header parameters are not supported"))
        }
        guard let algorithm = header.alg else {
            return .failure(AuthFailure(.malformed, "malformed token (no alg)"))
        }
        if algorithm.lowercased() == "none" {
            return .failure(AuthFailure(.unsupportedAlgorithm, "algorithm 'none' is not allowed"))
        }
        if let type = header.typ, type.uppercased() != "JWT" {
            return .failure(AuthFailure(.malformed, "unexpected token type '\(AuthFailure.printable(type))'"))
        }
        guard let kid = header.kid else {
            return .failure(AuthFailure(.unknownKey, "token has no key id"))
        }
        guard let key = ring.keys[kid] else {
            return .failure(AuthFailure(.unknownKey, "unknown key id '\(AuthFailure.printable(kid))'"))
        }
        guard algorithm == key.algorithm else {
            return .failure(
                AuthFailure(
                    .unsupportedAlgorithm,
                    "algorithm '\(AuthFailure.printable(algorithm, limit: 16))' is not allowed for key '\(kid)' (\(key.algorithm) only)"
                )
            )
        }
        // Signature over `header.payload`, i.e. everything before the last period.
        guard let lastPeriod = bytes.lastIndex(of: UInt8(ascii: ".")),
            let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
            key.publicKey.isValidSignature(ecdsa, for: Data(bytes[..<lastPeriod]))
        else {
            return .failure(AuthFailure(.badSignature, "bad signature"))
        }
        // Claims (RFC 7519 §4.1), only now that they are known to be ours.
        guard let issuer = claims.iss, issuer.value == configuration.issuer else {
            return .failure(AuthFailure(.wrongIssuer, "wrong issuer"))
        }
        guard let audience = claims.aud, (try? audience.verifyIntendedAudience(includes: configuration.audience)) != nil
        else {
            return .failure(AuthFailure(.wrongAudience, "token is not intended for this service (aud)"))
        }
        guard let expiration = claims.exp else {
            return .failure(AuthFailure(.invalidClaims, "token has no expiry (exp)"))
        }
        guard (try? expiration.verifyNotExpired(currentDate: now.addingTimeInterval(-configuration.leeway))) != nil
        else {
            return .failure(AuthFailure(.expired, "token expired"))
        }
        if let notBefore = claims.nbf,
            (try? notBefore.verifyNotBefore(currentDate: now.addingTimeInterval(configuration.leeway))) == nil
        {
            return .failure(AuthFailure(.notYetValid, "token not yet valid (nbf)"))
        }
        if let issuedAt = claims.iat, issuedAt.value > now.addingTimeInterval(configuration.leeway) {
            return .failure(AuthFailure(.notYetValid, "token issued in the future (iat)"))
        }
        guard let subject = claims.sub?.value, !subject.isEmpty else {
            return .failure(AuthFailure(.invalidClaims, "token has no subject (sub)"))
        }
        guard let roleName = claims.role, let role = Role(rawValue: roleName) else {
            return .failure(AuthFailure(.invalidClaims, "token has no known role"))
        }
        return .success(Principal(subject: subject, role: role, keyID: kid, expiresAt: expiration.value))
    }
}

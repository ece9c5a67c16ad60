import Foundation
import Testing

@testable import FraudAuth

@Suite("TokenAuthority")
struct TokenAuthorityTests {
    let now = Date(timeIntervalSince1970: 1_764_000_000)

    /// A key directory with the given kids (private keys, public counterparts beside them).
    static func makeKeys(_ kids: [String]) throws -> TemporaryDirectory {
        let directory = TemporaryDirectory()
        for kid in kids { try SigningKeyFiles.generate(in: directory.path, keyID: kid) }
        return directory
    }

    @Test("issue → verify round trip")
    func roundTrip() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.issue(subject: "alice", role: .analyst, now: now, lifetime: 600)
        let principal = try authority.verify(token, now: now.addingTimeInterval(10)).get()
        #expect(principal == Principal(subject: "alice", role: .analyst, keyID: "k1", expiresAt: now + 600))
        #expect(token.split(separator: ".").count == 3)
    }

    @Test("the header and claims are what the issue promises")
    func claims() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.issue(subject: "pay-gw", role: .scorer, now: now, lifetime: 60)
        let parts = token.split(separator: ".")
        func json(_ part: Substring) throws -> [String: Any] {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return try JSONSerialization.jsonObject(with: Data(base64Encoded: text)!) as! [String: Any]
        }
        let header = try json(parts[0])
        #expect(header["alg"] as? String == "ES256")
        #expect(header["kid"] as? String == "k1")
        // Nothing else: every byte is Huffman-coded on both ends of every call.
        #expect(Set(header.keys) == ["alg", "kid"])
        let payload = try json(parts[1])
        #expect(payload["sub"] as? String == "pay-gw")
        #expect(payload["role"] as? String == "scorer")
        #expect(payload["iss"] as? String == "fraud")
        #expect(payload["aud"] as? String == "scoring")
        #expect((payload["iat"] as? NSNumber)?.intValue == 1_764_000_000)
        #expect((payload["exp"] as? NSNumber)?.intValue == 1_764_000_060)
        #expect(Set(payload.keys) == ["sub", "role", "iat", "exp", "aud", "iss"])
        // 35 + 1 + 128 + 1 + 86 (the ES256 signature): the 310 bytes of the old shape (typ, nbf, longer iss/aud) are gone.
        #expect(token.utf8.count == 251)
    }

    @Test("tokens of the older shape (typ JWT, nbf, aud array) still verify; another typ does not")
    func olderShape() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let key = try #require(authority.keyRingSnapshot.keys["k1"]?.privateKey)
        func sign(_ claims: TokenClaims, type: String?) throws -> String {
            let input = try TokenAuthority.signingInput(claims: claims, algorithm: "ES256", keyID: "k1", type: type)
            return TokenAuthority.append(signature: TokenAuthority.sign(input, with: key), to: input)
        }
        let claims = TokenClaims.make(
            subject: "a",
            role: "scorer",
            now: now,
            lifetime: 60,
            issuer: authority.configuration.issuer,
            audience: authority.configuration.audience,
            notBefore: now
        ).intended(for: ["another-service", authority.configuration.audience])
        let old = try sign(claims, type: "JWT")
        #expect(try authority.verify(old, now: now).get().subject == "a")
        #expect(authority.verify(try sign(claims, type: "JOSE+JSON"), now: now).failureCode == .malformed)
    }

    @Test("nbf is still checked when a token carries it: iat now, nbf ahead → not yet valid")
    func notBefore() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let key = try #require(authority.keyRingSnapshot.keys["k1"]?.privateKey)
        let claims = TokenClaims.make(
            subject: "a",
            role: "scorer",
            now: now,
            lifetime: 7200,
            issuer: authority.configuration.issuer,
            audience: authority.configuration.audience,
            notBefore: now + 600
        )
        let input = try TokenAuthority.signingInput(claims: claims, algorithm: "ES256", keyID: "k1")
        let token = TokenAuthority.append(signature: TokenAuthority.sign(input, with: key), to: input)
        #expect(authority.verify(token, now: now).failureCode == .notYetValid)
        #expect(try TokenAuthority(keyDirectory: keys.path).verify(token, now: now + 600).get().subject == "a")
    }

    @Test("negative corpus: each forged token is refused with the right failure", arguments: ForgedToken.allCases)
    func negativeCorpus(kind: ForgedToken) throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.forge(kind, now: now)
        let result = authority.verify(token, now: now)
        guard case .failure(let failure) = result else {
            Issue.record("\(kind) was accepted")
            return
        }
        #expect(failure.code == kind.expectedFailure, "\(kind): \(failure.message)")
        #expect(!failure.message.contains(token))
        #expect(authority.cachedTokenCount == 0)
    }

    @Test("failure messages are short and specific")
    func messages() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        func message(_ kind: ForgedToken) throws -> String {
            guard case .failure(let failure) = authority.verify(try authority.forge(kind, now: now), now: now) else {
                return "accepted"
            }
            return failure.message
        }
        #expect(try message(.expired) == "token expired")
        #expect(try message(.unknownKeyID) == "unknown key id 'k9'")
        #expect(try message(.none) == "algorithm 'none' is not allowed")
        #expect(try message(.hs256PublicKey) == "algorithm 'HS256' is not allowed for key 'k1' (ES256 only)")
        #expect(try message(.badSignature) == "bad signature")
    }

    @Test("exp and nbf have a 30 s leeway, no more")
    func leeway() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.issue(subject: "a", role: .admin, now: now, lifetime: 60)
        #expect(throws: Never.self) { try authority.verify(token, now: now - 29).get() }
        #expect(throws: Never.self) { try authority.verify(token, now: now + 60 + 29).get() }
        let late = try TokenAuthority(keyDirectory: keys.path)
        #expect(late.verify(token, now: now + 60 + 31).failureCode == .expired)
        let early = try TokenAuthority(keyDirectory: keys.path)
        #expect(early.verify(token, now: now - 31).failureCode == .notYetValid)
    }

    @Test("the cache serves repeats, and expires entries at exp")
    func cache() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.issue(subject: "a", role: .scorer, now: now, lifetime: 60)
        #expect(authority.cachedTokenCount == 0)
        _ = try authority.verify(token, now: now).get()
        #expect(authority.cachedTokenCount == 1)
        _ = try authority.verify(token[...], now: now + 1).get()
        #expect(authority.cachedTokenCount == 1)
        #expect(authority.verify(token, now: now + 200).failureCode == .expired)
        #expect(authority.cachedTokenCount == 0)
    }

    @Test("the cache stays within its capacity")
    func cacheBound() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(
            keyDirectory: keys.path,
            configuration: TokenAuthority.Configuration(cacheCapacity: 8)
        )
        for index in 0..<40 {
            let token = try authority.issue(subject: "s\(index)", role: .scorer, now: now)
            _ = try authority.verify(token, now: now).get()
            #expect(authority.cachedTokenCount <= 8)
        }
    }

    @Test("wrong issuer or audience configuration on the verifier side")
    func issuerAudience() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let issuer = try TokenAuthority(keyDirectory: keys.path)
        let token = try issuer.issue(subject: "a", role: .admin, now: now)
        let otherAudience = try TokenAuthority(
            keyDirectory: keys.path,
            configuration: TokenAuthority.Configuration(audience: "other")
        )
        #expect(otherAudience.verify(token, now: now).failureCode == .wrongAudience)
        let otherIssuer = try TokenAuthority(
            keyDirectory: keys.path,
            configuration: TokenAuthority.Configuration(issuer: "other")
        )
        #expect(otherIssuer.verify(token, now: now).failureCode == .wrongIssuer)
    }

    @Test("tokens with an unknown role, no subject, no exp or a crit header are refused")
    func badClaims() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let key = try #require(authority.keyRingSnapshot.keys["k1"]?.privateKey)
        func sign(_ claims: TokenClaims) throws -> String {
            let input = try TokenAuthority.signingInput(claims: claims, algorithm: "ES256", keyID: "k1")
            return TokenAuthority.append(signature: TokenAuthority.sign(input, with: key), to: input)
        }
        let good = TokenClaims.make(
            subject: "a",
            role: "admin",
            now: now,
            lifetime: 60,
            issuer: authority.configuration.issuer,
            audience: authority.configuration.audience
        )
        _ = try authority.verify(try sign(good), now: now).get()
        var claims = good
        claims.role = "root"
        #expect(authority.verify(try sign(claims), now: now).failureCode == .invalidClaims)
        claims = good
        claims.sub = nil
        #expect(authority.verify(try sign(claims), now: now).failureCode == .invalidClaims)
        claims = good
        claims.exp = nil
        #expect(authority.verify(try sign(claims), now: now).failureCode == .invalidClaims)
        claims = good
        claims.aud = nil
        #expect(authority.verify(try sign(claims), now: now).failureCode == .wrongAudience)
        claims = good.issued(at: now + 3600)
        #expect(authority.verify(try sign(claims), now: now).failureCode == .notYetValid)
    }

    @Test("missing, empty, non-bearer and oversized inputs")
    func shapes() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.issue(subject: "a", role: .scorer, now: now)
        #expect(authority.verify(authorization: nil, now: now).failureCode == .missingToken)
        #expect(authority.verify(authorization: "Basic YTpi", now: now).failureCode == .missingToken)
        #expect(authority.verify(authorization: "Bearer ", now: now).failureCode == .missingToken)
        #expect(authority.verify("", now: now).failureCode == .missingToken)
        #expect(authority.verify(String(repeating: "a", count: 5000), now: now).failureCode == .malformed)
        #expect(authority.verify("a.b.c", now: now).failureCode == .malformed)
        #expect(authority.verify("a.b.c.d", now: now).failureCode == .malformed)
        #expect(authority.verify(token + ".x", now: now).failureCode == .malformed)
        let principal = try authority.verify(authorization: Substring("bearer  \(token) "), now: now).get()
        #expect(principal.subject == "a")
    }

    @Test(
        "Bearer parsing: scheme case-insensitive, spaces trimmed, other schemes refused",
        arguments: [
            ("Bearer abc", "abc"), ("BEARER abc", "abc"), ("  bearer   abc  ", "abc"), ("Bearerabc", nil),
            ("Bearer", nil), ("Bearer    ", nil), ("Basic abc", nil), ("Bear abc", nil), ("", nil),
        ] as [(String, String?)]
    )
    func bearer(header: String, token: String?) {
        #expect(TokenAuthority.bearerToken(fromAuthorization: header[...]).map(String.init) == token)
    }

    @Test("rotation: both keys verify; after removing one and reloading, its tokens fail, the other's pass")
    func rotation() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let old = try authority.issue(subject: "a", role: .scorer, now: now)
        _ = try authority.verify(old, now: now).get()
        #expect(authority.cachedTokenCount == 1)

        // Add k2: it sorts last, so it signs from the reload on; k1 tokens still verify.
        try SigningKeyFiles.generate(in: keys.path, keyID: "k2")
        let summary = try authority.reload()
        #expect(summary.keyIDs == ["k1", "k2"])
        #expect(summary.signingKeyID == "k2")
        #expect(authority.cachedTokenCount == 0)
        let new = try authority.issue(subject: "b", role: .analyst, now: now)
        #expect(try authority.verify(new, now: now).get().keyID == "k2")
        #expect(try authority.verify(old, now: now).get().keyID == "k1")
        #expect(authority.cachedTokenCount == 2)

        // Retire k1: the cached k1 token must fail at once.
        try FileManager.default.removeItem(atPath: keys.file("k1.pem"))
        try FileManager.default.removeItem(atPath: keys.file("k1.pub.pem"))
        try authority.reload()
        #expect(authority.verify(old, now: now).failureCode == .unknownKey)
        #expect(try authority.verify(new, now: now).get().subject == "b")
    }

    @Test("a failed reload keeps the old keys")
    func failedReload() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let token = try authority.issue(subject: "a", role: .scorer, now: now)
        try "not a key".write(toFile: keys.file("k2.pem"), atomically: true, encoding: .utf8)
        #expect(throws: AuthFailure.self) { try authority.reload() }
        #expect(try authority.verify(token, now: now).get().keyID == "k1")
        #expect(authority.keySet.keyIDs == ["k1"])
    }

    @Test("public-only keys verify but never sign; keys.json chooses the signer")
    func publicOnlyAndManifest() throws {
        let signer = try Self.makeKeys(["k1", "k2"])
        defer { signer.remove() }
        try SigningKeyFiles.setSigningKey("k1", in: signer.path)
        let authority = try TokenAuthority(keyDirectory: signer.path)
        #expect(authority.keySet.signingKeyID == "k1")
        let token = try authority.issue(subject: "a", role: .scorer, now: now)

        let verifier = TemporaryDirectory()
        defer { verifier.remove() }
        try FileManager.default.copyItem(atPath: signer.file("k1.pub.pem"), toPath: verifier.file("k1.pub.pem"))
        let verifyOnly = try TokenAuthority(keyDirectory: verifier.path)
        #expect(verifyOnly.keySet.signingKeyID == nil)
        #expect(try verifyOnly.verify(token, now: now).get().subject == "a")
        #expect(throws: AuthFailure.self) { try verifyOnly.issue(subject: "a", role: .admin, now: now) }
    }

    @Test("invalid key directories are refused at start-up")
    func invalidDirectories() throws {
        let empty = TemporaryDirectory()
        defer { empty.remove() }
        #expect(throws: AuthFailure.self) { try TokenAuthority(keyDirectory: empty.path) }
        #expect(throws: AuthFailure.self) { try TokenAuthority(keyDirectory: empty.file("missing")) }

        // A public key that does not match its private key.
        let mismatch = try Self.makeKeys(["k1", "k2"])
        defer { mismatch.remove() }
        try FileManager.default.removeItem(atPath: mismatch.file("k1.pub.pem"))
        try FileManager.default.copyItem(atPath: mismatch.file("k2.pub.pem"), toPath: mismatch.file("k1.pub.pem"))
        #expect(throws: AuthFailure.self) { try TokenAuthority(keyDirectory: mismatch.path) }

        // keys.json naming a key that has no private key.
        let manifest = try Self.makeKeys(["k1"])
        defer { manifest.remove() }
        try SigningKeyFiles.setSigningKey("k7", in: manifest.path)
        #expect(throws: AuthFailure.self) { try TokenAuthority(keyDirectory: manifest.path) }
    }

    @Test("gen-key writes the private key with mode 0600")
    func keyFileModes() throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let privateMode = try FileManager.default.attributesOfItem(atPath: keys.file("k1.pem"))[.posixPermissions]
        #expect(privateMode as? Int == 0o600)
        #expect(throws: AuthFailure.self) { try SigningKeyFiles.generate(in: keys.path, keyID: "k1") }
        #expect(throws: AuthFailure.self) { try SigningKeyFiles.generate(in: keys.path, keyID: "../evil") }
    }

    @Test("concurrent verification from many threads")
    func concurrent() async throws {
        let keys = try Self.makeKeys(["k1"])
        defer { keys.remove() }
        let authority = try TokenAuthority(keyDirectory: keys.path)
        let now = self.now
        let tokens = try (0..<4).map { try authority.issue(subject: "s\($0)", role: .scorer, now: now) }
        await withTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    (0..<200).allSatisfy { _ in (try? authority.verify(tokens[index % 4], now: now).get()) != nil }
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}

extension Result where Failure == AuthFailure {
    /// The failure's code, or `nil` on success.
    var failureCode: AuthFailure.Code? {
        if case .failure(let failure) = self { failure.code } else { nil }
    }
}

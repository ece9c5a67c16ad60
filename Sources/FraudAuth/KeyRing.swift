import Crypto
import Foundation

/// The verification (and signing) keys of one load of the key directory. Immutable; a reload builds a new one.
///
/// Directory layout (see README, "Authentication"):
/// - `<kid>.pem` — an EC P-256 private key (SEC1 `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`): signs and verifies, ES256.
/// - `<kid>.pub.pem` — an EC P-256 public key (`PUBLIC KEY`): verifies only. Next to `<kid>.pem` it must match it.
/// - `keys.json` (optional) — `{"signing_kid": "<kid>"}`: which private key signs new tokens. Without it the
///   private key whose kid sorts last signs (name kids by date, e.g. `2026-11-25`).
///
/// A kid is 1–64 characters of `[A-Za-z0-9_-]`. Other files (and hidden ones) are ignored.
struct KeyRing: Sendable {
    /// One key, with its pinned algorithm (RFC 8725 §3.1: the key decides the algorithm, never the token).
    struct Key: Sendable {
        let id: String
        let publicKey: P256.Signing.PublicKey
        let privateKey: P256.Signing.PrivateKey?
        /// The only `alg` accepted for this key.
        var algorithm: String { "ES256" }
    }

    let keys: [String: Key]
    let signingKeyID: String?
    /// Things an operator should know but that do not stop the load (e.g. a world-readable private key).
    let warnings: [String]

    /// The name of the optional file that chooses the signing key.
    static let manifestName = "keys.json"

    static func isValidKeyID(_ kid: some StringProtocol) -> Bool {
        !kid.isEmpty && kid.utf8.count <= 64
            && kid.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }

    /// Reads every key in `directory`. All or nothing: one unreadable or invalid key file fails the load.
    static func load(directory: String) throws(AuthFailure) -> KeyRing {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw AuthFailure(.configuration, "cannot read key directory \(directory)")
        }
        var privateKeys: [String: P256.Signing.PrivateKey] = [:]
        var publicKeys: [String: P256.Signing.PublicKey] = [:]
        var warnings: [String] = []
        var manifestSigningKeyID: String?
        for name in names where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            if name == manifestName {
                manifestSigningKeyID = try readManifest(path)
                continue
            }
            let isPublic = name.hasSuffix(".pub.pem")
            guard isPublic || name.hasSuffix(".pem") else { continue }
            let kid = String(name.dropLast(isPublic ? 8 : 4))
            guard isValidKeyID(kid) else {
                throw AuthFailure(.configuration, "\(path): key id must be 1-64 characters of [A-Za-z0-9_-]")
            }
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw AuthFailure(.configuration, "cannot read \(path)")
            }
            if isPublic {
                guard let key = try? P256.Signing.PublicKey(pemRepresentation: pem) else {
                    throw AuthFailure(.configuration, "\(path): not an EC P-256 public key (PEM)")
                }
                publicKeys[kid] = key
            } else {
                guard let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
                    throw AuthFailure(.configuration, "\(path): not an EC P-256 private key (PEM)")
                }
                privateKeys[kid] = key
                if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                    let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0
                {
                    warnings.append(
                        "\(path): private key is accessible to group/others (mode \(String(mode, radix: 8)))"
                    )
                }
            }
        }
        var keys: [String: Key] = [:]
        for (kid, privateKey) in privateKeys {
            if let publicKey = publicKeys[kid],
                publicKey.rawRepresentation != privateKey.publicKey.rawRepresentation
            {
                throw AuthFailure(.configuration, "\(directory): \(kid).pub.pem does not match \(kid).pem")
            }
            keys[kid] = Key(id: kid, publicKey: privateKey.publicKey, privateKey: privateKey)
        }
        for (kid, publicKey) in publicKeys where keys[kid] == nil {
            keys[kid] = Key(id: kid, publicKey: publicKey, privateKey: nil)
        }
        guard !keys.isEmpty else {
            throw AuthFailure(.configuration, "no keys (<kid>.pem or <kid>.pub.pem) in \(directory)")
        }
        let signingKeyID: String?
        if let manifestSigningKeyID {
            guard privateKeys[manifestSigningKeyID] != nil else {
                throw AuthFailure(
                    .configuration,
                    "\(directory)/\(manifestName): signing_kid '\(manifestSigningKeyID)' has no private key \(manifestSigningKeyID).pem"
                )
            }
            signingKeyID = manifestSigningKeyID
        } else {
            signingKeyID = privateKeys.keys.max()
        }
        return KeyRing(keys: keys, signingKeyID: signingKeyID, warnings: warnings)
    }

    private struct Manifest: Decodable {
        var signing_kid: String?
    }

    private static func readManifest(_ path: String) throws(AuthFailure) -> String? {
        guard let data = FileManager.default.contents(atPath: path),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else {
            throw AuthFailure(.configuration, "\(path): expected {\"signing_kid\": \"<kid>\"}")
        }
        if let kid = manifest.signing_kid, !isValidKeyID(kid) {
            throw AuthFailure(.configuration, "\(path): signing_kid must be 1-64 characters of [A-Za-z0-9_-]")
        }
        return manifest.signing_kid
    }
}

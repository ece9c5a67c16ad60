import Crypto
import Foundation

/// Creates key files in the layout ``TokenAuthority`` reads (`fraud-ctl auth gen-key`).
public enum SigningKeyFiles {
    /// Generates an EC P-256 key pair and writes `<kid>.pem` (PKCS#8 private key, mode 0600) and
    /// `<kid>.pub.pem` (public key, mode 0644) into `directory` (created with mode 0700 if missing).
    ///
    /// Copy only `<kid>.pub.pem` to servers that verify but must not sign.
    /// - Parameters:
    ///   - directory: The key directory (`--jwt-keys`).
    ///   - keyID: The kid: 1–64 characters of `[A-Za-z0-9_-]`; a date (`2026-11-25`) sorts newest last.
    ///   - replacing: Overwrite existing files of that kid.
    /// - Returns: The paths written (private, public).
    /// - Throws: ``AuthFailure`` `configuration` on a bad kid, an existing file or an I/O error.
    @discardableResult
    public static func generate(
        in directory: String,
        keyID: String,
        replacing: Bool = false
    ) throws(AuthFailure) -> (privateKey: String, publicKey: String) {
        guard KeyRing.isValidKeyID(keyID) else {
            throw AuthFailure(.configuration, "key id must be 1-64 characters of [A-Za-z0-9_-]")
        }
        try FileIO.makeDirectory(directory, mode: 0o700)
        let key = P256.Signing.PrivateKey()
        let privatePath = (directory as NSString).appendingPathComponent("\(keyID).pem")
        let publicPath = (directory as NSString).appendingPathComponent("\(keyID).pub.pem")
        try FileIO.writeFile(
            Array((key.pemRepresentation + "\n").utf8),
            to: privatePath,
            mode: 0o600,
            replacing: replacing
        )
        try FileIO.writeFile(
            Array((key.publicKey.pemRepresentation + "\n").utf8),
            to: publicPath,
            mode: 0o644,
            replacing: replacing
        )
        return (privatePath, publicPath)
    }

    /// Writes `keys.json` choosing the signing key (otherwise the private key whose kid sorts last signs).
    /// - Parameters:
    ///   - keyID: The kid whose `<kid>.pem` should sign.
    ///   - directory: The key directory.
    /// - Throws: ``AuthFailure`` `configuration` on an I/O error.
    public static func setSigningKey(_ keyID: String, in directory: String) throws(AuthFailure) {
        guard KeyRing.isValidKeyID(keyID) else {
            throw AuthFailure(.configuration, "key id must be 1-64 characters of [A-Za-z0-9_-]")
        }
        let path = (directory as NSString).appendingPathComponent(KeyRing.manifestName)
        try FileIO.writeFile(Array("{\"signing_kid\": \"\(keyID)\"}\n".utf8), to: path, mode: 0o644, replacing: true)
    }
}

import Foundation
import Testing

/// The committed protoc-c output must match what `protoc-c` makes from `proto/` today.
@Suite("Generated code")
struct GeneratedCodeTests {
    @Test("Sources/CFraudProto is not stale (make check-proto)")
    func notStale() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/make")
        process.arguments = ["-s", "-C", root.path, "check-proto"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "make check-proto failed:\n\(text)")
    }
}

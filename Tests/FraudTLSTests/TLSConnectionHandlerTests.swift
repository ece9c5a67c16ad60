import Foundation
import FraudTLS
import NIOCore
import NIOEmbedded
import Testing

/// Keeps every buffer that reaches it, as a handler that holds on to its input would.
private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var buffers: [ByteBuffer] = []
    /// Copies of the bytes as they arrived, to tell whether a kept buffer changed afterwards.
    var snapshots: [[UInt8]] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffers.append(buffer)
        snapshots.append(Array(buffer.readableBytesView))
    }

    var received: [UInt8] { buffers.flatMap { Array($0.readableBytesView) } }
}

/// A server and a client TLS handler in two embedded channels; bytes move between them only when asked.
private struct Link {
    let server = EmbeddedChannel()
    let client = EmbeddedChannel()
    let serverInbox = Collector()
    let clientInbox = Collector()
    /// Ciphertext the server wrote, as the channel handed it out (kept, to check it is never overwritten).
    var serverWrites: [(buffer: ByteBuffer, snapshot: [UInt8])] = []

    init(directory: URL) throws {
        let (cert, key) = try makeCertificate(in: directory)
        let serverContext = try TLSContext(
            configuration: TLSConfiguration(certificateChainPath: cert, privateKeyPath: key, applicationProtocols: ["h2"]))
        let clientContext = try TLSClientContext(configuration: TLSClientConfiguration(verifiesServer: false))
        try server.pipeline.syncOperations.addHandlers([serverContext.makeServerHandler(), serverInbox])
        try client.pipeline.syncOperations.addHandlers([
            clientContext.makeClientHandler(serverName: "localhost"), clientInbox,
        ])
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        try pump()
    }

    /// Moves bytes both ways until neither side has anything left to send.
    mutating func pump() throws {
        while true {
            var moved = false
            while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                try server.writeInbound(bytes)
                moved = true
            }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                serverWrites.append((bytes, Array(bytes.readableBytesView)))
                try client.writeInbound(bytes)
                moved = true
            }
            if !moved { return }
        }
    }
}

private func makeCertificate(in directory: URL) throws -> (cert: String, key: String) {
    let cert = directory.appendingPathComponent("server.pem").path
    let key = directory.appendingPathComponent("server.key").path
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
    ]
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return (cert, key)
}

private func pattern(_ count: Int, seed: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
}

@Suite("TLS connection handler (in memory)")
struct TLSConnectionHandlerTests {
    @Test("reads and flushes of every size arrive intact; buffers handed on are never reused while held")
    func buffersHandedOnStayIntact() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraud-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var link = try Link(directory: directory)

        // Sizes below, at and above the largest buffer kept for reuse; each direction, one flush each.
        var sentToServer: [UInt8] = []
        var sentToClient: [UInt8] = []
        for (round, size) in [1, 100, 5_000, 16_384, 32_768, 40_000, 70_000, 200, 3].enumerated() {
            let request = pattern(size, seed: round)
            try link.client.writeAndFlush(link.client.allocator.buffer(bytes: request)).wait()
            sentToServer += request
            try link.pump()
            let answer = pattern(size + 7, seed: 100 + round)
            // Two writes coalesced into one flush.
            link.server.write(link.server.allocator.buffer(bytes: answer.prefix(3)), promise: nil)
            link.server.writeAndFlush(link.server.allocator.buffer(bytes: answer.dropFirst(3)), promise: nil)
            sentToClient += answer
            try link.pump()
        }
        #expect(link.serverInbox.received == sentToServer)
        #expect(link.clientInbox.received == sentToClient)
        // Every buffer the server passed on or wrote still holds what it held when it was handed over.
        #expect(link.serverInbox.buffers.map { Array($0.readableBytesView) } == link.serverInbox.snapshots)
        #expect(link.serverWrites.allSatisfy { Array($0.buffer.readableBytesView) == $0.snapshot })
        #expect(link.serverInbox.buffers.count >= 9)
    }

    @Test("a connection that lets go of its buffers gets the same bytes through reused ones")
    func reusedBuffers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraud-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var link = try Link(directory: directory)
        var received: [UInt8] = []
        var sent: [UInt8] = []
        for round in 0..<20 {
            let request = pattern(300 + round * 97, seed: round)
            sent += request
            try link.client.writeAndFlush(link.client.allocator.buffer(bytes: request)).wait()
            try link.pump()
            // Let go of what arrived, so the handler's buffer is unique again for the next read.
            received += link.serverInbox.received
            link.serverInbox.buffers.removeAll()
            link.serverWrites.removeAll()
            link.server.writeAndFlush(link.server.allocator.buffer(bytes: request.reversed()), promise: nil)
            try link.pump()
        }
        #expect(received == sent)
        #expect(link.clientInbox.received == (0..<20).flatMap { pattern(300 + $0 * 97, seed: $0).reversed() })
    }
}

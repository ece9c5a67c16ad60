import NIOCore
import Synchronization

/// The open connections of a server, so a drain or a health change can reach each on its own event loop.
final class ConnectionRegistry: Sendable {
    private let connections = Mutex<[ObjectIdentifier: NIOLoopBound<GRPCConnectionHandler>]>([:])
    private let draining = Atomic<Bool>(false)
    let drainNoticeMilliseconds: Int64

    init(drainNoticeMilliseconds: Int64) {
        self.drainNoticeMilliseconds = drainNoticeMilliseconds
    }

    var isDraining: Bool { draining.load(ordering: .acquiring) }
    var count: Int { connections.withLock { $0.count } }

    func add(_ id: ObjectIdentifier, _ handler: NIOLoopBound<GRPCConnectionHandler>) {
        connections.withLock { $0[id] = handler }
    }

    func remove(_ id: ObjectIdentifier) {
        _ = connections.withLock { $0.removeValue(forKey: id) }
    }

    /// Starts draining every connection (each on its own loop). New connections drain as they arrive.
    func drainAll() {
        draining.store(true, ordering: .releasing)
        forEach { $0.beginDrain() }
    }

    /// Runs `body` on each connection's event loop.
    func forEach(_ body: @escaping @Sendable (GRPCConnectionHandler) -> Void) {
        let handlers = connections.withLock { Array($0.values) }
        for handler in handlers {
            handler.eventLoop.execute { body(handler.value) }
        }
    }
}

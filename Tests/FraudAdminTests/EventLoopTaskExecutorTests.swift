import Dispatch
import NIOCore
import NIOPosix
import Testing

@testable import FraudAdmin

@Suite("EventLoopTaskExecutor")
struct EventLoopTaskExecutorTests {
    @Test("A task preferring the executor runs on its event loop, also after suspensions")
    func runsOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopTaskExecutor(eventLoop: loop)
        let onLoop = await Task(executorPreference: executor) { () -> [Bool] in
            var seen = [loop.inEventLoop]
            await Task.yield()
            seen.append(loop.inEventLoop)
            // A continuation resumed from another thread comes back to the loop.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { continuation.resume() }
            }
            seen.append(loop.inEventLoop)
            return seen
        }.value
        #expect(onLoop == [true, true, true])
        #expect(!loop.inEventLoop)
        try await group.shutdownGracefully()
    }
}

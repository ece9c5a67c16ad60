import Dispatch
import Foundation

/// Runs `body(index)` on `count` dedicated OS threads at once and waits for all of them.
///
/// Dedicated threads rather than `DispatchQueue.concurrentPerform` or the global queue, which on a small
/// machine may run the blocks one or two at a time and so never race.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

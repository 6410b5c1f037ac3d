import Store
import Synchronization

/// Opens once a number of parties have arrived, so that tests wait on facts instead of sleeping.
///
/// Children use one to exit only once all of them have been asked to stop, which proves the
/// stops were requested concurrently: stopped one at a time, the first child would wait for the
/// others until its timeout cancelled it. ``TestChildren`` uses one per incarnation to tell a
/// test that the child's `run()` has begun.
final class Barrier: Sendable {
    private struct State {
        var remaining: Int
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiterID = 0
    }

    private let state: Locked<State>

    /// Creates a barrier that opens after `parties` calls to ``arrive()``.
    init(parties: Int) {
        self.state = Locked(State(remaining: parties))
    }

    /// Counts one party in and opens the barrier after the last one.
    func arrive() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.remaining -= 1
            guard state.remaining <= 0 else {
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.resume(returning: true)
        }
    }

    /// Waits until the barrier opens.
    ///
    /// - Returns: `true` once open, `false` if the waiting task was cancelled first.
    func wait() async -> Bool {
        let id = self.state.withLock { state -> Int in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = self.state.withLock { state -> Bool? in
                    if state.remaining <= 0 {
                        return true
                    }
                    if Task.isCancelled {
                        return false
                    }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: false)
        }
    }
}

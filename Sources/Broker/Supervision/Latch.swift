import Store
import Synchronization

/// A value set once and awaited by any number of tasks, so that a supervisor can wait for a
/// child's exit and a child task can wait for its kill signal.
///
/// Waiting is cancellation-aware: a cancelled waiter returns `nil` instead of hanging.
final class Latch<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
        var nextWaiterID = 0
    }

    private let state = Locked(State())

    /// Creates an unset latch.
    init() {}

    /// Whether ``fulfill(_:)`` has been called.
    var isFulfilled: Bool {
        self.state.withLock { $0.value != nil }
    }

    /// Sets the value and wakes every waiter; only the first call has an effect.
    func fulfill(_ value: Value) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard state.value == nil else {
                return []
            }
            state.value = value
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.resume(returning: value)
        }
    }

    /// Waits for the value.
    ///
    /// - Returns: The value, or `nil` if the waiting task was cancelled first.
    func wait() async -> Value? {
        let id = self.state.withLock { state -> Int in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let immediate = self.state.withLock { state -> Value?? in
                    if let value = state.value {
                        return .some(value)
                    }
                    // The cancellation handler may have run before this waiter was registered.
                    if Task.isCancelled {
                        return .some(nil)
                    }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}

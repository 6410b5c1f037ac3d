import Store
import Synchronization

/// A flag that can be read without a hop and waited for: the ``ClusterBridge``'s "the channel is listening",
/// which a `room:chat` join waits for (briefly) right after start or while the channel reconnects, instead of
/// polling it.
///
/// It owns only its waiters' continuations; each wait ends when the flag is set, on its timeout, or when its
/// task is cancelled.
final class ReadinessSignal: Sendable {
    private struct State {
        var isReady = false
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Locked(State())

    /// A signal that is not set.
    init() {}

    /// Whether the flag is set.
    var isReady: Bool { state.withLock { $0.isReady } }

    /// Sets or clears the flag; setting it ends every wait.
    func set(_ ready: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.isReady = ready
            guard ready else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Waits until the flag is set, at most `timeout`.
    /// - Returns: whether it is set (`false` on timeout or cancellation).
    func wait(timeout: Duration) async -> Bool {
        if isReady { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitUntilSet() }
            group.addTask {
                try? await Task.sleep(for: timeout)  // a deadline, not a poll: the other child ends first when set
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Waits until the flag is set; `false` when the task is cancelled first.
    private func waitUntilSet() async -> Bool {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let settled = state.withLock { state -> Bool? in
                    if state.isReady { return true }
                    if Task.isCancelled { return false }
                    state.waiters[id] = continuation
                    return nil
                }
                if let settled { continuation.resume(returning: settled) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: false)
        }
    }
}

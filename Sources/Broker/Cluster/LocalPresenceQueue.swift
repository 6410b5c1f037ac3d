import DequeModule
import Store
import Synchronization

/// This node's users coming online and going offline, in the order the ``UserDirectory`` decided them, for the
/// ``ClusterBridge`` to announce.
///
/// A plain locked queue rather than a call into the bridge: the directory pushes from inside its own
/// serialized attach and detach without suspending, so a user's online and offline can never be reordered by
/// actor reentrancy on the way.
package final class LocalPresenceQueue: Sendable {
    /// One change of a user's presence on this node.
    package enum Change: Sendable {
        /// The user's first socket joined.
        case online(UserID, Timestamp)
        /// The user's last socket left.
        case offline(UserID)
    }

    private struct State {
        var changes = Deque<Change>()
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    /// An empty queue.
    package init() {}

    /// Appends a change; never blocks.
    func push(_ change: Change) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.changes.append(change)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Everything queued, waiting for at least one change; empty when the task is cancelled.
    func next() async -> [Change] {
        while !Task.isCancelled {
            let taken = state.withLock { state -> [Change] in
                defer { state.changes.removeAll() }
                return Array(state.changes)
            }
            if !taken.isEmpty { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if !state.changes.isEmpty || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
        return []
    }
}

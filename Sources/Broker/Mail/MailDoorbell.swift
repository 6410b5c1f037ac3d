import Store
import Synchronization

/// Wakes the Mailer when a mail was written, so that it can wait for the next due attempt instead of
/// polling: registration rings it after the user and its welcome mail committed.
///
/// One waiter at a time (the running Mailer). A ring with nobody waiting is kept, so a mail written while the
/// Mailer was busy is seen at its next wait. The broker's root owns it; it outlives Mailer restarts.
package final class MailDoorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Locked(State())

    /// Creates a doorbell nobody rang yet.
    package init() {}

    /// Wakes the waiter, or the next one.
    package func ring() {
        let waiter = state.withLock { state in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil as CheckedContinuation<Void, Never>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when the bell rings (at once if it rang since the last wait), when `timeout` passed, or when
    /// the task is cancelled, whichever comes first.
    package func wait(for timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    // Cancelled before the handler could see a waiter: it found none to resume, so resume here.
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

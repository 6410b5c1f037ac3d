import Store
import Synchronization

/// Lookups of the ``ConversationDirectory`` waiting for a conversation's entry to change (its crashed actor
/// replaced by its supervisor's restart, or forgotten), so that they wait on that event instead of polling.
///
/// A lookup takes a ticket inside the directory's isolation, before it suspends, so a change that happens in
/// between is not missed. It owns only the waiting continuations; each wait ends on a change, at its deadline,
/// or when its task is cancelled.
final class EntryChanges<Key: Hashable & Sendable>: Sendable {
    /// One registered wait.
    struct Ticket: Sendable {
        fileprivate var key: Key
        fileprivate var id: UInt64
    }

    private enum Waiter {
        case registered
        case changed
        case waiting(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var waiters: [Key: [UInt64: Waiter]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Locked(State())

    /// No waits.
    init() {}

    /// Registers a wait for the next change of `key`'s entry.
    func ticket(for key: Key) -> Ticket {
        state.withLock { state in
            defer { state.nextID += 1 }
            state.waiters[key, default: [:]][state.nextID] = .registered
            return Ticket(key: key, id: state.nextID)
        }
    }

    /// Ends the waits for `key`, or every wait when `key` is `nil`.
    func changed(_ key: Key?) {
        let resumed = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let keys = key.map { [$0] } ?? Array(state.waiters.keys)
            var resumed: [CheckedContinuation<Void, Never>] = []
            for key in keys {
                for (id, waiter) in state.waiters[key] ?? [:] {
                    if case .waiting(let continuation) = waiter {
                        resumed.append(continuation)
                        state.waiters[key]?.removeValue(forKey: id)
                    } else {
                        state.waiters[key]?[id] = .changed
                    }
                }
            }
            return resumed
        }
        for continuation in resumed { continuation.resume() }
    }

    /// Waits until the ticket's entry changed, or until `deadline`.
    func wait(_ ticket: Ticket, until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(ticket) }
            group.addTask { try? await Task.sleep(until: deadline) }  // a deadline, not a poll
            await group.next()
            group.cancelAll()
        }
        _ = state.withLock { $0.waiters[ticket.key]?.removeValue(forKey: ticket.id) }
    }

    private func waitForChange(_ ticket: Ticket) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Bool in
                    guard case .registered = state.waiters[ticket.key]?[ticket.id], !Task.isCancelled else { return true }
                    state.waiters[ticket.key]?[ticket.id] = .waiting(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters[ticket.key]?.removeValue(forKey: ticket.id) }
            if case .waiting(let continuation) = waiter { continuation.resume() }
        }
    }
}

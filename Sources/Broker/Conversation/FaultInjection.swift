import Store
import Synchronization

/// Test hook: makes the next batch of chosen conversations fail as a crash would, so tests can prove that the
/// supervisor restarts the actor and the next message goes through. Absent in production wiring.
package final class FaultInjection: Sendable {
    private let armed = Locked<[ConversationID: Int]>([:])

    /// No faults armed.
    package init() {}

    /// Makes the next `count` batches of `conversation` crash.
    package func crashNext(_ count: Int = 1, in conversation: ConversationID) {
        armed.withLock { $0[conversation, default: 0] += count }
    }

    /// Throws if a crash is armed for this conversation.
    func check(conversation: ConversationID) throws {
        let fire = armed.withLock { armed -> Bool in
            guard let left = armed[conversation], left > 0 else { return false }
            armed[conversation] = left - 1
            return true
        }
        if fire { throw InjectedCrash() }
    }

    /// The error of an injected crash.
    package struct InjectedCrash: Error, Sendable {}
}

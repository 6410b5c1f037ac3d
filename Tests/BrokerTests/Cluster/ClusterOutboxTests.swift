@testable import Broker
import Testing

/// The publisher's queue as a pure state machine: order, merging, bounds, failures, stopping.
@Suite(.timeLimit(.minutes(1)))
struct ClusterOutboxTests {
    func event(_ kind: ClusterEvent.Kind, _ users: [[Int64]]? = nil) -> ClusterEvent {
        var event = ClusterEvent(kind, origin: "aaaa")
        event.u = users
        return event
    }

    @Test func publishesOldestFirstAndWaitsWhenEmpty() {
        var outbox = ClusterOutbox()
        #expect(outbox.next() == .wait)
        #expect(outbox.enqueue(event(.hello)) == .queued)
        #expect(outbox.enqueue(event(.state)) == .queued)
        #expect(outbox.next() == .publish(event(.hello), attempts: 0))
        #expect(outbox.next() == .publish(event(.state), attempts: 0))
        #expect(outbox.next() == .wait)
    }

    @Test func mergesRunsOfOnlineOrOfflineUpToTheLimit() {
        var outbox = ClusterOutbox(maxMergedUsers: 2)
        for user in 1...3 { _ = outbox.enqueue(event(.online, [[Int64(user), 0]])) }
        _ = outbox.enqueue(event(.offline, [[4]]))
        _ = outbox.enqueue(event(.offline, [[5]]))
        #expect(outbox.next() == .publish(event(.online, [[1, 0], [2, 0]]), attempts: 0))
        #expect(outbox.next() == .publish(event(.online, [[3, 0]]), attempts: 0))
        #expect(outbox.next() == .publish(event(.offline, [[4], [5]]), attempts: 0))
    }

    @Test func aFullOutboxStartsOverAndThePresenceMustGoAgain() {
        var outbox = ClusterOutbox(capacity: 2)
        #expect(outbox.enqueue(event(.topic)) == .queued)
        #expect(outbox.enqueue(event(.topic)) == .queued)
        #expect(outbox.enqueue(event(.hello)) == .overflowed)
        #expect(outbox.count == 1)
        #expect(outbox.next() == .publish(event(.hello), attempts: 0))
    }

    @Test func aLostLogoutIsTriedAgainFirstUpToItsAttempts() {
        var outbox = ClusterOutbox(maxLogoutAttempts: 2)
        _ = outbox.enqueue(event(.logout))
        _ = outbox.enqueue(event(.topic))
        guard case .publish(let logout, let attempts) = outbox.next() else {
            Issue.record("expected the logout")
            return
        }
        #expect(outbox.failed(logout, attempts: attempts) == .retry)
        #expect(outbox.next() == .publish(event(.logout), attempts: 1))
        #expect(outbox.failed(logout, attempts: 1) == .presenceLost)  // as before the split: the state goes again
        #expect(outbox.next() == .publish(event(.topic), attempts: 0))
    }

    @Test func lostTopicEventsAreDroppedAndLostPresenceIsResent() {
        var outbox = ClusterOutbox()
        #expect(outbox.failed(event(.topic), attempts: 0) == .dropped)
        #expect(outbox.failed(event(.online, [[1, 0]]), attempts: 0) == .presenceLost)
        #expect(outbox.failed(event(.state), attempts: 0) == .presenceLost)
        #expect(outbox.next() == .wait)
    }

    @Test func stoppingDrainsWhatIsQueuedThenFinishes() {
        var outbox = ClusterOutbox()
        _ = outbox.enqueue(event(.offline, [[1]]))
        outbox.stop()
        #expect(outbox.enqueue(event(.online, [[2, 0]])) == .refused)
        #expect(outbox.next() == .publish(event(.offline, [[1]]), attempts: 0))
        #expect(outbox.next() == .finished)
        outbox.restart()
        #expect(outbox.next() == .wait)
        #expect(outbox.enqueue(event(.hello)) == .queued)
    }
}

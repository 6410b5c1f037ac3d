import Testing

@testable import Broker

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
        let next = outbox.next()
        #expect(next == .wait)
        let enqueued = outbox.enqueue(event(.hello))
        #expect(enqueued == .queued)
        let enqueued2 = outbox.enqueue(event(.state))
        #expect(enqueued2 == .queued)
        let next2 = outbox.next()
        #expect(next2 == .publish(event(.hello), attempts: 0))
        let next3 = outbox.next()
        #expect(next3 == .publish(event(.state), attempts: 0))
        let next4 = outbox.next()
        #expect(next4 == .wait)
    }

    @Test func mergesRunsOfOnlineOrOfflineUpToTheLimit() {
        var outbox = ClusterOutbox(maxMergedUsers: 2)
        for user in 1...3 { _ = outbox.enqueue(event(.online, [[Int64(user), 0]])) }
        _ = outbox.enqueue(event(.offline, [[4]]))
        _ = outbox.enqueue(event(.offline, [[5]]))
        let next = outbox.next()
        #expect(next == .publish(event(.online, [[1, 0], [2, 0]]), attempts: 0))
        let next2 = outbox.next()
        #expect(next2 == .publish(event(.online, [[3, 0]]), attempts: 0))
        let next3 = outbox.next()
        #expect(next3 == .publish(event(.offline, [[4], [5]]), attempts: 0))
    }

    @Test func aFullOutboxStartsOverAndThePresenceMustGoAgain() {
        var outbox = ClusterOutbox(capacity: 2)
        let enqueued = outbox.enqueue(event(.topic))
        #expect(enqueued == .queued)
        let enqueued2 = outbox.enqueue(event(.topic))
        #expect(enqueued2 == .queued)
        let enqueued3 = outbox.enqueue(event(.hello))
        #expect(enqueued3 == .overflowed)
        #expect(outbox.count == 1)
        let next = outbox.next()
        #expect(next == .publish(event(.hello), attempts: 0))
    }

    @Test func aLostLogoutIsTriedAgainFirstUpToItsAttempts() {
        var outbox = ClusterOutbox(maxLogoutAttempts: 2)
        _ = outbox.enqueue(event(.logout))
        _ = outbox.enqueue(event(.topic))
        guard case .publish(let logout, let attempts) = outbox.next() else {
            Issue.record("expected the logout")
            return
        }
        let failure = outbox.failed(logout, attempts: attempts)
        #expect(failure == .retry)
        let next = outbox.next()
        #expect(next == .publish(event(.logout), attempts: 1))
        let failure2 = outbox.failed(logout, attempts: 1)
        #expect(failure2 == .presenceLost)  // as before the split: the state goes again
        let next2 = outbox.next()
        #expect(next2 == .publish(event(.topic), attempts: 0))
    }

    @Test func lostTopicEventsAreDroppedAndLostPresenceIsResent() {
        var outbox = ClusterOutbox()
        let failure = outbox.failed(event(.topic), attempts: 0)
        #expect(failure == .dropped)
        let failure2 = outbox.failed(event(.online, [[1, 0]]), attempts: 0)
        #expect(failure2 == .presenceLost)
        let failure3 = outbox.failed(event(.state), attempts: 0)
        #expect(failure3 == .presenceLost)
        let next = outbox.next()
        #expect(next == .wait)
    }

    @Test func stoppingDrainsWhatIsQueuedThenFinishes() {
        var outbox = ClusterOutbox()
        _ = outbox.enqueue(event(.offline, [[1]]))
        outbox.stop()
        let enqueued = outbox.enqueue(event(.online, [[2, 0]]))
        #expect(enqueued == .refused)
        let next = outbox.next()
        #expect(next == .publish(event(.offline, [[1]]), attempts: 0))
        let next2 = outbox.next()
        #expect(next2 == .finished)
        outbox.restart()
        let next3 = outbox.next()
        #expect(next3 == .wait)
        let enqueued2 = outbox.enqueue(event(.hello))
        #expect(enqueued2 == .queued)
    }
}

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
        let result1 = outbox.next()
        #expect(result1 == .wait)
        let result2 = outbox.enqueue(event(.hello))
        #expect(result2 == .queued)
        let result3 = outbox.enqueue(event(.state))
        #expect(result3 == .queued)
        let result4 = outbox.next()
        #expect(result4 == .publish(event(.hello), attempts: 0))
        let result5 = outbox.next()
        #expect(result5 == .publish(event(.state), attempts: 0))
        let result6 = outbox.next()
        #expect(result6 == .wait)
    }

    @Test func mergesRunsOfOnlineOrOfflineUpToTheLimit() {
        var outbox = ClusterOutbox(maxMergedUsers: 2)
        for user in 1...3 { _ = outbox.enqueue(event(.online, [[Int64(user), 0]])) }
        _ = outbox.enqueue(event(.offline, [[4]]))
        _ = outbox.enqueue(event(.offline, [[5]]))
        let result7 = outbox.next()
        #expect(result7 == .publish(event(.online, [[1, 0], [2, 0]]), attempts: 0))
        let result8 = outbox.next()
        #expect(result8 == .publish(event(.online, [[3, 0]]), attempts: 0))
        let result9 = outbox.next()
        #expect(result9 == .publish(event(.offline, [[4], [5]]), attempts: 0))
    }

    @Test func aFullOutboxStartsOverAndThePresenceMustGoAgain() {
        var outbox = ClusterOutbox(capacity: 2)
        let result10 = outbox.enqueue(event(.topic))
        #expect(result10 == .queued)
        let result11 = outbox.enqueue(event(.topic))
        #expect(result11 == .queued)
        let result12 = outbox.enqueue(event(.hello))
        #expect(result12 == .overflowed)
        #expect(outbox.count == 1)
        let result13 = outbox.next()
        #expect(result13 == .publish(event(.hello), attempts: 0))
    }

    @Test func aLostLogoutIsTriedAgainFirstUpToItsAttempts() {
        var outbox = ClusterOutbox(maxLogoutAttempts: 2)
        _ = outbox.enqueue(event(.logout))
        _ = outbox.enqueue(event(.topic))
        guard case .publish(let logout, let attempts) = outbox.next() else {
            Issue.record("expected the logout")
            return
        }
        let result14 = outbox.failed(logout, attempts: attempts)
        #expect(result14 == .retry)
        let result15 = outbox.next()
        #expect(result15 == .publish(event(.logout), attempts: 1))
        let result16 = outbox.failed(logout, attempts: 1)
        #expect(result16 == .presenceLost)  // as before the split: the state goes again
        let result17 = outbox.next()
        #expect(result17 == .publish(event(.topic), attempts: 0))
    }

    @Test func lostTopicEventsAreDroppedAndLostPresenceIsResent() {
        var outbox = ClusterOutbox()
        let result18 = outbox.failed(event(.topic), attempts: 0)
        #expect(result18 == .dropped)
        let result19 = outbox.failed(event(.online, [[1, 0]]), attempts: 0)
        #expect(result19 == .presenceLost)
        let result20 = outbox.failed(event(.state), attempts: 0)
        #expect(result20 == .presenceLost)
        let result21 = outbox.next()
        #expect(result21 == .wait)
    }

    @Test func stoppingDrainsWhatIsQueuedThenFinishes() {
        var outbox = ClusterOutbox()
        _ = outbox.enqueue(event(.offline, [[1]]))
        outbox.stop()
        let result22 = outbox.enqueue(event(.online, [[2, 0]]))
        #expect(result22 == .refused)
        let result23 = outbox.next()
        #expect(result23 == .publish(event(.offline, [[1]]), attempts: 0))
        let result24 = outbox.next()
        #expect(result24 == .finished)
        outbox.restart()
        let result25 = outbox.next()
        #expect(result25 == .wait)
        let result26 = outbox.enqueue(event(.hello))
        #expect(result26 == .queued)
    }
}

import Store
import Synchronization
import Testing

@testable import Broker

/// The feed cursor as a pure state machine: dedup, catch-up paging, senders waiting for the feed.
@Suite(.timeLimit(.minutes(1)))
struct FeedCursorTests {
    typealias Cursor = FeedCursor<TestClock.Instant>

    let clock = TestClock()

    func feed(_ id: Int64, socket: UInt64 = 0) -> FeedMessage {
        FeedMessage(
            id: MessageID(id),
            conversationID: ConversationID(1),
            senderID: UserID(1),
            recipientID: UserID(2),
            message: nil,
            originSocket: socket
        )
    }

    /// Counts how often the waits it makes ran.
    final class Runs: Sendable {
        private let count = Locked(0)
        var value: Int { count.withLock { $0 } }
        var waiter: @Sendable () -> Void { { self.count.withLock { $0 += 1 } } }
    }

    func listening(at id: Int64) -> Cursor {
        var cursor = Cursor()
        cursor.skip(to: MessageID(id))
        cursor.channelUp()
        return cursor
    }

    @Test func deliversEachMessageOnceInOrder() {
        var cursor = listening(at: 10)
        #expect(cursor.fresh([feed(9), feed(10), feed(11), feed(12)]).map(\.id) == [MessageID(11), MessageID(12)])
        cursor.advance(to: MessageID(12))
        #expect(cursor.fresh([feed(11), feed(12)]).isEmpty)  // read back by catch-up, then notified again
        #expect(cursor.fresh([feed(12), feed(13)]).map(\.id) == [MessageID(13)])
        cursor.advance(to: MessageID(11))  // never backwards
        #expect(cursor.lastDelivered == MessageID(12))
    }

    @Test func catchUpReadsPagesUntilAShortOne() {
        var catchUp = Cursor.CatchUp(after: MessageID(100), pageSize: 3, limit: 100)
        #expect(catchUp.step == .read(after: MessageID(100)))
        catchUp.record([feed(101), feed(102), feed(103)])
        #expect(catchUp.step == .read(after: MessageID(103)))
        catchUp.record([feed(104)])
        #expect(catchUp.step == .done)
        #expect(catchUp.replayed == 4)
        var empty = Cursor.CatchUp(after: MessageID(5), pageSize: 3, limit: 100)
        empty.record([])
        #expect(empty.step == .done)
    }

    @Test func catchUpStopsPastTheLimit() {
        var catchUp = Cursor.CatchUp(after: MessageID(0), pageSize: 2, limit: 4)
        catchUp.record([feed(1), feed(2)])
        #expect(catchUp.step == .read(after: MessageID(2)))
        catchUp.record([feed(3), feed(4)])
        #expect(catchUp.step == .tooFar)
    }

    @Test func theSendingSocketIsLeftOutByTheFeedOrByMemory() {
        var cursor = listening(at: 0)
        let runs = Runs()
        let waiting = cursor.wait(for: [(MessageID(1), SocketID(rawValue: 7))], since: clock.now, then: runs.waiter)
        #expect(waiting)
        #expect(cursor.sendingSocket(of: feed(1, socket: 3), fromThisNode: true) == SocketID(rawValue: 3))  // the feed says
        #expect(cursor.sendingSocket(of: feed(1), fromThisNode: true) == SocketID(rawValue: 7))  // catch-up: remembered
        #expect(cursor.sendingSocket(of: feed(1, socket: 3), fromThisNode: false) == SocketID(rawValue: 7))
        #expect(cursor.sendingSocket(of: feed(2), fromThisNode: false) == nil)
    }

    @Test func aSenderWaitsUntilItsMessageWasDelivered() {
        var cursor = listening(at: 10)
        let runs = Runs()
        let batch: [(id: MessageID, socket: SocketID?)] = [(MessageID(11), nil), (MessageID(13), nil)]
        let waiting = cursor.wait(for: batch, since: clock.now, then: runs.waiter)
        #expect(waiting)
        cursor.advance(to: MessageID(12))
        let tooEarly = cursor.releaseDelivered()
        #expect(tooEarly.isEmpty)
        cursor.advance(to: MessageID(13))
        let released = cursor.releaseDelivered()
        #expect(released.count == 1)
        for release in released { release() }
        #expect(runs.value == 1)
        #expect(cursor.waitingCount == 0)
    }

    @Test func nothingToWaitForWhenDeliveredAlreadyOrTheChannelIsDown() {
        var cursor = listening(at: 10)
        let runs = Runs()
        let waiting = cursor.wait(for: [(MessageID(10), nil)], since: clock.now, then: runs.waiter)
        #expect(!waiting)
        var down = Cursor()
        let waiting2 = down.wait(for: [(MessageID(1), nil)], since: clock.now, then: runs.waiter)
        #expect(!waiting2)  // never listened
        let waiting3 = cursor.wait(for: [(MessageID(11), nil)], since: clock.now, then: runs.waiter)
        #expect(waiting3)
        let ended = cursor.channelDown()
        #expect(ended.count == 1)  // an outage ends every wait
        let waiting4 = cursor.wait(for: [(MessageID(12), nil)], since: clock.now, then: runs.waiter)
        #expect(!waiting4)
    }

    @Test func aWaitEndsAfterTheTimeoutAtTheLatest() {
        var cursor = listening(at: 10)
        let runs = Runs()
        let start = clock.now
        let waiting = cursor.wait(for: [(MessageID(20), nil)], since: start, then: runs.waiter)
        #expect(waiting)
        clock.advance(by: .seconds(2))
        let waiting2 = cursor.wait(for: [(MessageID(21), nil)], since: clock.now, then: runs.waiter)
        #expect(waiting2)
        let expired = cursor.expireWaiters(olderThan: start)
        #expect(expired.isEmpty)
        let expired2 = cursor.expireWaiters(olderThan: start.advanced(by: .seconds(1)))
        #expect(expired2.count == 1)
        #expect(cursor.waitingCount == 1)
    }

    @Test func remembersAtMostTheCapacityOfSendingSockets() {
        var cursor = listening(at: 0)
        let runs = Runs()
        let count = Cursor.originCapacity + 1
        let batch = (1...count).map { (id: MessageID(Int64($0)), socket: Optional(SocketID(rawValue: UInt64($0)))) }
        _ = cursor.wait(for: batch, since: clock.now, then: runs.waiter)
        #expect(cursor.sendingSocket(of: feed(1), fromThisNode: false) == nil)  // the oldest was forgotten
        #expect(cursor.sendingSocket(of: feed(Int64(count)), fromThisNode: false) == SocketID(rawValue: UInt64(count)))
    }
}

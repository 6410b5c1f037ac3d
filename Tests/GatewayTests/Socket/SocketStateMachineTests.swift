import NIOCore
import NIOWebSocket
import Testing

@testable import Gateway
@testable import Store

/// A joined topic for the join table's tests.
struct TestJoin: Joined, Equatable {
    var joinRef: String?
}

/// The drain step as text, to compare whole sequences of steps.
func label<Item>(_ step: OutboundQueue<Item, Int>.DrainStep) -> String {
    switch step {
    case .write(let item): "write \(item)"
    case .close(let code, let reason, let peerClosed): "close \(code) \(reason)\(peerClosed ? " after peer" : "")"
    case .stop: "stop"
    }
}

/// Drains `steps` steps.
func drain<Item>(_ queue: inout OutboundQueue<Item, Int>, steps: Int, writable: Bool = true) -> [String] {
    (0..<steps).map { _ in label(queue.nextDrainStep(writable: writable)) }
}

/// The socket's outbound queue, driven step by step with a fake clock (plain integers as instants).
struct OutboundQueueTests {
    @Test func theFirstItemSchedulesADrainAndTheNextJoinIt() {
        var queue = OutboundQueue<String, Int>(limit: 3)
        let first = [queue.enqueue("a"), queue.enqueue("b")]
        #expect(first == [.scheduleDrain, .queued])
        let steps = drain(&queue, steps: 3)
        #expect(steps == ["write a", "write b", "stop"])
        let again = queue.enqueue("c")
        #expect(again == .scheduleDrain, "a drain that stopped must be scheduled again")
    }

    @Test func aFullQueueRefusesAndAClosingOneDrops() {
        var queue = OutboundQueue<Int, Int>(limit: 2)
        let queued = [queue.enqueue(1), queue.enqueue(2), queue.enqueue(3)]
        #expect(queued == [.scheduleDrain, .queued, .full])
        let closes = [
            queue.requestClose(code: .unknown(1013), reason: "full", at: 5),
            queue.requestClose(code: .normalClosure, reason: "", at: 6),
        ]
        #expect(closes == [.recorded, .ignored])
        #expect(queue.closeRequestedAt == 5)
        let late = queue.enqueue(4)
        #expect(late == .refused)
        #expect(queue.isClosing)
    }

    @Test func theCloseFrameGoesAfterTheQueueAndOnlyOnce() {
        var queue = OutboundQueue<Int, Int>(limit: 8)
        _ = queue.enqueue(1)
        _ = queue.requestClose(code: .goingAway, reason: "idle", at: 1)
        let steps = drain(&queue, steps: 3)
        #expect(steps == ["write 1", "close \(WebSocketErrorCode.goingAway) idle", "stop"])
    }

    @Test func anUnwritableChannelStopsTheDrainUntilWritableAgain() {
        var queue = OutboundQueue<Int, Int>(limit: 8)
        _ = queue.enqueue(1)
        let blocked = drain(&queue, steps: 1, writable: false)
        #expect(blocked == ["stop"])
        let second = queue.enqueue(2)
        #expect(second == .scheduleDrain)
        _ = drain(&queue, steps: 1, writable: false)
        let resumed = [queue.writabilityResumed(), queue.writabilityResumed()]
        #expect(resumed == [true, false], "one drain at a time")
        let steps = drain(&queue, steps: 3)
        #expect(steps == ["write 1", "write 2", "stop"])
    }

    @Test func thePeersCloseIsEchoedOnceAndDropsWhatWaits() {
        var queue = OutboundQueue<Int, Int>(limit: 8)
        _ = queue.enqueue(1)
        let echoes = [queue.peerClosed(reply: .normalClosure, at: 7), queue.peerClosed(reply: .normalClosure, at: 8)]
        #expect(echoes == [true, false], "echoed once")
        #expect(queue.count == 0 && queue.isClosing && queue.closeRequestedAt == 7)

        var closing = OutboundQueue<Int, Int>(limit: 8)
        _ = closing.requestClose(code: .policyViolation, reason: "token revoked", at: 1)
        _ = drain(&closing, steps: 1)
        let echo = closing.peerClosed(reply: .normalClosure, at: 2)
        #expect(!echo, "our close frame already went: no echo")
    }

    @Test func aClosedChannelEmptiesTheQueue() {
        var queue = OutboundQueue<Int, Int>(limit: 8)
        _ = queue.enqueue(1)
        queue.closed()
        let steps = drain(&queue, steps: 1)
        let late = queue.enqueue(2)
        let resumed = queue.writabilityResumed()
        #expect(steps == ["stop"] && queue.count == 0 && late == .refused && !resumed)
    }

    @Test func roomIsCountedBelowAThresholdUnlessClosing() {
        var queue = OutboundQueue<Int, Int>(limit: 8)
        for item in 0..<4 { _ = queue.enqueue(item) }
        #expect(!queue.hasRoom(below: 4))
        #expect(queue.hasRoom(below: 5))
        _ = queue.requestClose(code: .goingAway, reason: "", at: 0)
        #expect(queue.hasRoom(below: 4), "a closing socket never keeps its reader waiting")
    }
}

/// The socket's inbound queue.
struct InboundQueueTests {
    typealias Queue = InboundQueue<String>

    /// What the serving task takes, as text.
    func take(_ queue: inout Queue) -> String {
        guard let (item, resume) = queue.next() else { return "end" }
        let text =
            switch item {
            case .message(let message): message
            case .leave: "leave"
            case .teardown: "teardown"
            }
        return resume ? "\(text) (resume reading)" : text
    }

    @Test func inlineMessagesRunOnlyWhenNothingWaitsAheadOfThem() {
        var queue = Queue(highWater: 4, lowWater: 1)
        let inline: (String) -> Bool = { $0.hasPrefix("fast") }
        let submitted = ["fast 1", "join", "fast 2"].map { queue.submit(.message($0), inline: inline) }
        #expect(submitted == [.handleInline, .startServing, .none], "fast 2 waits behind the join, in order")
        let served = (0..<3).map { _ in take(&queue) }
        #expect(served == ["join", "fast 2", "end"])
        let after = queue.submit(.message("fast 3"), inline: inline)
        #expect(after == .handleInline, "the task ended: inline again")
    }

    @Test func readingPausesWhenLongAndResumesWhenShort() {
        var queue = Queue(highWater: 3, lowWater: 1)
        let submitted = ["a", "b", "c", "d"].map { queue.submit(.message($0)) }
        #expect(submitted == [.startServing, .none, .pauseReading, .none], "paused once")
        #expect(queue.isReadPaused)
        let served = (0..<5).map { _ in take(&queue) }
        #expect(served == ["a", "b", "c (resume reading)", "d", "end"])
        #expect(!queue.isReadPaused)
    }

    @Test func nothingIsTakenAfterTheTeardown() {
        var queue = Queue()
        let submitted = [queue.submit(.teardown), queue.submit(.message("late")), queue.submit(.leave)]
        #expect(submitted == [.startServing, .none, .none])
        let served = (0..<2).map { _ in take(&queue) }
        #expect(served == ["teardown", "end"])
    }
}

/// The socket's join table.
struct JoinTableTests {
    typealias Table = JoinTable<TestJoin, TestJoin>

    @Test func framesRouteByTopicEventAndCurrentJoinRef() {
        var table = Table()
        #expect(table.route(topic: "phoenix", event: "heartbeat", joinRef: nil) == .heartbeat)
        #expect(table.route(topic: "room:chat", event: "send_msg", joinRef: "1") == .unmatchedTopic, "not joined")
        #expect(table.route(topic: "room:chat", event: "phx_join", joinRef: "1") == .joinRoom)
        let replaced = table.join(room: TestJoin(joinRef: "1"))
        #expect(replaced == nil)
        #expect(table.route(topic: "room:chat", event: "send_msg", joinRef: "1") == .send)
        #expect(table.route(topic: "room:chat", event: "phx_leave", joinRef: "1") == .leaveRoom)
        #expect(table.route(topic: "room:chat", event: "shout", joinRef: "1") == .unmatchedEvent)
        #expect(table.route(topic: "lobby", event: "phx_join", joinRef: "1") == .unmatchedTopic)
        #expect(table.route(topic: "conversation:x", event: "phx_join", joinRef: "1") == .unmatchedTopic)
        #expect(table.route(topic: "conversation:0", event: "phx_join", joinRef: "1") == .unmatchedTopic)
        #expect(table.route(topic: "conversation:7", event: "phx_join", joinRef: "2") == .joinConversation(ConversationID(7)))
        #expect(table.route(topic: "conversation:7", event: "typing", joinRef: "2") == .unmatchedTopic, "not joined")
    }

    @Test func aSecondJoinReplacesTheFirstAndItsJoinRefGoesStale() {
        var table = Table()
        _ = table.join(room: TestJoin(joinRef: "1"))
        let replaced = table.join(room: TestJoin(joinRef: "5"))
        #expect(replaced == TestJoin(joinRef: "1"), "the old join, to close")
        #expect(table.route(topic: "room:chat", event: "send_msg", joinRef: "1") == .unmatchedTopic)
        #expect(table.route(topic: "room:chat", event: "send_msg", joinRef: "5") == .send)
        let left = [table.leaveRoom(), table.leaveRoom()]
        #expect(left == [TestJoin(joinRef: "5"), nil])

        let id = ConversationID(3)
        let joined = [table.join(id, TestJoin(joinRef: "a")), table.join(id, TestJoin(joinRef: "b"))]
        #expect(joined == [nil, TestJoin(joinRef: "a")])
        #expect(table.route(topic: "conversation:3", event: "typing", joinRef: "a") == .unmatchedTopic)
        #expect(table.route(topic: "conversation:3", event: "typing", joinRef: "b") == .conversationEvent(id))
        let leftTopic = table.leave(id)
        #expect(leftTopic == TestJoin(joinRef: "b"))
        #expect(table.route(topic: "conversation:3", event: "typing", joinRef: "b") == .unmatchedTopic)
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Broker
@testable import Store

/// A sink recording the message ids pushed to it.
final class RecordingSink: SocketSink {
    let socketID = SocketID.next()
    let eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    private let pushes = Locked<[String]>([])
    private let capacity: Int

    init(capacity: Int = .max) { self.capacity = capacity }

    /// What was pushed so far: pushes are handed to the sink's loop before the sender is answered, so a task
    /// queued there after the answer runs after them.
    var received: [String] {
        get async {
            try? await eventLoop.submit {}.get()
            return pushes.withLock { $0 }
        }
    }

    func enqueue(_ push: EncodedPush) -> Bool {
        pushes.withLock { pushes in
            guard pushes.count < capacity else { return false }
            pushes.append(String(buffer: push.payload))
            return true
        }
    }
}

/// Encodes a message as its id and content, enough to check order and identity.
struct IDEncoder: PushEncoder {
    func encodePresenceDiff(joins: [(UserID, Timestamp)], leaves: [(UserID, Timestamp)]) -> EncodedPush {
        EncodedPush(event: "presence_diff", payload: ByteBuffer(string: "joins:\(joins.map(\.0.rawValue)) leaves:\(leaves.map(\.0.rawValue))"))
    }
    func encodeReceive(_ message: Message) -> EncodedPush {
        EncodedPush(event: "receive_msg", payload: ByteBuffer(string: "\(message.id.rawValue):\(message.content)"))
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ConversationActorTests {
    /// A running tree over a temporary store with two users in one conversation.
    func withTree(
        faults: FaultInjection? = nil,
        idle: Duration = .seconds(60),
        _ body: @Sendable (BrokerRoot, any Store, User, User, Conversation) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tree-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try makeStore(
            for: StoreConfiguration(backend: .sqlite(path: directory.appendingPathComponent("t.sqlite").path), sync: .normal),
            logger: Logger(label: "test")
        )
        var configuration = BrokerRoot.Configuration()
        configuration.faults = faults
        configuration.conversationIdleTimeout = idle
        let root = BrokerRoot(
            store: store,
            mailAdapter: LocalMailAdapter(),
            encoder: IDEncoder(),
            configuration: configuration,
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            group.addTask { try await root.supervisor.run() }
            let mail = NewMail(to: "x", from: "y", subject: "s", textBody: "t", htmlBody: "h")
            let a = try await store.createUser(NewUser(name: "A", subname: "A", email: "a@x.io", job: "j", passwordHash: "h"), welcomeMail: mail)
            let b = try await store.createUser(NewUser(name: "B", subname: "B", email: "b@x.io", job: "j", passwordHash: "h"), welcomeMail: mail)
            let (conversation, _) = try await store.conversation(between: a.id, and: b.id)
            do {
                try await body(root, store, a, b, conversation)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    func request(_ from: User, _ to: User, _ text: String, clientID: String? = nil, socket: SocketID? = nil) -> SendRequest {
        SendRequest(sender: from.id, recipient: to.id, content: text, clientID: clientID, socket: socket)
    }

    @Test func aSendIsStoredThenDeliveredToBothParticipantsExceptTheSendingSocket() async throws {
        try await withTree { root, store, a, b, conversation in
            let sinkA1 = RecordingSink()
            let sinkA2 = RecordingSink()
            let sinkB = RecordingSink()
            await root.users.attach(sinkA1, for: a.id)
            await root.users.attach(sinkA2, for: a.id)
            await root.users.attach(sinkB, for: b.id)
            let stored = try await root.send(request(a, b, "hello", socket: sinkA1.socketID), in: conversation.id)
            guard case .created(let message) = stored else {
                Issue.record("expected a new message")
                return
            }
            #expect(try await store.messages(in: conversation.id, page: .newest(limit: 10)).messages == [message])
            #expect(await sinkB.received == ["\(message.id.rawValue):hello"])
            #expect(await sinkA2.received == ["\(message.id.rawValue):hello"])
            #expect(await sinkA1.received.isEmpty)
        }
    }

    /// The actor keeps its participants' sinks between batches; a socket that joins or leaves later must still
    /// be seen by the next batch.
    @Test func socketsJoiningAndLeavingBetweenBatchesAreSeenByTheNextBatch() async throws {
        try await withTree { root, _, a, b, conversation in
            let first = RecordingSink()
            let second = RecordingSink()
            await root.users.attach(first, for: b.id)
            let one = try await root.send(request(a, b, "one"), in: conversation.id)
            await root.users.attach(second, for: b.id)
            let two = try await root.send(request(a, b, "two"), in: conversation.id)
            await root.users.detach(first.socketID, for: b.id)
            let three = try await root.send(request(a, b, "three"), in: conversation.id)
            #expect(await first.received == ["\(one.message.id.rawValue):one", "\(two.message.id.rawValue):two"])
            #expect(await second.received == ["\(two.message.id.rawValue):two", "\(three.message.id.rawValue):three"])
        }
    }

    @Test func concurrentSendsAreDeliveredInIdOrder() async throws {
        try await withTree { root, _, a, b, conversation in
            let sink = RecordingSink()
            await root.users.attach(sink, for: b.id)
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<200 {
                    group.addTask { try await root.send(self.request(a, b, "m\(index)"), in: conversation.id).message.id.rawValue }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            let pushed = await sink.received.compactMap { Int64($0.split(separator: ":")[0]) }
            #expect(pushed.count == 200)
            #expect(pushed == pushed.sorted())
            #expect(Set(pushed) == Set(ids))
        }
    }

    @Test func nonParticipantsAndWrongRecipientsAreRefused() async throws {
        try await withTree { root, store, a, b, conversation in
            let mail = NewMail(to: "x", from: "y", subject: "s", textBody: "t", htmlBody: "h")
            let eve = try await store.createUser(NewUser(name: "E", subname: "E", email: "e@x.io", job: "j", passwordHash: "h"), welcomeMail: mail)
            await #expect(throws: BrokerError.notParticipant) {
                try await root.send(self.request(eve, b, "x"), in: conversation.id)
            }
            await #expect(throws: BrokerError.notParticipant) {
                try await root.send(self.request(a, eve, "x"), in: conversation.id)
            }
            await #expect(throws: BrokerError.notParticipant) {
                try await root.send(self.request(a, b, "x"), in: ConversationID(999))
            }
            #expect(try await store.messages(in: conversation.id, page: .newest(limit: 10)).messages.isEmpty)
        }
    }

    /// With `cached`, every send goes through one socket's cache of conversation handles, which must never
    /// use a stopped actor.
    @Test(arguments: [false, true])
    func aCrashedConversationActorIsRestartedAndTheNextMessageGoesThrough(cached: Bool) async throws {
        let faults = FaultInjection()
        let handles = cached ? ConversationHandles() : nil
        try await withTree(faults: faults) { root, store, a, b, conversation in
            let sink = RecordingSink()
            await root.users.attach(sink, for: b.id)
            _ = try await root.send(request(a, b, "before"), in: conversation.id, handles: handles)
            let first = try await root.conversations.actor(for: conversation.id)
            faults.crashNext(in: conversation.id)
            await #expect(throws: BrokerError.unavailable) {
                try await root.send(self.request(a, b, "during"), in: conversation.id, handles: handles)
            }
            #expect(!first.isRunning)
            let after = try await root.send(request(a, b, "after"), in: conversation.id, handles: handles)
            let second = try await root.conversations.actor(for: conversation.id)
            #expect(second !== first, "the supervisor started a fresh actor")
            let contents = try await store.messages(in: conversation.id, page: .newest(limit: 10)).messages.map(\.content)
            #expect(contents == ["before", "after"])
            #expect(await sink.received.last == "\(after.message.id.rawValue):after")
        }
    }

    /// A conversation crashing past its own restart limit (3 in 5 s) is given up on alone: the supervisor of
    /// all conversations keeps running, others are untouched, and the next send starts it afresh.
    @Test func aConversationThatKeepsCrashingIsGivenUpAloneAndStartsAfreshOnTheNextSend() async throws {
        let faults = FaultInjection()
        try await withTree(faults: faults) { root, store, a, b, conversation in
            let mail = NewMail(to: "x", from: "y", subject: "s", textBody: "t", htmlBody: "h")
            let c = try await store.createUser(NewUser(name: "C", subname: "C", email: "c@x.io", job: "j", passwordHash: "h"), welcomeMail: mail)
            let (other, _) = try await store.conversation(between: a.id, and: c.id)
            _ = try await root.send(request(a, c, "other before"), in: other.id)
            let bystander = try await root.conversations.actor(for: other.id)
            for attempt in 0..<4 {
                faults.crashNext(in: conversation.id)
                await #expect(throws: BrokerError.unavailable) {
                    try await root.send(self.request(a, b, "crash \(attempt)"), in: conversation.id)
                }
            }
            let after = try await root.send(request(a, b, "after"), in: conversation.id)
            #expect(after.message.content == "after")
            #expect(bystander.isRunning, "the other conversation's actor was not stopped")
            #expect(try await root.conversations.actor(for: other.id) === bystander)
            _ = try await root.send(request(a, c, "other after"), in: other.id)
            let contents = try await store.messages(in: conversation.id, page: .newest(limit: 10)).messages.map(\.content)
            #expect(contents == ["after"])
        }
    }

    @Test(arguments: [false, true])
    func idleActorsAreStoppedAndStartedAgainOnDemand(cached: Bool) async throws {
        let handles = cached ? ConversationHandles() : nil
        try await withTree(idle: .milliseconds(200)) { root, store, a, b, conversation in
            _ = try await root.send(request(a, b, "one"), in: conversation.id, handles: handles)
            let first = try await root.conversations.actor(for: conversation.id)
            let deadline = ContinuousClock.now + .seconds(10)
            while first.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))  // waits for the idle sweep
            }
            #expect(!first.isRunning)
            #expect(await root.conversations.activeCount == 0)
            let second = try await root.send(request(a, b, "two"), in: conversation.id, handles: handles)
            #expect(second.message.content == "two")
            let stored = try await store.messages(in: conversation.id, page: .newest(limit: 10)).messages.map(\.content)
            #expect(stored == ["one", "two"], "a fresh actor was started on demand")
        }
    }

    @Test func aFullSinkIsDroppedWithoutSlowingTheOthers() async throws {
        try await withTree { root, _, a, b, conversation in
            let slow = RecordingSink(capacity: 2)
            let fast = RecordingSink()
            await root.users.attach(slow, for: b.id)
            await root.users.attach(fast, for: b.id)
            for index in 0..<10 { _ = try await root.send(request(a, b, "m\(index)"), in: conversation.id) }
            #expect(await slow.received.count == 2)
            #expect(await fast.received.count == 10)
        }
    }

    @Test func presenceOfSocketsIsCountedPerUser() async throws {
        try await withTree { root, _, a, _, _ in
            let one = RecordingSink()
            let two = RecordingSink()
            #expect(await root.users.attach(one, for: a.id))
            #expect(await !root.users.attach(two, for: a.id))
            #expect(await !root.users.detach(one.socketID, for: a.id))
            #expect(await root.users.detach(two.socketID, for: a.id))
            #expect(await !root.users.isOnline(a.id))
        }
    }
}

import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import Store

/// The message feed's wire format, and the PostgreSQL cluster channel: notified inside the message
/// transaction, in commit order, with participants and the sending socket.
@Suite(.timeLimit(.minutes(1)))
struct ClusterBusTests {
    private static func message(_ id: Int64, _ content: String, clientID: String? = nil) -> Message {
        Message(
            id: MessageID(id),
            conversationID: ConversationID(7),
            senderID: UserID(1),
            content: content,
            insertedAt: Timestamp(microseconds: 1_700_000_000_123_456 + id),
            clientID: clientID
        )
    }

    @Test func feedPayloadsStayUnderTheLimitAndRoundTripInOrder() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} émoji 🎉 </script>"
        let messages = (1...300).map { Self.message(Int64($0), "\($0) \(tricky)", clientID: $0 % 2 == 0 ? "c\($0)" : nil) }
        let payloads = FeedCodec.encodeFeed(origin: "abc", messages.map { ($0, UserID(2), UInt64($0.id.rawValue) * 3) })
        #expect(payloads.count > 1, "300 messages do not fit in one notification")
        for payload in payloads { #expect(payload.utf8.count <= FeedCodec.maxPayloadBytes) }
        var decoded: [FeedMessage] = []
        for payload in payloads {
            guard case .feed(let origin, let entries) = FeedCodec.decode(payload) else {
                Issue.record("not a feed payload")
                continue
            }
            #expect(origin == "abc")
            decoded += entries
        }
        #expect(decoded.map(\.message) == messages.map(Optional.some))
        #expect(decoded.map(\.recipientID) == Array(repeating: UserID(2), count: 300))
        #expect(decoded.map(\.originSocket) == messages.map { UInt64($0.id.rawValue) * 3 })
    }

    @Test func aMessageTooLargeForANotificationTravelsAsItsID() throws {
        let large = Self.message(5, String(repeating: "é", count: 5_000))  // 10,000 bytes of UTF-8
        let small = Self.message(6, "small")
        let payloads = FeedCodec.encodeFeed(origin: "o", [(large, UserID(2), 9), (small, UserID(2), 0)])
        #expect(payloads.count == 1)
        guard case .feed(_, let entries) = FeedCodec.decode(payloads[0]) else {
            Issue.record("not a feed payload")
            return
        }
        #expect(entries.map(\.id) == [MessageID(5), MessageID(6)])
        #expect(entries[0].message == nil && entries[0].originSocket == 9 && entries[0].recipientID == UserID(2))
        #expect(entries[1].message == small)
    }

    @Test func unknownPayloadsAreSkippedNotMisread() {
        #expect(FeedCodec.decode("") == nil)
        #expect(FeedCodec.decode("X{}") == nil)
        #expect(FeedCodec.decode("F{not json") == nil)
        guard case .control(let text) = FeedCodec.decode(FeedCodec.encodeControl("{\"k\":\"beat\"}")) else {
            Issue.record("not a control payload")
            return
        }
        #expect(text == "{\"k\":\"beat\"}")
    }

    @Test func postgresNotifiesCommittedMessagesInIDOrderWithParticipantsAndSockets() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            try await fixture.withStore { store in
                let bus = try #require(store.clusterBus)
                let users = try await store.createUsersInBulk((0..<4).map { newUser("feed\($0)@example.com") })
                let conversations = try await store.createConversationsInBulk([
                    (sender: users[0].id, recipient: users[1].id), (sender: users[3].id, recipient: users[2].id),
                ])
                let received = FeedLog()
                let (readySignal, ready) = AsyncStream.makeStream(of: Void.self)
                let listener = Task {
                    try await bus.listen(ready: { ready.yield() }) { notification in
                        received.append(notification)
                    }
                }
                for await _ in readySignal { break }
                let big = String(repeating: "x", count: 9_000)
                let drafts = [
                    NewMessage(conversationID: conversations[0].id, senderID: users[0].id, content: "one", clientID: nil, origin: 11),
                    NewMessage(conversationID: ConversationID(999), senderID: users[0].id, content: "no such conversation", clientID: nil),
                    NewMessage(conversationID: conversations[1].id, senderID: users[2].id, content: big, clientID: "k", origin: 12),
                ]
                let results = try await store.insertMessages(drafts)
                try await bus.publish("{\"hello\":1}")
                let deadline = ContinuousClock.now + .seconds(10)
                while received.count < 2, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))  // notifications arrive asynchronously
                }
                listener.cancel()
                let feed = received.feed
                #expect(feed.map(\.origin) == [bus.node.instance])
                let entries = feed.flatMap(\.entries)
                let stored = results.compactMap { try? $0.get().message }
                #expect(entries.map(\.id) == stored.map(\.id), "only committed messages, in id order")
                #expect(entries.map(\.recipientID) == [users[1].id, users[3].id])
                #expect(entries.map(\.originSocket) == [11, 12])
                #expect(entries[0].message == stored[0])
                #expect(entries[1].message == nil, "over the notification limit: the id only")
                #expect(received.controls == ["{\"hello\":1}"])
                // What a node that was not listening reads instead.
                let replay = try await bus.feed(after: MessageID(0), limit: 10)
                #expect(replay.map(\.id) == stored.map(\.id))
                #expect(replay.map(\.recipientID) == [users[1].id, users[3].id])
                #expect(replay[1].message?.content == big)
                #expect(try await bus.latestMessageID() == stored[1].id)
                #expect(try await bus.feed(after: stored[0].id, limit: 10).map(\.id) == [stored[1].id])
            }
        }
    }

    @Test func postgresPacksTheFeedByteForByteAsFeedCodecDoes() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            guard case .postgres(let location) = fixture.location else { return }
            try await fixture.withStore { store in
                let bus = try #require(store.clusterBus)
                let (a, b, conversation) = try await pair(in: store)
                let tricky =
                    "quote \" backslash \\ newline \n return \r tab \t bell \u{07} backspace \u{08} "
                    + "form feed \u{0C} unit \u{1F} delete \u{7F} émoji 🎉 </script>"
                let large = String(repeating: "é", count: 5_000)  // 10,000 bytes: travels as its id
                let drafts = (1...300).map { (index: Int) -> NewMessage in
                    let sender: UserID = index % 3 == 0 ? b.id : a.id
                    let content: String = index == 150 ? large : "\(index) \(tricky)"
                    let clientID: String? = index % 2 == 0 ? "c\(index) \u{08}\"" : nil
                    let socket: UInt64 = index == 7 ? UInt64.max : UInt64(index) * 3
                    return NewMessage(
                        conversationID: conversation.id,
                        senderID: sender,
                        content: content,
                        clientID: clientID,
                        origin: socket
                    )
                }
                let (results, payloads) = try await rawPayloads(on: location) {
                    let results = try await store.insertMessages(drafts)
                    try await bus.publish("end")
                    return results
                }
                let messages = results.compactMap { result -> Message? in
                    if case .success(.created(let message)) = result { message } else { nil }
                }
                try #require(messages.count == drafts.count)
                let expected = FeedCodec.encodeFeed(
                    origin: bus.node.instance,
                    zip(messages, drafts).map { message, draft in
                        (message, draft.senderID == a.id ? b.id : a.id, draft.origin)
                    }
                )
                #expect(expected.count > 1, "300 messages do not fit in one notification")
                // Compared payload by payload, naming the first difference (a full dump runs to 100 KB).
                #expect(payloads.count == expected.count)
                for (index, (sent, reference)) in zip(payloads, expected).enumerated() where sent != reference {
                    let offset = zip(sent.utf8, reference.utf8).prefix { $0 == $1 }.count
                    let got = String(decoding: Array(sent.utf8.dropFirst(offset).prefix(40)), as: UTF8.self)
                    let want = String(decoding: Array(reference.utf8.dropFirst(offset).prefix(40)), as: UTF8.self)
                    Issue.record("payload \(index) differs from FeedCodec.encodeFeed at byte \(offset): \(got) vs \(want)")
                    break
                }
            }
        }
    }

    @Test func concurrentBatchesOfTwoNodesAreNotifiedInCommitOrderWithAscendingIDs() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            guard case .postgres(let location) = fixture.location else { return }
            try await fixture.withStore { first in
                let bus = try #require(first.clusterBus)
                let (a, b, conversation) = try await pair(in: first)
                // A second store on the same database: another broker node, with its own writer and lock waits.
                try await StoreFixture.running(try fixture.open()) { second in
                    let batches = 40
                    let (results, payloads) = try await rawPayloads(on: location) {
                        let results = try await withThrowingTaskGroup(
                            of: (Int, [Result<StoredMessage, StoreError>]).self
                        ) { group in
                            for batch in 0..<batches {
                                let store = batch % 2 == 0 ? first : second
                                group.addTask {
                                    // Drafts 0 and 4 share a key: the second answers with the first's message.
                                    let drafts = (0..<5).map { index in
                                        draft(
                                            conversation.id,
                                            from: index % 2 == 0 ? a.id : b.id,
                                            "\(batch).\(index)",
                                            clientID: "k\(batch).\(index % 4)"
                                        )
                                    }
                                    return (batch, try await store.insertMessages(drafts))
                                }
                            }
                            return try await group.reduce(into: [Int: [Result<StoredMessage, StoreError>]]()) {
                                $0[$1.0] = $1.1
                            }
                        }
                        try await bus.publish("end")
                        return results
                    }
                    var created: [MessageID] = []
                    for batch in 0..<batches {
                        let outcomes = try (results[batch] ?? []).map { try $0.get() }
                        try #require(outcomes.count == 5)
                        let ids = outcomes[0..<4].map(\.message.id)
                        #expect(outcomes[0..<4].allSatisfy { if case .created = $0 { true } else { false } })
                        #expect(ids == ids.sorted(), "a batch's ids follow its draft order")
                        #expect(outcomes[4] == .existing(outcomes[0].message))
                        created += ids
                    }
                    let notified = payloads.flatMap { payload -> [MessageID] in
                        guard case .feed(_, let entries) = FeedCodec.decode(payload) else { return [] }
                        return entries.map(\.id)
                    }
                    #expect(notified.count == batches * 4)
                    #expect(notified == notified.sorted(), "notifications arrive in commit order, so ids follow it")
                    #expect(Set(notified).count == notified.count && Set(notified) == Set(created))
                }
            }
        }
    }

    @Test func sqliteHasNoClusterChannel() async throws {
        try await StoreFixture.with(.sqlite) { fixture in
            try await fixture.withStore { store in #expect(store.clusterBus == nil) }
        }
    }
}

/// Notifications received by a test listener.
private final class FeedLog: Sendable {
    private let log = Locked<[ClusterNotification]>([])

    func append(_ notification: ClusterNotification) { log.withLock { $0.append(notification) } }
    var count: Int { log.withLock { $0.count } }
    var feed: [(origin: String, entries: [FeedMessage])] {
        log.withLock { $0 }.compactMap { if case .feed(let origin, let entries) = $0 { (origin, entries) } else { nil } }
    }
    var controls: [String] {
        log.withLock { $0 }.compactMap { if case .control(let text) = $0 { text } else { nil } }
    }
}

/// The raw payloads on the cluster channel, from a connection of the test's own, while `body` runs and
/// until the control event `end`, which `body` must publish last: PostgreSQL delivers notifications in
/// commit order, so nothing `body` committed arrives after it.
private func rawPayloads<T: Sendable>(
    on location: PostgresLocation,
    during body: @Sendable () async throws -> T
) async throws -> (T, [String]) {
    let connection = try await PostgresConnection.connect(
        configuration: .init(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: .disable
        ),
        id: 9,
        logger: StoreFixture.logger
    )
    do {
        let outcome = try await connection.listen(on: PostgresClusterBus.channel) { notifications in
            let value = try await body()
            var payloads: [String] = []
            for try await notification in notifications {
                if notification.payload == FeedCodec.encodeControl("end") { break }
                payloads.append(notification.payload)
            }
            return (value, payloads)
        }
        try await connection.close()
        return outcome
    } catch {
        try? await connection.close()
        throw error
    }
}

import Foundation
import Testing

@testable import Store

@Suite(.timeLimit(.minutes(1)))
struct SQLiteStoreTests {
    @Test func aUserIsStoredWithItsWelcomeMailInOneTransaction() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            let user = try await store.createUser(newUser("Ann@Example.com"), welcomeMail: mail(to: "Ann@Example.com"))
            #expect(user.id == UserID(1))
            #expect(try await store.user(email: "ann@example.COM")?.id == user.id)
            #expect(try await store.user(id: user.id)?.email == "Ann@Example.com")
            let pending = try await store.pendingMails(limit: 10)
            #expect(pending.map(\.to) == ["Ann@Example.com"])
        }
    }

    @Test func aTakenEmailInAnotherCaseFailsAndLeavesNoMail() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            _ = try await store.createUser(newUser("ann@example.com"), welcomeMail: mail(to: "ann@example.com"))
            await #expect(throws: StoreError.uniqueViolation(.email)) {
                try await store.createUser(newUser("ANN@example.com"), welcomeMail: mail(to: "ANN@example.com"))
            }
            #expect(try await store.mails(limit: 10).count == 1)
            #expect(try await store.users(after: nil, limit: 10).count == 1)
        }
    }

    @Test func theOutboxSurvivesARestart() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore(sync: .full) { store in
            _ = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
        }
        try await fixture.withStore(sync: .full) { store in
            let pending = try await store.pendingMails(limit: 10)
            #expect(pending.map(\.to) == ["a@b.io"])
            let id = try #require(pending.first?.id)
            try await store.recordDelivery(ofMail: id, status: .sent)
        }
        try await fixture.withStore { store in
            let pending = try await store.pendingMails(limit: 10)
            let all = try await store.mails(limit: 10)
            #expect(pending.isEmpty)
            #expect(all.map(\.status) == [.sent])
        }
    }

    @Test func concurrentWritersShareTransactionsAndEachGetsItsOwnRow() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore(sync: .full) { store in
            let count = 300
            let users = try await withThrowingTaskGroup(of: (Int, User).self) { group in
                for index in 0..<count {
                    group.addTask {
                        let email = "user\(index)@example.com"
                        return (index, try await store.createUser(newUser(email), welcomeMail: mail(to: email)))
                    }
                }
                return try await group.reduce(into: [Int: User]()) { $0[$1.0] = $1.1 }
            }
            #expect(users.count == count)
            for (index, user) in users { #expect(user.email == "user\(index)@example.com") }
            #expect(Set(users.values.map(\.id)).count == count)
            let statistics = await store.writerStatistics
            #expect(statistics.writes == count)
            #expect(statistics.transactions < count)
            #expect(statistics.largestBatch > 1)
            #expect(try await store.users(after: nil, limit: 1_000).count == count)
        }
    }

    @Test func aFailingWriteRollsBackAloneInsideItsBatch() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            _ = try await store.createUser(newUser("dup@example.com"), welcomeMail: mail(to: "dup@example.com"))
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let email = index % 2 == 0 ? "dup@example.com" : "ok\(index)@example.com"
                        return (try? await store.createUser(newUser(email), welcomeMail: mail(to: email))) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 20)
            #expect(try await store.users(after: nil, limit: 100).count == 21)
            #expect(try await store.mails(limit: 100).count == 21)
        }
    }

    @Test func writesAfterStopAreRefusedAsUnavailable() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        let store = try fixture.open()
        let writer = Task { try await store.run() }
        _ = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
        writer.cancel()
        try await writer.value
        await #expect(throws: StoreError.unavailable) {
            try await store.createUser(newUser("c@d.io"), welcomeMail: mail(to: "c@d.io"))
        }
    }

    @Test func migrationsAreVersionedAndRunOnce() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        let configuration = StoreConfiguration(backend: .sqlite(path: fixture.path))
        let first = try SQLiteStore.migrate(path: fixture.path, configuration: configuration, logger: .init(label: "t"))
        #expect(first == ["001_initial_schema"])
        let second = try SQLiteStore.migrate(path: fixture.path, configuration: configuration, logger: .init(label: "t"))
        #expect(second.isEmpty)
    }

    @Test func revokedTokensAreRemembered() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            let user = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
            #expect(try await !store.isTokenRevoked(id: "jti-1"))
            try await store.revokeToken(id: "jti-1", userID: user.id, expiresAt: Timestamp(Date().addingTimeInterval(60)))
            try await store.revokeToken(id: "jti-1", userID: user.id, expiresAt: Timestamp(Date().addingTimeInterval(60)))
            #expect(try await store.isTokenRevoked(id: "jti-1"))
            #expect(try await !store.isTokenRevoked(id: "jti-2"))
        }
    }

    @Test func foreignKeysAreEnforced() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            await #expect(throws: StoreError.notFound) {
                try await store.revokeToken(id: "x", userID: UserID(42), expiresAt: Timestamp(Date()))
            }
        }
    }

    @Test func theConversationOfAPairIsUniqueInEitherOrder() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
            let b = try await store.createUser(newUser("b@b.io"), welcomeMail: mail(to: "b@b.io"))
            let (first, created) = try await store.conversation(between: a.id, and: b.id)
            let (second, createdAgain) = try await store.conversation(between: b.id, and: a.id)
            #expect(created && !createdAgain)
            #expect(first == second)
            #expect(second.senderID == a.id && second.recipientID == b.id)
        }
    }

    @Test func messagesAreIdempotentByClientIDAndPagedAscending() async throws {
        let fixture = StoreFixture()
        defer { fixture.remove() }
        try await fixture.withStore { store in
            let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
            let b = try await store.createUser(newUser("b@b.io"), welcomeMail: mail(to: "b@b.io"))
            let (conversation, _) = try await store.conversation(between: a.id, and: b.id)
            var ids: [MessageID] = []
            for index in 0..<5 {
                let draft = NewMessage(conversationID: conversation.id, senderID: a.id, content: "m\(index)", clientID: "c\(index)")
                let result = try await store.insertMessages([draft])
                guard case .success(.created(let message)) = result.first else {
                    Issue.record("not created")
                    return
                }
                ids.append(message.id)
            }
            let resend = try await store.insertMessages([
                NewMessage(conversationID: conversation.id, senderID: a.id, content: "other", clientID: "c2")
            ])
            #expect(resend.first == .success(.existing(try #require(try await store.message(from: a.id, clientID: "c2")))))
            let newest = try await store.messages(in: conversation.id, page: .newest(limit: 2))
            #expect(newest.messages.map(\.id) == Array(ids[3...]) && newest.hasMore)
            let before = try await store.messages(in: conversation.id, page: .before(ids[3], limit: 2))
            #expect(before.messages.map(\.id) == Array(ids[1...2]) && before.hasMore)
            let after = try await store.messages(in: conversation.id, page: .after(ids[1], limit: 10))
            #expect(after.messages.map(\.id) == Array(ids[2...]) && !after.hasMore)
            #expect(try await store.conversation(id: conversation.id)?.lastMessageID == ids.last)
            #expect(try await store.missedMessages(for: b.id, after: ids[0], limit: 10).map(\.id) == Array(ids[1...]))
            #expect(try await store.missedMessages(for: a.id, after: MessageID(0), limit: 10).isEmpty)
            #expect(try await store.messages(ids: [ids[3], ids[1], MessageID(999)]).map(\.id) == [ids[1], ids[3]])
        }
    }

    @Test func timestampsRenderAsRFC3339WithMicroseconds() {
        #expect(Timestamp(microseconds: 1_795_000_000_123_456).rfc3339 == "2026-11-18T11:06:40.123456Z")
        #expect(Timestamp(microseconds: 5).rfc3339 == "1970-01-01T00:00:00.000005Z")
    }
}

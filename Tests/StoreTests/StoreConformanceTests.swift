import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

@testable import Store

/// The store's contract, checked against every backend: each test runs once for SQLite and once for
/// PostgreSQL (see ``StoreBackend``), each time on fresh data.
@Suite(.timeLimit(.minutes(1)))
struct StoreConformanceTests {
    // MARK: Users, mails, tokens

    @Test(arguments: StoreBackend.all)
    func aUserIsStoredWithItsWelcomeMailInOneTransaction(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let user = try await store.createUser(newUser("Ann@Example.com"), welcomeMail: mail(to: "Ann@Example.com"))
                #expect(user.id == UserID(1))
                #expect(try await store.user(email: "ann@example.COM")?.id == user.id)
                #expect(try await store.user(id: user.id) == user)
                let pending = try await store.pendingMails(limit: 10)
                #expect(pending.map(\.to) == ["Ann@Example.com"])
                #expect(pending.first?.status == .pending && pending.first?.attempts == 0)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func bulkSeedingStoresUsersAndConversationsInOrderAndMessagesAreFoundByID(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let users = try await store.createUsersInBulk((0..<6).map { newUser("bulk\($0)@example.com") })
                #expect(users.map(\.email) == (0..<6).map { "bulk\($0)@example.com" })
                #expect(users.map(\.id.rawValue) == [1, 2, 3, 4, 5, 6])
                #expect(try await store.mails(limit: 10).isEmpty, "load users get no mail")
                let pairs = [(sender: users[0].id, recipient: users[1].id), (sender: users[3].id, recipient: users[2].id)]
                let conversations = try await store.createConversationsInBulk(pairs)
                #expect(conversations.map(\.senderID) == [users[0].id, users[3].id])
                let (again, created) = try await store.conversation(between: users[2].id, and: users[3].id)
                #expect(!created && again.id == conversations[1].id)
                var ids: [MessageID] = []
                for index in 0..<3 {
                    let result = try await store.insertMessages([
                        NewMessage(conversationID: conversations[0].id, senderID: users[0].id, content: "m\(index)", clientID: nil)
                    ])
                    if case .success(let stored) = result.first { ids.append(stored.message.id) }
                }
                let found = try await store.messages(ids: [ids[2], ids[0], MessageID(999)])
                #expect(found.map(\.id) == [ids[0], ids[2]])
                #expect(found.map(\.content) == ["m0", "m2"])
                await #expect(throws: StoreError.uniqueViolation(.email)) {
                    try await store.createUsersInBulk([newUser("BULK1@example.com")])
                }
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func aTakenEmailInAnotherCaseFailsAndLeavesNoMail(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                _ = try await store.createUser(newUser("ann@example.com"), welcomeMail: mail(to: "ann@example.com"))
                await #expect(throws: StoreError.uniqueViolation(.email)) {
                    try await store.createUser(newUser("ANN@example.com"), welcomeMail: mail(to: "ANN@example.com"))
                }
                #expect(try await store.mails(limit: 10).count == 1)
                #expect(try await store.users(after: nil, limit: 10).count == 1)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func theOutboxSurvivesARestart(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore(sync: .full) { store in
                _ = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
            }
            try await fixture.withStore(sync: .full) { store in
                let pending = try await store.pendingMails(limit: 10)
                #expect(pending.map(\.to) == ["a@b.io"])
                let id = try #require(pending.first?.id)
                try await store.recordDelivery(ofMail: id, .sent, redacting: false)
            }
            try await fixture.withStore { store in
                let pending = try await store.pendingMails(limit: 10)
                let all = try await store.mails(limit: 10)
                #expect(pending.isEmpty)
                #expect(all.map(\.status) == [.sent])
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func failedDeliveriesAreCountedAndMailsListedNewestFirst(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                for email in ["a@b.io", "b@b.io", "c@b.io"] {
                    _ = try await store.createUser(newUser(email), welcomeMail: mail(to: email))
                }
                let pending = try await store.pendingMails(limit: 10)
                #expect(pending.map(\.to) == ["a@b.io", "b@b.io", "c@b.io"])
                try await store.recordDelivery(ofMail: pending[0].id, .retry(at: .now()), redacting: false)
                try await store.recordDelivery(ofMail: pending[1].id, .failed, redacting: false)
                let after = try await store.pendingMails(limit: 10)
                #expect(after.map(\.to) == ["a@b.io", "c@b.io"])
                #expect(after.first?.attempts == 1)
                let all = try await store.mails(limit: 2)
                #expect(all.map(\.to) == ["c@b.io", "b@b.io"])
                #expect(all.map(\.status) == [.pending, .failed])
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func onlyDueMailsAreClaimedAndAClaimHoldsThemOffUntilItsLeaseEnds(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                for email in ["a@b.io", "b@b.io", "c@b.io"] {
                    _ = try await store.createUser(newUser(email), welcomeMail: mail(to: email))
                }
                let now = Timestamp.now()
                #expect(try await store.nextMailAttempt().map { $0 <= now } == true, "new mails are due at once")
                let first = try await store.claimDueMails(at: now, lease: .seconds(600), limit: 1)
                #expect(first.map(\.to) == ["a@b.io"])
                #expect(first.first?.nextAttemptAt == now.advanced(by: .seconds(600)))
                let rest = try await store.claimDueMails(at: now, lease: .seconds(600), limit: 10)
                #expect(rest.map(\.to) == ["b@b.io", "c@b.io"])
                #expect(try await store.claimDueMails(at: now, lease: .seconds(600), limit: 10).isEmpty, "all claimed")
                #expect(try await store.pendingMails(limit: 10).count == 3, "claimed mails stay pending")

                // b is retried in a minute, c in ten seconds; a's claim runs out in ten minutes.
                try await store.recordDelivery(ofMail: rest[0].id, .retry(at: now.advanced(by: .seconds(60))), redacting: true)
                try await store.recordDelivery(ofMail: rest[1].id, .retry(at: now.advanced(by: .seconds(10))), redacting: true)
                #expect(try await store.nextMailAttempt() == now.advanced(by: .seconds(10)))
                #expect(try await store.claimDueMails(at: now.advanced(by: .seconds(9)), lease: .seconds(1), limit: 10).isEmpty)
                let c = try await store.claimDueMails(at: now.advanced(by: .seconds(10)), lease: .seconds(1), limit: 10)
                #expect(c.map(\.to) == ["c@b.io"] && c.first?.attempts == 1)
                let later = try await store.claimDueMails(at: now.advanced(by: .seconds(700)), lease: .seconds(1), limit: 10)
                #expect(later.map(\.to) == ["a@b.io", "b@b.io", "c@b.io"], "every lease and retry time has passed")

                try await store.recordDelivery(ofMail: first[0].id, .sent, redacting: false)
                try await store.recordDelivery(ofMail: rest[0].id, .failed, redacting: false)
                try await store.recordDelivery(ofMail: rest[1].id, .sent, redacting: false)
                #expect(try await store.nextMailAttempt() == nil, "nothing pending")
                #expect(try await store.claimDueMails(at: now.advanced(by: .seconds(10_000)), lease: .seconds(1), limit: 10).isEmpty)
                #expect(try await store.mails(limit: 10).map(\.status) == [.sent, .failed, .sent])
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func aMailOutOfTheOutboxKeepsOnlyItsRedactedCopyWhenAsked(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore(sync: .full) { store in
                func secretMail(to email: String) -> NewMail {
                    NewMail(
                        to: email,
                        from: "broker@localhost",
                        subject: "Welcome",
                        textBody: "pw: s3cret",
                        htmlBody: "<p>s3cret</p>",
                        redactedTextBody: "pw: [redacted]",
                        redactedHTMLBody: "<p>[redacted]</p>"
                    )
                }
                for email in ["sent@b.io", "failed@b.io", "retried@b.io", "local@b.io"] {
                    _ = try await store.createUser(newUser(email), welcomeMail: secretMail(to: email))
                }
                _ = try await store.createUser(newUser("plain@b.io"), welcomeMail: mail(to: "plain@b.io"))
                let ids = Dictionary(uniqueKeysWithValues: try await store.pendingMails(limit: 10).map { ($0.to, $0.id) })
                #expect(try await store.mails(limit: 10).allSatisfy { $0.textBody != "pw: [redacted]" }, "bodies as written")
                try await store.recordDelivery(ofMail: try #require(ids["sent@b.io"]), .sent, redacting: true)
                try await store.recordDelivery(ofMail: try #require(ids["failed@b.io"]), .failed, redacting: true)
                try await store.recordDelivery(
                    ofMail: try #require(ids["retried@b.io"]),
                    .retry(at: .now()),
                    redacting: true
                )
                try await store.recordDelivery(ofMail: try #require(ids["local@b.io"]), .sent, redacting: false)
                try await store.recordDelivery(ofMail: try #require(ids["plain@b.io"]), .sent, redacting: true)
            }
            try await fixture.withStore { store in
                let byAddress = Dictionary(uniqueKeysWithValues: try await store.mails(limit: 10).map { ($0.to, $0) })
                for email in ["sent@b.io", "failed@b.io"] {
                    #expect(byAddress[email]?.textBody == "pw: [redacted]", "\(email)")
                    #expect(byAddress[email]?.htmlBody == "<p>[redacted]</p>", "\(email)")
                }
                #expect(byAddress["retried@b.io"]?.textBody == "pw: s3cret", "still to deliver: the body stays")
                #expect(byAddress["local@b.io"]?.textBody == "pw: s3cret", "not redacting (the local mailer)")
                #expect(byAddress["plain@b.io"]?.textBody == "pw", "no redacted copy: the body stays")
                #expect(byAddress["plain@b.io"]?.status == .sent)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func usersArePagedByIDAndLookedUpTogether(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                var ids: [UserID] = []
                for index in 0..<5 {
                    ids.append(try await store.createUser(newUser("u\(index)@b.io"), welcomeMail: mail(to: "u\(index)@b.io")).id)
                }
                #expect(try await store.users(after: nil, limit: 2).map(\.id) == Array(ids[0..<2]))
                #expect(try await store.users(after: ids[1], limit: 10).map(\.id) == Array(ids[2...]))
                #expect(try await store.usersExist([ids[0], ids[3], UserID(999)]) == [ids[0], ids[3]])
                #expect(try await store.usersExist([]).isEmpty)
                #expect(try await store.user(id: UserID(999)) == nil)
                #expect(try await store.user(email: "nobody@b.io") == nil)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func concurrentWritersEachGetTheirOwnRow(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
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
                #expect(try await store.users(after: nil, limit: 1_000).count == count)
                if backend == .sqlite {
                    // SQLite group-commits every write; PostgreSQL only messages (next test).
                    let statistics = await store.batchStatistics
                    #expect(statistics.writes == count)
                    #expect(statistics.transactions < count)
                    #expect(statistics.largestBatch > 1)
                }
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func concurrentMessagesShareTransactions(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore(sync: .full) { store in
                let (a, b, conversation) = try await pair(in: store)
                let before = await store.batchStatistics
                let count = 200
                let results = try await withThrowingTaskGroup(of: Message.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            let draft = NewMessage(
                                conversationID: conversation.id,
                                senderID: index % 2 == 0 ? a.id : b.id,
                                content: "m\(index)",
                                clientID: "c\(index)"
                            )
                            return try created(try await store.insertMessages([draft]))
                        }
                    }
                    return try await group.reduce(into: [Message]()) { $0.append($1) }
                }
                #expect(Set(results.map(\.id)).count == count)
                let after = await store.batchStatistics
                #expect(after.writes - before.writes == count)
                #expect(after.transactions - before.transactions < count)
                #expect(after.largestBatch > 1)
                let stored = try await store.conversation(id: conversation.id)
                #expect(stored?.lastMessageID == results.map(\.id).max())
            }
        }
    }

    /// The send path's entry: batches handed over without suspending are answered on the loop they name, in
    /// submission order, each only once committed (readable), and several share one commit.
    @Test(arguments: StoreBackend.all)
    func submittedBatchesAreAnsweredOnTheirLoopAfterTheCommit(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore(sync: .full) { store in
                let (a, b, conversation) = try await pair(in: store)
                let loop = MultiThreadedEventLoopGroup.singleton.next()
                let before = await store.batchStatistics
                let count = 100
                let answers = try await withCheckedThrowingContinuation {
                    (continuation: CheckedContinuation<[(onLoop: Bool, ids: [MessageID])], any Error>) in
                    let collected = Locked<[(onLoop: Bool, ids: [MessageID])]>([])
                    for index in 0..<count {
                        let draft = NewMessage(
                            conversationID: conversation.id,
                            senderID: index % 2 == 0 ? a.id : b.id,
                            content: "s\(index)",
                            clientID: nil
                        )
                        store.submitMessages([draft], on: loop) { result in
                            let onLoop = loop.inEventLoop
                            let ids = (try? result.get())?.compactMap { try? $0.get().message.id } ?? []
                            let done = collected.withLock { collected -> [(onLoop: Bool, ids: [MessageID])]? in
                                collected.append((onLoop, ids))
                                return collected.count == count ? collected : nil
                            }
                            if let done { continuation.resume(returning: done) }
                        }
                    }
                }
                #expect(answers.allSatisfy { $0.onLoop }, "every answer runs on the loop it named")
                let ids = answers.flatMap(\.ids)
                #expect(ids.count == count)
                #expect(ids == ids.sorted(), "answered in submission order, which is id order")
                let stored = try await store.messages(ids: ids)
                #expect(stored.count == count, "answered only once committed")
                let after = await store.batchStatistics
                #expect(after.transactions - before.transactions < count, "submissions share commits")
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func aFailingWriteRollsBackAlone(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
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
    }

    @Test(arguments: StoreBackend.all)
    func writesAfterStopAreRefusedAsUnavailable(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let store = try fixture.open()
            let runner = Task { try await store.run() }
            let user = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
            runner.cancel()
            try await runner.value
            if backend == .postgres {
                await #expect(throws: StoreError.unavailable) { try await store.run() }  // runs once only
            }
            await #expect(throws: StoreError.unavailable) {
                try await store.createUser(newUser("c@d.io"), welcomeMail: mail(to: "c@d.io"))
            }
            let draft = NewMessage(conversationID: ConversationID(1), senderID: user.id, content: "x", clientID: nil)
            await #expect(throws: StoreError.unavailable) {
                try await store.insertMessages([draft])
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func gracefulShutdownStoresEverythingAcknowledgedAndRefusesTheRest(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let (a, _, conversation) = try await fixture.withStore { try await pair(in: $0) }
            let store = try fixture.open()
            let services = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: [.init(service: store)], logger: StoreFixture.logger)
            )
            let outcomes = try await withThrowingTaskGroup(
                of: Void.self,
                returning: [Result<Message, StoreError>].self
            ) { running in
                running.addTask { try await services.run() }
                try await store.ping()
                let outcomes = await withTaskGroup(of: Result<Message, StoreError>.self) { senders in
                    for index in 0..<100 {
                        senders.addTask {
                            do {
                                let results = try await store.insertMessages([
                                    draft(conversation.id, from: a.id, "m\(index)", clientID: "c\(index)")
                                ])
                                return .success(try created(results))
                            } catch {
                                return .failure(error as? StoreError ?? .failed(operation: "test", message: "\(error)"))
                            }
                        }
                    }
                    await services.triggerGracefulShutdown()
                    return await senders.reduce(into: [Result<Message, StoreError>]()) { $0.append($1) }
                }
                try await running.waitForAll()  // the store's run() returned by itself
                return outcomes
            }
            let acknowledged = outcomes.compactMap { try? $0.get() }
            for case .failure(let error) in outcomes { #expect(error == .unavailable) }
            try await fixture.withStore { store in
                let stored = try await store.messages(in: conversation.id, page: .newest(limit: 200)).messages
                #expect(stored.sorted { $0.id < $1.id } == acknowledged.sorted { $0.id < $1.id })
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func migrationsAreVersionedAndRunOnce(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let all = backend == .postgres ? PostgresMigrations.all.map(\.name) : SQLiteMigrations.migrator.migrations
            #expect(try await fixture.migrate() == all)
            #expect(try await fixture.migrate().isEmpty)
            try await fixture.withStore { store in
                _ = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
            }
        }
    }

    /// Several PostgreSQL nodes may start at once; an embedded SQLite file has one process.
    @Test(arguments: [StoreBackend.postgres])
    func nodesStartingTogetherApplyEachMigrationOnce(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await fixture.migrate() } }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(applied == PostgresMigrations.all.map(\.name))
        }
    }

    @Test(arguments: StoreBackend.all)
    func revokedTokensAreRemembered(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let user = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
                #expect(try await !store.isTokenRevoked(id: "jti-1"))
                try await store.revokeToken(id: "jti-1", userID: user.id, expiresAt: Timestamp(Date().addingTimeInterval(60)))
                try await store.revokeToken(id: "jti-1", userID: user.id, expiresAt: Timestamp(Date().addingTimeInterval(60)))
                #expect(try await store.isTokenRevoked(id: "jti-1"))
                #expect(try await !store.isTokenRevoked(id: "jti-2"))
                try await store.revokeToken(id: "old", userID: user.id, expiresAt: Timestamp(Date().addingTimeInterval(-60)))
                try await store.revokeToken(id: "jti-3", userID: user.id, expiresAt: Timestamp(Date().addingTimeInterval(60)))
                #expect(try await !store.isTokenRevoked(id: "old"))  // expired entries are forgotten
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func foreignKeysAreEnforced(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                await #expect(throws: StoreError.notFound) {
                    try await store.revokeToken(id: "x", userID: UserID(42), expiresAt: Timestamp(Date()))
                }
                let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
                await #expect(throws: StoreError.notFound) {
                    try await store.conversation(between: a.id, and: UserID(42))
                }
            }
        }
    }

    // MARK: Conversations

    @Test(arguments: StoreBackend.all)
    func theConversationOfAPairIsUniqueInEitherOrder(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
                let b = try await store.createUser(newUser("b@b.io"), welcomeMail: mail(to: "b@b.io"))
                let (first, created) = try await store.conversation(between: a.id, and: b.id)
                let (second, createdAgain) = try await store.conversation(between: b.id, and: a.id)
                #expect(created && !createdAgain)
                #expect(first == second)
                #expect(second.senderID == a.id && second.recipientID == b.id)
                #expect(second.status == "active" && second.lastMessageID == nil)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func concurrentCreationsOfAPairAgreeOnOneConversation(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
                let b = try await store.createUser(newUser("b@b.io"), welcomeMail: mail(to: "b@b.io"))
                let results = try await withThrowingTaskGroup(of: (ConversationID, Bool).self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let (conversation, created) =
                                index % 2 == 0
                                ? try await store.conversation(between: a.id, and: b.id)
                                : try await store.conversation(between: b.id, and: a.id)
                            return (conversation.id, created)
                        }
                    }
                    return try await group.reduce(into: [(ConversationID, Bool)]()) { $0.append($1) }
                }
                #expect(Set(results.map(\.0)).count == 1)
                #expect(results.filter(\.1).count == 1)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func conversationsAreListedByLatestMessageAndReadMarksOnlyMoveForward(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
                let b = try await store.createUser(newUser("b@b.io"), welcomeMail: mail(to: "b@b.io"))
                let c = try await store.createUser(newUser("c@b.io"), welcomeMail: mail(to: "c@b.io"))
                let d = try await store.createUser(newUser("d@b.io"), welcomeMail: mail(to: "d@b.io"))
                let (ab, _) = try await store.conversation(between: a.id, and: b.id)
                let (ac, _) = try await store.conversation(between: c.id, and: a.id)
                let (ad, _) = try await store.conversation(between: a.id, and: d.id)
                let (cd, _) = try await store.conversation(between: c.id, and: d.id)
                let inAC = try created(try await store.insertMessages([draft(ac.id, from: c.id, "1")]))
                let inAB = try created(try await store.insertMessages([draft(ab.id, from: a.id, "2")]))
                #expect(try await store.conversations(of: a.id).map(\.id) == [ab.id, ac.id, ad.id])
                #expect(try await store.conversations(of: d.id).map(\.id) == [cd.id, ad.id])

                let read = try await store.markRead(ac.id, by: a.id, upTo: inAC.id)
                #expect(read.lastReadID(of: a.id) == inAC.id && read.lastReadID(of: c.id) == nil)
                let later = try await store.markRead(ac.id, by: a.id, upTo: MessageID(inAC.id.rawValue + 10))
                let back = try await store.markRead(ac.id, by: a.id, upTo: MessageID(1))
                #expect(back.lastReadID(of: a.id) == later.lastReadID(of: a.id))
                let peer = try await store.markRead(ac.id, by: c.id, upTo: inAC.id)
                #expect(peer.lastReadID(of: c.id) == inAC.id)
                await #expect(throws: StoreError.notFound) {
                    try await store.markRead(ab.id, by: c.id, upTo: inAB.id)
                }
                await #expect(throws: StoreError.notFound) {
                    try await store.markRead(ConversationID(999), by: a.id, upTo: inAB.id)
                }
                #expect(try await store.conversation(id: ConversationID(999)) == nil)
            }
        }
    }

    // MARK: Messages

    @Test(arguments: StoreBackend.all)
    func messagesAreIdempotentByClientIDAndPagedAscending(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let (a, b, conversation) = try await pair(in: store)
                var ids: [MessageID] = []
                for index in 0..<5 {
                    let message = try created(
                        try await store.insertMessages([draft(conversation.id, from: a.id, "m\(index)", clientID: "c\(index)")])
                    )
                    ids.append(message.id)
                }
                let resend = try await store.insertMessages([draft(conversation.id, from: a.id, "other", clientID: "c2")])
                #expect(resend.first == .success(.existing(try #require(try await store.message(from: a.id, clientID: "c2")))))
                #expect(try await store.message(from: b.id, clientID: "c2") == nil)
                let newest = try await store.messages(in: conversation.id, page: .newest(limit: 2))
                #expect(newest.messages.map(\.id) == Array(ids[3...]) && newest.hasMore)
                let before = try await store.messages(in: conversation.id, page: .before(ids[3], limit: 2))
                #expect(before.messages.map(\.id) == Array(ids[1...2]) && before.hasMore)
                let after = try await store.messages(in: conversation.id, page: .after(ids[1], limit: 10))
                #expect(after.messages.map(\.id) == Array(ids[2...]) && !after.hasMore)
                let all = try await store.messages(in: conversation.id, page: .newest(limit: 5))
                #expect(all.messages.map(\.content) == ["m0", "m1", "m2", "m3", "m4"] && !all.hasMore)
                #expect(try await store.conversation(id: conversation.id)?.lastMessageID == ids.last)
                #expect(try await store.missedMessages(for: b.id, after: ids[0], limit: 10).map(\.id) == Array(ids[1...]))
                #expect(try await store.missedMessages(for: b.id, after: ids[0], limit: 2).map(\.id) == Array(ids[1...2]))
                #expect(try await store.missedMessages(for: a.id, after: MessageID(0), limit: 10).isEmpty)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func aBatchAnswersEachDraftInOrderAndIsIdempotentWithinItself(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let (a, b, conversation) = try await pair(in: store)
                let results = try await store.insertMessages([
                    draft(conversation.id, from: a.id, "first", clientID: "same"),
                    draft(conversation.id, from: a.id, "again", clientID: "same"),
                    draft(conversation.id, from: b.id, "b's own", clientID: "same"),
                    draft(ConversationID(999), from: a.id, "nowhere", clientID: "lost"),
                    draft(conversation.id, from: a.id, "no key"),
                    draft(conversation.id, from: a.id, "no key"),
                    draft(conversation.id, from: UserID(999), "nobody", clientID: "ghost"),
                ])
                try #require(results.count == 7)
                guard case .success(.created(let first)) = results[0],
                    case .success(.existing(let again)) = results[1],
                    case .success(.created(let other)) = results[2],
                    case .success(.created(let plain1)) = results[4],
                    case .success(.created(let plain2)) = results[5]
                else {
                    Issue.record("unexpected outcomes: \(results)")
                    return
                }
                #expect(again == first && first.content == "first")
                #expect(other.senderID == b.id && other.clientID == "same")
                #expect(results[3] == .failure(.notFound))
                #expect(results[6] == .failure(.notFound))
                #expect(first.id < other.id && other.id < plain1.id && plain1.id < plain2.id)
                #expect(plain1.clientID == nil && plain2.clientID == nil)
                let stored = try await store.messages(in: conversation.id, page: .newest(limit: 10)).messages
                #expect(stored == [first, other, plain1, plain2])
                #expect(try await store.conversation(id: conversation.id)?.lastMessageID == plain2.id)
                // A lost draft's key stays free.
                let retry = try await store.insertMessages([draft(conversation.id, from: a.id, "found", clientID: "lost")])
                #expect(try created(retry).content == "found")
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func resendsAcrossConcurrentBatchesAndNodesStoreOneMessage(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { first in
                let (a, _, conversation) = try await pair(in: first)
                // A second store on the same data: another broker node (PostgreSQL) or process (SQLite).
                try await StoreFixture.running(try fixture.open()) { second in
                    let outcomes = try await withThrowingTaskGroup(of: StoredMessage.self) { group in
                        for index in 0..<40 {
                            let store = index % 2 == 0 ? first : second
                            group.addTask {
                                let results = try await store.insertMessages([
                                    draft(conversation.id, from: a.id, "try \(index)", clientID: "once")
                                ])
                                return try #require(try results.first?.get())
                            }
                        }
                        return try await group.reduce(into: [StoredMessage]()) { $0.append($1) }
                    }
                    let messages = Set(outcomes.map(\.message))
                    #expect(messages.count == 1)
                    #expect(outcomes.filter { if case .created = $0 { true } else { false } }.count == 1)
                    let stored = try await second.messages(in: conversation.id, page: .newest(limit: 50)).messages
                    #expect(stored.count == 1 && stored.first == messages.first)
                }
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func idsFollowCommitOrderSoRecoveryByLastSeenIDMissesNothing(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { reader in
                let recipient = try await reader.createUser(newUser("r@b.io"), welcomeMail: mail(to: "r@b.io"))
                // Several nodes on one database for PostgreSQL (each with its own writer, so batches really
                // commit concurrently); several tasks on the one store for SQLite.
                let nodeCount = backend == .postgres ? 3 : 1
                var nodes: [any TestableStore] = []
                for _ in 0..<nodeCount { nodes.append(try fixture.open()) }
                let senders = 6
                let messagesPerSender = 40
                var conversations: [(UserID, ConversationID)] = []
                for index in 0..<senders {
                    let sender = try await reader.createUser(newUser("s\(index)@b.io"), welcomeMail: mail(to: "s\(index)@b.io"))
                    let (conversation, _) = try await reader.conversation(between: sender.id, and: recipient.id)
                    conversations.append((sender.id, conversation.id))
                }
                let plan = conversations
                let nodeList = nodes
                let (seen, sent) = try await withThrowingTaskGroup(
                    of: Void.self,
                    returning: ([MessageID], [[MessageID]]).self
                ) { runners in
                    for node in nodeList { runners.addTask { try await node.run() } }
                    defer { runners.cancelAll() }
                    return try await withThrowingTaskGroup(
                        of: [MessageID].self,
                        returning: ([MessageID], [[MessageID]]).self
                    ) { group in
                        for (index, (sender, conversation)) in plan.enumerated() {
                            let node = nodeList[index % nodeList.count]
                            group.addTask {
                                var ids: [MessageID] = []
                                for number in 0..<messagesPerSender {
                                    let message = try created(
                                        try await node.insertMessages([draft(conversation, from: sender, "\(number)")])
                                    )
                                    ids.append(message.id)
                                }
                                return ids
                            }
                        }
                        // The recipient recovering again and again by last_seen_id while the batches commit
                        // (stopped by a flag: cancelling would cancel a SQLite read in flight).
                        let done = StopFlag()
                        defer { done.set() }  // also when a sender fails
                        let recovery = Task {
                            var lastSeen = MessageID(0)
                            var seen: [MessageID] = []
                            while !done.isSet, !Task.isCancelled {
                                let missed = try await reader.missedMessages(for: recipient.id, after: lastSeen, limit: 1_000)
                                seen += missed.map(\.id)
                                lastSeen = missed.last?.id ?? lastSeen
                                if missed.isEmpty { await Task.yield() }
                            }
                            return (seen, lastSeen)
                        }
                        var sent: [[MessageID]] = []
                        for try await ids in group { sent.append(ids) }
                        done.set()
                        let (seenLive, lastSeen) = try await recovery.value
                        let rest = try await reader.missedMessages(for: recipient.id, after: lastSeen, limit: 1_000)
                        return (seenLive + rest.map(\.id), sent)
                    }
                }
                for ids in sent { #expect(ids == ids.sorted(), "one sender's messages are stored in send order") }
                let all = sent.flatMap { $0 }
                #expect(all.count == senders * messagesPerSender)
                #expect(seen == seen.sorted() && Set(seen).count == seen.count, "recovery is ascending, without duplicates")
                let skipped = Set(all).subtracting(seen).sorted()
                #expect(skipped.isEmpty, "recovery by last_seen_id skipped late commits with smaller ids")
                #expect(Set(seen) == Set(all))
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func timestampsRoundTripWithMicroseconds(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.withStore { store in
                let user = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
                let stored = try #require(try await store.user(id: user.id))
                #expect(stored.insertedAt == user.insertedAt)
                #expect(stored.insertedAt.microseconds % 1_000_000 == user.insertedAt.microseconds % 1_000_000)
            }
        }
    }

    // MARK: Availability (PostgreSQL)

    @Test(arguments: [StoreBackend.postgres])
    func aServerThatIsDownMakesTheStoreUnavailable(backend: StoreBackend) async throws {
        var location = try StoreFixture.postgresServer()
        location.port = 1  // nothing listens there: every connection attempt is refused
        let store = try PostgresStore(
            location: location,
            configuration: StoreConfiguration(backend: .postgres(location)),
            logger: StoreFixture.logger,
            leaseTimeout: .milliseconds(300)
        )
        let started = ContinuousClock.now
        let runner = Task { try await store.run() }
        await #expect(throws: StoreError.unavailable) { try await store.ping() }
        await #expect(throws: StoreError.unavailable) {
            try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
        }
        await #expect(throws: StoreError.unavailable) {
            try await store.insertMessages([draft(ConversationID(1), from: UserID(1), "x")])
        }
        await #expect(throws: StoreError.unavailable) { try await runner.value }
        #expect(ContinuousClock.now - started < .seconds(30))
        await #expect(throws: StoreError.unavailable) {
            try await PostgresStore.migrate(
                location: location,
                configuration: StoreConfiguration(backend: .postgres(location)),
                logger: StoreFixture.logger,
                leaseTimeout: .milliseconds(300)
            )
        }
    }

    @Test(arguments: [StoreBackend.postgres])
    func losingTheDatabaseMakesOperationsUnavailableUntilItReturns(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            guard case .postgres(let location) = fixture.location else { return }
            let server = try StoreFixture.postgresServer()
            let (a, _, conversation) = try await fixture.withStore { try await pair(in: $0) }
            // A short lease timeout, so the outage is reported quickly.
            try await fixture.withStartedStore(leaseTimeout: .seconds(2)) { store in
                try await checkOutageAndRecovery(
                    of: store,
                    database: location.database,
                    server: server,
                    sender: a.id,
                    in: conversation.id
                )
            }
        }
    }

    /// Takes the store's database away (no new connections, open ones dropped, as in a failover), expects
    /// `unavailable` from every kind of operation, gives it back, and expects the store to recover by itself.
    private func checkOutageAndRecovery(
        of store: any TestableStore,
        database: String,
        server: PostgresLocation,
        sender: UserID,
        in conversation: ConversationID
    ) async throws {
        try await StoreFixture.maintenance(server, "ALTER DATABASE \(database) ALLOW_CONNECTIONS false")
        try await StoreFixture.maintenance(
            server,
            """
            SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
            WHERE datname = '\(database)' AND pid <> pg_backend_pid()
            """
        )
        await #expect(throws: StoreError.unavailable) { try await store.ping() }
        await #expect(throws: StoreError.unavailable) {
            try await store.insertMessages([draft(conversation, from: sender, "lost?", clientID: "k")])
        }
        await #expect(throws: StoreError.unavailable) {
            try await store.createUser(newUser("c@b.io"), welcomeMail: mail(to: "c@b.io"))
        }
        try await StoreFixture.maintenance(server, "ALTER DATABASE \(database) ALLOW_CONNECTIONS true")
        // The pool reconnects by itself (after its backoff); retrying with the same client_id is what a
        // client does after `unavailable`, and is safe.
        let deadline = ContinuousClock.now + .seconds(40)
        var stored: Message?
        while stored == nil, ContinuousClock.now < deadline {
            do {
                stored = try await store.insertMessages([draft(conversation, from: sender, "lost?", clientID: "k")])
                    .first?.get().message
            } catch StoreError.unavailable {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(stored?.content == "lost?")
        let history = try await store.messages(in: conversation, page: .newest(limit: 10)).messages
        #expect(history.count == 1 && history.first == stored)
    }

    @Test(arguments: [StoreBackend.postgres])
    func connectionsKilledUnderRunningStatementsNeverHangAnOperation(backend: StoreBackend) async throws {
        try await StoreFixture.with(backend) { fixture in
            guard case .postgres(let location) = fixture.location else { return }
            let server = try StoreFixture.postgresServer()
            let (a, _, conversation) = try await fixture.withStore { try await pair(in: $0) }
            try await fixture.withStartedStore(leaseTimeout: .seconds(1)) { store in
                let stop = StopFlag()
                let (succeeded, refused) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                    defer { stop.set() }  // also when the killing fails: the workers must not outlive the test
                    for worker in 0..<8 {
                        group.addTask {
                            var succeeded = 0
                            var refused = 0
                            var number = 0
                            while !stop.isSet, !Task.isCancelled {
                                do {
                                    if worker % 2 == 0 {
                                        try await store.ping()
                                    } else {
                                        let key = "w\(worker)-\(number)"
                                        _ = try await store.insertMessages([
                                            draft(conversation.id, from: a.id, key, clientID: key)
                                        ])
                                    }
                                    succeeded += 1
                                } catch StoreError.unavailable {
                                    refused += 1
                                    // Back off: a refusal can come without suspending, and a loop that never
                                    // suspends would starve the other tasks of the two cooperative threads.
                                    try await Task.sleep(for: .milliseconds(5))
                                }
                                number += 1
                            }
                            return (succeeded, refused)
                        }
                    }
                    // Connections die under running statements, again and again, while the server stays up.
                    for _ in 0..<25 {
                        try await StoreFixture.maintenance(
                            server,
                            """
                            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE datname = '\(location.database)' AND pid <> pg_backend_pid()
                            """
                        )
                        try await Task.sleep(for: .milliseconds(40))
                    }
                    stop.set()
                    return try await group.reduce(into: (0, 0)) {
                        $0.0 += $1.0
                        $0.1 += $1.1
                    }
                }
                #expect(succeeded > 0)
                #expect(refused > 0)
                #expect(try await eventually { try await store.ping() }, "the store works again afterwards")
            }
        }
    }

    @Test func timestampsRenderAsRFC3339WithMicroseconds() {
        #expect(Timestamp(microseconds: 1_795_000_000_123_456).rfc3339 == "2026-11-18T11:06:40.123456Z")
        #expect(Timestamp(microseconds: 5).rfc3339 == "1970-01-01T00:00:00.000005Z")
    }
}

/// A flag one task sets and another polls.
final class StopFlag: Sendable {
    private let value = Locked(false)
    /// Sets the flag.
    func set() { value.withLock { $0 = true } }
    /// Whether the flag is set.
    var isSet: Bool { value.withLock { $0 } }
}

/// Whether `operation` succeeds within `limit`, retrying it while the store is `unavailable`.
func eventually(within limit: Duration = .seconds(30), _ operation: () async throws -> Void) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        do {
            try await operation()
            return true
        } catch StoreError.unavailable {
            try await Task.sleep(for: .milliseconds(100))
        }
    }
    return false
}

/// Two users and their conversation.
func pair(in store: any Store) async throws -> (User, User, Conversation) {
    let a = try await store.createUser(newUser("a@b.io"), welcomeMail: mail(to: "a@b.io"))
    let b = try await store.createUser(newUser("b@b.io"), welcomeMail: mail(to: "b@b.io"))
    let (conversation, _) = try await store.conversation(between: a.id, and: b.id)
    return (a, b, conversation)
}

/// A message draft.
func draft(_ conversation: ConversationID, from sender: UserID, _ content: String, clientID: String? = nil) -> NewMessage {
    NewMessage(conversationID: conversation, senderID: sender, content: content, clientID: clientID)
}

/// The message a one-draft batch created; fails the test otherwise.
func created(_ results: [Result<StoredMessage, StoreError>]) throws -> Message {
    guard results.count == 1, case .success(.created(let message)) = results[0] else {
        throw UnexpectedOutcome(results: results)
    }
    return message
}

/// A batch answered something other than one created message.
struct UnexpectedOutcome: Error, CustomStringConvertible {
    /// What it answered.
    var results: [Result<StoredMessage, StoreError>]
    /// The outcomes, for the failure message.
    var description: String { "expected one created message, got \(results)" }
}

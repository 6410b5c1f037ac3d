import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Broker
@testable import Store

/// An adapter that fails the first `failures` deliveries (for now, or for good) and records the rest.
final class FlakyAdapter: MailAdapter {
    private let state: Locked<(failuresLeft: Int, attempts: Int, delivered: [String])>
    private let failure: MailDeliveryError?
    let redactsAfterDelivery: Bool

    init(failures: Int, failure: MailDeliveryError? = nil, redacts: Bool = false) {
        state = Locked((failures, 0, []))
        self.failure = failure
        redactsAfterDelivery = redacts
    }

    var delivered: [String] { state.withLock { $0.delivered } }
    var attempts: Int { state.withLock { $0.attempts } }

    func deliver(_ mail: Mail) async throws {
        try state.withLock { state in
            state.attempts += 1
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw failure ?? MailDeliveryError.transient("connection refused")
            }
            state.delivered.append(mail.to)
        }
    }
}

/// Encodes nothing: these tests deliver no messages.
struct NullEncoder: PushEncoder {
    func encodePresenceDiff(joins: [(UserID, Timestamp)], leaves: [(UserID, Timestamp)]) -> EncodedPush {
        EncodedPush(event: "presence_diff", payload: ByteBuffer(string: "joins:\(joins.map(\.0.rawValue)) leaves:\(leaves.map(\.0.rawValue))"))
    }
    func encodeReceive(_ message: Message) -> EncodedPush { EncodedPush(event: "receive_msg", payload: .init()) }
}

@Suite(.timeLimit(.minutes(1)))
struct MailerTests {
    func withStore(_ body: @Sendable (any Store) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("m.sqlite").path
        let store = try makeStore(
            for: StoreConfiguration(backend: .sqlite(path: path), sync: .normal),
            logger: Logger(label: "test")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            try await body(store)
        }
    }

    func register(_ email: String, in store: any Store) async throws {
        _ = try await store.createUser(
            NewUser(name: "N", subname: "S", email: email, job: "J", passwordHash: "h"),
            welcomeMail: NewMail(
                to: email,
                from: "broker@localhost",
                subject: "Welcome",
                textBody: "pw",
                htmlBody: "pw",
                redactedTextBody: "[redacted]",
                redactedHTMLBody: "[redacted]"
            )
        )
    }

    /// Waits (polling the store) until the first mail has the status.
    func waitForStatus(_ status: Mail.Status, in store: any Store, within limit: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await store.mails(limit: 1).first?.status == status { return true }
            try await Task.sleep(for: .milliseconds(10))  // polls the outbox from outside the mailer
        }
        return false
    }

    @Test func deliversTheOutboxAndMarksMailsSent() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            try await register("c@d.io", in: store)
            let adapter = FlakyAdapter(failures: 0)
            let mailer = Mailer(store: store, adapter: adapter, logger: Logger(label: "test"))
            #expect(try await mailer.deliverDue() == 2)
            #expect(adapter.delivered == ["a@b.io", "c@d.io"])
            #expect(try await store.pendingMails(limit: 10).isEmpty)
            #expect(try await mailer.deliverDue() == 0)
            #expect(try await store.mails(limit: 10).allSatisfy { $0.textBody == "pw" }, "the local kind keeps the bodies")
        }
    }

    @Test func aFailedMailWaitsForItsBackoffAndIsThenDelivered() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            let adapter = FlakyAdapter(failures: 1)
            let mailer = Mailer(
                store: store,
                adapter: adapter,
                logger: Logger(label: "test"),
                retry: MailRetryPolicy(base: .seconds(20))
            )
            let before = Timestamp.now()
            #expect(try await mailer.deliverDue() == 1)
            #expect(try await mailer.deliverDue() == 0, "not due before its backoff")
            let pending = try #require(try await store.pendingMails(limit: 10).first)
            #expect(pending.attempts == 1)
            #expect(pending.nextAttemptAt >= before.advanced(by: .seconds(10)), "at least half the first delay")
            #expect(pending.nextAttemptAt <= Timestamp.now().advanced(by: .seconds(20)))
            #expect(adapter.attempts == 1)
        }
    }

    @Test func theRunningMailerWakesForTheNextDueAttempt() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            let adapter = FlakyAdapter(failures: 2)
            let mailer = Mailer(
                store: store,
                adapter: adapter,
                logger: Logger(label: "test"),
                pollInterval: .seconds(3_600),
                retry: MailRetryPolicy(base: .milliseconds(100))
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await mailer.run() }
                #expect(try await waitForStatus(.sent, in: store), "retried at its due times, not the hourly poll")
                await mailer.stop()
                try await group.waitForAll()
            }
            #expect(adapter.attempts == 3)
        }
    }

    @Test func aPermanentFailureIsRecordedAtOnceAndNotRetried() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            let adapter = FlakyAdapter(failures: 100, failure: .permanent("550 no such user"), redacts: true)
            let mailer = Mailer(
                store: store,
                adapter: adapter,
                logger: Logger(label: "test"),
                retry: MailRetryPolicy(base: .zero)
            )
            #expect(try await mailer.deliverDue() == 1)
            #expect(try await mailer.deliverDue() == 0)
            let mail = try #require(try await store.mails(limit: 1).first)
            #expect(mail.status == .failed && mail.attempts == 1)
            #expect(mail.textBody == "[redacted]", "a mail given up on keeps no password either")
            #expect(adapter.attempts == 1)
        }
    }

    @Test func transientFailuresAreGivenUpOnAfterTheRetryPeriod() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            let adapter = FlakyAdapter(failures: 100)
            let mailer = Mailer(
                store: store,
                adapter: adapter,
                logger: Logger(label: "test"),
                retry: MailRetryPolicy(base: .seconds(1), retryPeriod: .zero)
            )
            #expect(try await mailer.deliverDue() == 1)
            #expect(try await store.mails(limit: 1).first?.status == .failed)
            #expect(try await store.pendingMails(limit: 10).isEmpty)
        }
    }

    @Test func aRedactingAdapterLeavesOnlyTheRedactedCopy() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            let mailer = Mailer(store: store, adapter: FlakyAdapter(failures: 0, redacts: true), logger: Logger(label: "test"))
            #expect(try await mailer.deliverDue() == 1)
            let mail = try #require(try await store.mails(limit: 1).first)
            #expect(mail.status == .sent)
            #expect(mail.textBody == "[redacted]" && mail.htmlBody == "[redacted]")
        }
    }

    @Test func theSupervisedMailerIsWokenByANewMail() async throws {
        try await withStore { store in
            var configuration = BrokerRoot.Configuration()
            configuration.mailPollInterval = .seconds(3_600)
            let broker = BrokerRoot(
                store: store,
                mailAdapter: LocalMailAdapter(),
                encoder: NullEncoder(),
                configuration: configuration,
                logger: Logger(label: "test")
            )
            let root = broker.supervisor
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await root.run() }
                try await register("late@b.io", in: store)
                broker.mailWritten()
                #expect(try await waitForStatus(.sent, in: store), "woken by the doorbell, not the hourly poll")
                await root.stop()
                try await group.waitForAll()
            }
        }
    }
}

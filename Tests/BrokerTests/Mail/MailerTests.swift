import Foundation
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Broker
@testable import Store

/// An adapter that fails the first `failures` deliveries and records the rest.
final class FlakyAdapter: MailAdapter {
    private let state: Mutex<(failuresLeft: Int, delivered: [String])>

    init(failures: Int) { state = Mutex((failures, [])) }

    var delivered: [String] { state.withLock { $0.delivered } }

    func deliver(_ mail: Mail) async throws {
        try state.withLock { state in
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw URLError(.cannotConnectToHost)
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
            for: StoreConfiguration(backend: .sqlite(path: path), sync: .normal), logger: Logger(label: "test")
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
            welcomeMail: NewMail(to: email, from: "broker@localhost", subject: "Welcome", textBody: "pw", htmlBody: "pw")
        )
    }

    @Test func deliversTheOutboxAndMarksMailsSent() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            try await register("c@d.io", in: store)
            let adapter = FlakyAdapter(failures: 0)
            let mailer = Mailer(store: store, adapter: adapter, logger: Logger(label: "test"))
            #expect(try await mailer.deliverPending() == 2)
            #expect(adapter.delivered == ["a@b.io", "c@d.io"])
            let pending = try await store.pendingMails(limit: 10)
            #expect(pending.isEmpty)
            #expect(try await mailer.deliverPending() == 0)
        }
    }

    @Test func retriesFailedDeliveriesAndGivesUpAfterMaxAttempts() async throws {
        try await withStore { store in
            try await register("a@b.io", in: store)
            let adapter = FlakyAdapter(failures: 2)
            let mailer = Mailer(store: store, adapter: adapter, logger: Logger(label: "test"), maxAttempts: 5)
            #expect(try await mailer.deliverPending() == 0)
            #expect(try await mailer.deliverPending() == 0)
            #expect(try await mailer.deliverPending() == 1)
            #expect(adapter.delivered == ["a@b.io"])
            try await register("x@y.io", in: store)
            let hopeless = Mailer(store: store, adapter: FlakyAdapter(failures: 100), logger: Logger(label: "t"), maxAttempts: 2)
            try await hopeless.deliverPending()
            try await hopeless.deliverPending()
            let mails = try await store.mails(limit: 10)
            #expect(mails.first { $0.to == "x@y.io" }?.status == .failed)
            #expect(try await store.pendingMails(limit: 10).isEmpty)
        }
    }

    @Test func theSupervisedMailerDeliversMailWrittenWhileItRuns() async throws {
        try await withStore { store in
            var configuration = BrokerRoot.Configuration()
            configuration.mailPollInterval = .milliseconds(10)
            let root = BrokerRoot(
                store: store, mailAdapter: LocalMailAdapter(), encoder: NullEncoder(), configuration: configuration,
                logger: Logger(label: "test")
            ).supervisor
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await root.run() }
                try await register("late@b.io", in: store)
                let deadline = ContinuousClock.now + .seconds(10)
                var status: Mail.Status?
                while status != .sent, ContinuousClock.now < deadline {
                    status = try await store.mails(limit: 1).first?.status
                    if status != .sent { try await Task.sleep(for: .milliseconds(10)) }  // polls the outbox
                }
                #expect(status == .sent)
                await root.stop()
                try await group.waitForAll()
            }
        }
    }
}

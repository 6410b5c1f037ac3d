import Foundation
import Testing

/// `BROKER_MAILER=smtp` against a real SMTP server (aiosmtpd, see ``SMTPTestServer``): the welcome mail
/// arrives over STARTTLS with AUTH carrying the password, the stored copy is redacted afterwards, outages are
/// retried, rejections are not, a restart resumes the outbox, and the development mailbox is gone.
@Suite(.timeLimit(.minutes(2)))
struct SMTPMailTests {
    static let sender = "chat@broker.test"

    /// The broker's mail settings for a server on `port`.
    func environment(
        port: Int,
        host: String = "127.0.0.1",
        startTLS: Bool = false,
        extra: [String: String] = [:]
    )
        -> [String: String]
    {
        [
            "BROKER_MAILER": "smtp", "BROKER_SMTP_HOST": host, "BROKER_SMTP_PORT": "\(port)",
            "BROKER_SMTP_STARTTLS": startTLS ? "true" : "false", "BROKER_SMTP_FROM": Self.sender,
            "BROKER_SMTP_RETRY_BASE": "200", "BROKER_SMTP_TIMEOUT": "5",
        ].merging(extra) { $1 }
    }

    /// Registers a user and returns the password of the 201.
    func register(_ email: String, at broker: BrokerProcess) async throws -> String {
        let response = try await HTTP(base: broker.baseURL).send(
            .POST,
            "/api/users",
            json: #"{"user": {"name": "Zoë", "subname": "S", "email": "\#(email)", "job": "J"}}"#
        )
        #expect(response.status == 201)
        return try #require(response.json["password"] as? String)
    }

    /// The value of one metric line (name with its labels) in `/metrics`, `nil` while it is not there.
    func metric(_ series: String, at broker: BrokerProcess) async throws -> Double? {
        let text = String(decoding: try await HTTP(base: broker.baseURL).send(.GET, "/metrics").body, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// Waits until the metric reaches `value` (polling the server's `/metrics`).
    func waitForMetric(_ series: String, atLeast value: Double, at broker: BrokerProcess) async throws -> Double? {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let current = try await metric(series, at: broker)
            if (current ?? 0) >= value || ContinuousClock.now >= deadline { return current }
            try await Task.sleep(for: .milliseconds(50))  // polling the server's metrics
        }
    }

    /// Waits until the broker's stored mails satisfy `done` (polling its database file).
    func waitForStoredMails(of broker: BrokerProcess, _ done: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let mails = try SMTPTestServer.storedMails(of: broker)
            if done(mails) || ContinuousClock.now >= deadline { return mails }
            try await Task.sleep(for: .milliseconds(50))  // polling the broker's database file
        }
    }

    @Test(arguments: [false, true])
    func theWelcomeMailArrivesOverSTARTTLSWithAuthAndOnlyARedactedCopyStays(loginOnly: Bool) async throws {
        try SMTPTestServer.requireTools()
        let certificates = try SMTPTestServer.makeCertificates()
        defer { try? FileManager.default.removeItem(at: certificates) }
        let server = try await SMTPTestServer(
            port: try SMTPTestServer.freePort(),
            options: .init(certificates: certificates, auth: ("mailer", "s3cret pass"), onlyLogin: loginOnly)
        )
        defer { server.stop() }
        let broker = try await BrokerProcess(
            environment: environment(
                port: server.port,
                host: "localhost",
                startTLS: true,
                extra: [
                    "BROKER_SMTP_USER": "mailer", "BROKER_SMTP_PASSWORD": "s3cret pass",
                    "BROKER_SMTP_CA_FILE": certificates.appendingPathComponent("ca.pem").path,
                ]
            )
        )
        defer { broker.removeFiles() }

        let password = try await register("ann@example.com", at: broker)
        let messages = try await server.waitForEvents { $0.contains { $0["event"] as? String == "message" } }
            .filter { $0["event"] as? String == "message" }
        try #require(messages.count == 1, "events: \(server.events())")
        let message = messages[0]
        #expect(message["tls"] as? Bool == true, "sent after STARTTLS")
        #expect(message["login"] as? String == "mailer", "sent after AUTH")
        #expect(message["mail_from"] as? String == Self.sender)
        #expect(message["rcpt_tos"] as? [String] == ["ann@example.com"])
        let data = try #require(message["data"] as? String)
        #expect(SMTPTestServer.header("From", of: data) == Self.sender)
        #expect(SMTPTestServer.header("To", of: data) == "ann@example.com")
        #expect(SMTPTestServer.header("Subject", of: data) == "Welcome! Your password")
        #expect(SMTPTestServer.header("MIME-Version", of: data) == "1.0")
        #expect(SMTPTestServer.header("Message-ID", of: data)?.hasPrefix("<") == true)
        #expect(SMTPTestServer.header("Date", of: data)?.hasSuffix("+0000") == true)
        let text = try #require(SMTPTestServer.textPart(of: data))
        #expect(text.contains(password), "the mail carries the password of the 201")
        #expect(text.contains("Hello Zoë"), "UTF-8 body")

        // Recorded sent after the server's 250, with the password gone from the database.
        let stored = try await waitForStoredMails(of: broker) { $0.first?["status"] as? String == "sent" }
        let mail = try #require(stored.first)
        #expect(mail["status"] as? String == "sent")
        let textBody = try #require(mail["text_body"] as? String)
        let htmlBody = try #require(mail["html_body"] as? String)
        #expect(!textBody.contains(password) && !htmlBody.contains(password))
        #expect(textBody.contains("[redacted after delivery]") && htmlBody.contains("[redacted after delivery]"))
        #expect(try await metric("broker_mails_sent_total", at: broker) == 1)
        #expect(try await broker.terminate() == 0)
    }

    @Test func aServerThatComesUpLaterGetsTheMailExactlyOnce() async throws {
        try SMTPTestServer.requireTools()
        let port = try SMTPTestServer.freePort()
        let broker = try await BrokerProcess(environment: environment(port: port))
        defer { broker.removeFiles() }
        let password = try await register("late@example.com", at: broker)
        #expect(try await waitForMetric("broker_mail_retries_total", atLeast: 2, at: broker) ?? 0 >= 2, "refused, retried")

        let server = try await SMTPTestServer(port: port)
        defer { server.stop() }
        let events = try await server.waitForEvents { $0.contains { $0["event"] as? String == "message" } }
        let text = try #require(events.first { $0["event"] as? String == "message" }?["data"] as? String)
        #expect(SMTPTestServer.textPart(of: text)?.contains(password) == true)
        _ = try await waitForStoredMails(of: broker) { $0.first?["status"] as? String == "sent" }
        // Sent and recorded: a few more backoff periods bring no second copy.
        try await Task.sleep(for: .seconds(2))  // the absence of a retry can only be waited out
        #expect(server.messages().count == 1)
        #expect(server.events().filter { $0["event"] as? String == "mail" }.count == 1)
        #expect(try await broker.terminate() == 0)
    }

    @Test(arguments: ["rcpt", "data"])
    func aRejectedMailIsFailedAtOnceCountedAndNeverRetried(rejectAt: String) async throws {
        try SMTPTestServer.requireTools()
        let server = try await SMTPTestServer(port: try SMTPTestServer.freePort(), options: .init(reject: rejectAt))
        defer { server.stop() }
        let broker = try await BrokerProcess(environment: environment(port: server.port))
        defer { broker.removeFiles() }
        let password = try await register("nobody@example.com", at: broker)

        let series = #"broker_mails_failed_total{reason="rejected"}"#
        #expect(try await waitForMetric(series, atLeast: 1, at: broker) == 1)
        let stored = try await waitForStoredMails(of: broker) { $0.first?["status"] as? String == "failed" }
        #expect(stored.first?["status"] as? String == "failed")
        #expect(stored.first?["attempts"] as? Int == 1)
        #expect((stored.first?["text_body"] as? String)?.contains(password) == false, "given up on: no password kept")
        try await Task.sleep(for: .seconds(2))  // ten retry bases: the absence of a retry can only be waited out
        #expect(server.events().filter { $0["event"] as? String == "rejected" }.count == 1, "one attempt only")
        #expect(server.messages().isEmpty)
        #expect(try await metric(series, at: broker) == 1)
        #expect(try await metric("broker_mail_retries_total", at: broker) ?? 0 == 0)
        #expect(try await broker.terminate() == 0)
    }

    @Test func pendingMailsAreDeliveredByTheBrokerRestartedAfterAnOutage() async throws {
        try SMTPTestServer.requireTools()
        let port = try SMTPTestServer.freePort()
        let first = try await BrokerProcess(environment: environment(port: port))
        defer { first.removeFiles() }
        let passwords = [
            try await register("one@example.com", at: first), try await register("two@example.com", at: first),
        ]
        #expect(try await waitForMetric("broker_mail_retries_total", atLeast: 2, at: first) ?? 0 >= 2)
        #expect(try await first.terminate() == 0)
        #expect(try SMTPTestServer.storedMails(of: first).map { $0["status"] as? String } == ["pending", "pending"])

        let server = try await SMTPTestServer(port: port)
        defer { server.stop() }
        let second = try await BrokerProcess(workingDirectory: first.workingDirectory, environment: environment(port: port))
        let events = try await server.waitForEvents { $0.filter { $0["event"] as? String == "message" }.count >= 2 }
        let texts = events.filter { $0["event"] as? String == "message" }
            .compactMap { ($0["data"] as? String).flatMap(SMTPTestServer.textPart(of:)) }
        #expect(texts.count == 2)
        for password in passwords { #expect(texts.contains { $0.contains(password) }) }
        let stored = try await waitForStoredMails(of: second) { $0.allSatisfy { $0["status"] as? String == "sent" } }
        #expect(stored.map { $0["status"] as? String } == ["sent", "sent"])
        #expect(try await second.terminate() == 0)
    }

    @Test func withoutSTARTTLSOnOfferNothingIsSentInClear() async throws {
        try SMTPTestServer.requireTools()
        let server = try await SMTPTestServer(port: try SMTPTestServer.freePort())
        defer { server.stop() }
        let broker = try await BrokerProcess(
            environment: environment(
                port: server.port,
                startTLS: true,
                extra: ["BROKER_SMTP_USER": "mailer", "BROKER_SMTP_PASSWORD": "s3cret pass"]
            )
        )
        defer { broker.removeFiles() }
        _ = try await register("careful@example.com", at: broker)
        #expect(try await waitForMetric("broker_mail_retries_total", atLeast: 2, at: broker) ?? 0 >= 2, "a failure for now")
        #expect(server.events().isEmpty, "no AUTH, no MAIL FROM over a clear connection")
        #expect(try SMTPTestServer.storedMails(of: broker).first?["status"] as? String == "pending")
        #expect(try await broker.terminate() == 0)
    }

    @Test func theDevelopmentMailboxIsNotServedWithSMTP() async throws {
        let broker = try await BrokerProcess(environment: environment(port: 9))
        defer { broker.removeFiles() }
        let http = HTTP(base: broker.baseURL)
        for path in ["/api/sent_mails", "/sent_mails"] {
            let response = try await http.send(.GET, path)
            #expect(response.status == 404, "\(path)")
            let errors = try #require(response.json["errors"] as? [String: Any], "\(path)")
            #expect(errors["detail"] is String, "\(path)")
        }
        #expect(try await broker.terminate() == 0)
    }

    @Test func theSMTPMailerWithoutAHostRefusesToStart() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (status, _) = try BrokerProcess.runCommand(["serve"], in: folder, environment: ["BROKER_MAILER": "smtp"])
        #expect(status != 0)
    }
}

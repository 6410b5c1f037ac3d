import Store

/// Delivers the outbox over SMTP (`BROKER_MAILER=smtp`) with ``SMTPClient``, one session per mail.
///
/// A mail that left the outbox keeps only its redacted copy: the real mailbox holds the password now, and the
/// broker's database should not.
package struct SMTPMailAdapter: MailAdapter {
    private let client: SMTPClient
    private let messageIDHost: String

    /// Creates the adapter.
    /// - Parameter messageIDHost: the domain part of the `Message-ID`s (the broker's host name).
    package init(client: SMTPClient, messageIDHost: String) {
        self.client = client
        self.messageIDHost = messageIDHost
    }

    /// The password must not stay at rest once the mail left.
    package var redactsAfterDelivery: Bool { true }

    package func deliver(_ mail: Mail) async throws {
        let message = SMTPMessage.build(
            mail,
            date: .now(),
            messageID: "\(Self.randomToken())@\(messageIDHost)",
            boundary: "=_\(Self.randomToken())"
        )
        try await client.send(from: mail.from, to: mail.to, data: SMTPMessage.dataPayload(message))
    }

    /// 128 random bits in hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

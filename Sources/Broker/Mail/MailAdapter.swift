import Store

/// Delivers one mail from the outbox; the adapter decides what "delivered" means.
package protocol MailAdapter: Sendable {
    /// Whether the outbox keeps only the redacted copy of a mail once it left the outbox (sent, or given up
    /// on), so that the password a welcome mail carries does not stay at rest. The local mailer's outbox is
    /// the development mailbox itself (`GET /api/sent_mails` shows the password), so it keeps the bodies.
    var redactsAfterDelivery: Bool { get }

    /// Delivers the mail: returns once the receiving side took responsibility for it.
    /// - Throws: ``MailDeliveryError/permanent(_:)`` when the mail was refused for good (it is not tried
    ///   again); anything else is a failure for now, tried again later.
    func deliver(_ mail: Mail) async throws
}

/// The development adapter: a mail counts as delivered as soon as it is taken from the outbox, and the
/// outbox itself is the mailbox shown by `GET /api/sent_mails`.
package struct LocalMailAdapter: MailAdapter {
    /// Creates the adapter.
    package init() {}

    /// The outbox is the mailbox: it keeps the bodies.
    package var redactsAfterDelivery: Bool { false }

    package func deliver(_ mail: Mail) async throws {}
}

import Store

/// Delivers one mail from the outbox; the adapter decides what "delivered" means.
package protocol MailAdapter: Sendable {
    /// Delivers the mail, or throws to have it retried later.
    func deliver(_ mail: Mail) async throws
}

/// The development adapter: a mail counts as delivered as soon as it is taken from the outbox, and the
/// outbox itself is the mailbox shown by `GET /api/sent_mails`.
package struct LocalMailAdapter: MailAdapter {
    /// Creates the adapter.
    package init() {}

    package func deliver(_ mail: Mail) async throws {}
}

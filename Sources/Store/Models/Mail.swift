/// A mail in the durable outbox: written in the same transaction as what it belongs to, sent by the Mailer.
package struct Mail: Hashable, Sendable {
    /// Delivery state of an outbox entry.
    package enum Status: String, Sendable {
        /// Not yet delivered by the adapter.
        case pending
        /// Delivered by the adapter.
        case sent
        /// Given up on after repeated failures.
        case failed
    }

    /// The mail's id.
    package var id: Int64
    /// Recipient address.
    package var to: String
    /// Sender address.
    package var from: String
    /// Subject line.
    package var subject: String
    /// Plain-text body.
    package var textBody: String
    /// HTML body.
    package var htmlBody: String
    /// Delivery state.
    package var status: Status
    /// Failed delivery attempts so far.
    package var attempts: Int
    /// When the mail was written to the outbox.
    package var insertedAt: Timestamp

    /// Creates a stored mail value.
    package init(
        id: Int64, to: String, from: String, subject: String, textBody: String, htmlBody: String, status: Status,
        attempts: Int, insertedAt: Timestamp
    ) {
        self.id = id
        self.to = to
        self.from = from
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.status = status
        self.attempts = attempts
        self.insertedAt = insertedAt
    }
}

/// A mail to put in the outbox.
package struct NewMail: Sendable {
    /// Recipient address.
    package var to: String
    /// Sender address.
    package var from: String
    /// Subject line.
    package var subject: String
    /// Plain-text body.
    package var textBody: String
    /// HTML body.
    package var htmlBody: String

    /// Creates an outbox entry.
    package init(to: String, from: String, subject: String, textBody: String, htmlBody: String) {
        self.to = to
        self.from = from
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
    }
}

/// A mail in the durable outbox: written in the same transaction as what it belongs to, sent by the Mailer.
package struct Mail: Hashable, Sendable {
    /// Delivery state of an outbox entry.
    package enum Status: String, Sendable {
        /// Not yet delivered by the adapter.
        case pending
        /// Delivered by the adapter.
        case sent
        /// Given up on: rejected by the receiving server, or still failing when the retry period ended.
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
    /// The earliest time of the next delivery attempt (the insertion time until the first attempt failed).
    package var nextAttemptAt: Timestamp

    /// Creates a stored mail value.
    package init(
        id: Int64,
        to: String,
        from: String,
        subject: String,
        textBody: String,
        htmlBody: String,
        status: Status,
        attempts: Int,
        insertedAt: Timestamp,
        nextAttemptAt: Timestamp? = nil
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
        self.nextAttemptAt = nextAttemptAt ?? insertedAt
    }
}

/// What became of one delivery attempt, as the outbox records it.
package enum MailDelivery: Sendable, Hashable {
    /// Accepted by the receiving side: the mail is `sent`.
    case sent
    /// Failed for now: the mail stays `pending`, one more attempt counted, and is due again at the time.
    case retry(at: Timestamp)
    /// Given up on: the mail is `failed`, one more attempt counted.
    case failed
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
    /// The plain-text body to keep once the mail left the outbox, when the body holds a secret (the
    /// generated password) that must not stay at rest; `nil` keeps `textBody`.
    package var redactedTextBody: String?
    /// The HTML body to keep once the mail left the outbox; `nil` keeps `htmlBody`.
    package var redactedHTMLBody: String?

    /// Creates an outbox entry.
    /// - Parameters:
    ///   - redactedTextBody: what replaces `textBody` when the delivery is recorded with redaction.
    ///   - redactedHTMLBody: what replaces `htmlBody` then.
    package init(
        to: String,
        from: String,
        subject: String,
        textBody: String,
        htmlBody: String,
        redactedTextBody: String? = nil,
        redactedHTMLBody: String? = nil
    ) {
        self.to = to
        self.from = from
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.redactedTextBody = redactedTextBody
        self.redactedHTMLBody = redactedHTMLBody
    }
}

import PostgresNIO

/// The mail outbox: claims, the delivery schedule and redaction, one statement each.
extension PostgresStore {
    /// Outbox entries still to deliver, due or not, oldest first.
    func pendingMails(limit: Int) async throws -> [Mail] {
        try await fetch(
            "pendingMails",
            """
            SELECT \(unescaped: Self.mailColumns) FROM mails WHERE status = 'pending' ORDER BY id LIMIT \(Int64(limit))
            """,
            Self.decodeMail
        )
    }

    /// Claims the due mails in one statement; `SKIP LOCKED` lets brokers claiming together take different ones.
    func claimDueMails(at now: Timestamp, lease: Duration, limit: Int) async throws -> [Mail] {
        let leasedUntil = now.advanced(by: lease).microseconds
        let claimed = try await fetch(
            "claimDueMails",
            """
            UPDATE mails SET next_attempt_at = \(leasedUntil)
            WHERE id IN (
                SELECT id FROM mails WHERE status = 'pending' AND next_attempt_at <= \(now.microseconds)
                ORDER BY id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED
            )
            RETURNING \(unescaped: Self.mailColumns)
            """,
            Self.decodeMail
        )
        return claimed.sorted { $0.id < $1.id }
    }

    /// The earliest next attempt of a pending mail.
    func nextMailAttempt() async throws -> Timestamp? {
        try await fetch(
            "nextMailAttempt",
            "SELECT min(next_attempt_at) FROM mails WHERE status = 'pending'",
            { try $0.decode(Int64?.self) }
        ).first?.map(Timestamp.init(microseconds:))
    }

    /// Records an attempt's outcome, putting the redacted copies in place when asked.
    func recordDelivery(ofMail id: Int64, _ delivery: MailDelivery, redacting: Bool) async throws {
        let redaction = redacting ? Self.mailRedaction : ""
        let query: PostgresQuery =
            switch delivery {
            case .sent:
                """
                UPDATE mails SET status = 'sent', sent_at = \(Timestamp.now().microseconds)\(unescaped: redaction)
                WHERE id = \(id)
                """
            case .retry(let at):
                "UPDATE mails SET attempts = attempts + 1, next_attempt_at = \(at.microseconds) WHERE id = \(id)"
            case .failed:
                "UPDATE mails SET status = 'failed', attempts = attempts + 1\(unescaped: redaction) WHERE id = \(id)"
            }
        try await execute("recordDelivery", query)
    }

    /// Every mail, newest first.
    func mails(limit: Int) async throws -> [Mail] {
        try await fetch(
            "mails",
            "SELECT \(unescaped: Self.mailColumns) FROM mails ORDER BY id DESC LIMIT \(Int64(limit))",
            Self.decodeMail
        )
    }

    /// The assignments that put the redacted copies (where stored) in place of the bodies, and drop the copies.
    static let mailRedaction = """
        , text_body = coalesce(redacted_text_body, text_body), html_body = coalesce(redacted_html_body, html_body), \
        redacted_text_body = NULL, redacted_html_body = NULL
        """
}

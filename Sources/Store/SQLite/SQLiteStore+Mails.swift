import GRDB

/// The mail outbox: claims, the delivery schedule and redaction.
extension SQLiteStore {
    func pendingMails(limit: Int) async throws -> [Mail] {
        try await read("pendingMails") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.mailColumns) FROM mails WHERE status = 'pending' ORDER BY id LIMIT ?",
                arguments: [limit]
            ).map(Self.decodeMail)
        }
    }

    func claimDueMails(at now: Timestamp, lease: Duration, limit: Int) async throws -> [Mail] {
        let leasedUntil = now.advanced(by: lease)
        return try await write { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.mailColumns) FROM mails WHERE status = 'pending' AND next_attempt_at <= ?
                    ORDER BY id LIMIT ?
                    """,
                arguments: [now.microseconds, limit]
            ).map(Self.decodeMail)
            let claim = try db.cachedStatement(sql: "UPDATE mails SET next_attempt_at = ? WHERE id = ?")
            return try due.map { mail in
                try claim.execute(arguments: [leasedUntil.microseconds, mail.id])
                var claimed = mail
                claimed.nextAttemptAt = leasedUntil
                return claimed
            }
        }
    }

    func nextMailAttempt() async throws -> Timestamp? {
        try await read("nextMailAttempt") { db in
            try Int64.fetchOne(db, sql: "SELECT min(next_attempt_at) FROM mails WHERE status = 'pending'")
                .map(Timestamp.init(microseconds:))
        }
    }

    func recordDelivery(ofMail id: Int64, _ delivery: MailDelivery, redacting: Bool) async throws {
        let redaction = redacting ? Self.mailRedaction : ""
        try await write { db in
            switch delivery {
            case .sent:
                try db.execute(
                    sql: "UPDATE mails SET status = 'sent', sent_at = ?\(redaction) WHERE id = ?",
                    arguments: [Timestamp.now().microseconds, id]
                )
            case .retry(let at):
                try db.execute(
                    sql: "UPDATE mails SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
                    arguments: [at.microseconds, id]
                )
            case .failed:
                try db.execute(
                    sql: "UPDATE mails SET status = 'failed', attempts = attempts + 1\(redaction) WHERE id = ?",
                    arguments: [id]
                )
            }
        }
    }

    func mails(limit: Int) async throws -> [Mail] {
        try await read("mails") { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.mailColumns) FROM mails ORDER BY id DESC LIMIT ?", arguments: [limit])
                .map(Self.decodeMail)
        }
    }

    /// The assignments that put the redacted copies (where stored) in place of the bodies, and drop the copies.
    static let mailRedaction = """
        , text_body = coalesce(redacted_text_body, text_body), html_body = coalesce(redacted_html_body, html_body), \
        redacted_text_body = NULL, redacted_html_body = NULL
        """
}

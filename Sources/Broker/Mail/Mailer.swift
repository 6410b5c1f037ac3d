import Logging
import Store

/// Delivers the durable outbox through a ``MailAdapter``: a mail is written in the same transaction as what
/// it belongs to, so none is lost, and the Mailer tries each until it is sent or given up on.
///
/// A mail is claimed from the store before its attempt (see ``Store/claimDueMails(at:lease:limit:)``), so
/// brokers sharing a database do not send it twice, and is recorded `sent` only once the adapter returned.
/// A failure for now is tried again on the ``MailRetryPolicy``'s schedule, which is stored with the mail, so
/// a restart keeps it; a permanent failure is recorded `failed` at once. Between rounds the Mailer waits
/// until the earliest next attempt, the ``MailDoorbell`` (a mail was written), or at most `pollInterval`
/// (mails written by other brokers on the same database), whichever comes first.
///
/// It owns nothing but its loop; the broker's supervisor runs it (permanent) and stops it.
package actor Mailer {
    private let store: any Store
    private let adapter: any MailAdapter
    private let logger: Logger
    private let pollInterval: Duration
    private let retry: MailRetryPolicy
    private let doorbell: MailDoorbell
    private let claimLease: Duration
    private var random = SystemRandomNumberGenerator()
    private var isStopping = false

    /// Mails attempted in one round at most, before the loop looks at the time again.
    static let roundLimit = 20

    /// Creates a mailer.
    /// - Parameters:
    ///   - pollInterval: the longest wait between two looks at the outbox.
    ///   - retry: when a failed mail is tried again, and when it is given up on.
    ///   - doorbell: rung when a mail was written.
    ///   - claimLease: how long a claimed mail is kept from other brokers (and from this one after a crash in
    ///     mid-attempt): longer than any single attempt may take.
    package init(
        store: any Store,
        adapter: any MailAdapter,
        logger: Logger,
        pollInterval: Duration = .seconds(30),
        retry: MailRetryPolicy = MailRetryPolicy(),
        doorbell: MailDoorbell = MailDoorbell(),
        claimLease: Duration = .seconds(900)
    ) {
        self.store = store
        self.adapter = adapter
        self.logger = logger
        self.pollInterval = pollInterval
        self.retry = retry
        self.doorbell = doorbell
        self.claimLease = claimLease
    }

    /// Delivers until stopped or cancelled. Store errors end the run (a crash, for the supervisor to restart).
    package func run() async throws {
        while !isStopping, !Task.isCancelled {
            if try await deliverDue() == Self.roundLimit { continue }
            var wait = pollInterval
            if let next = try await store.nextMailAttempt() {
                // Never a busy loop: a mail due now was claimed by another broker a moment ago.
                wait = max(min(wait, Timestamp.now().duration(to: next)), .milliseconds(10))
            }
            await doorbell.wait(for: wait)
        }
    }

    /// Asks the loop to end after the mail in hand.
    package func stop() {
        isStopping = true
        doorbell.ring()
    }

    /// Attempts the mails due now, one claim at a time, at most ``roundLimit`` of them.
    /// - Returns: how many were attempted.
    @discardableResult
    package func deliverDue() async throws -> Int {
        var attempted = 0
        while !isStopping, attempted < Self.roundLimit,
            let mail = try await store.claimDueMails(at: .now(), lease: claimLease, limit: 1).first
        {
            attempted += 1
            try await attempt(mail)
        }
        return attempted
    }

    /// One delivery attempt and its record.
    private func attempt(_ mail: Mail) async throws {
        let redacting = adapter.redactsAfterDelivery
        do {
            try await adapter.deliver(mail)
            try await store.recordDelivery(ofMail: mail.id, .sent, redacting: redacting)
            BrokerMetrics.mailsSent.increment()
            logger.debug("mail delivered", metadata: ["mail.id": "\(mail.id)"])
        } catch let error as StoreError {
            throw error
        } catch MailDeliveryError.permanent(let reason) {
            try await store.recordDelivery(ofMail: mail.id, .failed, redacting: redacting)
            BrokerMetrics.mailsRejected.increment()
            logger.warning("mail rejected", metadata: ["mail.id": "\(mail.id)", "reason": "\(reason)"])
        } catch {
            let failedAttempts = mail.attempts + 1
            let decision = retry.decision(
                afterFailedAttempts: failedAttempts,
                insertedAt: mail.insertedAt,
                now: .now(),
                using: &random
            )
            try await store.recordDelivery(ofMail: mail.id, decision, redacting: redacting)
            var metadata: Logger.Metadata = [
                "mail.id": "\(mail.id)", "mail.attempts": "\(failedAttempts)", "reason": "\(error)",
            ]
            if case .retry(let at) = decision {
                BrokerMetrics.mailRetries.increment()
                metadata["retry_at"] = "\(at.rfc3339)"
                logger.info("mail delivery failed, will retry", metadata: metadata)
            } else {
                BrokerMetrics.mailsExpired.increment()
                logger.warning("mail delivery failed, retry period over: giving up", metadata: metadata)
            }
        }
    }
}

extension Mailer: SupervisedChild {}

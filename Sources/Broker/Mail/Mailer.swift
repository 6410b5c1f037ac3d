import Logging
import Store

/// Delivers the durable outbox through a ``MailAdapter``: a mail is written in the same transaction as what
/// it belongs to, so none is lost, and the Mailer retries each until it is sent or has failed `maxAttempts`
/// times.
///
/// It owns nothing but its loop; the broker's supervisor runs it (permanent) and stops it.
package actor Mailer {
    private let store: any Store
    private let adapter: any MailAdapter
    private let logger: Logger
    private let pollInterval: Duration
    private let maxAttempts: Int
    private var isStopping = false

    /// Creates a mailer.
    /// - Parameters:
    ///   - pollInterval: how long to wait when the outbox is empty or only failing mails remain.
    ///   - maxAttempts: failed deliveries before a mail is marked `failed`.
    package init(
        store: any Store, adapter: any MailAdapter, logger: Logger, pollInterval: Duration = .seconds(1),
        maxAttempts: Int = 5
    ) {
        self.store = store
        self.adapter = adapter
        self.logger = logger
        self.pollInterval = pollInterval
        self.maxAttempts = maxAttempts
    }

    /// Delivers until stopped or cancelled. Store errors end the run (a crash, for the supervisor to restart).
    package func run() async throws {
        while !isStopping {
            let delivered = try await deliverPending()
            if delivered == 0 {
                do {
                    try await Task.sleep(for: pollInterval)
                } catch {
                    return
                }
            }
        }
    }

    /// Asks the loop to end after the mail in hand.
    package func stop() {
        isStopping = true
    }

    /// Delivers one round of pending mails.
    /// - Returns: how many were delivered.
    @discardableResult
    package func deliverPending() async throws -> Int {
        var delivered = 0
        for mail in try await store.pendingMails(limit: 100) {
            if isStopping { break }
            do {
                try await adapter.deliver(mail)
                try await store.recordDelivery(ofMail: mail.id, status: .sent)
                delivered += 1
                logger.debug("mail delivered", metadata: ["mail.id": "\(mail.id)"])
            } catch let error as StoreError {
                throw error
            } catch {
                let giveUp = mail.attempts + 1 >= maxAttempts
                try await store.recordDelivery(ofMail: mail.id, status: giveUp ? .failed : .pending)
                logger.info(
                    "mail delivery failed",
                    metadata: ["mail.id": "\(mail.id)", "mail.attempts": "\(mail.attempts + 1)", "giving_up": "\(giveUp)"]
                )
            }
        }
        return delivered
    }
}

extension Mailer: SupervisedChild {}

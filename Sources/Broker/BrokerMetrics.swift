import Metrics

/// Every metric the broker's actor tree emits; handles made once. Labels are bounded sets, never an id.
package enum BrokerMetrics {
    /// Messages accepted for storage (socket and HTTP sends).
    static let messagesIn = Counter(label: "broker_messages_in_total")
    /// Pushes of stored messages handed to sockets' queues.
    static let messagesDelivered = Counter(label: "broker_messages_delivered_total")
    /// Sockets dropped because their queue was full.
    static let slowConsumers = Counter(label: "broker_errors_total", dimensions: [("reason", "slow consumer")])
    /// Messages in one conversation batch.
    static let conversationBatch = Recorder(label: "broker_conversation_batch_size")
    /// Mails the adapter delivered.
    static let mailsSent = Counter(label: "broker_mails_sent_total")
    /// Mails refused for good by the receiving server (a 5xx reply), recorded `failed` without retries.
    static let mailsRejected = Counter(label: "broker_mails_failed_total", dimensions: [("reason", "rejected")])
    /// Mails still failing when their retry period ended, recorded `failed`.
    static let mailsExpired = Counter(label: "broker_mails_failed_total", dimensions: [("reason", "expired")])
    /// Failed attempts that will be tried again.
    static let mailRetries = Counter(label: "broker_mail_retries_total")

    /// The supervised children a restart is counted for (the root's static children, and `dynamic` for any
    /// child of a dynamic supervisor).
    static let childKinds = ["cluster", "mailer", "conversations", "conversation-sweeper", "dynamic"]

    /// Makes every series at zero, so that scrapers see them before the first message.
    package static func register() {
        _ = (messagesIn, messagesDelivered, slowConsumers, conversationBatch)
        _ = (mailsSent, mailsRejected, mailsExpired, mailRetries)
        for kind in childKinds { _ = Counter(label: "broker_restarts_total", dimensions: [("child_kind", kind)]) }
    }
}

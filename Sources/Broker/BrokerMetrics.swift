import Metrics

/// Every metric the broker's actor tree emits; handles made once. Labels are bounded sets, never an id.
enum BrokerMetrics {
    /// Messages accepted for storage (socket and HTTP sends).
    static let messagesIn = Counter(label: "broker_messages_in_total")
    /// Pushes of stored messages handed to sockets' queues.
    static let messagesDelivered = Counter(label: "broker_messages_delivered_total")
    /// Sockets dropped because their queue was full.
    static let slowConsumers = Counter(label: "broker_errors_total", dimensions: [("reason", "slow consumer")])
    /// Messages in one conversation batch.
    static let conversationBatch = Recorder(label: "broker_conversation_batch_size")
}

import Store

/// The errors of the broker's send path, mapped to Phoenix reply reasons and HTTP statuses at the edges.
package enum BrokerError: Error, Sendable, Hashable {
    /// The sender (or the named recipient) is not a participant of the conversation, or it does not exist.
    case notParticipant
    /// The store or the conversation's actor is unavailable or restarting; safe to retry with the same `client_id`.
    case unavailable
}

/// Why an adapter could not deliver a mail, as far as the Mailer's retry decision goes.
///
/// Kept apart from ``BrokerError``: it never leaves the Mailer, so the edges' exhaustive switches over
/// ``BrokerError`` need not know it.
package enum MailDeliveryError: Error, Sendable, Hashable {
    /// Failed for now (a 4xx reply, no connection, a timeout, a TLS failure, a server that does not offer
    /// what the configuration requires): tried again later.
    case transient(String)
    /// Refused for good by the receiving server (a 5xx reply to the mail's own commands): never tried again.
    case permanent(String)
}

extension MailDeliveryError: CustomStringConvertible {
    /// The reason, for logs (never a mail's contents).
    package var description: String {
        switch self {
        case .transient(let reason): "transient: \(reason)"
        case .permanent(let reason): "permanent: \(reason)"
        }
    }
}

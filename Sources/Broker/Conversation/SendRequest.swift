import Store

/// One message to send through a ``ConversationActor``.
package struct SendRequest: Sendable {
    /// Who sends it.
    package var sender: UserID
    /// The recipient the client named; must be the other participant.
    package var recipient: UserID?
    /// The text, already validated.
    package var content: String
    /// The sender's idempotency key.
    package var clientID: String?
    /// The sending socket, which gets the reply instead of a push; `nil` for HTTP.
    package var socket: SocketID?

    /// Creates a request.
    package init(sender: UserID, recipient: UserID?, content: String, clientID: String?, socket: SocketID?) {
        self.sender = sender
        self.recipient = recipient
        self.content = content
        self.clientID = clientID
        self.socket = socket
    }
}

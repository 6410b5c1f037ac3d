import Hummingbird
import NIOCore

/// The request context of every HTTP route: Hummingbird's storage plus the
/// authenticated caller, set by ``BearerAuthenticator``.
package struct BrokerRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The channel's peer address, the key of per-address rate limits.
    public let remoteAddress: SocketAddress?
    /// The connection's channel, so a socket whose peer stopped reading can be closed by force.
    let channel: any Channel
    /// The caller, once a valid bearer token was checked.
    package var identity: Identity?
    /// The client's address: the peer's, or the one a trusted proxy forwarded (``ClientAddressMiddleware``).
    package var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
        self.identity = nil
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The caller.
    /// - Throws: ``APIError`` 401 when no valid token was presented.
    package func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError.unauthorized("authentication required") }
        return identity
    }

    /// The client address used for rate limiting; requests with no peer address share one bucket.
    package var clientAddressKey: String {
        clientAddress ?? "unknown"
    }
}

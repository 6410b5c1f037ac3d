import Broker
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Store
import Synchronization

/// `GET /socket/websocket?token=<JWT>&vsn=2.0.0`: checks the token before the upgrade (403 otherwise) and picks
/// the serializer, then runs one ``Connection`` for the socket's lifetime.
struct SocketEndpoint {
    let authenticator: BearerAuthenticator
    let broker: BrokerRoot
    let store: any Store
    let registry: ConnectionRegistry
    let readiness: Readiness
    let configuration: SocketConfiguration
    let maxMessageLength: Int

    func addRoute(to router: Router<BrokerRequestContext>) {
        router.ws("socket/websocket") { request, context in
            try await authorize(request, context: context)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            guard let (identity, serializer) = context.requestContext.upgrade.value else { return }
            let connection = Connection(
                user: identity.user, token: identity.token, serializer: serializer, broker: broker, store: store, channel: context.requestContext.channel,
                configuration: configuration, maxMessageLength: maxMessageLength, logger: context.logger
            )
            registry.add(connection)
            defer { registry.remove(connection) }
            await withDiscardingTaskGroup { group in
                group.addTask { await connection.writeLoop(outbound) }
                await connection.readLoop(inbound)
            }
        }
    }

    /// Checks the upgrade request; throws the HTTP error that refuses it.
    private func authorize(_ request: Request, context: BrokerRequestContext) async throws {
        guard !readiness.isDraining else { throw APIError.unavailable("draining") }
        guard let serializer = PhoenixSerializer(vsn: request.uri.queryParameters["vsn"].map(String.init)) else {
            throw APIError.badRequest("unsupported vsn")
        }
        guard let token = request.uri.queryParameters["token"].map(String.init) else {
            throw APIError.forbidden("missing token")
        }
        let identity: Identity
        do {
            identity = try await authenticator.authenticate(token: token)
        } catch let error as APIError {
            if case .unauthorized = error { throw APIError.forbidden("invalid or expired token") }
            throw error
        }
        guard registry.count(of: identity.user.id) < configuration.maxSocketsPerUser else {
            throw APIError.rateLimited(retryAfter: 1)
        }
        context.upgrade.set(identity, serializer)
    }
}

/// What the upgrade check learned, handed to the upgraded socket (the request context is copied, this box
/// is shared).
final class UpgradeState: Sendable {
    private let state = Mutex<(Identity, PhoenixSerializer)?>(nil)

    var value: (Identity, PhoenixSerializer)? { state.withLock { $0 } }

    func set(_ identity: Identity, _ serializer: PhoenixSerializer) {
        state.withLock { $0 = (identity, serializer) }
    }
}

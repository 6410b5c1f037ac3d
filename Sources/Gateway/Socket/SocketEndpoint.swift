import Broker
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Store

/// `GET /socket/websocket?token=<JWT>&vsn=2.0.0`: decides whether an upgrade request may open a socket, and
/// opens it once the `101` is out.
///
/// A refused upgrade is answered by ``BrokerServerChannel`` with the error thrown here, in the contract's
/// status and body (403 for a bad token, 429 past the per-user socket limit, 503 while draining, 400 for a
/// bad `vsn`); a plain `GET` of the endpoint gets the same answers from the router.
struct SocketEndpoint: Sendable {
    /// What an accepted upgrade learned, handed to the socket it opens.
    struct Admission: Sendable {
        let identity: Identity
        let serializer: PhoenixSerializer
    }

    /// The endpoint's path.
    static let path = "/socket/websocket"

    let authenticator: BearerAuthenticator
    let broker: BrokerRoot
    let store: any Store
    let registry: ConnectionRegistry
    let readiness: Readiness
    let configuration: SocketConfiguration
    let maxMessageLength: Int

    /// The route that answers plain `GET`s of the endpoint (no upgrade asked for).
    func addRoute(to router: Router<BrokerRequestContext>) {
        router.get("socket/websocket") { request, _ -> Response in
            _ = try await admit(request.uri, origin: request.headers[.origin])
            throw APIError.badRequest("websocket upgrade required")
        }
    }

    /// Checks an upgrade request's target and `Origin` header (nil when absent).
    /// - Throws: the ``APIError`` that refuses it (404 for a target other than this endpoint).
    func admit(method: HTTPMethod, target: String, origin: String?) async throws(APIError) -> Admission {
        let uri = URI(target)
        guard uri.path == Self.path else { throw APIError.notFound("not found") }
        guard method == .GET else { throw APIError.methodNotAllowed(allowed: ["GET"]) }
        do {
            return try await admit(uri, origin: origin)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.unavailable("store unavailable")
        }
    }

    private func admit(_ uri: URI, origin: String?) async throws -> Admission {
        guard !readiness.isDraining else { throw APIError.unavailable("draining") }
        guard configuration.allowedOrigins.allows(origin) else { throw APIError.forbidden("origin not allowed") }
        guard let serializer = PhoenixSerializer(vsn: uri.queryParameters["vsn"].map(String.init)) else {
            throw APIError.badRequest("unsupported vsn")
        }
        guard let token = uri.queryParameters["token"].map(String.init) else {
            throw APIError.forbidden("missing token")
        }
        let identity: Identity
        do {
            identity = try await authenticator.authenticate(token: token)
        } catch let error as APIError {
            if case .unauthorized = error { throw APIError.forbidden("invalid or expired token") }
            throw error
        }
        // A first check for plain GETs of the endpoint; an upgrade takes its slot in `reserve`.
        guard registry.count(of: identity.user.id) < configuration.maxSocketsPerUser else {
            throw APIError.rateLimited(retryAfter: 1)
        }
        return Admission(identity: identity, serializer: serializer)
    }

    /// Takes one of the user's socket slots for the life of the upgrading channel (released when it closes).
    /// - Throws: 429 when the user holds every slot: the limit is exact under simultaneous upgrades.
    func reserve(_ admission: Admission, on channel: any Channel) throws(APIError) {
        guard registry.reserveSlot(for: admission.identity.user.id, limit: configuration.maxSocketsPerUser, on: channel) else {
            throw APIError.rateLimited(retryAfter: 1)
        }
    }

    /// Opens the socket on an upgraded channel: runs on the channel's event loop, after the `101` is flushed and
    /// NIO's frame decoder and encoder are in the pipeline, right after them (`position`).
    func open(
        _ admission: Admission,
        on channel: any Channel,
        position: ChannelPipeline.SynchronousOperations.Position = .last,
        logger: Logger
    ) throws {
        let connection = Connection(
            user: admission.identity.user,
            token: admission.identity.token,
            serializer: admission.serializer,
            broker: broker,
            store: store,
            channel: channel,
            configuration: configuration,
            maxMessageLength: maxMessageLength,
            registry: registry,
            logger: logger
        )
        try channel.pipeline.syncOperations.addHandler(
            SocketHandler(connection: connection, maxMessageBytes: configuration.maxFrameBytes),
            position: position
        )
        registry.add(connection)
        // The node began draining while this upgrade was being checked: the drain's sweep missed this socket.
        if readiness.isDraining { connection.close(code: .unknown(1012), reason: "server restarting") }
    }
}

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
        let edge: UpgradeEdge
    }

    /// Who asked for an upgrade, for its access lines: the client's address (a trusted proxy's forwarding
    /// headers considered) and the ``RequestID`` echoed in the answer.
    struct UpgradeEdge: Sendable {
        let client: String?
        let requestID: String
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
    let proxies: TrustedProxies

    /// The upgrade's ``UpgradeEdge`` from its peer and headers (`header` gives every value of one).
    func edge(peer: String?, header: (String) -> [String]) -> UpgradeEdge {
        UpgradeEdge(
            client: proxies.clientAddress(peer: peer, forwardedFor: header("x-forwarded-for"), forwarded: header("forwarded")),
            requestID: RequestID.resolve(forwarded: header("x-request-id").first, fromTrustedPeer: peer.map(proxies.trusts) ?? false)
        )
    }

    /// Writes the access line of an upgrade refused with `status`.
    static func logRefusal(status: Int, edge: UpgradeEdge, logger: Logger) {
        logger.info(
            "socket refused",
            metadata: [
                "path": .string(path), "status": .stringConvertible(status), "client": .string(edge.client ?? "unknown"),
                "request_id": .string(edge.requestID),
            ]
        )
    }

    /// The route that answers plain `GET`s of the endpoint (no upgrade asked for).
    func addRoute(to router: Router<BrokerRequestContext>) {
        router.get("socket/websocket") { request, _ -> Response in
            _ = try await admit(request.uri, origin: request.headers[.origin], edge: UpgradeEdge(client: nil, requestID: ""))
            throw APIError.badRequest("websocket upgrade required")
        }
    }

    /// Checks an upgrade request's target and `Origin` header (nil when absent).
    /// - Throws: the ``APIError`` that refuses it (404 for a target other than this endpoint).
    func admit(method: HTTPMethod, target: String, origin: String?, edge: UpgradeEdge) async throws(APIError) -> Admission {
        let uri = URI(target)
        guard uri.path == Self.path else { throw APIError.notFound("not found") }
        guard method == .GET else { throw APIError.methodNotAllowed(allowed: ["GET"]) }
        do {
            return try await admit(uri, origin: origin, edge: edge)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.unavailable("store unavailable")
        }
    }

    private func admit(_ uri: URI, origin: String?, edge: UpgradeEdge) async throws -> Admission {
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
        return Admission(identity: identity, serializer: serializer, edge: edge)
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
        if logger.logLevel <= .info { Self.logOpenAndClose(admission, on: channel, logger: logger) }
        // The node began draining while this upgrade was being checked: the drain's sweep missed this socket.
        if readiness.isDraining { connection.close(code: .unknown(1012), reason: "server restarting") }
    }

    /// The access lines of a socket: `socket opened` now, `socket closed` (with its duration) when its channel
    /// closes. Only at `info` or below: at a quieter level a socket carries neither the logger copy nor the
    /// close callback.
    private static func logOpenAndClose(_ admission: Admission, on channel: any Channel, logger: Logger) {
        var logger = logger
        logger[metadataKey: "request_id"] = .string(admission.edge.requestID)
        let opened = ContinuousClock.now
        let client = admission.edge.client ?? "unknown"
        logger.info(
            "socket opened",
            metadata: [
                "path": .string(Self.path), "status": "101", "client": .string(client),
                "user_id": .stringConvertible(admission.identity.user.id.rawValue),
                "vsn": .string(admission.serializer == .v2 ? "2.0.0" : "1.0.0"),
            ]
        )
        channel.closeFuture.whenComplete { [logger] _ in
            logger.info(
                "socket closed",
                metadata: [
                    "path": .string(Self.path), "client": .string(client),
                    "duration_ms": .string(RequestObservationMiddleware.milliseconds(ContinuousClock.now - opened)),
                ]
            )
        }
    }
}

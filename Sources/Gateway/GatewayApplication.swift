import Broker
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Store

/// Everything the edge needs, built once by the executable (and by tests with the same wiring).
package struct GatewayDependencies: Sendable {
    /// The store.
    package var store: any Store
    /// Token issuing and checking.
    package var tokens: TokenService
    /// Password hashing.
    package var hasher: PasswordHasher
    /// Draining flag.
    package var readiness: Readiness
    /// The actor tree.
    package var broker: BrokerRoot
    /// Every open socket.
    package var connections: ConnectionRegistry
    /// The Prometheus registry behind `/metrics`; `nil` serves no `/metrics`.
    package var metrics: PrometheusCollectorRegistry?

    /// Bundles the dependencies.
    package init(
        store: any Store,
        tokens: TokenService,
        hasher: PasswordHasher,
        readiness: Readiness,
        broker: BrokerRoot,
        connections: ConnectionRegistry = ConnectionRegistry(),
        metrics: PrometheusCollectorRegistry? = nil
    ) {
        self.metrics = metrics
        self.store = store
        self.tokens = tokens
        self.hasher = hasher
        self.readiness = readiness
        self.broker = broker
        self.connections = connections
    }

    /// Lets the cluster bridge close this node's sockets for other nodes (logout, resync).
    package func connectCluster() async {
        await broker.cluster?.setSocketControl(connections)
    }
}

/// Builds the router with every route of contract §2 and the health endpoints, behind the error middleware.
package func buildRouter(
    configuration: GatewayConfiguration,
    dependencies: GatewayDependencies
) -> Router<BrokerRequestContext> {
    let router = Router(context: BrokerRequestContext.self)
    // Outermost first: the client address, then the access line and HTTP metrics (which see every answer,
    // errors included), then the error middleware that shapes errors as the contract's bodies.
    router.add(middleware: ClientAddressMiddleware(proxies: configuration.trustedProxies))
    router.add(middleware: RequestObservationMiddleware(proxies: configuration.trustedProxies))
    router.add(middleware: ErrorMiddleware(routes: Routes.served(localMailer: configuration.localMailer)))
    let limiter = AddressRateLimiter(rate: configuration.authRate, burst: configuration.authBurst)
    let store = dependencies.store
    let users = UsersController(
        store: store,
        hasher: dependencies.hasher,
        limiter: limiter,
        configuration: configuration,
        broker: dependencies.broker
    )
    let sessions = SessionsController(
        store: store,
        hasher: dependencies.hasher,
        tokens: dependencies.tokens,
        limiter: limiter,
        configuration: configuration,
        onRevoke: { [connections = dependencies.connections, broker = dependencies.broker] claims in
            connections.closeSockets(ofToken: claims.jti.value)
            await broker.revokeSession(claims.jti.value)
        }
    )
    HealthController(store: store, readiness: dependencies.readiness, cluster: dependencies.broker.cluster)
        .addRoutes(to: router)
    if let registry = dependencies.metrics { MetricsController(registry: registry, store: store).addRoutes(to: router) }
    OpenAPIController().addRoutes(to: router)

    let api = router.group("api")
    users.addPublicRoutes(to: api)
    sessions.addPublicRoutes(to: api)
    if configuration.localMailer {
        let mails = SentMailsController(store: store)
        mails.addAPIRoutes(to: api)
        mails.addPreviewRoute(to: router)
    }
    let authenticator = BearerAuthenticator(tokens: dependencies.tokens, store: store)
    let protected = api.group().add(middleware: authenticator)
    users.addProtectedRoutes(to: protected)
    ConversationsController(store: store, broker: dependencies.broker, configuration: configuration)
        .addProtectedRoutes(to: protected)
    socketEndpoint(configuration: configuration, dependencies: dependencies).addRoute(to: router)
    sessions.addProtectedRoutes(to: protected)
    return router
}

/// The WebSocket endpoint, shared by the router (refused upgrades) and the server channel (upgrades).
func socketEndpoint(configuration: GatewayConfiguration, dependencies: GatewayDependencies) -> SocketEndpoint {
    SocketEndpoint(
        authenticator: BearerAuthenticator(tokens: dependencies.tokens, store: dependencies.store),
        broker: dependencies.broker,
        store: dependencies.store,
        registry: dependencies.connections,
        readiness: dependencies.readiness,
        configuration: configuration.socket,
        maxMessageLength: configuration.maxMessageLength,
        proxies: configuration.trustedProxies
    )
}

/// Builds the Hummingbird application serving the router on the configured address.
package func buildApplication(
    configuration: GatewayConfiguration,
    dependencies: GatewayDependencies,
    services: [any Service] = [],
    eventLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = buildRouter(configuration: configuration, dependencies: dependencies)
    return Application(
        router: router,
        server: HTTPServerBuilder { [endpoint = socketEndpoint(configuration: configuration, dependencies: dependencies)] responder in
            BrokerServerChannel(responder: responder, endpoint: endpoint, limits: configuration.httpLimits)
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "broker"),
        services: services,
        onServerRunning: onServerRunning,
        eventLoopGroupProvider: .shared(eventLoops),
        logger: logger
    )
}

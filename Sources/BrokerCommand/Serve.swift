import ArgumentParser
import Broker
import Foundation
import Gateway
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Store

/// `broker serve`: the broker itself. Reads `BROKER_*`, opens the store (running migrations), and runs the
/// services in start order under one `ServiceGroup` that shuts down gracefully on SIGTERM and SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the broker (the default command).")

    func run() async throws {
        let settings = try Settings()
        try settings.checkDeployable()
        LoggingSetup.bootstrap(level: settings.logLevel, format: settings.logFormat)
        // Before any metric handle exists: handles made earlier would stay no-ops.
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(MetricsSetup.factory(registry: metrics))
        MetricsSetup.registerEverySeries(localMailer: settings.gatewayConfiguration.localMailer)
        let logger = Logger(label: "broker")
        let store = try makeStore(for: try settings.storeConfiguration(), logger: logger)
        // Sockets and actors share these loops, so that a socket reaches its actors without a thread switch
        // when they sit on the same loop.
        let eventLoops: any EventLoopGroup =
            settings.eventLoops.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        var brokerConfiguration = BrokerRoot.Configuration()
        brokerConfiguration.conversationIdleTimeout = .seconds(settings.idleTimeout)
        brokerConfiguration.eventLoopGroup = eventLoops
        brokerConfiguration.mailRetry.base = settings.mail.retryBase
        let broker = BrokerRoot(
            store: store,
            mailAdapter: try settings.mailAdapter(on: eventLoops),
            encoder: FrameEncoder(),
            configuration: brokerConfiguration,
            logger: logger
        )
        let dependencies = GatewayDependencies(
            store: store,
            tokens: try await TokenService(
                secret: try settings.resolveJWTSecret(),
                timeToLive: .seconds(settings.tokenTTL),
                store: store
            ),
            hasher: try await PasswordHasher(cost: UInt8(settings.bcryptCost)),
            readiness: Readiness(),
            broker: broker,
            metrics: metrics
        )
        await dependencies.connectCluster()
        let app = buildApplication(
            configuration: settings.gatewayConfiguration,
            dependencies: dependencies,
            eventLoops: eventLoops,
            logger: logger
        ) { channel in
            // Harnesses and the end-to-end tests read this line to learn the port when BROKER_PORT=0.
            let address = channel.localAddress
            let line = "broker listening on http://\(address?.ipAddress ?? settings.host):\(address?.port ?? settings.port)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: store),
                .init(service: broker.supervisor),
                .init(service: app),
                .init(
                    service: SocketSweeper(registry: dependencies.connections, idleTimeout: .seconds(settings.idleTimeout))
                ),
                .init(service: Drainer(registry: dependencies.connections, readiness: dependencies.readiness, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        // Past the grace period the remaining services are cancelled, so the process always exits in time.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(settings.shutdownGrace)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
    }
}

import Logging
import ServiceLifecycle

/// Drains the node on graceful shutdown (listed last among the services, so it hears the signal first):
/// `/readyz` and new upgrades answer 503 from now on, every socket is closed with 1012 so clients reconnect
/// elsewhere, and it holds for `hold` so load balancers see the 503 before the listener closes. The services
/// before it then stop in reverse order: the HTTP server, the actor tree, and last the store writer, which
/// commits everything it acknowledged.
package struct Drainer: Service {
    let registry: ConnectionRegistry
    let readiness: Readiness
    let hold: Duration
    let logger: Logger

    /// Creates the drainer.
    package init(registry: ConnectionRegistry, readiness: Readiness, hold: Duration = .seconds(1), logger: Logger) {
        self.registry = registry
        self.readiness = readiness
        self.hold = hold
        self.logger = logger
    }

    package func run() async throws {
        try? await gracefulShutdown()
        readiness.startDraining()
        logger.info("draining", metadata: ["broker.sockets": "\(registry.count)"])
        registry.closeAll(code: .unknown(1012), reason: "server restarting")
        try? await Task.sleep(for: hold)
    }
}

import NIOCore
import ServiceLifecycle

/// One sweep over every open socket each second, instead of a timer per socket: closes the ones silent for
/// longer than the idle timeout. Runs until graceful shutdown.
package struct SocketSweeper: Service {
    let registry: ConnectionRegistry
    let idleTimeout: Duration

    /// Creates the sweeper.
    package init(registry: ConnectionRegistry, idleTimeout: Duration) {
        self.registry = registry
        self.idleTimeout = idleTimeout
    }

    package func run() async throws {
        let interval = min(Duration.seconds(1), idleTimeout / 2)
        let idle = TimeAmount.nanoseconds(
            idleTimeout.components.seconds * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000
        )
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            registry.closeIdle(olderThan: NIODeadline.now() - idle)
        }
    }
}

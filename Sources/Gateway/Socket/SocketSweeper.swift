import Foundation
import NIOCore
import ServiceLifecycle

/// One sweep over every open socket four times a second, instead of a timer per socket: closes the ones silent
/// for longer than the idle timeout, and those whose token expired (1008, so within a second of expiry).
/// Runs until graceful shutdown.
package struct SocketSweeper: Service {
    let registry: ConnectionRegistry
    let idleTimeout: Duration

    /// Creates the sweeper.
    package init(registry: ConnectionRegistry, idleTimeout: Duration) {
        self.registry = registry
        self.idleTimeout = idleTimeout
    }

    /// How long a socket asked to close may take to get its close frame out before it is cut.
    static let closeGrace = TimeAmount.seconds(10)

    package func run() async throws {
        let interval = min(Duration.milliseconds(250), idleTimeout / 2)
        let idle = TimeAmount.nanoseconds(
            idleTimeout.components.seconds * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000
        )
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            let now = NIODeadline.now()
            registry.sweep(idleBefore: now - idle, now: Date(), stuckBefore: now - Self.closeGrace)
        }
    }
}

import Synchronization

/// Whether the node takes traffic: set to draining on shutdown, read by `/readyz` and the WebSocket upgrade.
package final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)

    /// A node that is not draining.
    package init() {}

    /// Whether shutdown has begun.
    package var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Marks the node as draining; `/readyz` answers 503 from now on.
    package func startDraining() { draining.store(true, ordering: .releasing) }
}

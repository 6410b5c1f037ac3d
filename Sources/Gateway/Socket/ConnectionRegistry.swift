import NIOCore
import Synchronization

/// Every open socket of this node, for the sweeps that need them all: idle timeout now; token expiry and
/// draining later. Touched on connect and disconnect only, never per message.
package final class ConnectionRegistry: Sendable {
    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])

    /// An empty registry.
    package init() {}

    func add(_ connection: Connection) {
        connections.withLock { $0[ObjectIdentifier(connection)] = connection }
    }

    func remove(_ connection: Connection) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// How many sockets are open.
    package var count: Int { connections.withLock { $0.count } }

    /// The open sockets.
    var all: [Connection] { connections.withLock { Array($0.values) } }

    /// Closes every socket silent since before `cutoff`.
    /// - Returns: how many were closed.
    @discardableResult
    package func closeIdle(olderThan cutoff: NIODeadline) -> Int {
        var closed = 0
        for connection in all where connection.lastActivity < cutoff {
            connection.close(code: .goingAway, reason: "idle timeout")
            closed += 1
        }
        return closed
    }
}

import Broker
import Foundation
import NIOCore
import NIOWebSocket
import Store
import Synchronization

/// Every open socket of this node, for the sweeps that need them all: idle timeout now; token expiry and
/// draining later. Touched on connect and disconnect only, never per message.
package final class ConnectionRegistry: ClusterSocketControl {
    private let connections = Locked<[ObjectIdentifier: Connection]>([:])
    /// Socket slots taken per user: one per admitted upgrade, from admission until its channel closes, so
    /// simultaneous upgrades cannot pass the per-user limit together.
    private let slots = Locked<[UserID: Int]>([:])

    /// An empty registry.
    package init() {}

    // The gauge is set under the lock: set after it, two simultaneous opens could record their counts in the
    // wrong order and leave the gauge one short until the next open or close.
    func add(_ connection: Connection) {
        connections.withLock { connections in
            connections[ObjectIdentifier(connection)] = connection
            GatewayMetrics.connections.record(connections.count)
        }
    }

    func remove(_ connection: Connection) {
        connections.withLock { connections in
            connections.removeValue(forKey: ObjectIdentifier(connection))
            GatewayMetrics.connections.record(connections.count)
        }
    }

    /// How many sockets are open.
    package var count: Int { connections.withLock { $0.count } }

    /// The open sockets.
    var all: [Connection] { connections.withLock { Array($0.values) } }

    /// How many socket slots the user holds: open sockets and upgrades admitted but not yet open.
    package func count(of user: UserID) -> Int {
        slots.withLock { $0[user] ?? 0 }
    }

    /// Takes one of the user's `limit` socket slots for the life of `channel`, atomically with the check.
    /// - Returns: false when the user holds them all already.
    func reserveSlot(for user: UserID, limit: Int, on channel: any Channel) -> Bool {
        let taken = slots.withLock { slots in
            let used = slots[user] ?? 0
            guard used < limit else { return false }
            slots[user] = used + 1
            return true
        }
        guard taken else { return false }
        channel.closeFuture.whenComplete { [self] _ in
            self.slots.withLock { slots in
                let left = (slots[user] ?? 1) - 1
                slots[user] = left > 0 ? left : nil
            }
        }
        return true
    }

    /// Closes every socket opened with the token `tokenID` (logout) with 1008.
    package func closeSockets(ofToken tokenID: String) {
        for connection in all where connection.token.jti.value == tokenID {
            connection.close(code: .policyViolation, reason: "token revoked")
        }
    }

    package func closeSockets(ofSession session: String) {
        closeSockets(ofToken: session)
    }

    package var openSessions: Set<String> {
        Set(all.map { $0.token.jti.value })
    }

    package func closeSocketsForResync() {
        closeAll(code: .unknown(1012), reason: "server restarting")
    }

    /// Closes every socket with `code` (1012 when draining).
    package func closeAll(code: WebSocketErrorCode, reason: String) {
        for connection in all { connection.close(code: code, reason: reason) }
    }

    /// One pass over every open socket (the ``SocketSweeper``'s, four times a second): force-closes the ones asked
    /// to close before `stuckBefore` that are still open (their peers stopped reading, so the close frame cannot
    /// get through), closes with 1001 those silent since before `idleBefore`, and with 1008 those whose token
    /// expired by `now`. One copy of the table per pass: with 10,000 sockets, three copies a pass were 3 % of the
    /// broker's CPU while sockets reconnected.
    package func sweep(idleBefore: NIODeadline, now: Date, stuckBefore: NIODeadline) {
        for connection in all {
            if let requested = connection.closeRequested {
                if requested < stuckBefore { connection.forceClose() }
            } else if connection.lastActivity < idleBefore {
                connection.close(code: .goingAway, reason: "idle timeout")
            } else if connection.token.exp.value <= now {
                connection.close(code: .policyViolation, reason: "token expired")
            }
        }
    }
}

import NIOCore
import NIOPosix
import Store
import Synchronization

/// The registry of online users: ``UserActor`` by user id, created when a user's first socket joins and
/// forgotten when its last one leaves.
///
/// Which sockets a user has is tracked here, synchronously, so a leave racing a join never strands a socket
/// on a forgotten actor. A connection attaches and detaches its own socket, one call at a time.
///
/// For the send path it also publishes, without a hop: the online actors by user id, and a ``generation``
/// that changes with every attach and detach, so a conversation actor can keep its participants' sinks and
/// look them up again only when the generation moved (not once per batch).
package actor UserDirectory {
    private struct Entry {
        var actor: UserActor
        var sockets: Set<SocketID>
    }

    private var entries: [UserID: Entry] = [:]
    /// Where this node's presence changes go for the cluster bridge, in order; `nil` on a node of one.
    private let presence: LocalPresenceQueue?
    private let loops: LoopRing
    /// The online actors, readable from any thread.
    private let index = Locked<[UserID: UserActor]>([:])
    private let changes = Atomic<UInt64>(0)

    /// An empty directory whose actors run on `loops`.
    package init(presence: LocalPresenceQueue? = nil, loops: LoopRing = LoopRing(MultiThreadedEventLoopGroup.singleton)) {
        self.presence = presence
        self.loops = loops
    }

    /// Changes with every attach and detach; read before ``sinks(of:)`` to know when a copy is stale.
    package nonisolated var generation: UInt64 { changes.load(ordering: .sequentiallyConsistent) }

    /// The joined sockets of the given users on this node, without a hop.
    package nonisolated func sinks(of users: [UserID]) -> [any SocketSink] {
        let actors = index.withLock { index in users.compactMap { index[$0] } }
        return actors.flatMap(\.currentSinks)
    }

    /// Attaches a joined socket to its user's actor, creating it if the user was offline.
    /// - Returns: whether the user just came online (its first socket).
    @discardableResult
    package func attach(_ sink: any SocketSink, for user: UserID) async -> Bool {
        var entry =
            entries[user]
            ?? Entry(actor: UserActor(userID: user, onlineAt: .now(), eventLoop: loops.loop(for: user.rawValue)), sockets: [])
        let cameOnline = entry.sockets.isEmpty
        entry.sockets.insert(sink.socketID)
        entries[user] = entry
        if cameOnline {
            let actor = entry.actor
            index.withLock { $0[user] = actor }
            presence?.push(.online(user, entry.actor.onlineAt))
        }
        await entry.actor.attach(sink)
        changes.add(1, ordering: .sequentiallyConsistent)
        return cameOnline
    }

    /// Detaches a socket.
    /// - Returns: whether the user just went offline (its last socket).
    @discardableResult
    package func detach(_ socket: SocketID, for user: UserID) async -> Bool {
        guard var entry = entries[user], entry.sockets.remove(socket) != nil else { return false }
        if entry.sockets.isEmpty {
            entries.removeValue(forKey: user)
            index.withLock { _ = $0.removeValue(forKey: user) }
            presence?.push(.offline(user))
        } else {
            entries[user] = entry
        }
        await entry.actor.detach(socket)
        changes.add(1, ordering: .sequentiallyConsistent)
        return entry.sockets.isEmpty
    }

    /// The actors of the given users that are online on this node.
    package func actors(for users: [UserID]) -> [UserActor] {
        users.compactMap { entries[$0]?.actor }
    }

    /// Since when each of the given users is online; offline users are left out.
    package func presence(of users: [UserID]) -> [(UserID, Timestamp)] {
        users.compactMap { user in entries[user].map { (user, $0.actor.onlineAt) } }
    }

    /// Whether the user has a joined socket on this node.
    package func isOnline(_ user: UserID) -> Bool { entries[user] != nil }

    /// How many users are online on this node.
    package var onlineCount: Int { entries.count }
}

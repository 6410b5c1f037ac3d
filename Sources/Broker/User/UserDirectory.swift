import Store

/// The registry of online users: ``UserActor`` by user id, created when a user's first socket joins and
/// forgotten when its last one leaves.
///
/// Which sockets a user has is tracked here, synchronously, so a leave racing a join never strands a socket
/// on a forgotten actor. A connection attaches and detaches its own socket, one call at a time.
package actor UserDirectory {
    private struct Entry {
        var actor: UserActor
        var sockets: Set<SocketID>
    }

    private var entries: [UserID: Entry] = [:]
    /// Where this node's presence changes go for the cluster bridge, in order; `nil` on a node of one.
    private let presence: LocalPresenceQueue?

    /// An empty directory.
    package init(presence: LocalPresenceQueue? = nil) {
        self.presence = presence
    }

    /// Attaches a joined socket to its user's actor, creating it if the user was offline.
    /// - Returns: whether the user just came online (its first socket).
    @discardableResult
    package func attach(_ sink: any SocketSink, for user: UserID) async -> Bool {
        var entry = entries[user] ?? Entry(actor: UserActor(userID: user, onlineAt: .now()), sockets: [])
        let cameOnline = entry.sockets.isEmpty
        entry.sockets.insert(sink.socketID)
        entries[user] = entry
        if cameOnline { presence?.push(.online(user, entry.actor.onlineAt)) }
        await entry.actor.attach(sink)
        return cameOnline
    }

    /// Detaches a socket.
    /// - Returns: whether the user just went offline (its last socket).
    @discardableResult
    package func detach(_ socket: SocketID, for user: UserID) async -> Bool {
        guard var entry = entries[user], entry.sockets.remove(socket) != nil else { return false }
        if entry.sockets.isEmpty {
            entries.removeValue(forKey: user)
            presence?.push(.offline(user))
        } else {
            entries[user] = entry
        }
        await entry.actor.detach(socket)
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

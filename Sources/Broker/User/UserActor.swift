import Store

/// One per online user: all of that user's joined sockets (every device), and the fan-out to them.
///
/// Its sinks are attached and detached through the ``UserDirectory``, which owns it. Delivery never awaits a
/// socket: each sink's `enqueue` returns at once, and a sink whose queue is full is dropped (it closes itself
/// with 1013; the client recovers with `last_seen_id`).
package actor UserActor {
    /// The user.
    package let userID: UserID
    /// Since when the user is online (its first socket joined).
    package nonisolated let onlineAt: Timestamp
    private var sinks: [SocketID: any SocketSink] = [:]

    init(userID: UserID, onlineAt: Timestamp) {
        self.userID = userID
        self.onlineAt = onlineAt
    }

    /// Adds a joined socket.
    func attach(_ sink: any SocketSink) {
        sinks[sink.socketID] = sink
    }

    /// Removes a socket; returns whether it was attached.
    @discardableResult
    func detach(_ socket: SocketID) -> Bool {
        sinks.removeValue(forKey: socket) != nil
    }

    /// How many sockets are attached.
    var socketCount: Int { sinks.count }

    /// Pushes each item, in order, to every attached socket except the one that sent it.
    package func deliver(_ items: [(push: EncodedPush, except: SocketID?)]) {
        var full: [SocketID] = []
        var delivered = 0
        for (socketID, sink) in sinks {
            for item in items where item.except != socketID {
                if !sink.enqueue(item.push) {
                    full.append(socketID)
                    break
                }
                if item.push.messageID != nil { delivered += 1 }
            }
        }
        for socketID in full { sinks.removeValue(forKey: socketID) }
        if delivered > 0 { BrokerMetrics.messagesDelivered.increment(by: delivered) }
        if !full.isEmpty { BrokerMetrics.slowConsumers.increment(by: full.count) }
    }
}

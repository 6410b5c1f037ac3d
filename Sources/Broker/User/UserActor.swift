import NIOCore
import Store
import Synchronization

/// One per online user: all of that user's joined sockets (every device), and the fan-out to them.
///
/// It runs on an event loop picked by its user id (see ``LoopRing``). Its sinks are attached and detached
/// through the ``UserDirectory``, which owns it; each change also publishes a snapshot of the sinks, which
/// the fan-out reads without a hop. Delivery never awaits a socket: each sink's `enqueue` returns at once,
/// and a sink whose queue is full closes itself with 1013 (the client recovers with `last_seen_id`) and is
/// detached when its connection leaves.
package actor UserActor {
    /// The user.
    package nonisolated let userID: UserID
    /// Since when the user is online (its first socket joined).
    package nonisolated let onlineAt: Timestamp
    /// The loop the actor runs on.
    package nonisolated let eventLoop: any EventLoop
    private var sinks: [SocketID: any SocketSink] = [:]
    /// The attached sinks, for readers on other threads (the fan-out); written only by this actor.
    private let published = Locked<[any SocketSink]>([])

    /// Runs the actor's jobs on its event loop.
    package nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }

    init(userID: UserID, onlineAt: Timestamp, eventLoop: any EventLoop) {
        self.userID = userID
        self.onlineAt = onlineAt
        self.eventLoop = eventLoop
    }

    /// Adds a joined socket.
    func attach(_ sink: any SocketSink) {
        sinks[sink.socketID] = sink
        publish()
    }

    /// Removes a socket; returns whether it was attached.
    @discardableResult
    func detach(_ socket: SocketID) -> Bool {
        let removed = sinks.removeValue(forKey: socket) != nil
        if removed { publish() }
        return removed
    }

    private func publish() {
        let snapshot = Array(sinks.values)
        published.withLock { $0 = snapshot }
    }

    /// How many sockets are attached.
    var socketCount: Int { sinks.count }

    /// The attached sinks as last published.
    package nonisolated var currentSinks: [any SocketSink] { published.withLock { $0 } }

    /// Pushes each item, in order, to every attached socket except the one that sent it, with one task per
    /// event loop of those sockets.
    package nonisolated func deliver(_ items: [(push: EncodedPush, except: SocketID?)]) {
        Fanout.send(items, to: currentSinks)
    }
}

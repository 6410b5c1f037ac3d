import Synchronization

/// The little a socket shares between its channel handler (event loop) and the scheduler (sends): kept small,
/// since a process holds up to ~20,000 of them.
final class SocketSession: Sendable {
    /// The socket's index in its process's slice.
    let index: Int
    /// The signed-in user.
    let userID: Int64
    /// Sends written and not yet answered.
    let inflight = Atomic<Int>(0)
    /// One more than the highest send sequence acknowledged so far (0: none), to see replies out of order.
    let ackedThrough = Atomic<UInt64>(0)
    /// Set before this tool closes the socket, so the close is not counted as a drop (and, with churn, so the
    /// scheduler sends from another socket meanwhile).
    let closing = Atomic<Bool>(false)
    /// The highest message id pushed to this socket (or to the socket it replaced): the `last_seen_id` of the
    /// next socket of this user. Each seeded user is in one conversation, whose pushes come in ascending ids.
    let highestSeen: Atomic<Int64>
    /// The `last_seen_id` this socket joined with (`nil`: a plain join).
    let joinedAfter: Int64?

    /// A session for socket `index` of `userID`; `lastSeenID` makes its join recover what came after it.
    init(index: Int, userID: Int64, lastSeenID: Int64? = nil) {
        self.index = index
        self.userID = userID
        highestSeen = Atomic(lastSeenID ?? 0)
        joinedAfter = lastSeenID
    }

    /// Notes message `id` as pushed to this socket.
    func saw(_ id: Int64) {
        var current = highestSeen.load(ordering: .relaxed)
        while id > current {
            let (exchanged, original) = highestSeen.compareExchange(
                expected: current,
                desired: id,
                ordering: .relaxed
            )
            if exchanged { return }
            current = original
        }
    }
}

/// One socket's place in a process's slice: the socket open for it now, which churn replaces.
final class SocketSlot: Sendable {
    /// The socket, whether a churn reconnect is under way, and the highest message id its user has seen (kept
    /// across sockets, so a failed reconnect does not lose it).
    private let state = Mutex<(socket: OpenSocket?, reconnecting: Bool, lastSeen: Int64)>(
        (socket: nil, reconnecting: false, lastSeen: 0)
    )

    /// An empty slot.
    init() {}

    /// The socket open for this slot now (`nil`: none).
    var socket: OpenSocket? { state.withLock { $0.socket } }

    /// Sets the slot's socket.
    func set(_ socket: OpenSocket?) {
        state.withLock { $0.socket = socket }
    }

    /// Starts a churn reconnect; `false` when one is already under way.
    func beginReconnect() -> Bool {
        state.withLock { state in
            guard !state.reconnecting else { return false }
            state.reconnecting = true
            return true
        }
    }

    /// Ends a reconnect with `socket` (`nil`: it failed) and the highest id seen so far.
    func endReconnect(socket: OpenSocket?, lastSeen: Int64) {
        state.withLock { state in
            state.socket = socket
            state.lastSeen = max(state.lastSeen, lastSeen)
            state.reconnecting = false
        }
    }

    /// The highest message id seen by this slot's earlier sockets.
    var lastSeen: Int64 { state.withLock { $0.lastSeen } }
}

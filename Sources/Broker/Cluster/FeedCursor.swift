import DequeModule
import Store

/// How far this node has delivered the message feed, and who waits for it: a pure state machine over an
/// injected clock's instants.
///
/// The feed arrives in id order (commit order, see ``ClusterBus``); ``fresh(_:)`` drops what was delivered
/// already (a message read back by catch-up may come again by notification), and ``lastDelivered`` moves only
/// once a batch is handed over. After an outage the bridge reads what it missed page by page through a
/// ``CatchUp``, which says when the gap is too large to replay live.
///
/// Senders wait here until their message (and so every smaller id) was delivered from the feed, so that a reply
/// never gets ahead of the pushes of messages stored before it on other nodes. A wait ends at once while the
/// channel is down and at the latest after ``ClusterMembership/Configuration/nodeTimeout`` (the bridge expires
/// it at each beat). The cursor also remembers which socket sent each recent message of this node, to leave that
/// socket out when the message comes back by catch-up rather than by the feed (which names the socket itself).
///
/// The ``ClusterBridge`` keeps it behind a lock, so that a conversation batch can register its wait without a hop.
struct FeedCursor<Instant: InstantProtocol> where Instant.Duration == Duration {
    /// Runs once the awaited delivery happened (or the wait ended).
    typealias Waiter = @Sendable () -> Void

    /// Reading back a gap page by page, up to the catch-up limit.
    struct CatchUp {
        /// What to do next.
        enum Step: Equatable {
            /// Read the next page, after this id.
            case read(after: MessageID)
            /// Caught up.
            case done
            /// Past the limit: jump to the newest message and have clients recover by `last_seen_id`.
            case tooFar
        }

        /// The most messages per read.
        let pageSize: Int
        /// The most messages replayed live.
        let limit: Int
        /// Messages replayed so far.
        private(set) var replayed = 0
        /// The next step.
        private(set) var step: Step

        /// A catch-up from `start`, the last id delivered before the gap.
        init(after start: MessageID, pageSize: Int = 1_000, limit: Int) {
            self.pageSize = pageSize
            self.limit = limit
            self.step = .read(after: start)
        }

        /// Records a page read (and delivered) and decides the next step.
        mutating func record(_ page: [FeedMessage]) {
            replayed += page.count
            guard let tail = page.last, page.count == pageSize else {
                step = .done
                return
            }
            step = replayed >= limit ? .tooFar : .read(after: tail.id)
        }
    }

    /// The most senders' sockets remembered.
    static var originCapacity: Int { 10_000 }

    /// The highest message id delivered from the feed (or skipped as already known); `nil` before the first
    /// listen.
    private(set) var lastDelivered: MessageID?
    /// Whether the channel is up (senders wait only then).
    private(set) var isListening = false
    private var waiters: [(id: MessageID, since: Instant, then: Waiter)] = []
    private var recentOrigins: [MessageID: UInt64] = [:]
    private var recentOriginOrder = Deque<MessageID>()

    /// A cursor that has delivered nothing yet.
    init() {}

    // MARK: - The channel

    /// The channel is up (after any catch-up): senders wait for the feed again.
    mutating func channelUp() {
        isListening = true
    }

    /// The channel is down: every waiting sender stops waiting.
    /// - Returns: the waits that ended, to run outside any lock.
    mutating func channelDown() -> [Waiter] {
        isListening = false
        return release { _ in true }
    }

    /// Moves the cursor to `id` without delivering anything: the first listen (start at the newest message),
    /// or a gap past the catch-up limit.
    mutating func skip(to id: MessageID) {
        lastDelivered = id
    }

    // MARK: - Delivering

    /// The messages not delivered yet, in order.
    func fresh(_ messages: [FeedMessage]) -> [FeedMessage] {
        let floor = lastDelivered ?? MessageID(0)
        return messages.filter { $0.id > floor }
    }

    /// The socket to leave out of a message's pushes: the one the feed names when the message is this node's,
    /// else the one remembered by ``wait(for:since:then:)`` (a message read back by catch-up names none).
    func sendingSocket(of entry: FeedMessage, fromThisNode: Bool) -> SocketID? {
        let socket = fromThisNode && entry.originSocket != 0 ? entry.originSocket : recentOrigins[entry.id]
        return socket.map { SocketID(rawValue: $0) }
    }

    /// Marks everything up to `id` delivered (the pushes are being handed over).
    mutating func advance(to id: MessageID) {
        lastDelivered = max(id, lastDelivered ?? id)
    }

    /// Ends the waits of senders whose message was delivered.
    /// - Returns: the waits that ended, to run outside any lock, once the pushes are handed over.
    mutating func releaseDelivered() -> [Waiter] {
        let last = lastDelivered ?? MessageID(0)
        return release { $0.id <= last }
    }

    // MARK: - Waiting senders

    /// Remembers each message's sending socket, then registers `then` to run once the highest id was
    /// delivered from the feed.
    /// - Returns: `false` when there is nothing to wait for (the channel is down, or the message was delivered
    ///   already): the caller runs `then` itself.
    mutating func wait(
        for messages: [(id: MessageID, socket: SocketID?)],
        since now: Instant,
        then: @escaping Waiter
    ) -> Bool {
        for (id, socket) in messages { if let socket { rememberOrigin(id, socket) } }
        guard isListening, let last = lastDelivered, let id = messages.map({ $0.id }).max(), last < id else { return false }
        waiters.append((id, now, then))
        return true
    }

    /// Ends the waits older than `cutoff`: a sender never waits longer than the node timeout.
    /// - Returns: the waits that ended, to run outside any lock.
    mutating func expireWaiters(olderThan cutoff: Instant) -> [Waiter] {
        let last = lastDelivered ?? MessageID(0)
        return release { $0.id <= last || $0.since < cutoff }
    }

    /// How many senders wait.
    var waitingCount: Int { waiters.count }

    // MARK: - Private

    private mutating func release(where ended: ((id: MessageID, since: Instant, then: Waiter)) -> Bool) -> [Waiter] {
        guard !waiters.isEmpty else { return [] }
        var done: [Waiter] = []
        waiters.removeAll { waiter in
            guard ended(waiter) else { return false }
            done.append(waiter.then)
            return true
        }
        return done
    }

    private mutating func rememberOrigin(_ id: MessageID, _ socket: SocketID) {
        recentOrigins[id] = socket.rawValue
        recentOriginOrder.append(id)
        while recentOriginOrder.count > Self.originCapacity, let oldest = recentOriginOrder.popFirst() {
            recentOrigins.removeValue(forKey: oldest)
        }
    }
}

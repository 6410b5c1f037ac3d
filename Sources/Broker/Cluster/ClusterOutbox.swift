import DequeModule

/// The events this node has yet to publish on the cluster channel: a bounded queue with the publisher's
/// decisions (what goes next, what a failure means), and no I/O.
///
/// Events go out one at a time, oldest first, so each node's events arrive in the order it made them; runs of
/// `on` or `off` are merged into one event of at most ``maxMergedUsers`` users. A lost logout is tried again
/// (``maxLogoutAttempts`` times in all); any other lost event but a topic one makes the whole state go again at
/// the next beat (harmless when it was not presence); a lost topic event (typing, read) is dropped. The queue holds at most ``capacity`` events: past it the database has
/// been gone for long, so the queue starts over and the whole state goes again once it is back.
///
/// The ``ClusterBridge`` owns it; its publisher loop takes from it.
struct ClusterOutbox {
    /// What ``enqueue(_:)`` did.
    enum EnqueueResult: Equatable {
        /// Queued.
        case queued
        /// Queued after dropping everything before it (the queue was full): this node's presence must go again.
        case overflowed
        /// Refused: the outbox is stopping.
        case refused
    }

    /// What the publisher does next.
    enum Next: Equatable {
        /// Publish this event (tried `attempts` times before).
        case publish(ClusterEvent, attempts: Int)
        /// Nothing queued: wait for a wake-up.
        case wait
        /// Stopping and drained: say `bye` and end.
        case finished
    }

    /// What a failed publish means.
    enum Failure: Equatable {
        /// Put back at the head of the queue: try again after ``retryDelay``.
        case retry
        /// Presence was lost: send the whole state at the next beat.
        case presenceLost
        /// Dropped (a topic event: like any lost typing event).
        case dropped
    }

    /// The most events queued.
    let capacity: Int
    /// The most users merged into one `on` or `off` event.
    let maxMergedUsers: Int
    /// How often a logout is tried.
    let maxLogoutAttempts: Int
    /// The pause before a failed logout is tried again.
    let retryDelay: Duration

    private var queue = Deque<(event: ClusterEvent, attempts: Int)>()
    /// No new events; ``next()`` ends with `finished` once the queue is drained.
    private(set) var isStopping = false

    /// An empty outbox.
    init(capacity: Int = 100_000, maxMergedUsers: Int = 150, maxLogoutAttempts: Int = 20, retryDelay: Duration = .milliseconds(250)) {
        self.capacity = capacity
        self.maxMergedUsers = maxMergedUsers
        self.maxLogoutAttempts = maxLogoutAttempts
        self.retryDelay = retryDelay
    }

    /// How many events are queued.
    var count: Int { queue.count }

    /// Queues an event.
    mutating func enqueue(_ event: ClusterEvent) -> EnqueueResult {
        guard !isStopping else { return .refused }
        var result = EnqueueResult.queued
        if queue.count >= capacity {
            queue.removeAll()
            result = .overflowed
        }
        queue.append((event, 0))
        return result
    }

    /// Takes no new events; what is queued is still published, then ``next()`` says `finished`.
    mutating func stop() {
        isStopping = true
    }

    /// Opens the outbox again for a new run of the bridge (what is queued stays).
    mutating func restart() {
        isStopping = false
    }

    /// Takes the next event to publish, with the run of `on` or `off` events after it merged in.
    mutating func next() -> Next {
        guard let (first, attempts) = queue.popFirst() else { return isStopping ? .finished : .wait }
        var event = first
        if event.k == .online || event.k == .offline {
            while let following = queue.first, following.event.k == event.k, (event.u?.count ?? 0) < maxMergedUsers {
                event.u = (event.u ?? []) + (following.event.u ?? [])
                queue.removeFirst()
            }
        }
        return .publish(event, attempts: attempts)
    }

    /// Decides what a failed publish of `event` means (and puts a logout back to try again).
    mutating func failed(_ event: ClusterEvent, attempts: Int) -> Failure {
        let attempts = attempts + 1
        switch event.k {
        case .logout where attempts < maxLogoutAttempts:
            queue.prepend((event, attempts))  // a logout must reach the other nodes
            return .retry
        case .topic:
            return .dropped
        case .logout, .hello, .state, .beat, .online, .offline, .bye:
            return .presenceLost
        }
    }
}

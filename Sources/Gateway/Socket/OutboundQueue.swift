import DequeModule
import NIOWebSocket

/// A socket's outbound side as a pure state machine: the bounded queue of what the socket writes, whether a
/// drain is scheduled, and the closing handshake. It does no I/O: each event returns what the connection
/// must do, and the time of a close request comes from the caller's clock, so tests drive it step by step.
///
/// Generic over what is queued (frames, replays) and over the clock's instant.
struct OutboundQueue<Item, Instant: Comparable> {
    /// What a queued item asked for.
    enum Enqueued: Equatable {
        /// Queued behind a drain already scheduled.
        case queued
        /// Queued; the connection must schedule a drain.
        case scheduleDrain
        /// The queue is full: the connection closes the socket with 1013.
        case full
        /// The socket is closing or closed: dropped.
        case refused
    }

    /// The next thing a drain does.
    enum DrainStep {
        /// Write this item.
        case write(Item)
        /// Write the close frame (and, when the peer already closed, close the channel once it is written).
        case close(code: WebSocketErrorCode, reason: String, peerClosed: Bool)
        /// Nothing more now (empty, not writable, or closed); the drain ends.
        case stop
    }

    /// The most items queued at once.
    let limit: Int
    private var items = Deque<Item>()
    private var drainScheduled = false
    private var closeRequest: (code: WebSocketErrorCode, reason: String)?
    private var closeFrameSent = false
    private var peerHasClosed = false
    private var channelClosed = false
    /// When the close was asked for (by either side): the sweeper cuts a socket that cannot get it out.
    private(set) var closeRequestedAt: Instant?

    /// An empty queue of at most `limit` items.
    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// How many items wait.
    var count: Int { items.count }

    /// A close was asked for, by either side, or the channel is gone.
    var isClosing: Bool { closeRequest != nil || channelClosed }

    /// Whether the socket may go on handling its own messages: fewer than `threshold` items wait, or it is
    /// closing (then nothing it does is queued anyway).
    func hasRoom(below threshold: Int) -> Bool {
        isClosing || items.count < threshold
    }

    /// Queues an item.
    mutating func enqueue(_ item: Item) -> Enqueued {
        guard !isClosing else { return .refused }
        guard items.count < limit else { return .full }
        items.append(item)
        if drainScheduled { return .queued }
        drainScheduled = true
        return .scheduleDrain
    }

    /// Puts back the unwritten rest of an item the drain took (a replay paused by a full channel).
    mutating func putBack(_ item: Item) {
        items.prepend(item)
    }

    /// The drain's next step; `writable` is the channel's writability now.
    mutating func nextDrainStep(writable: Bool) -> DrainStep {
        guard !channelClosed else {
            items.removeAll()
            drainScheduled = false
            return .stop
        }
        guard writable else {
            // Resumed by `writabilityResumed()`.
            drainScheduled = false
            return .stop
        }
        if let item = items.popFirst() { return .write(item) }
        drainScheduled = false
        if let request = closeRequest, !closeFrameSent {
            closeFrameSent = true
            return .close(code: request.code, reason: request.reason, peerClosed: peerHasClosed)
        }
        return .stop
    }

    /// The channel became writable again: whether the connection must drain now.
    mutating func writabilityResumed() -> Bool {
        guard !drainScheduled, !channelClosed else { return false }
        drainScheduled = true
        return true
    }

    /// What a close request asks the connection to do.
    enum CloseRequested: Equatable {
        /// A close was asked for already: nothing.
        case ignored
        /// Recorded behind a drain already scheduled.
        case recorded
        /// Recorded; the connection must schedule a drain (which writes the close frame after the queue).
        case scheduleDrain
    }

    /// Asks for the socket to be closed with `code` after what is queued.
    mutating func requestClose(code: WebSocketErrorCode, reason: String, at now: Instant) -> CloseRequested {
        guard !isClosing else { return .ignored }
        closeRequest = (code, reason)
        closeRequestedAt = now
        if drainScheduled { return .recorded }
        drainScheduled = true
        return .scheduleDrain
    }

    /// The peer's close frame arrived: drops what is queued; returns whether the connection must echo a close
    /// frame with `reply` (it has not sent one yet) before closing the channel.
    mutating func peerClosed(reply: WebSocketErrorCode, at now: Instant) -> Bool {
        peerHasClosed = true
        if closeRequestedAt == nil { closeRequestedAt = now }
        if closeFrameSent { return false }
        items.removeAll()
        closeFrameSent = true
        if closeRequest == nil { closeRequest = (reply, "") }
        return true
    }

    /// The channel is gone: nothing more is queued or written.
    mutating func closed() {
        channelClosed = true
        items.removeAll()
    }
}

extension OutboundQueue: Sendable where Item: Sendable, Instant: Sendable {}

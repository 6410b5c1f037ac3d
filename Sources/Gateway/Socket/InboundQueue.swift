import DequeModule

/// A socket's inbound side as a pure state machine: which messages wait for the task that serves them in
/// order, whether that task exists, and when reading must pause and resume. It does no I/O: each event
/// returns what the connection must do.
///
/// Messages that need no `await` (heartbeats, sends: the connection says which with `inline`) are handled
/// right on the event loop when nothing waits ahead of them; everything else (joins, leaves, conversation
/// topics) goes through the queue, served by a task that exists only while the queue has work.
struct InboundQueue<Message> {
    /// What the connection hands in.
    enum Item {
        /// A decoded frame.
        case message(Message)
        /// Leave every topic (the socket is closing).
        case leave
        /// Leave every topic and the registry (the channel is closed): the last item.
        case teardown
    }

    /// What the connection must do with a submitted item.
    enum Submitted: Equatable {
        /// Nothing: queued behind the serving task, or dropped after the teardown.
        case none
        /// Handle the message right here, on the event loop.
        case handleInline
        /// Start the task that serves the queue.
        case startServing
        /// Queued; the queue is long: stop reading from the channel.
        case pauseReading
    }

    /// Waiting messages beyond which reading pauses.
    let highWater: Int
    /// Waiting messages at or below which paused reading resumes.
    let lowWater: Int
    private var pending = Deque<Item>()
    private var serving = false
    private var readPaused = false
    private var tornDown = false

    /// An empty queue.
    init(highWater: Int = 256, lowWater: Int = 64) {
        self.highWater = highWater
        self.lowWater = min(lowWater, highWater)
    }

    /// Whether reading is paused.
    var isReadPaused: Bool { readPaused }

    /// Submits an item.
    /// - Parameter inline: whether this message may be handled on the event loop (asked only when nothing
    ///   waits ahead of it, so order is kept).
    mutating func submit(_ item: Item, inline: (Message) -> Bool = { _ in false }) -> Submitted {
        guard !tornDown else { return .none }
        if case .teardown = item { tornDown = true }
        if case .message(let message) = item, !serving, pending.isEmpty, inline(message) {
            return .handleInline
        }
        pending.append(item)
        if !serving {
            serving = true
            return .startServing
        }
        if pending.count >= highWater, !readPaused {
            readPaused = true
            return .pauseReading
        }
        return .none
    }

    /// The serving task's next item, and whether reading must resume first; `nil` ends the task (the queue
    /// is empty and `serving` is cleared, so the next submission starts a new one).
    mutating func next() -> (item: Item, resumeReading: Bool)? {
        guard let item = pending.popFirst() else {
            serving = false
            return nil
        }
        if readPaused, pending.count <= lowWater {
            readPaused = false
            return (item, true)
        }
        return (item, false)
    }
}

extension InboundQueue: Sendable where Message: Sendable {}
extension InboundQueue.Item: Sendable where Message: Sendable {}

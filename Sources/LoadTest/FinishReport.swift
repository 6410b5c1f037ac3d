/// Socket-level counts of a whole run, reported when a process closes its sockets.
struct FinishReport: Codable, Sendable {
    /// Heartbeats written.
    var heartbeatsSent = 0
    /// Ok heartbeat replies.
    var heartbeatReplies = 0
    /// Error heartbeat replies.
    var heartbeatErrors = 0
    /// Joined sockets that the server closed (or that failed) before this tool closed them.
    var dropped = 0
    /// Why the server closed sockets (`close 1013`, …) and socket errors, by reason.
    var closeReasons: [String: Int] = [:]
    /// Text frames that were not Phoenix V2 frames.
    var unparsedFrames = 0
    /// Frames of events this tool does not use (`presence_state`, …), by event name (a bounded table).
    var otherEvents: [String: Int] = [:]
    /// Pushes of messages another worker sent (a user with sockets in two workers).
    var foreign = 0
    /// Pushes to the sender's own other sockets (the contract's multi-device copy).
    var senderCopies = 0
    /// Replies or pushes naming a sequence this worker never issued.
    var unknownSequences = 0
    /// Replies and first pushes that arrived after their stage was reported (its lost messages may be among
    /// them: late, not gone).
    var lateArrivals = 0

    /// An empty report.
    init() {}

    /// Adds another process's report.
    mutating func merge(_ other: FinishReport) {
        heartbeatsSent += other.heartbeatsSent
        heartbeatReplies += other.heartbeatReplies
        heartbeatErrors += other.heartbeatErrors
        dropped += other.dropped
        closeReasons.merge(other.closeReasons, uniquingKeysWith: +)
        unparsedFrames += other.unparsedFrames
        otherEvents.merge(other.otherEvents, uniquingKeysWith: +)
        foreign += other.foreign
        senderCopies += other.senderCopies
        unknownSequences += other.unknownSequences
        lateArrivals += other.lateArrivals
    }
}

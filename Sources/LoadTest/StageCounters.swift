/// What happened to one stage's messages so far (reset when a stage begins).
struct StageCounters: Sendable {
    /// Sends written to a socket.
    var sent = 0
    /// Ok replies (stored durably by the server).
    var acked = 0
    /// Error replies, by reason.
    var errors: [String: Int] = [:]
    /// Sends not made, by reason (socket closed, not writable, too many in flight).
    var skipped: [String: Int] = [:]
    /// Pushes received for the first time on the recipient's socket.
    var received = 0
    /// Pushes of a message already received.
    var duplicates = 0
    /// Pushes that reached a socket of a user who is neither sender nor recipient.
    var misdelivered = 0
    /// Acked messages not received yet: what is lost if the stage ended now.
    var awaiting = 0
    /// Pushes or replies of an earlier, already reported stage.
    var late = 0
    /// First receipts that came in a rejoin's replay (`last_seen_id` recovery); also counted in `received`.
    var replayed = 0
    /// Sockets closed and joined again with `last_seen_id` (churn).
    var reconnects = 0
    /// Churn reconnects that failed, by reason.
    var reconnectFailures: [String: Int] = [:]
    /// Rejoins whose reply said `truncated`.
    var truncatedJoins = 0
    /// Messages the rejoins' replies announced (`recovered`).
    var recoveredAnnounced = 0
    /// Sends moved to the next pair because their socket was being reconnected.
    var redirected = 0
    /// Ok replies that came back before the reply to an earlier send of the same socket (each seeded user
    /// sends to one conversation, whose replies must follow its send order).
    var outOfOrder = 0
}

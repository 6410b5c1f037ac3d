/// The sockets of the run: how opening them went and what happened to them afterwards.
struct SocketSummary: Codable, Sendable {
    /// Sockets the run meant to open.
    var requested: Int
    /// Sockets upgraded and joined.
    var opened: Int
    /// Connect failures by reason.
    var connectErrors: [String: Int]
    /// From the first connect to the last outcome, every process together.
    var connectSeconds: Double
    /// Sockets opened per second.
    var connectRate: Double
    /// Joined sockets the server closed before the end.
    var dropped: Int
    /// Why sockets were closed or failed, by reason.
    var closeReasons: [String: Int]
    /// Heartbeats written.
    var heartbeatsSent: Int
    /// Ok heartbeat replies.
    var heartbeatReplies: Int
    /// Error heartbeat replies.
    var heartbeatErrors: Int
}

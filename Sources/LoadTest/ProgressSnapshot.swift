/// A process's counters once a second, for the live display.
struct ProgressSnapshot: Codable, Sendable {
    /// Sockets joined and still open.
    var open = 0
    /// Sockets that failed to open.
    var connectFailures = 0
    /// Sends written in the whole run.
    var sent = 0
    /// Messages received by their recipient in the whole run.
    var delivered = 0
    /// Error replies in the whole run.
    var errors = 0
    /// Sockets the server closed.
    var dropped = 0
    /// End-to-end p99 of the current (or last) stage, µs; merged: the largest of the processes'.
    var p99 = 0

    /// Nothing yet.
    init() {}

    /// Adds another process's snapshot.
    mutating func merge(_ other: ProgressSnapshot) {
        open += other.open
        connectFailures += other.connectFailures
        sent += other.sent
        delivered += other.delivered
        errors += other.errors
        dropped += other.dropped
        p99 = max(p99, other.p99)
    }
}

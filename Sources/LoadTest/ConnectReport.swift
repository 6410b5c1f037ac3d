/// How opening a process's (or, merged, every process's) sockets went.
struct ConnectReport: Codable, Sendable {
    /// Sockets tried.
    var attempted = 0
    /// Sockets upgraded and joined.
    var opened = 0
    /// Failures by reason (`http 403`, `connect: Connection refused`, `join: …`, `setup timeout`, …).
    var failures: [String: Int] = [:]
    /// From the first connect to the last outcome.
    var seconds: Double = 0

    /// An empty report.
    init() {}

    /// Adds another process's report (they connect at the same time: the longest time counts).
    mutating func merge(_ other: ConnectReport) {
        attempted += other.attempted
        opened += other.opened
        failures.merge(other.failures, uniquingKeysWith: +)
        seconds = max(seconds, other.seconds)
    }

    /// Total failures.
    var failureCount: Int { failures.values.reduce(0, +) }
}

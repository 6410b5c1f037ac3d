/// The server's resource use over the run (with `--server-pid`).
struct ServerReport: Codable, Sendable {
    /// The process sampled (the first, when several were).
    var pid: Int32
    /// Every process sampled; the figures below are their sums.
    var pids: [Int32]
    /// RSS before any socket was opened, KiB.
    var rssKibBefore: UInt64
    /// RSS once every socket was open, KiB.
    var rssKibConnected: UInt64?
    /// RSS at the end, before the sockets were closed, KiB.
    var rssKibEnd: UInt64?
    /// Idle: (end RSS − RSS before) per opened socket, KiB.
    var kibPerSocket: Double?
    /// CPU time from before the first connect to the end, seconds.
    var cpuSeconds: Double?
    /// Sending modes: CPU time of the stages per delivered message, µs.
    var cpuUsPerDeliveredMessage: Double?
}

/// The server's resource use at one instant.
struct ServerSample: Codable, Sendable {
    /// User plus system CPU time since it started, µs.
    var cpuMicros: UInt64
    /// Resident set size, KiB.
    var rssKiB: UInt64
}

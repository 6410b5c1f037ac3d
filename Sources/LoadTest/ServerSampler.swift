import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads the server's CPU time (`utime + stime` of `/proc/PID/stat`, in `CLK_TCK` ticks) and RSS (`VmRSS` of
/// `/proc/PID/status`).
struct ServerSampler: Sendable {
    /// The server's process id.
    let pid: Int32
    /// Clock ticks per second of `/proc/PID/stat`'s times.
    private let ticksPerSecond: UInt64

    /// A sampler for `pid`; throws when the process cannot be read now.
    init(pid: Int32) throws {
        self.pid = pid
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? UInt64(ticks) : 100
        guard sample() != nil else { throw LoadError.serverProcess("cannot read /proc/\(pid)/stat and status") }
    }

    /// The process's CPU time and RSS now, or `nil` when it cannot be read (it exited).
    func sample() -> ServerSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        guard fields.count > 12, let utime = UInt64(fields[11]), let stime = UInt64(fields[12]) else { return nil }
        let cpuMicros = (utime + stime) * 1_000_000 / ticksPerSecond
        var rss: UInt64 = 0
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { UInt64($0) } ?? 0
        }
        return ServerSample(cpuMicros: cpuMicros, rssKiB: rss)
    }
}

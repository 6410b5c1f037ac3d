import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the servers' CPU time (`utime + stime` of `/proc/PID/stat`, in `CLK_TCK` ticks) and RSS (`VmRSS` of
/// `/proc/PID/status`), summed over every process given (the nodes of one service).
struct ServerSampler: Sendable {
    /// The servers' process ids.
    let pids: [Int32]
    /// Clock ticks per second of `/proc/PID/stat`'s times.
    private let ticksPerSecond: UInt64

    /// A sampler for `pids`; throws when one of the processes cannot be read now.
    init(pids: [Int32]) throws {
        self.pids = pids
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? UInt64(ticks) : 100
        for pid in pids where sample(pid) == nil {
            throw LoadError.serverProcess("cannot read /proc/\(pid)/stat and status")
        }
    }

    /// The processes' summed CPU time and RSS now, or `nil` when one cannot be read (it exited).
    func sample() -> ServerSample? {
        var total = ServerSample(cpuMicros: 0, rssKiB: 0)
        for pid in pids {
            guard let one = sample(pid) else { return nil }
            total = ServerSample(cpuMicros: total.cpuMicros + one.cpuMicros, rssKiB: total.rssKiB + one.rssKiB)
        }
        return total
    }

    /// The processes' open file descriptors now (entries of `/proc/PID/fd`, summed), or `nil` when one cannot
    /// be read.
    func openFiles() -> Int? {
        var total = 0
        for pid in pids {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else {
                return nil
            }
            total += entries.count
        }
        return total
    }

    private func sample(_ pid: Int32) -> ServerSample? {
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

import Foundation
import Prometheus
import Store

/// The process's own figures in Prometheus's standard names (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, `process_max_fds`, `process_start_time_seconds`), read
/// from `/proc/self` at each scrape. Hand-written: no package in this project's mirror collects them (they are
/// a few lines of Linux's procfs); elsewhere they stay at zero.
final class ProcessMetrics: Sendable {
    private let cpuSeconds: Counter
    private let residentBytes: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge
    /// CPU seconds already added to the counter (which only moves up by increments).
    private let reportedCPU = Locked<Double>(0)

    init(registry: PrometheusCollectorRegistry) {
        cpuSeconds = registry.makeCounter(name: "process_cpu_seconds_total", help: "User and system CPU time spent.")
        residentBytes = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        openFDs = registry.makeGauge(name: "process_open_fds", help: "Open file descriptors.")
        maxFDs = registry.makeGauge(name: "process_max_fds", help: "The soft limit on open file descriptors.")
        startTime = registry.makeGauge(name: "process_start_time_seconds", help: "Start time, in seconds since the epoch.")
        update()
    }

    /// Reads the figures now.
    func update() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.set(Double(limit.rlim_cur)) }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.set(Double(entries.count))
        }
        guard let stat = Self.statFields() else { return }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        // Fields after the command name, counted from 3 (`state`) as in proc(5): utime 14, stime 15,
        // starttime 22, rss 24.
        func field(_ number: Int) -> Double { Double(stat[number - 3]) ?? 0 }
        let cpu = (field(14) + field(15)) / ticks
        let delta = reportedCPU.withLock { reported -> Double in
            let delta = max(0, cpu - reported)
            reported += delta
            return delta
        }
        if delta > 0 { cpuSeconds.increment(by: delta) }
        residentBytes.set(field(24) * pageSize)
        if let boot = Self.bootTime() { startTime.set(boot + field(22) / ticks) }
    }

    /// `/proc/self/stat` from field 3 on (the command name, field 2, may hold spaces and parentheses).
    private static func statFields() -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let end = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: end)...].split(separator: " ")
        return fields.count >= 22 ? fields : nil
    }

    /// The boot time in seconds since the epoch (`btime` in `/proc/stat`).
    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

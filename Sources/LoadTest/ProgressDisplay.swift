import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live line on standard error, once a second: phase, sockets open, sent, delivered, errors, drops and the
/// current stage's p99 (with workers: the largest of the workers' p99s). Redrawn in place on a terminal,
/// one line per second otherwise.
final class ProgressDisplay: Sendable {
    /// Whose counters are shown.
    private let workers: [any LoadWorker]
    /// What the run is doing.
    private let phase = Mutex("starting")
    /// The redraw loop.
    private let loop = Mutex<Task<Void, Never>?>(nil)
    /// Whether standard error is a terminal.
    private let isTerminal = isatty(2) == 1
    /// When the display started, for the elapsed time.
    private let started = MonotonicClock.now()

    /// A display of `workers`' counters.
    init(workers: [any LoadWorker]) {
        self.workers = workers
    }

    /// Names what the run does now.
    func setPhase(_ text: String) {
        phase.withLock { $0 = text }
    }

    /// Starts redrawing, until ``stop()`` or `deadline`.
    func start(deadline: RunDeadline) {
        // Unstructured but owned: ``stop()`` cancels it; it also ends at the run's deadline.
        let task = Task { [self] in
            while !Task.isCancelled, !deadline.passed {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                guard !Task.isCancelled else { return }
                draw()
            }
        }
        loop.withLock { $0 = task }
    }

    /// Stops redrawing and ends the line.
    func stop() {
        loop.withLock {
            $0?.cancel()
            $0 = nil
        }
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Draws the line once.
    private func draw() {
        var total = ProgressSnapshot()
        for worker in workers { total.merge(worker.progress()) }
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        let p99 = String(format: "%.2f", Double(total.p99) / 1_000)
        let line =
            "[\(Int(seconds))s \(phase.withLock { $0 })] open \(total.open) | failed \(total.connectFailures)"
            + " | sent \(total.sent) | delivered \(total.delivered) | errors \(total.errors)"
            + " | dropped \(total.dropped) | p99 \(p99) ms"
        let text = isTerminal ? "\r\u{1B}[2K" + line : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Gathers the workers' reports of each interval; when every worker has reported one, samples the servers,
/// prints the interval's line on standard error and keeps its summary for the final report.
final class IntervalCollector: Sendable {
    /// Reports per interval expected (one per worker).
    private let workers: Int
    /// Interval length, seconds.
    private let length: Double
    /// The servers, if sampled.
    private let sampler: ServerSampler?
    /// Reports by interval index with how many arrived, and the finished summaries.
    private let state = Mutex<(pending: [Int: (report: IntervalReport, count: Int)], done: [IntervalSummary])>(
        (pending: [:], done: [])
    )

    /// A collector of `workers` workers' `length`-second intervals.
    init(workers: Int, length: Double, sampler: ServerSampler?) {
        self.workers = workers
        self.length = length
        self.sampler = sampler
    }

    /// One worker's report of an interval.
    func add(_ report: IntervalReport) {
        let complete = state.withLock { state -> IntervalReport? in
            var entry = state.pending[report.index] ?? (report: IntervalReport(index: report.index, seconds: 0), count: 0)
            entry.report.merge(report)
            entry.count += 1
            guard entry.count >= workers else {
                state.pending[report.index] = entry
                return nil
            }
            state.pending[report.index] = nil
            return entry.report
        }
        guard let complete else { return }
        let summary = IntervalSummary(
            complete,
            length: length,
            serverRssKib: sampler?.sample()?.rssKiB,
            serverOpenFiles: sampler?.openFiles()
        )
        state.withLock { $0.done.append(summary) }
        // On a terminal the live line is redrawn in place: clear it first.
        let prefix = isatty(2) == 1 ? "\r\u{1B}[2K" : ""
        FileHandle.standardError.write(Data((prefix + summary.line + "\n").utf8))
    }

    /// Every interval reported so far, in order.
    var summaries: [IntervalSummary] {
        state.withLock { $0.done.sorted { $0.index < $1.index } }
    }
}

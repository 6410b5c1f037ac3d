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

import Foundation
import Synchronization

/// A worker process: this executable started again with `--worker-index`, driven over its standard input and
/// read from its standard output (JSON lines; see ``WorkerCommand`` and ``WorkerMessage``). Its standard error
/// is this process's.
final class ChildWorker: LoadWorker {
    /// The worker's index.
    let index: Int
    /// The process (kept to reap it).
    private let process: Mutex<Process>
    /// Its standard input.
    private let input: LineWriter
    /// The pipes, kept open for the worker's lifetime.
    private let pipes: (input: Pipe, output: Pipe)
    /// Reports other than progress, in order.
    private let reports = Mailbox<WorkerMessage>(capacity: 64)
    /// The latest progress line.
    private let latest = Mutex(ProgressSnapshot())
    /// Nothing is awaited past this.
    private let deadline: RunDeadline
    /// Receives the worker's interval reports.
    private let onInterval: @Sendable (IntervalReport) -> Void

    /// Starts worker `index`: `executable` with `arguments` plus `--worker-index index`; its interval reports
    /// go to `onInterval`.
    init(
        index: Int,
        executable: String,
        arguments: [String],
        deadline: RunDeadline,
        onInterval: @escaping @Sendable (IntervalReport) -> Void = { _ in }
    ) throws {
        self.index = index
        self.deadline = deadline
        self.onInterval = onInterval
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments + ["--worker-index", String(index)]
        let inputPipe = Pipe()
        let outputPipe = Pipe()
        process.standardInput = inputPipe
        process.standardOutput = outputPipe
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = Mutex(process)
        pipes = (inputPipe, outputPipe)
        input = LineWriter(fileDescriptor: inputPipe.fileHandleForWriting.fileDescriptor)
        let reports = self.reports
        LineReader.start(
            fileDescriptor: outputPipe.fileHandleForReading.fileDescriptor,
            name: "worker-\(index)-stdout",
            onLine: { [self] line in route(line) },
            onEnd: { reports.close() }
        )
    }

    /// Files one line from the worker: progress replaces the latest snapshot, anything else is queued.
    private func route(_ line: String) {
        guard let message = WireCodec.decode(WorkerMessage.self, from: line) else {
            FileHandle.standardError.write(
                Data("broker-load: worker \(index) wrote a line that is not a report\n".utf8)
            )
            return
        }
        if message.kind == .progress {
            if let snapshot = message.progress { latest.withLock { $0 = snapshot } }
            return
        }
        if message.kind == .interval {
            if let report = message.interval { onInterval(report) }
            return
        }
        // Reports are few (one per command): wait for room rather than drop one.
        while !reports.put(message), reports.hasRoom == false {
            usleep(5_000)
        }
    }

    /// Waits for the worker's `ready` line.
    func waitReady() async throws {
        _ = try await expect(.ready)
    }

    /// Opens the worker's sockets.
    func connect() async throws -> ConnectReport {
        try command(WorkerCommand(kind: .connect))
        guard let report = try await expect(.connected).connect else {
            throw LoadError.worker("worker \(index): empty connect report")
        }
        return report
    }

    /// Runs a stage on the worker.
    func runStage(_ plan: StagePlan) async throws -> StageReport {
        try command(WorkerCommand(kind: .stage, stage: plan))
        guard let report = try await expect(.stage).stage else {
            throw LoadError.worker("worker \(index): empty stage report")
        }
        return report
    }

    /// The worker's latest progress line.
    func progress() -> ProgressSnapshot {
        latest.withLock { $0 }
    }

    /// Closes the worker's sockets and waits for it to exit.
    func finish() async throws -> FinishReport {
        try command(WorkerCommand(kind: .finish))
        let report = try await expect(.finished).finish ?? FinishReport()
        try? pipes.input.fileHandleForWriting.close()
        let exitDeadline = MonotonicClock.now() &+ 10_000_000_000
        while process.withLock({ $0.isRunning }), MonotonicClock.now() < exitDeadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return report
    }

    /// Ends the worker at once (used when the run fails).
    func terminate() {
        process.withLock { process in
            if process.isRunning { process.terminate() }
        }
    }

    /// Writes a command line.
    private func command(_ command: WorkerCommand) throws {
        guard input.write(try WireCodec.line(command)) else { throw LoadError.worker("worker \(index) is gone") }
    }

    /// The next report, which must be of `kind`.
    private func expect(_ kind: WorkerMessage.Kind) async throws -> WorkerMessage {
        guard let message = await reports.next(until: deadline.value) else {
            throw LoadError.worker("worker \(index) ended or timed out waiting for \(kind.rawValue)")
        }
        if message.kind == .failed { throw LoadError.worker("worker \(index): \(message.error ?? "failed")") }
        guard message.kind == kind else {
            throw LoadError.worker("worker \(index) sent \(message.kind.rawValue) instead of \(kind.rawValue)")
        }
        return message
    }
}

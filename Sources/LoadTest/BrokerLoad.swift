import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `broker-load`: drives the broker's Phoenix Channels WebSocket endpoint with idle sockets or paired chat
/// traffic and reports connect rate, delivery, loss, duplicates and end-to-end latency.
@main
struct BrokerLoad: AsyncParsableCommand {
    /// The command's name and help.
    static let configuration = CommandConfiguration(
        commandName: "broker-load",
        abstract: "Load generator for the broker's Phoenix Channels WebSocket endpoint (loopback targets only).",
        discussion: """
            Modes: idle (open and join sockets, hold them heartbeating), pairs (both users of every conversation \
            chat at a fixed total open-loop rate), ramp (pairs in stages of rising rate until a stage fails).
            Exit status: 0 when every socket opened and stayed open and every message was acked and delivered \
            exactly once (ramp: when at least one stage met every bound), 1 when the run completed otherwise (loss, \
            duplicates, misdelivery, send errors, unanswered or skipped sends, failed or dropped sockets), 2 when it \
            could not run, 3 when stopped by the hard deadline, 64 for bad options.
            """
    )

    /// Base URL of the broker, or of several nodes of one service.
    @Option(
        help: """
            Base URL of the broker: http://HOST:PORT with HOST in 127.0.0.0/8, localhost or ::1. Several nodes of \
            one service: comma-separated URLs; user id N connects to the (N mod count)-th, so the two users of a \
            pair sit on different nodes when there are two.
            """
    )
    var url: String = "http://127.0.0.1:4000"

    /// Seed file path.
    @Option(help: "Seed file: {\"users\": [{\"id\", \"token\"}], \"conversations\": [{\"id\", \"a\", \"b\"}]}.")
    var seed: String

    /// The mode.
    @Option(help: "idle, pairs, ramp or pipeline.")
    var mode: LoadMode = .pairs

    /// Idle mode's socket count.
    @Option(help: "Idle: sockets to open (default: one per user; more reuse users round-robin).")
    var sockets: Int?

    /// Pairs mode's total rate.
    @Option(help: "Pairs: total messages per second, spread evenly over every sending direction.")
    var rate: Double = 100

    /// Duration in seconds.
    @Option(help: "Seconds to hold (idle) or send (pairs); ramp: the whole budget for its stages (default 300).")
    var duration: Double?

    /// Ramp's first rate.
    @Option(help: "Ramp: rate of the first stage, messages per second.")
    var rampStart: Double = 100

    /// Ramp's step.
    @Option(help: "Ramp: rate added per stage.")
    var rampStep: Double = 100

    /// Ramp's stage length.
    @Option(help: "Ramp: seconds per stage.")
    var stageSeconds: Double = 10

    /// Ramp's latency bound.
    @Option(name: .customLong("p99-bound-ms"), help: "Ramp: a stage fails when its end-to-end p99 exceeds this.")
    var p99BoundMs: Double = 100

    /// The servers' PIDs, to sample CPU time and RSS.
    @Option(
        name: .customLong("server-pid"),
        help: "Sample this process's CPU time and RSS (from /proc); repeat it for several nodes (their sum is reported)."
    )
    var serverPIDs: [Int32] = []

    /// JSON output.
    @Flag(help: "Print one JSON object at the end instead of a table.")
    var json = false

    /// Worker processes.
    @Option(help: "Worker processes, each taking a slice of the sockets (1: run in this process).")
    var workers: Int = 1

    /// Set on the worker processes this command starts.
    @Option(help: .hidden)
    var workerIndex: Int?

    /// Local addresses to bind sockets to.
    @Option(help: "Comma-separated local addresses in 127.0.0.0/8 to bind sockets to, round-robin.")
    var sourceAddresses: String?

    /// Connect concurrency.
    @Option(help: "Connects (TCP, upgrade, join) in flight at once, shared out over the workers.")
    var connectConcurrency: Int = 200

    /// Connect phase bound.
    @Option(help: "Seconds the connect phase may take; sockets not started by then count as failed.")
    var connectTimeout: Double = 300

    /// Grace period.
    @Option(help: "Seconds after a stage's last send to wait for its replies and pushes.")
    var graceSeconds: Double = 5

    /// Pipeline mode's message count.
    @Option(help: "Pipeline: sends one socket writes back to back without waiting for replies.")
    var messages: Int = 10_000

    /// Churn.
    @Option(
        help: """
            Pairs: sockets closed and reopened per second while sending, round robin over the users; each new \
            socket rejoins room:chat with last_seen_id = the highest message id its user saw, and the replayed \
            messages count as delivered.
            """
    )
    var churn: Double = 0

    /// Reporting interval.
    @Option(
        help: """
            Pairs: print a line every this many seconds while sending (sent, delivered, lost so far, the \
            interval's p50/p99, reconnects; with --server-pid the servers' RSS and open files); 0: none.
            """
    )
    var reportInterval: Double = 0

    /// Per-socket in-flight bound.
    @Option(help: "Unanswered sends per socket beyond which further sends are skipped (and counted).")
    var maxInflight: Int = 1_000

    /// Range checks that need no I/O.
    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be 1…64") }
        if let workerIndex, !(0..<workers).contains(workerIndex) {
            throw ValidationError("--worker-index must be below --workers")
        }
        if let sockets, !(1...2_000_000).contains(sockets) {
            throw ValidationError("--sockets must be 1…2,000,000")
        }
        guard (1...1_000_000).contains(messages) else { throw ValidationError("--messages must be 1…1,000,000") }
        guard rate > 0, rate <= 1_000_000 else { throw ValidationError("--rate must be in (0, 1,000,000]") }
        if let duration, !(duration > 0 && duration <= 86_400) {
            throw ValidationError("--duration must be in (0, 86,400] seconds")
        }
        guard rampStart > 0, rampStart <= 1_000_000 else {
            throw ValidationError("--ramp-start must be in (0, 1,000,000]")
        }
        guard rampStep > 0, rampStep <= 1_000_000 else {
            throw ValidationError("--ramp-step must be in (0, 1,000,000]")
        }
        guard stageSeconds >= 1, stageSeconds <= 3_600 else {
            throw ValidationError("--stage-seconds must be 1…3,600")
        }
        if mode == .ramp, (duration ?? 300) < stageSeconds + graceSeconds + 1 {
            throw ValidationError(
                "ramp: --duration must leave room for a stage (--stage-seconds + --grace-seconds + 1)"
            )
        }
        guard p99BoundMs > 0, p99BoundMs <= 600_000 else {
            throw ValidationError("--p99-bound-ms must be in (0, 600,000]")
        }
        if serverPIDs.contains(where: { $0 <= 0 }) { throw ValidationError("--server-pid must be positive") }
        guard (1...20_000).contains(connectConcurrency) else {
            throw ValidationError("--connect-concurrency must be 1…20,000")
        }
        guard connectTimeout >= 1, connectTimeout <= 3_600 else {
            throw ValidationError("--connect-timeout must be 1…3,600")
        }
        guard graceSeconds >= 0, graceSeconds <= 600 else { throw ValidationError("--grace-seconds must be 0…600") }
        guard churn >= 0, churn <= 10_000 else { throw ValidationError("--churn must be 0…10,000 per second") }
        if churn > 0, mode != .pairs { throw ValidationError("--churn needs --mode pairs") }
        guard reportInterval == 0 || (reportInterval >= 1 && reportInterval <= 3_600) else {
            throw ValidationError("--report-interval must be 0 or 1…3,600 seconds")
        }
        if reportInterval > 0, mode != .pairs { throw ValidationError("--report-interval needs --mode pairs") }
        guard (1...1_000_000).contains(maxInflight) else {
            throw ValidationError("--max-inflight must be 1…1,000,000")
        }
    }

    /// Runs as the coordinator, or as worker `--worker-index` when started by one.
    func run() async throws {
        let started = MonotonicClock.now()
        // A worker that went away must not kill the coordinator writing to its pipe (and vice versa).
        signal(SIGPIPE, SIG_IGN)
        let configuration: RunConfiguration
        do {
            configuration = try RunConfiguration(self, started: started)
        } catch let error as LoadError {
            throw ValidationError(error.description)
        }
        configuration.deadline.arm()
        let report: RunReport
        do {
            ResourceLimits.raiseOpenFileLimit()
            if let workerIndex {
                try await WorkerServer(configuration: configuration, index: workerIndex).run()
                return
            }
            let arguments = Array(CommandLine.arguments.dropFirst())
            report = try await Coordinator(configuration: configuration, arguments: arguments).run()
        } catch {
            FileHandle.standardError.write(Data("broker-load: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if json {
            print(try report.jsonLine())
        } else {
            print(ReportPrinter.table(report))
        }
        if !report.passed { throw ExitCode(1) }
    }
}

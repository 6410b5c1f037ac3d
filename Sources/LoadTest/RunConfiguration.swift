import NIOCore

/// Every setting of a run, checked: what the coordinator and each worker process work from.
struct RunConfiguration: Sendable {
    /// The brokers under test (several: nodes of one service); user `id` connects to `endpoints[id % count]`.
    let endpoints: [TargetEndpoint]
    /// Path of the seed file.
    let seedPath: String
    /// What to do.
    let mode: LoadMode
    /// Idle mode's socket count; `nil` is one per user.
    let socketCount: Int?
    /// Pairs mode's total send rate, messages per second.
    let rate: Double
    /// How long idle holds and pairs sends; ramp's whole budget for its stages.
    let duration: Double
    /// Ramp's first stage rate.
    let rampStart: Double
    /// Ramp's increase per stage.
    let rampStep: Double
    /// Ramp's stage length.
    let stageSeconds: Double
    /// Ramp's pass bound on the end-to-end p99, microseconds.
    let p99BoundMicros: UInt64
    /// The server processes to sample (their CPU and RSS are summed), if any.
    let serverPIDs: [Int32]
    /// Print one JSON object instead of a table.
    let json: Bool
    /// Worker processes (1: everything in this process).
    let workers: Int
    /// Local addresses sockets bind to, round-robin (empty: let the kernel pick).
    let sourceAddresses: [SocketAddress]
    /// Connects (TCP, upgrade and join) in flight at once in this process (its share of `--connect-concurrency`).
    let connectConcurrency: Int
    /// Longest the connect phase may take; connects not started by then fail as `connect phase timed out`.
    let connectTimeout: Double
    /// How long after a stage's last send its replies and pushes may still arrive.
    let graceSeconds: Double
    /// Sends in flight (unanswered) per socket beyond which the next send is skipped.
    let maxInflight: Int
    /// Pipeline mode's sends from its one socket.
    let messages: Int
    /// Pairs: sockets closed and reopened per second over the whole run, each rejoining with `last_seen_id`.
    let churn: Double
    /// Pairs: seconds per reporting interval (0: none).
    let reportInterval: Double
    /// The instant after which everything stops by itself.
    let deadline: RunDeadline
    /// Seconds from the end of the connect phase to the hard deadline: duration, grace and ``deadlineMargin``
    /// (plus a few seconds for a worker, so its parent, which stops it, goes first).
    let runSeconds: Double

    /// Seconds past the run's duration (and grace) after which the process stops by itself, whatever it is doing.
    static let deadlineMargin: Double = 60
    /// Time allowed beyond the connect phase for the connects still in flight.
    static let connectSlack: Double = 30

    /// Checks the command's options; `started` is the process's start instant (monotonic nanoseconds).
    init(_ command: BrokerLoad, started: UInt64) throws {
        endpoints = try command.url.split(separator: ",").map { try TargetEndpoint(url: String($0)) }
        guard !endpoints.isEmpty else { throw LoadError.refusedAddress("--url names no broker") }
        seedPath = command.seed
        mode = command.mode
        socketCount = command.sockets
        rate = command.rate
        duration = command.duration ?? (command.mode == .ramp ? 300 : 10)
        rampStart = command.rampStart
        rampStep = command.rampStep
        stageSeconds = command.stageSeconds
        p99BoundMicros = UInt64(command.p99BoundMs * 1_000)
        serverPIDs = command.serverPIDs
        json = command.json
        workers = command.workers
        sourceAddresses = try command.sourceAddresses.map(LoopbackPolicy.sourceAddresses) ?? []
        if endpoints.contains(where: \.isIPv6), !sourceAddresses.isEmpty {
            throw LoadError.refusedAddress("source addresses are IPv4 but the target is ::1")
        }
        connectConcurrency = max(1, command.connectConcurrency / command.workers)
        connectTimeout = command.connectTimeout
        graceSeconds = command.graceSeconds
        maxInflight = command.mode == .pipeline ? max(command.maxInflight, command.messages) : command.maxInflight
        messages = command.messages
        churn = command.churn
        reportInterval = command.reportInterval
        runSeconds = duration + graceSeconds + Self.deadlineMargin + (command.workerIndex == nil ? 0 : 5)
        let label = command.workerIndex.map { "broker-load worker \($0)" } ?? "broker-load"
        deadline = RunDeadline(
            at: started &+ MonotonicClock.nanoseconds(connectTimeout + Self.connectSlack + runSeconds),
            label: label
        )
    }

    /// Once the sockets are open: the hard deadline becomes ``runSeconds`` from now.
    func connectPhaseEnded() {
        deadline.move(to: MonotonicClock.now() &+ MonotonicClock.nanoseconds(runSeconds))
    }
}

import Foundation

/// Runs a whole load test: slices the seed over the workers, starts them (in this process or as child
/// processes), opens the sockets, runs the mode, samples the server and builds the report.
struct Coordinator {
    /// The run's settings.
    let configuration: RunConfiguration
    /// This process's arguments, handed on to worker processes.
    let arguments: [String]

    /// Lead time between handing out a stage and its first send, so every worker starts at the same instant.
    static let stageLeadNanos: UInt64 = 500_000_000
    /// The server's default per-socket send rate (contract: 50/s, burst 200).
    static let defaultServerSendRate = 50.0

    /// Runs the test and returns its report.
    func run() async throws -> RunReport {
        let runStarted = MonotonicClock.now()
        let seed = try SeedFile.load(path: configuration.seedPath)
        let slices = (0..<configuration.workers).map {
            WorkloadSlice.make(
                seed: seed,
                mode: configuration.mode,
                socketCount: configuration.socketCount,
                workers: configuration.workers,
                index: $0
            )
        }
        try check(slices: slices, seed: seed)
        let sampler = try configuration.serverPIDs.isEmpty ? nil : ServerSampler(pids: configuration.serverPIDs)
        let collector =
            configuration.reportInterval > 0
            ? IntervalCollector(workers: configuration.workers, length: configuration.reportInterval, sampler: sampler)
            : nil
        let workers = try await startWorkers(slices: slices, collector: collector)
        let display = ProgressDisplay(workers: workers)
        display.start(deadline: configuration.deadline)
        do {
            var report = try await drive(
                workers: workers,
                slices: slices,
                sampler: sampler,
                display: display,
                runStarted: runStarted
            )
            report.intervals = collector?.summaries
            display.stop()
            return report
        } catch {
            display.stop()
            for case let child as ChildWorker in workers { child.terminate() }
            throw error
        }
    }

    /// Refuses a run that cannot work: nothing to open, nothing to send, too many sockets for one process.
    private func check(slices: [WorkloadSlice], seed: SeedFile) throws {
        if configuration.mode != .idle, seed.conversations.isEmpty {
            throw LoadError.invalidSeed("\(configuration.mode.rawValue) mode needs conversations")
        }
        let total = slices.reduce(0) { $0 + $1.sockets.count }
        guard total > 0 else { throw LoadError.invalidSeed("no sockets to open (the seed has no users)") }
        let budget = ResourceLimits.socketBudget()
        if let largest = slices.map(\.sockets.count).max(), largest > budget {
            throw LoadError.limit(
                "a process would open \(largest) sockets but may open \(budget) (RLIMIT_NOFILE); use more --workers"
            )
        }
        if configuration.sourceAddresses.isEmpty, total > 28_000 {
            warn("\(total) sockets from one local address may exhaust the ephemeral ports; pass --source-addresses")
        }
        if configuration.mode == .idle, let count = configuration.socketCount, count > seed.users.count * 32 {
            warn("more than 32 sockets per user: the server refuses sockets beyond BROKER_MAX_SOCKETS_PER_USER")
        }
        if configuration.mode != .idle {
            let pairs = slices.reduce(0) { $0 + $1.pairs.count }
            let senders = slices.reduce(0) { $0 + Set($1.pairs.map(\.senderSocket)).count }
            let topRate =
                configuration.mode == .ramp ? configuration.rampStart + configuration.rampStep * 10 : configuration.rate
            let perSocket = topRate / Double(max(1, senders))
            if perSocket > Self.defaultServerSendRate {
                warn(
                    "about \(Int(perSocket)) sends/s per socket over \(pairs) directions: above the server's default "
                        + "per-socket limit (50/s); raise BROKER_SEND_RATE/BROKER_SEND_BURST or expect 'rate limited'"
                )
            }
        }
    }

    /// The workers: this process's engine, or child processes once each said it is ready.
    private func startWorkers(slices: [WorkloadSlice], collector: IntervalCollector?) async throws -> [any LoadWorker] {
        let onInterval: @Sendable (IntervalReport) -> Void = { collector?.add($0) }
        if configuration.workers == 1 {
            return [
                LocalWorker(
                    engine: LoadEngine(
                        configuration: configuration,
                        slice: slices[0],
                        workerIndex: 0,
                        onInterval: onInterval
                    )
                )
            ]
        }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var children: [ChildWorker] = []
        do {
            for index in 0..<configuration.workers {
                children.append(
                    try ChildWorker(
                        index: index,
                        executable: executable,
                        arguments: arguments,
                        deadline: configuration.deadline,
                        onInterval: onInterval
                    )
                )
            }
            for child in children { try await child.waitReady() }
        } catch {
            for child in children { child.terminate() }
            throw error
        }
        return children
    }

    /// Connects, runs the mode, finishes, and assembles the report.
    private func drive(
        workers: [any LoadWorker],
        slices: [WorkloadSlice],
        sampler: ServerSampler?,
        display: ProgressDisplay,
        runStarted: UInt64
    ) async throws -> RunReport {
        let before = sampler?.sample()
        display.setPhase("connect")
        let connectStarted = MonotonicClock.now()
        let connect = try await Self.gather(workers) { try await $0.connect() }
            .reduce(into: ConnectReport()) { $0.merge($1) }
        let connectSeconds = Double(MonotonicClock.now() - connectStarted) / 1e9
        configuration.connectPhaseEnded()
        let connected = sampler?.sample()

        var stages: [StageSummary] = []
        var ramp: RampOutcome?
        switch configuration.mode {
        case .idle:
            display.setPhase("hold")
            let holdEnd = MonotonicClock.now() &+ MonotonicClock.nanoseconds(configuration.duration)
            await MonotonicClock.sleep(until: min(holdEnd, configuration.deadline.value))
        case .pairs:
            let churn = configuration.churn > 0 ? ", churn \(Self.format(configuration.churn))/s" : ""
            display.setPhase("pairs \(Self.format(configuration.rate))/s\(churn)")
            stages.append(
                try await runStage(
                    index: 0,
                    rate: configuration.rate,
                    seconds: configuration.duration,
                    workers: workers,
                    slices: slices,
                    sampler: sampler,
                    p99Bound: nil,
                    churn: configuration.churn,
                    reportInterval: configuration.reportInterval
                )
            )
        case .ramp:
            ramp = try await runRamp(
                workers: workers,
                slices: slices,
                sampler: sampler,
                display: display,
                stages: &stages
            )
        case .pipeline:
            display.setPhase("pipeline \(configuration.messages)")
            stages.append(
                try await runStage(
                    index: 0,
                    rate: 0,
                    seconds: configuration.duration,
                    workers: workers,
                    slices: slices,
                    sampler: sampler,
                    p99Bound: nil,
                    burst: configuration.messages
                )
            )
        }
        let end = sampler?.sample()
        display.setPhase("closing")
        let finish = try await Self.gather(workers) { try await $0.finish() }
            .reduce(into: FinishReport()) { $0.merge($1) }

        let requested = slices.reduce(0) { $0 + $1.sockets.count }
        let sockets = SocketSummary(
            requested: requested,
            opened: connect.opened,
            connectErrors: connect.failures,
            connectSeconds: Self.rounded(connectSeconds, 3),
            connectRate: Self.rounded(connectSeconds > 0 ? Double(connect.opened) / connectSeconds : 0, 1),
            dropped: finish.dropped,
            closeReasons: finish.closeReasons,
            heartbeatsSent: finish.heartbeatsSent,
            heartbeatReplies: finish.heartbeatReplies,
            heartbeatErrors: finish.heartbeatErrors
        )
        let server = before.map { before in
            serverReport(before: before, connected: connected, end: end, opened: connect.opened, stages: stages)
        }
        let passed: Bool
        switch configuration.mode {
        case .idle:
            passed = connect.failureCount == 0 && finish.dropped == 0
        case .pairs, .pipeline:
            passed = connect.failureCount == 0 && finish.dropped == 0 && stages.allSatisfy(\.passed)
        case .ramp:
            passed = ramp?.highestSustainedRate != nil
        }
        return RunReport(
            mode: configuration.mode,
            target: configuration.endpoints.map(\.webSocketURL).joined(separator: ","),
            workers: configuration.workers,
            elapsedSeconds: Self.rounded(Double(MonotonicClock.now() - runStarted) / 1e9, 3),
            sockets: sockets,
            stages: stages,
            ramp: ramp,
            server: server,
            client: finish,
            passed: passed
        )
    }

    /// Ramp: stages from `--ramp-start`, `--ramp-step` higher each, until one misses a bound or the time budget
    /// (`--duration`) has no room for another. A stage that missed only the latency bound is run once more at
    /// the same rate before the ramp stops.
    private func runRamp(
        workers: [any LoadWorker],
        slices: [WorkloadSlice],
        sampler: ServerSampler?,
        display: ProgressDisplay,
        stages: inout [StageSummary]
    ) async throws -> RampOutcome {
        let budgetEnd = MonotonicClock.now() &+ MonotonicClock.nanoseconds(configuration.duration)
        let stageNanos =
            MonotonicClock.nanoseconds(configuration.stageSeconds + configuration.graceSeconds) &+ Self.stageLeadNanos
        let maxStages = 10_000
        var best: Double?
        var reason = "time budget (--duration) used"
        var step = 0
        var retried = false
        for index in 0..<maxStages {
            guard MonotonicClock.now() &+ stageNanos <= budgetEnd else { break }
            let rate = configuration.rampStart + configuration.rampStep * Double(step)
            display.setPhase("ramp stage \(index) \(Self.format(rate))/s\(retried ? " (again)" : "")")
            let summary = try await runStage(
                index: index,
                rate: rate,
                seconds: configuration.stageSeconds,
                workers: workers,
                slices: slices,
                sampler: sampler,
                p99Bound: configuration.p99BoundMicros
            )
            stages.append(summary)
            if !summary.passed, summary.failedOnLatencyOnly, !retried {
                retried = true
                continue
            }
            guard summary.passed else {
                reason = "stage \(index) at \(Self.format(rate))/s: " + summary.failures.joined(separator: ", ")
                break
            }
            best = rate
            step += 1
            retried = false
            if index == maxStages - 1 { reason = "stage limit reached" }
        }
        return RampOutcome(
            highestSustainedRate: best,
            stopReason: reason,
            p99BoundMs: Double(configuration.p99BoundMicros) / 1_000
        )
    }

    /// Runs one stage on every worker at once, each with its share of `rate` (in proportion to its directed
    /// pairs), and samples the server's CPU time from the stage's start to its end.
    private func runStage(
        index: Int,
        rate: Double,
        seconds: Double,
        workers: [any LoadWorker],
        slices: [WorkloadSlice],
        sampler: ServerSampler?,
        p99Bound: UInt64?,
        burst: Int = 0,
        churn: Double = 0,
        reportInterval: Double = 0
    ) async throws -> StageSummary {
        let totalPairs = slices.reduce(0) { $0 + $1.pairs.count }
        let totalSockets = slices.reduce(0) { $0 + $1.sockets.count }
        let startAt = MonotonicClock.now() &+ Self.stageLeadNanos
        let plans = slices.map { slice in
            StagePlan(
                index: index,
                rate: totalPairs > 0 ? rate * Double(slice.pairs.count) / Double(totalPairs) : 0,
                startAt: startAt,
                seconds: seconds,
                graceSeconds: configuration.graceSeconds,
                burst: burst,
                churn: totalSockets > 0 ? churn * Double(slice.sockets.count) / Double(totalSockets) : 0,
                reportInterval: reportInterval
            )
        }
        async let startSample: ServerSample? = {
            await MonotonicClock.sleep(until: startAt)
            return sampler?.sample()
        }()
        let reports = try await withThrowingTaskGroup(of: StageReport.self) { group in
            for (worker, plan) in zip(workers, plans) {
                group.addTask { try await worker.runStage(plan) }
            }
            var merged = StageReport(index: index, seconds: seconds)
            for try await report in group { merged.merge(report) }
            return merged
        }
        let startCPU = await startSample
        let endCPU = sampler?.sample()
        let cpu: UInt64? =
            if let startCPU, let endCPU, endCPU.cpuMicros >= startCPU.cpuMicros {
                endCPU.cpuMicros - startCPU.cpuMicros
            } else {
                nil
            }
        var summary = StageSummary(reports, targetRate: rate, serverCpuUs: cpu, p99Bound: p99Bound)
        if burst > 0, summary.ackLatencyUs.max > 0 {
            // Every send was stamped with the stage's start: the slowest acknowledgement is when the last came.
            summary.ackedPerSecond = Self.rounded(Double(summary.acked) / (Double(summary.ackLatencyUs.max) / 1e6), 1)
        }
        return summary
    }

    /// The server's report from its samples.
    private func serverReport(
        before: ServerSample,
        connected: ServerSample?,
        end: ServerSample?,
        opened: Int,
        stages: [StageSummary]
    ) -> ServerReport {
        var report = ServerReport(
            pid: configuration.serverPIDs.first ?? 0,
            pids: configuration.serverPIDs,
            rssKibBefore: before.rssKiB
        )
        report.rssKibConnected = connected?.rssKiB
        report.rssKibEnd = end?.rssKiB
        if let end, end.cpuMicros >= before.cpuMicros {
            report.cpuSeconds = Self.rounded(Double(end.cpuMicros - before.cpuMicros) / 1e6, 3)
        }
        if configuration.mode == .idle, let end, opened > 0 {
            report.kibPerSocket = Self.rounded((Double(end.rssKiB) - Double(before.rssKiB)) / Double(opened), 2)
        }
        let cpu = stages.compactMap(\.serverCpuUs).reduce(0, +)
        let delivered = stages.reduce(0) { $0 + $1.delivered }
        if configuration.mode != .idle, delivered > 0, stages.allSatisfy({ $0.serverCpuUs != nil }) {
            report.cpuUsPerDeliveredMessage = Self.rounded(Double(cpu) / Double(delivered), 1)
        }
        return report
    }

    /// Calls `body` on every worker at once; the results in worker order.
    private static func gather<Result: Sendable>(
        _ workers: [any LoadWorker],
        _ body: @escaping @Sendable (any LoadWorker) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            for (index, worker) in workers.enumerated() {
                group.addTask { (index, try await body(worker)) }
            }
            var results = [Result?](repeating: nil, count: workers.count)
            for try await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }

    /// A warning on standard error.
    private func warn(_ text: String) {
        FileHandle.standardError.write(Data("broker-load: warning: \(text)\n".utf8))
    }

    /// `value` rounded to `digits` decimals.
    private static func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// A rate without a needless fraction.
    static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(format: "%.1f", rate)
    }
}

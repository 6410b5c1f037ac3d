import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization

/// One process's share of the load: opens its slice's sockets, heartbeats them from a single timer loop, runs
/// sending stages on an open-loop schedule and closes everything at the end.
final class LoadEngine: Sendable {
    /// Heartbeat period per socket (the server closes sockets silent for 60 s).
    static let heartbeatSeconds = 30

    /// The run's settings.
    private let configuration: RunConfiguration
    /// What this process drives.
    let slice: WorkloadSlice
    /// This process's worker index (0 without workers).
    let workerIndex: Int
    /// The counters.
    let stats = WorkerStats()
    /// The event loops.
    private let group: MultiThreadedEventLoopGroup
    /// Opens sockets.
    private let connector: SocketConnector
    /// The sockets' slots, by slice index (a slot without a socket: failed to open); set once by ``connect()``.
    private let sockets = Mutex<[SocketSlot]>([])
    /// The next directed pair to send from, carried across stages.
    private let pairCursor = Mutex(0)
    /// The next socket to reconnect (churn), carried across stages.
    private let churnCursor = Mutex(0)
    /// Churn reconnects under way.
    private let reconnectsInFlight = Atomic<Int>(0)
    /// The heartbeat loop.
    private let heartbeats = Mutex<Task<Void, Never>?>(nil)
    /// Receives each reporting interval's counts (`--report-interval`).
    private let onInterval: @Sendable (IntervalReport) -> Void

    /// Most churn reconnects under way at once; past it, a due reconnect is counted as failed ("churn behind").
    static let maxReconnectsInFlight = 1_000
    /// Longest a churned socket waits for the replies to its sends before it is closed anyway.
    static let churnDrainSeconds = 5.0

    /// An engine for worker `workerIndex`'s `slice`, with one event loop per core; `onInterval` receives the
    /// counts of each reporting interval.
    init(
        configuration: RunConfiguration,
        slice: WorkloadSlice,
        workerIndex: Int,
        onInterval: @escaping @Sendable (IntervalReport) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.slice = slice
        self.workerIndex = workerIndex
        self.onInterval = onInterval
        group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        connector = SocketConnector(
            group: group,
            endpoints: configuration.endpoints,
            stats: stats,
            workerIndex: workerIndex
        )
    }

    // MARK: - Connect

    /// Opens and joins every socket of the slice, at most this process's share of `--connect-concurrency` at a
    /// time and starting none after `--connect-timeout`; heartbeats run from the start.
    func connect() async -> ConnectReport {
        let users = slice.sockets
        // A worker can have nothing to drive (pipeline mode gives the one conversation to the first worker).
        guard !users.isEmpty else { return ConnectReport() }
        let sources = configuration.sourceAddresses
        let offset = slice.globalSocketOffset
        let concurrency = max(1, min(configuration.connectConcurrency, users.count))
        let started = MonotonicClock.now()
        let connectEnd = started &+ MonotonicClock.nanoseconds(configuration.connectTimeout)
        var report = ConnectReport()
        let slots = (0..<users.count).map { _ in SocketSlot() }
        sockets.withLock { $0 = slots }
        // Heartbeats start with the first socket: a connect phase longer than the server's idle timeout must
        // not cost the sockets opened first.
        startHeartbeats()
        var next = 0
        await withTaskGroup(of: (Int, Result<OpenSocket, ConnectFailure>).self) { group in
            func addTask() {
                let index = next
                next += 1
                let user = users[index]
                let local = sources.isEmpty ? nil : sources[(offset + index) % sources.count]
                group.addTask { (index, await self.connector.open(index: index, user: user, localAddress: local)) }
            }
            while next < concurrency { addTask() }
            while let (index, result) = await group.next() {
                report.attempted += 1
                switch result {
                case .success(let socket):
                    slots[index].set(socket)
                    report.opened += 1
                case .failure(let failure):
                    report.failures.count(failure.reason)
                }
                if next < users.count, MonotonicClock.now() < connectEnd { addTask() }
            }
        }
        if next < users.count {
            report.attempted += users.count - next
            report.failures.count("connect phase timed out", by: users.count - next)
        }
        report.seconds = Double(MonotonicClock.now() - started) / 1e9
        return report
    }

    /// One loop for every socket: each second, heartbeats the thirtieth of the sockets whose turn it is, so each
    /// socket gets one every ``heartbeatSeconds`` and the load is spread evenly.
    private func startHeartbeats() {
        let deadline = configuration.deadline
        // Unstructured but owned: the engine keeps the handle and cancels it when it stops; it also ends at the
        // run's deadline.
        let task = Task { [self] in
            var tick = 0
            var ref: UInt64 = 0
            while !Task.isCancelled, !deadline.passed {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                guard !Task.isCancelled else { return }
                let all = sockets.withLock { $0 }
                for index in stride(from: tick % Self.heartbeatSeconds, to: all.count, by: Self.heartbeatSeconds) {
                    guard let socket = all[index].socket, socket.channel.isActive else { continue }
                    ref &+= 1
                    let frame = FrameBuilder.heartbeat(ref: ref, allocator: socket.channel.allocator)
                    socket.channel.writeAndFlush(LoadSocketHandler.textFrame(frame), promise: nil)
                    stats.heartbeatSent()
                }
                tick += 1
            }
        }
        heartbeats.withLock { $0 = task }
    }

    // MARK: - Stages

    /// Runs one stage: from `plan.startAt`, sends at `plan.rate` for `plan.seconds`, round-robin over the
    /// slice's directed pairs, each message stamped with its scheduled instant; then waits up to the grace
    /// period for replies and pushes.
    func runStage(_ plan: StagePlan) async -> StageReport {
        stats.beginStage()
        let pairs = slice.pairs
        let all = sockets.withLock { $0 }
        let deadline = configuration.deadline.value
        let start = plan.startAt
        let end = start &+ MonotonicClock.nanoseconds(plan.seconds)
        if plan.burst > 0 { return await runBurst(plan) }
        let total = plan.rate > 0 && !pairs.isEmpty ? Int((plan.rate * plan.seconds).rounded(.down)) : 0
        let interval = total > 0 ? 1e9 / plan.rate : 0
        let sendEnd = min(end, deadline)
        let churn =
            plan.churn > 0 ? Task { await self.runChurn(rate: plan.churn, start: start, end: sendEnd, slots: all) } : nil
        let intervals =
            plan.reportInterval > 0
            ? Task { await self.runIntervals(every: plan.reportInterval, start: start, end: sendEnd) } : nil
        await MonotonicClock.sleep(until: start)
        var cursor = pairCursor.withLock { $0 }
        var sentCount = 0
        while sentCount < total, !Task.isCancelled {
            let now = MonotonicClock.now()
            guard now < deadline else { break }
            let elapsed = now > start ? Double(now - start) : 0
            let due = min(total, Int(elapsed / interval) + 1)
            while sentCount < due {
                let scheduled = start &+ UInt64(Double(sentCount) * interval)
                if churn != nil { cursor = skipReconnecting(from: cursor, pairs: pairs, slots: all) }
                send(pair: pairs[cursor % pairs.count], scheduled: scheduled, sockets: all)
                cursor = (cursor + 1) % pairs.count
                sentCount += 1
            }
            guard sentCount < total else { break }
            let nextAt = start &+ UInt64(Double(sentCount) * interval)
            let current = MonotonicClock.now()
            if nextAt > current { try? await Task.sleep(nanoseconds: min(nextAt - current, 50_000_000)) }
        }
        pairCursor.withLock { $0 = cursor }
        await MonotonicClock.sleep(until: sendEnd)
        // Churn stops with the sends; the reconnects under way finish (their replays belong to the stage).
        await churn?.value
        await intervals?.value
        let graceEnd = min(MonotonicClock.now() &+ MonotonicClock.nanoseconds(plan.graceSeconds), deadline)
        while MonotonicClock.now() < graceEnd, !stats.stageSettled(), !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return stats.endStage(index: plan.index, seconds: plan.seconds)
    }

    /// Pipeline: writes `plan.burst` sends from the first directed pair back to back (flushing every 64),
    /// all stamped with the stage's start, so the largest acknowledgement latency is the time to acknowledge
    /// them all; then waits for the replies and pushes.
    private func runBurst(_ plan: StagePlan) async -> StageReport {
        let all = sockets.withLock { $0 }
        let deadline = configuration.deadline.value
        await MonotonicClock.sleep(until: plan.startAt)
        if let pair = slice.pairs.first {
            for index in 0..<plan.burst {
                send(pair: pair, scheduled: plan.startAt, sockets: all, flush: index % 64 == 63 || index == plan.burst - 1)
            }
        }
        let graceEnd = min(MonotonicClock.now() &+ MonotonicClock.nanoseconds(plan.seconds + plan.graceSeconds), deadline)
        while MonotonicClock.now() < graceEnd, !stats.stageSettled(), !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        return stats.endStage(index: plan.index, seconds: plan.seconds)
    }

    /// The first pair from `cursor` on whose sender is not being reconnected (churn); counts a send moved.
    private func skipReconnecting(from cursor: Int, pairs: [DirectedPair], slots: [SocketSlot]) -> Int {
        var next = cursor
        for _ in 0..<pairs.count {
            guard let socket = slots[pairs[next].senderSocket].socket,
                socket.session.closing.load(ordering: .relaxed)
            else { break }
            next = (next + 1) % pairs.count
        }
        if next != cursor { stats.redirected() }
        return next
    }

    // MARK: - Churn

    /// Closes and reopens `rate` sockets a second from `start` to `end`, round robin over the slice, each new
    /// socket joining with `last_seen_id` = the highest message id its user saw; returns once the reconnects
    /// under way are done.
    private func runChurn(rate: Double, start: UInt64, end: UInt64, slots: [SocketSlot]) async {
        guard rate > 0, !slots.isEmpty else { return }
        let interval = 1e9 / rate
        var cursor = churnCursor.withLock { $0 }
        await MonotonicClock.sleep(until: start)
        await withDiscardingTaskGroup { group in
            var done = 0
            while !Task.isCancelled {
                let now = MonotonicClock.now()
                guard now < end else { break }
                let elapsed = now > start ? Double(now - start) : 0
                let due = Int(elapsed / interval) + 1
                while done < due {
                    let index = cursor % slots.count
                    cursor = (cursor + 1) % slots.count
                    done += 1
                    guard reconnectsInFlight.load(ordering: .relaxed) < Self.maxReconnectsInFlight else {
                        stats.reconnectFailed("churn behind (\(Self.maxReconnectsInFlight) under way)")
                        continue
                    }
                    reconnectsInFlight.add(1, ordering: .relaxed)
                    group.addTask {
                        await self.reconnect(index: index, slot: slots[index])
                        self.reconnectsInFlight.subtract(1, ordering: .relaxed)
                    }
                }
                let nextAt = start &+ UInt64(Double(done) * interval)
                let current = MonotonicClock.now()
                if nextAt > current { try? await Task.sleep(nanoseconds: min(nextAt - current, 50_000_000)) }
            }
        }
        churnCursor.withLock { $0 = cursor }
    }

    /// Closes slot `index`'s socket once its sends are answered (the scheduler sends from other sockets
    /// meanwhile), then opens a new one for the same user that joins with `last_seen_id`.
    private func reconnect(index: Int, slot: SocketSlot) async {
        guard slot.beginReconnect() else {
            stats.reconnectFailed("previous reconnect still under way")
            return
        }
        var lastSeen = slot.lastSeen
        if let old = slot.socket {
            old.session.closing.store(true, ordering: .relaxed)
            // A send the scheduler picked just before the flag was set is written within microseconds; then
            // every send of the socket gets its reply before the socket goes.
            try? await Task.sleep(nanoseconds: 20_000_000)
            let drainEnd = MonotonicClock.now() &+ MonotonicClock.nanoseconds(Self.churnDrainSeconds)
            while old.session.inflight.load(ordering: .relaxed) > 0, MonotonicClock.now() < drainEnd {
                try? await Task.sleep(nanoseconds: 5_000_000)
            }
            var code = old.channel.allocator.buffer(capacity: 2)
            code.writeInteger(UInt16(1000))
            old.channel.writeAndFlush(
                WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code),
                promise: nil
            )
            old.channel.close(promise: nil)
            // Once closed, the handler has read its last push: the highest id seen is final.
            try? await old.channel.closeFuture.get()
            lastSeen = max(lastSeen, old.session.highestSeen.load(ordering: .relaxed))
        }
        let sources = configuration.sourceAddresses
        let local = sources.isEmpty ? nil : sources[(slice.globalSocketOffset + index) % sources.count]
        let result = await connector.open(
            index: index,
            user: slice.sockets[index],
            localAddress: local,
            lastSeenID: lastSeen
        )
        switch result {
        case .success(let socket):
            slot.endReconnect(socket: socket, lastSeen: lastSeen)
        case .failure(let failure):
            stats.reconnectFailed(failure.reason)
            slot.endReconnect(socket: nil, lastSeen: lastSeen)
        }
    }

    // MARK: - Intervals

    /// Hands the counts of each `seconds`-long interval from `start` to `end` to ``onInterval``.
    private func runIntervals(every seconds: Double, start: UInt64, end: UInt64) async {
        var index = 1
        while !Task.isCancelled {
            let at = start &+ MonotonicClock.nanoseconds(seconds * Double(index))
            // The last interval may end a little after `end` (rounding), not a whole interval.
            guard at <= end &+ 100_000_000 else { return }
            await MonotonicClock.sleep(until: at)
            guard !configuration.deadline.passed else { return }
            onInterval(stats.takeInterval(index: index, seconds: seconds * Double(index)))
            index += 1
        }
    }

    // MARK: - Sending

    /// Writes one send of `pair`, unless its socket is gone, not writable or has too many sends in flight.
    private func send(pair: DirectedPair, scheduled: UInt64, sockets: [SocketSlot], flush: Bool = true) {
        guard let socket = sockets[pair.senderSocket].socket else {
            stats.skipped("socket not open")
            return
        }
        let channel = socket.channel
        guard channel.isActive else {
            stats.skipped("socket closed")
            return
        }
        guard channel.isWritable || !flush else {
            stats.skipped("socket not writable")
            return
        }
        guard socket.session.inflight.load(ordering: .relaxed) < configuration.maxInflight else {
            stats.skipped("too many in flight")
            return
        }
        socket.session.inflight.add(1, ordering: .relaxed)
        let now = MonotonicClock.now()
        let sequence = stats.issueSend(lagNanos: now > scheduled ? now - scheduled : 0)
        let stamp = MessageStamp(
            worker: workerIndex,
            sequence: sequence,
            scheduled: scheduled,
            recipient: pair.recipient
        )
        let frame = FrameBuilder.send(
            sequence: sequence,
            recipient: pair.recipient,
            conversation: pair.conversation,
            content: stamp.content,
            allocator: channel.allocator
        )
        if flush {
            channel.writeAndFlush(LoadSocketHandler.textFrame(frame), promise: nil)
        } else {
            channel.write(LoadSocketHandler.textFrame(frame), promise: nil)
        }
    }

    // MARK: - Finish

    /// The live display's counters.
    func progress() -> ProgressSnapshot {
        stats.progress()
    }

    /// Stops the heartbeats, closes every socket (a close frame, then the connection) and shuts the event loops
    /// down; reports the socket-level counts, taken before the closes.
    func finish() async -> FinishReport {
        heartbeats.withLock { $0?.cancel() }
        let report = stats.finishReport()
        let all = sockets.withLock { current -> [SocketSlot] in
            defer { current = [] }
            return current
        }
        var closes: [EventLoopFuture<Void>] = []
        closes.reserveCapacity(all.count)
        for case let socket? in all.map(\.socket) {
            socket.session.closing.store(true, ordering: .relaxed)
            var code = socket.channel.allocator.buffer(capacity: 2)
            code.writeInteger(UInt16(1000))
            let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
            socket.channel.writeAndFlush(frame, promise: nil)
            closes.append(socket.channel.close())
        }
        if let loop = closes.first?.eventLoop {
            _ = try? await EventLoopFuture.whenAllComplete(closes, on: loop).get()
        }
        try? await group.shutdownGracefully()
        return report
    }
}

import DequeModule
import ServiceLifecycle

/// The single writer of a store: gathers every write that arrives while the previous batch commits and
/// commits them together (group commit), so one fsync serves many writers.
///
/// It owns the intake queue (bounded by `capacity`; past it callers get ``StoreError/unavailable``), and its
/// `run()` owns the commit loop. Each caller is answered only after the transaction holding its write
/// committed, in commit order. On graceful shutdown it stops taking writes, commits everything it already
/// took, and returns; the store's owner (the root `ServiceGroup`, where the store starts first and so stops
/// last) stops it.
actor StoreWriter<Session> {
    /// Counters for tests and metrics.
    struct Statistics: Sendable, Hashable {
        /// Transactions committed or attempted.
        var transactions = 0
        /// Writes performed in them.
        var writes = 0
        /// The largest batch so far.
        var largestBatch = 0
    }

    /// Commits one batch: runs each job's `perform` inside one transaction, then answers every job.
    typealias Executor = @Sendable ([WriteJob<Session>]) async -> Void

    private let capacity: Int
    private let maxBatchSize: Int
    private let commitDelay: Duration
    private let execute: Executor
    private var pending = Deque<WriteJob<Session>>()
    private var wakeUp: CheckedContinuation<Void, Never>?
    private var isStopping = false
    private(set) var statistics = Statistics()

    /// Creates a writer.
    /// - Parameters:
    ///   - capacity: the most writes waiting at once.
    ///   - maxBatchSize: the most writes in one transaction.
    ///   - commitDelay: how long a small batch waits for more writes (see ``CommitWindow``).
    ///   - execute: commits one batch (see ``Executor``).
    init(capacity: Int, maxBatchSize: Int, commitDelay: Duration = .zero, execute: @escaping Executor) {
        self.capacity = capacity
        self.maxBatchSize = max(1, maxBatchSize)
        self.commitDelay = commitDelay
        self.execute = execute
    }

    /// Queues `work` for the next batch and returns its result once that batch committed.
    /// - Throws: the work's own error (its changes are rolled back alone), the commit's error, or
    ///   ``StoreError/unavailable`` when the intake is full or the writer is stopping.
    func submit<T: Sendable>(_ work: @escaping @Sendable (Session) throws -> T) async throws -> T {
        guard !isStopping, pending.count < capacity else { throw StoreError.unavailable }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = WriteJob<Session>(
                perform: { session in
                    let result = Result { try work(session) }
                    let failed = if case .failure = result { true } else { false }
                    return (failed, { commitError in
                        if let commitError {
                            continuation.resume(throwing: commitError)
                        } else {
                            continuation.resume(with: result)
                        }
                    })
                },
                fail: { continuation.resume(throwing: $0) }
            )
            pending.append(job)
            if let wakeUp {
                self.wakeUp = nil
                wakeUp.resume()
            }
        }
    }

    /// The commit loop: runs until graceful shutdown or cancellation, then commits what it already accepted.
    func run() async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while let batch = await nextBatch() {
                    statistics.transactions += 1
                    statistics.writes += batch.count
                    statistics.largestBatch = max(statistics.largestBatch, batch.count)
                    StoreMetrics.batchSize.record(batch.count)
                    StoreMetrics.queueDepth.record(pending.count)
                    let started = ContinuousClock.now
                    await execute(batch)
                    StoreMetrics.commitLatency.record(duration: ContinuousClock.now - started)
                }
            } onCancel: {
                Task { await self.stop() }  // bridge from the synchronous handler; ends as soon as stop() ran
            }
        } onGracefulShutdown: {
            Task { await self.stop() }  // bridge from the synchronous handler; ends as soon as stop() ran
        }
    }

    /// Stops taking writes; `run()` returns after committing what was accepted.
    func stop() {
        isStopping = true
        if let wakeUp {
            self.wakeUp = nil
            wakeUp.resume()
        }
    }

    /// The next batch: everything pending, up to `maxBatchSize`; `nil` once stopping with nothing left.
    private func nextBatch() async -> [WriteJob<Session>]? {
        while pending.isEmpty {
            if isStopping { return nil }
            await withCheckedContinuation { wakeUp = $0 }
        }
        await CommitWindow.wait(commitDelay, whilePending: pending.count, stopping: isStopping)
        let count = min(pending.count, maxBatchSize)
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        return batch
    }
}

/// The group-commit window: a batch that is still small when the writer is ready waits `delay` for more
/// writes (the actor is free meanwhile, so they join it). At a few thousand messages a second, writes arrive
/// one at a time and without the window nearly every message paid for a commit and an fsync of its own; a
/// batch that is already large goes at once.
enum CommitWindow {
    /// Batches of at least this many writes do not wait.
    static let largeBatch = 32

    static func wait(_ delay: Duration, whilePending pending: Int, stopping: Bool) async {
        guard delay > .zero, pending < largeBatch, !stopping else { return }
        try? await Task.sleep(for: delay)
    }
}

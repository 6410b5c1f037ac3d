import DequeModule
import ServiceLifecycle

/// The group-committing writer of messages on PostgreSQL: gathers every `insertMessages` call that arrives
/// (from any number of conversation actors) while the previous batch commits, and commits them together in
/// one transaction whose inserts are one statement.
///
/// It plays the part ``StoreWriter`` plays for SQLite, and keeps its rules: a bounded intake (past
/// `capacity` waiting calls, ``StoreError/unavailable``), every caller answered only after the transaction
/// holding its drafts committed, and on graceful shutdown no new calls but a commit of everything already
/// taken. It is separate from ``StoreWriter`` because a PostgreSQL batch is asynchronous work on a leased
/// connection, where ``StoreWriter``'s jobs run synchronously on one database thread.
///
/// It owns the intake; its `run()` owns the commit loop and is run (and stopped) by ``PostgresStore/run()``.
actor PostgresMessageWriter {
    /// Counters for tests and metrics.
    struct Statistics: Sendable, Hashable {
        /// Transactions committed or attempted.
        var transactions = 0
        /// Drafts written in them.
        var writes = 0
        /// The most drafts in one transaction so far.
        var largestBatch = 0
    }

    /// What each draft of a call turned into.
    typealias Outcomes = [Result<StoredMessage, StoreError>]
    /// Commits one batch of drafts in one transaction and returns one outcome per draft, in order; throws
    /// when the transaction as a whole failed.
    typealias Commit = @Sendable ([NewMessage]) async throws -> Outcomes

    /// One waiting `insertMessages` call.
    private struct Call {
        /// Its drafts, in order.
        var drafts: [NewMessage]
        /// Where its outcomes go.
        var continuation: CheckedContinuation<Outcomes, any Error>
    }

    /// The most calls waiting at once.
    private let capacity: Int
    /// The most drafts in one transaction.
    private let maxBatchSize: Int
    private let commitDelay: Duration
    /// Commits one batch.
    private let commit: Commit
    /// Calls waiting for the next batch, oldest first.
    private var pending = Deque<Call>()
    /// The commit loop, while it waits for calls.
    private var wakeUp: CheckedContinuation<Void, Never>?
    /// Whether new calls are refused.
    private var isStopping = false
    /// The counters so far.
    private(set) var statistics = Statistics()

    /// Creates a writer.
    /// - Parameters:
    ///   - capacity: the most calls waiting at once.
    ///   - maxBatchSize: the most drafts in one transaction (a single larger call still goes alone).
    ///   - commit: commits one batch (see ``Commit``).
    init(capacity: Int, maxBatchSize: Int, commitDelay: Duration = .zero, commit: @escaping Commit) {
        self.commitDelay = commitDelay
        self.capacity = max(1, capacity)
        self.maxBatchSize = max(1, maxBatchSize)
        self.commit = commit
    }

    /// Queues the drafts for the next batch and returns their outcomes once that batch committed.
    /// - Throws: the batch's error (mapped to ``StoreError``), or ``StoreError/unavailable`` when the intake
    ///   is full or the writer is stopping.
    func submit(_ drafts: [NewMessage]) async throws -> Outcomes {
        guard !drafts.isEmpty else { return [] }
        guard !isStopping, pending.count < capacity else { throw StoreError.unavailable }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append(Call(drafts: drafts, continuation: continuation))
            if let wakeUp {
                self.wakeUp = nil
                wakeUp.resume()
            }
        }
    }

    /// The commit loop: runs until graceful shutdown or cancellation, then commits what it already took.
    func run() async {
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while let batch = await nextBatch() {
                    await execute(batch)
                }
            } onCancel: {
                Task { await self.stop() }  // bridge from the synchronous handler; ends as soon as stop() ran
            }
        } onGracefulShutdown: {
            Task { await self.stop() }  // bridge from the synchronous handler; ends as soon as stop() ran
        }
    }

    /// Stops taking calls; `run()` returns after committing what was taken.
    func stop() {
        isStopping = true
        if let wakeUp {
            self.wakeUp = nil
            wakeUp.resume()
        }
    }

    /// Stops taking calls and fails every waiting one: for when `run()` will never run (the schema could
    /// not be brought up to date).
    func close(failingWith error: StoreError) {
        stop()
        while let call = pending.popFirst() {
            call.continuation.resume(throwing: error)
        }
    }

    /// The next batch: waiting calls in arrival order, up to `maxBatchSize` drafts (at least one call);
    /// `nil` once stopping with nothing left.
    private func nextBatch() async -> [Call]? {
        while pending.isEmpty {
            if isStopping { return nil }
            await withCheckedContinuation { wakeUp = $0 }
        }
        // Every call holds at least one draft, so the first `largeBatch` calls tell whether the batch is small.
        let waiting = pending.prefix(CommitWindow.largeBatch).reduce(0) { $0 + $1.drafts.count }
        await CommitWindow.wait(commitDelay, whilePending: waiting, stopping: isStopping)
        var batch: [Call] = []
        var drafts = 0
        while let next = pending.first, batch.isEmpty || drafts + next.drafts.count <= maxBatchSize {
            drafts += next.drafts.count
            batch.append(next)
            pending.removeFirst()
        }
        return batch
    }

    /// Commits one batch and answers each call with its own slice of the outcomes, or all with the error.
    private func execute(_ batch: [Call]) async {
        let drafts = batch.flatMap(\.drafts)
        statistics.transactions += 1
        statistics.writes += drafts.count
        statistics.largestBatch = max(statistics.largestBatch, drafts.count)
        StoreMetrics.batchSize.record(drafts.count)
        StoreMetrics.queueDepth.record(pending.count)
        let started = ContinuousClock.now
        let outcomes: Outcomes
        do {
            outcomes = try await commit(drafts)
            StoreMetrics.commitLatency.record(duration: ContinuousClock.now - started)
        } catch {
            let failure = error as? StoreError ?? .failed(operation: "insertMessages", message: "\(type(of: error))")
            for call in batch { call.continuation.resume(throwing: failure) }
            return
        }
        guard outcomes.count == drafts.count else {
            let failure = StoreError.failed(operation: "insertMessages", message: "batch answered the wrong count")
            for call in batch { call.continuation.resume(throwing: failure) }
            return
        }
        var offset = 0
        for call in batch {
            call.continuation.resume(returning: Array(outcomes[offset..<offset + call.drafts.count]))
            offset += call.drafts.count
        }
    }
}

import DequeModule
import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle
import Store
import Synchronization

/// How a ``GroupCommitWriter`` commits: the backend's part of group commit.
protocol BatchCommitter: Sendable {
    /// One waiting write and the way to answer it.
    associatedtype Call: Sendable

    /// How much a call counts toward ``GroupCommitWriter``'s batch size (drafts, or one job).
    func weight(of call: Call) -> Int
    /// Commits the calls in one transaction and answers each of them, only after the commit (or with its
    /// error). Runs on the writer's thread, which may block for the commit.
    func commit(_ batch: [Call])
    /// Answers a call that will never run.
    func fail(_ call: Call, with error: StoreError)
}

/// The single writer of a store: gathers every write that arrives while the previous batch commits and
/// commits them together (group commit), so one fsync serves many writers. One type serves SQLite and
/// PostgreSQL; what differs (how a batch commits) is the ``BatchCommitter``.
///
/// It owns a dedicated thread, started by `run()`. A caller's `submit` takes a lock and, only when the thread
/// sleeps for want of work, wakes it: a batch costs one wake-up, however many calls it holds. The intake is
/// bounded by `capacity` (past it, ``StoreError/unavailable``). A small batch waits up to `commitDelay` for
/// more writes (PostgreSQL's `commit_delay`): at a few thousand messages a second, writes arrive one at a
/// time, and without the window nearly every message paid for a commit and an fsync of its own. Each call is
/// answered only after the transaction holding it committed, in commit order; the committer answers calls
/// that name an event loop with one hop to each loop per batch.
///
/// On graceful shutdown (or cancellation of `run()`) it stops taking writes, commits everything it already
/// took, and `run()` returns; the store's owner (the root `ServiceGroup`, where the store starts first and so
/// stops last) stops it.
///
/// Hand-written: no listed package offers a group-committing queue on its own thread.
final class GroupCommitWriter<Committer: BatchCommitter>: Sendable {
    typealias Call = Committer.Call

    /// Counters for tests and metrics.
    struct Statistics: Sendable, Hashable {
        /// Transactions committed or attempted.
        var transactions = 0
        /// Calls served by them.
        var writes = 0
        /// The largest batch so far, in calls.
        var largestBatch = 0
    }

    /// What the writer's thread is doing, so that `submit` wakes it only when it waits.
    private enum Phase {
        /// Not started, or committing: it looks at the intake again when done.
        case busy
        /// Sleeping until a call arrives.
        case idle
        /// Holding a small batch open until `commitDelay` passes or the batch is large.
        case window
        /// The thread has ended.
        case finished
    }

    private struct State {
        var pending = Deque<Call>()
        var phase = Phase.busy
        var started = false
        var stopping = false
        var statistics = Statistics()
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Batches of at least this many calls commit at once, without the window.
    static var largeBatch: Int { 32 }

    private let name: String
    private let capacity: Int
    private let maxBatchSize: Int
    private let commitDelay: Duration
    /// Commits each batch; its loop, when it has one, is run by the writer's owner.
    let committer: Committer
    private let state = Locked(State())
    /// Where the thread sleeps; `true` once there is something to look at.
    private let signal = ConditionLock(value: false)

    /// Creates a writer (its thread starts with `run()`).
    /// - Parameters:
    ///   - name: the thread's name (at most 15 bytes, Linux's limit).
    ///   - capacity: the most calls waiting at once.
    ///   - maxBatchSize: the most weight in one transaction (a single heavier call still goes alone).
    ///   - commitDelay: how long a small batch waits for more writes; zero commits at once.
    ///   - committer: commits one batch.
    init(name: String, capacity: Int, maxBatchSize: Int, commitDelay: Duration = .zero, committer: Committer) {
        self.name = name
        self.capacity = capacity
        self.maxBatchSize = max(1, maxBatchSize)
        self.commitDelay = commitDelay
        self.committer = committer
    }

    /// The counters so far.
    var statistics: Statistics { state.withLock { $0.statistics } }

    /// Queues a call for the next batch; the committer answers it after that batch committed.
    /// - Throws: ``StoreError/unavailable`` when the intake is full or the writer is stopping; the call is
    ///   then not answered.
    func submit(_ call: Call) throws(StoreError) {
        let wake = try state.withLock { state throws(StoreError) -> Bool in
            guard !state.stopping, state.phase != .finished, state.pending.count < capacity else {
                throw StoreError.unavailable
            }
            state.pending.append(call)
            switch state.phase {
            case .idle: return true
            case .window: return state.pending.count >= Self.largeBatch
            case .busy, .finished: return false
            }
        }
        if wake { wakeThread() }
    }

    /// Runs the writer's thread until graceful shutdown or cancellation, then lets it commit what it took.
    func run() async {
        let start = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        if start {
            let thread = Thread { [self, name] in
                Thread.current.name = name  // set from the thread itself, so the OS thread (ps, perf) shows it
                self.loop()
            }
            thread.start()
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let done = state.withLock { state -> Bool in
                        guard state.phase != .finished else { return true }
                        state.finishWaiters.append(continuation)
                        return false
                    }
                    if done { continuation.resume() }
                }
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Stops taking writes; the thread commits what it took and ends, then `run()` returns.
    func stop() {
        let (wake, orphans) = state.withLock { state -> (Bool, [Call]) in
            state.stopping = true
            guard !state.started else { return (true, []) }
            // Never started: nobody will commit these.
            defer { state.pending.removeAll() }
            return (false, Self.copy(state.pending))
        }
        for call in orphans { committer.fail(call, with: .unavailable) }
        if wake { wakeThread() }
    }

    /// Stops taking writes and fails every waiting one: for when the thread will never commit them (the
    /// schema could not be brought up to date, or the store stopped).
    func close(failingWith error: StoreError) {
        let orphans = state.withLock { state -> [Call] in
            state.stopping = true
            defer { state.pending.removeAll() }
            return Self.copy(state.pending)
        }
        for call in orphans { committer.fail(call, with: error) }
        wakeThread()
    }

    /// The calls of `pending`, in order. An empty queue gives `[]` without a copy: `Array` of an empty `Deque`
    /// writes the count of the runtime's shared empty-array storage, which ThreadSanitizer reports as a race
    /// between two writers closing at once (it is the same zero written twice).
    private static func copy(_ pending: Deque<Call>) -> [Call] {
        pending.isEmpty ? [] : Array(pending)
    }

    private func wakeThread() {
        signal.lock()
        signal.unlock(withValue: true)
    }

    /// The thread's body: commits batches until stopped with nothing left.
    private func loop() {
        while let batch = nextBatch() {
            let started = ContinuousClock.now
            committer.commit(batch)
            StoreMetrics.commitLatency.record(duration: ContinuousClock.now - started)
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.phase = .finished
            defer { state.finishWaiters.removeAll() }
            return state.finishWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The next batch: what is pending, up to `maxBatchSize`, once the commit window allows; `nil` once
    /// stopping with nothing left.
    private func nextBatch() -> [Call]? {
        // Wait for work.
        while true {
            let ready = state.withLock { state -> Bool? in
                if !state.pending.isEmpty { return true }
                if state.stopping { return nil }
                state.phase = .idle
                return false
            }
            guard let ready else { return nil }
            if ready { break }
            signal.lock(whenValue: true)
            signal.unlock(withValue: false)
        }
        // The commit window: a small batch waits for more writes (the intake stays open meanwhile).
        if commitDelay > .zero {
            let deadline = ContinuousClock.now + commitDelay
            while true {
                let waitMore = state.withLock { state -> Bool in
                    guard state.pending.count < Self.largeBatch, !state.stopping else { return false }
                    state.phase = .window
                    return true
                }
                let remaining = deadline - ContinuousClock.now
                guard waitMore, remaining > .zero else { break }
                let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18
                if signal.lock(whenValue: true, timeoutSeconds: seconds) {
                    signal.unlock(withValue: false)
                }
            }
        }
        return state.withLock { state -> [Call] in
            state.phase = .busy
            var batch: [Call] = []
            var weight = 0
            while let call = state.pending.first {
                let next = committer.weight(of: call)
                if !batch.isEmpty, weight + next > maxBatchSize { break }
                batch.append(state.pending.removeFirst())
                weight += next
            }
            state.statistics.transactions += 1
            state.statistics.writes += batch.count
            state.statistics.largestBatch = max(state.statistics.largestBatch, batch.count)
            StoreMetrics.batchSize.record(weight)
            StoreMetrics.queueDepth.record(state.pending.count)
            return batch
        }
    }
}

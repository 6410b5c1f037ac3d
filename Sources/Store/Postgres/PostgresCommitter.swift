import Dispatch
import NIOCore
import Store
import Synchronization

/// Commits PostgreSQL message batches for the ``GroupCommitWriter``: every `insertMessages` call that arrived
/// (from any number of conversation actors) while the previous batch committed goes into one transaction
/// whose inserts are one statement (``PostgresStore/commitMessages(_:origin:in:)``).
///
/// A batch is asynchronous work on a leased connection, so the writer's thread hands it to the committer's
/// long-lived ``run()`` loop through an `AsyncStream` and waits for it: one hop per batch, and the thread is
/// the writer's own, so no pool thread is blocked. ``run()`` is a service of the ``PostgresStore``'s group,
/// started before the writer and stopped after it; a batch it never took (it ended first) is answered
/// ``StoreError/unavailable``.
struct PostgresCommitter: BatchCommitter {
    /// What each draft of a call turned into.
    typealias Outcomes = [Result<StoredMessage, StoreError>]

    /// One waiting `insertMessages` call.
    struct Call: Sendable {
        /// Its drafts, in order (at least one).
        var drafts: [NewMessage]
        /// The event loop its answer runs on; `nil` answers on the writer's thread.
        var loop: (any EventLoop)?
        /// Where its outcomes go.
        var answer: @Sendable (Result<Outcomes, StoreError>) -> Void
    }

    /// Commits one batch of drafts in one transaction and returns one outcome per draft, in order.
    let commitDrafts: @Sendable ([NewMessage]) async throws -> Outcomes
    /// Batches handed from the writer's thread to ``run()``.
    private let batches: (stream: AsyncStream<CommitJob>, continuation: AsyncStream<CommitJob>.Continuation) =
        AsyncStream.makeStream()

    /// A committer whose ``run()`` commits each batch with `commitDrafts`.
    init(commitDrafts: @escaping @Sendable ([NewMessage]) async throws -> Outcomes) {
        self.commitDrafts = commitDrafts
    }

    /// Commits the batches the writer hands over, one at a time, until cancelled; later batches are answered
    /// ``StoreError/unavailable``.
    func run() async {
        for await job in batches.stream {
            job.waiter.resolve(await Result(catching: { try await commitDrafts(job.drafts) }))
        }
        batches.continuation.finish()
    }

    func weight(of call: Call) -> Int { call.drafts.count }

    func fail(_ call: Call, with error: StoreError) {
        LoopAnswers.answer(on: call.loop) { call.answer(.failure(error)) }
    }

    /// Commits the batch and answers each call with its own slice of the outcomes, or all with the error.
    func commit(_ batch: [Call]) {
        let drafts = batch.flatMap(\.drafts)
        let result = waitFor(drafts)
        var answers = LoopAnswers()
        switch result {
        case .success(let outcomes) where outcomes.count == drafts.count:
            var offset = 0
            for call in batch {
                let slice = Array(outcomes[offset..<offset + call.drafts.count])
                offset += call.drafts.count
                answers.add(on: call.loop) { call.answer(.success(slice)) }
            }
        case .success:
            let failure = StoreError.failed(operation: "insertMessages", message: "batch answered the wrong count")
            for call in batch { answers.add(on: call.loop) { call.answer(.failure(failure)) } }
        case .failure(let error):
            let failure = error as? StoreError ?? .failed(operation: "insertMessages", message: "\(type(of: error))")
            for call in batch { answers.add(on: call.loop) { call.answer(.failure(failure)) } }
        }
        answers.deliver()
    }

    /// Hands the drafts to ``run()`` and waits for the outcome on the writer's thread (never a pool thread).
    private func waitFor(_ drafts: [NewMessage]) -> Result<Outcomes, any Error> {
        let waiter = CommitWaiter()
        if case .terminated = batches.continuation.yield(CommitJob(drafts: drafts, waiter: waiter)) {
            return .failure(StoreError.unavailable)
        }
        return waiter.wait()
    }
}

/// One batch on its way to ``PostgresCommitter/run()``. When the stream drops it untaken (its loop ended),
/// it answers its waiter ``StoreError/unavailable`` as it goes, so the writer's thread never waits forever.
final class CommitJob: Sendable {
    /// The drafts to commit.
    let drafts: [NewMessage]
    /// Where the outcome goes.
    let waiter: CommitWaiter

    init(drafts: [NewMessage], waiter: CommitWaiter) {
        self.drafts = drafts
        self.waiter = waiter
    }

    deinit { waiter.resolve(.failure(StoreError.unavailable)) }  // only the first outcome counts
}

/// The writer's thread waiting for its batch's outcome.
final class CommitWaiter: Sendable {
    private let outcome = Locked<Result<PostgresCommitter.Outcomes, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Settles the outcome; only the first call counts.
    func resolve(_ result: Result<PostgresCommitter.Outcomes, any Error>) {
        let first = outcome.withLock { outcome -> Bool in
            guard outcome == nil else { return false }
            outcome = result
            return true
        }
        if first { done.signal() }
    }

    /// Blocks the calling thread until the outcome is settled.
    func wait() -> Result<PostgresCommitter.Outcomes, any Error> {
        done.wait()
        return outcome.withLock { $0 } ?? .failure(StoreError.unavailable)
    }
}

extension Result where Failure == any Error {
    /// Captures an async throwing body's outcome.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}

import Dispatch
import NIOCore
import Synchronization

/// Commits PostgreSQL message batches for the ``GroupCommitWriter``: every `insertMessages` call that arrived
/// (from any number of conversation actors) while the previous batch committed goes into one transaction
/// whose inserts are one statement (``PostgresStore/commitMessages(_:origin:in:)``).
///
/// A batch is asynchronous work on a leased connection, so the writer's thread hands it to a task and waits
/// for it: one hop per batch, and the thread is the writer's own, so no pool thread is blocked.
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

    func weight(of call: Call) -> Int { call.drafts.count }

    func fail(_ call: Call, with error: StoreError) {
        LoopAnswers.answer(on: call.loop) { call.answer(.failure(error)) }
    }

    /// Commits the batch and answers each call with its own slice of the outcomes, or all with the error.
    func commit(_ batch: [Call]) {
        let drafts = batch.flatMap(\.drafts)
        let result = Self.waitFor { try await commitDrafts(drafts) }
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

    /// Runs async work from the writer's thread and waits for it (never called from a pool thread).
    private static func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        Task {
            box.set(await Result(catching: work))
            done.signal()
        }
        done.wait()
        return box.take()
    }
}

/// A result handed from a task to a waiting thread.
private final class ResultBox<T: Sendable>: Sendable {
    private let value = Locked<Result<T, any Error>?>(nil)

    func set(_ result: Result<T, any Error>) { value.withLock { $0 = result } }

    func take() -> Result<T, any Error> {
        value.withLock { $0 } ?? .failure(StoreError.unavailable)
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

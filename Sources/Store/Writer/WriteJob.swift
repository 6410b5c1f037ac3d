import NIOCore

/// One write waiting for the SQLite ``GroupCommitWriter``: the work to run inside the batch's transaction and
/// the way to answer its caller once the transaction's fate is known.
struct WriteJob<Session>: Sendable {
    /// Runs the work on the batch's session and returns whether it failed (so the committer rolls back its
    /// changes alone) and how to answer the caller after the commit: with the work's own result, or with the
    /// commit's error when the batch as a whole failed.
    let perform: @Sendable (Session) -> (failed: Bool, answer: @Sendable ((any Error)?) -> Void)
    /// Answers the caller with an error when the work never ran.
    let fail: @Sendable (any Error) -> Void
    /// The event loop the answer runs on; `nil` answers on the writer's thread (a continuation, which then
    /// resumes on its own executor).
    let loop: (any EventLoop)?
    /// Whether the job runs in a savepoint of its own, so that its failure rolls back only its changes. A job
    /// that handles its expected failures itself (message batches: a missing conversation is an outcome, not
    /// an error) skips the two statements; if it still fails, the whole batch rolls back and every job of it
    /// is answered with the error (nothing was acknowledged).
    let isolated: Bool
}

/// Answers gathered on the writer's thread, handed over with one hop to each event loop concerned (not one
/// per answer).
struct LoopAnswers {
    private var direct: [@Sendable () -> Void] = []
    private var byLoop: [(loop: any EventLoop, answers: [@Sendable () -> Void])] = []

    /// Adds an answer for `loop` (or for right here when `nil`).
    mutating func add(on loop: (any EventLoop)?, _ answer: @escaping @Sendable () -> Void) {
        guard let loop else { return direct.append(answer) }
        if let index = byLoop.firstIndex(where: { $0.loop === loop }) {
            byLoop[index].answers.append(answer)
        } else {
            byLoop.append((loop, [answer]))
        }
    }

    /// Runs one answer on `loop` (right here when `nil`), outside a batch's gathering.
    static func answer(on loop: (any EventLoop)?, _ answer: @escaping @Sendable () -> Void) {
        if let loop { loop.execute(answer) } else { answer() }
    }

    /// Runs the direct answers and sends each loop its answers in one task.
    func deliver() {
        for answer in direct { answer() }
        for (loop, answers) in byLoop {
            loop.execute { for answer in answers { answer() } }
        }
    }
}

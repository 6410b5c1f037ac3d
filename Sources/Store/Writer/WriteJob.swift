/// One write waiting for the ``StoreWriter``: the work to run inside the batch's transaction and the way to
/// answer its caller once the transaction's fate is known.
struct WriteJob<Session>: Sendable {
    /// Runs the work on the batch's session and returns whether it failed (so the executor rolls back its
    /// changes alone) and how to answer the caller after the commit: with the work's own result, or with the
    /// commit's error when the batch as a whole failed.
    let perform: @Sendable (Session) -> (failed: Bool, answer: @Sendable ((any Error)?) -> Void)
    /// Answers the caller with an error when the work never ran.
    let fail: @Sendable (any Error) -> Void
}

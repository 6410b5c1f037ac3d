/// Marks the tasks that run inside a supervisor, so that a nested supervisor leaves graceful
/// shutdown to its parent.
///
/// ServiceLifecycle's graceful-shutdown signal reaches every descendant task. If a nested
/// supervisor listened to it, it would stop its children at the same time as its parent stops
/// their siblings, in no order. So only a supervisor that is not itself supervised listens; a
/// supervised one is stopped by its parent through `stop()`, in reverse start order.
enum SupervisionContext {
    /// Whether the current task runs a supervised child's `run()`.
    @TaskLocal static var isSupervised = false
}

/// A lifecycle event of a supervisor's children, delivered to its observer so that tests and
/// metrics can wait on what happened instead of sleeping.
///
/// Events about one child arrive in the order they happened: a child's exit is reported before
/// the supervisor reacts to it, and a start before the child can exit.
package enum SupervisorEvent<ID: Hashable & Sendable>: Sendable {
    /// A child started; `incarnation` counts its starts (1 for the first, 2 after one restart).
    case childStarted(id: ID, incarnation: Int)
    /// A child's `run()` ended for `reason`.
    case childExited(id: ID, incarnation: Int, reason: ExitReason)
    /// Making a child failed with `error`; during a restart it is retried on the next turn.
    case childStartFailed(id: ID, error: any Error)
    /// The supervisor is restarting a child after `reason`, with `restartCount` restarts in the
    /// current intensity window including this one.
    case restarting(id: ID, reason: ExitReason, restartCount: Int)
    /// Restarting `id` would exceed the intensity: the supervisor stops all its children and fails.
    case escalated(id: ID)
    /// A dynamic supervisor gave up on the child alone (``DynamicSupervisor/ChildOverflow/removeChild``).
    case gaveUp(id: ID)
}

/// Describes one child of a supervisor: its identity, when it is restarted, how it is stopped
/// and how a fresh instance is made (OTP's child specification).
package struct ChildSpec<ID: Hashable & Sendable>: Sendable {
    /// Identifies the child among its siblings, in events, errors and logs.
    package var id: ID
    /// Decides whether the child is restarted after it exits.
    package var restart: RestartPolicy
    /// Decides how the child is stopped: `stop()` then cancellation after a timeout, or
    /// cancellation at once.
    package var shutdown: ShutdownPolicy
    /// Makes a fresh child for every (re)start, so that a restarted child reloads its state
    /// (from the store) instead of inheriting the state that crashed.
    ///
    /// Throwing here is a failed start: at a static supervisor's first start it fails the
    /// supervisor, during a restart it is retried and counted against the restart intensity.
    package var start: @Sendable () async throws -> any SupervisedChild

    /// Creates a child specification, with the defaults chosen for this broker's actors.
    ///
    /// - Parameters:
    ///   - id: Identifies the child among its siblings.
    ///   - restart: When the child is restarted; transient by default, so a crash restarts it
    ///     and a normal exit does not.
    ///   - shutdown: How the child is stopped; `stop()` and five seconds by default, as OTP
    ///     gives workers.
    ///   - start: Makes a fresh child for every (re)start.
    package init(
        id: ID,
        restart: RestartPolicy = .transient,
        shutdown: ShutdownPolicy = .graceful(timeout: .seconds(5)),
        start: @escaping @Sendable () async throws -> any SupervisedChild
    ) {
        self.id = id
        self.restart = restart
        self.shutdown = shutdown
        self.start = start
    }
}

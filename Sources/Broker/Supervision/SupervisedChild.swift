/// A child that a supervisor can run and stop: what OTP's start function links.
///
/// A supervisor owns the task that calls ``run()``. The child's lifetime is that call:
/// returning is a normal exit and throwing is a crash, which the supervisor answers under the
/// child's ``RestartPolicy``. Children never listen to graceful shutdown themselves; their
/// supervisor turns it into ordered ``stop()`` calls, and cancels a child that outlives its
/// ``ShutdownPolicy`` timeout.
///
/// - Important: Every (re)start gets a fresh instance from ``ChildSpec/start``, so an
///   implementation reloads its state there and may assume ``run()`` is called at most once.
package protocol SupervisedChild: Sendable {
    /// Runs the child's whole lifetime, so that its supervisor can tell a normal exit from a crash.
    ///
    /// Return to exit normally; throw to crash. Support cancellation: the supervisor cancels this
    /// call when the child ignores ``stop()`` for longer than its shutdown timeout.
    func run() async throws

    /// Asks the child to stop cleanly, so that shutdown and restarts can be ordered (OTP's
    /// `exit(Child, shutdown)`).
    ///
    /// ``run()`` should return soon after. This is only a request: it must return promptly and
    /// must not wait for ``run()`` to finish.
    func stop() async
}

/// How a supervisor stops a child (OTP's `shutdown` child flag).
package enum ShutdownPolicy: Sendable, Hashable {
    /// Cancels the child's `run()` at once without calling `stop()` (OTP's `brutal_kill`).
    case cancelImmediately
    /// Calls `stop()`, waits up to `timeout` for `run()` to end, then cancels it (OTP's timeout
    /// followed by `exit(Child, kill)`).
    ///
    /// Give a nested supervisor a timeout that covers the shutdown of all its own children.
    case graceful(timeout: Duration)
}

/// Why a supervisor failed or refused a request, so that its parent and callers can react.
package enum SupervisorError<ID: Hashable & Sendable>: Error {
    /// Restarting `child` would exceed the restart intensity; the supervisor stopped all its
    /// children. Its own supervisor sees this as an abnormal exit.
    case intensityExceeded(child: ID)
    /// A static supervisor could not start `child` when it began running; the children already
    /// started were stopped again.
    case startFailed(child: ID, error: any Error)
    /// Two static specs share `child`, or a dynamic child with this id is already running.
    case duplicateChild(child: ID)
    /// No child with this id is running under the dynamic supervisor.
    case childNotFound(child: ID)
    /// The dynamic supervisor is shutting down or has stopped, so it starts no more children.
    case notRunning
    /// `run()` was called a second time; a supervisor runs once, and a parent makes a fresh
    /// one for each restart.
    case alreadyRunning
}

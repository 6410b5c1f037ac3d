/// How a supervisor reacts when one of its children exits (OTP's `restart` child flag).
package enum RestartPolicy: Sendable, Hashable {
    /// Always restarted, whatever the exit reason: infrastructure that must always run.
    case permanent
    /// Restarted only after an abnormal exit (a crash), so a child can end itself normally.
    case transient
    /// Never restarted: work that is not worth redoing after it ends.
    case temporary
}

extension RestartPolicy {
    /// Tells whether a child with this policy is restarted after it exits for `reason`, so every
    /// supervisor decides exactly as OTP's `do_restart/3` does.
    ///
    /// - Parameter reason: Why the child's `run()` ended.
    /// - Returns: `true` for ``permanent`` always, for ``transient`` only after
    ///   ``ExitReason/abnormal(_:)``, and never for ``temporary``.
    package func shouldRestart(after reason: ExitReason) -> Bool {
        switch self {
        case .permanent:
            return true
        case .transient:
            return reason.isAbnormal
        case .temporary:
            return false
        }
    }
}

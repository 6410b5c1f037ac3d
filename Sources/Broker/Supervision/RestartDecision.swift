/// What ``RestartIntensity`` allows after a restart is recorded.
package enum RestartDecision: Sendable, Hashable {
    /// The restart is within the intensity: restart the child.
    case restart
    /// More restarts than allowed happened within the period: stop all children and fail
    /// upward, as OTP's `add_restart/1` answers `terminate`.
    case escalate
}

/// Why a child's `run()` ended, so that its supervisor can apply the child's ``RestartPolicy``.
package enum ExitReason: Sendable {
    /// `run()` returned on its own: the child decided to end (an idle conversation stopping).
    case normal
    /// `run()` ended after its supervisor called `stop()` or cancelled it, by returning or by
    /// throwing `CancellationError`.
    case shutdown
    /// `run()` threw: the child crashed with this error.
    case abnormal(any Error)

    /// Tells whether this exit is a crash, the only reason that restarts a transient child.
    package var isAbnormal: Bool {
        if case .abnormal = self {
            return true
        }
        return false
    }
}

extension ExitReason: CustomStringConvertible {
    /// A short rendering for logs and test failures.
    package var description: String {
        switch self {
        case .normal:
            return "normal"
        case .shutdown:
            return "shutdown"
        case .abnormal(let error):
            return "abnormal(\(String(reflecting: error)))"
        }
    }
}

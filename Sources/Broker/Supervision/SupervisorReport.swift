import Logging
import Metrics

/// The structured log entries of supervision (OTP's "SUPERVISOR REPORT"), kept in one place so
/// that both supervisors log restarts, failed starts and escalations with the same keys.
enum SupervisorReport {
    /// Logs a restart at warning, with the child id, the exit reason and the restart count.
    static func restarting(
        _ id: some Hashable & Sendable,
        reason: ExitReason,
        restartCount: Int,
        kind: String,
        logger: Logger
    ) {
        Counter(label: "broker_restarts_total", dimensions: [("child_kind", kind)]).increment()
        logger.warning(
            "Restarting supervised child",
            metadata: [
                "broker.child_id": "\(id)",
                "broker.exit_reason": "\(reason)",
                "broker.restart_count": "\(restartCount)",
            ]
        )
    }

    /// Logs a failed start at error; during a restart it is retried on the next turn.
    static func startFailed(_ id: some Hashable & Sendable, error: any Error, logger: Logger) {
        logger.error(
            "Supervised child failed to start",
            metadata: [
                "broker.child_id": "\(id)",
                "broker.error": "\(String(reflecting: error))",
            ]
        )
    }

    /// Logs, at error, a child given up on alone past its own restart intensity (its siblings keep running).
    static func gaveUp(
        _ id: some Hashable & Sendable,
        reason: ExitReason,
        restartCount: Int,
        logger: Logger
    ) {
        logger.error(
            "Supervised child crashed past its restart intensity; giving up on it alone",
            metadata: [
                "broker.child_id": "\(id)",
                "broker.exit_reason": "\(reason)",
                "broker.restart_count": "\(restartCount)",
            ]
        )
    }

    /// Logs an escalation at error: the supervisor stops all its children and fails upward.
    static func escalated(
        _ id: some Hashable & Sendable,
        reason: ExitReason,
        restartCount: Int,
        logger: Logger
    ) {
        logger.error(
            "Supervisor reached maximum restart intensity; stopping all children",
            metadata: [
                "broker.child_id": "\(id)",
                "broker.exit_reason": "\(reason)",
                "broker.restart_count": "\(restartCount)",
            ]
        )
    }

    /// Logs an exit that needs no restart at debug, since it is routine.
    static func exited(_ id: some Hashable & Sendable, incarnation: Int, reason: ExitReason, logger: Logger) {
        logger.debug(
            "Supervised child exited",
            metadata: [
                "broker.child_id": "\(id)",
                "broker.child_incarnation": "\(incarnation)",
                "broker.exit_reason": "\(reason)",
            ]
        )
    }
}

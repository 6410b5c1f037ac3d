import Metrics

/// Every metric the edge emits; handles made once. Labels are bounded sets (reasons, never ids).
package enum GatewayMetrics {
    /// Open sockets.
    static let connections = Gauge(label: "broker_connections")
    /// `room:chat` joins.
    static let joins = Counter(label: "broker_joins_total")
    /// Error replies and refusals by reason (the contract's reasons only).
    static func errors(_ reason: String) -> Counter {
        Counter(label: "broker_errors_total", dimensions: [("reason", reason)])
    }

    /// Every reason an error is counted under.
    static let reasons = [
        ReplyReason.unmatchedTopic, ReplyReason.unmatchedEvent, ReplyReason.invalidPayload, ReplyReason.notParticipant,
        ReplyReason.rateLimited, ReplyReason.unavailable, "upgrade refused", "outbound queue full", "slow consumer",
    ]

    /// Makes every series of the edge at zero, the HTTP ones for `routes` (``servedRoutes(configuration:)``), so
    /// that scrapers see them before the first connection.
    package static func register(routes: [(method: String, path: String)]) {
        connections.record(0)
        _ = joins
        for reason in reasons { _ = errors(reason) }
        HTTPMetrics.register(routes: routes)
    }
}

import Metrics

/// Every metric the edge emits; handles made once. Labels are bounded sets (reasons, never ids).
enum GatewayMetrics {
    /// Open sockets.
    static let connections = Gauge(label: "broker_connections")
    /// `room:chat` joins.
    static let joins = Counter(label: "broker_joins_total")
    /// Error replies and refusals by reason (the contract's reasons only).
    static func errors(_ reason: String) -> Counter {
        Counter(label: "broker_errors_total", dimensions: [("reason", reason)])
    }
}

/// What a ramp found.
struct RampOutcome: Codable, Sendable {
    /// The highest stage rate that met every bound (`nil`: not even the first).
    var highestSustainedRate: Double?
    /// Why the ramp stopped.
    var stopReason: String
    /// The p99 bound stages were judged against, ms.
    var p99BoundMs: Double
}

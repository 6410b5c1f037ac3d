import Foundation

/// The result of a run: printed as a table, or as one JSON object with `--json`.
struct RunReport: Codable, Sendable {
    /// The mode.
    var mode: LoadMode
    /// The WebSocket URL driven.
    var target: String
    /// Worker processes.
    var workers: Int
    /// Wall-clock seconds of the whole run.
    var elapsedSeconds: Double
    /// The sockets.
    var sockets: SocketSummary
    /// The sending stages (none in idle mode).
    var stages: [StageSummary]
    /// Ramp's outcome.
    var ramp: RampOutcome?
    /// Pairs with `--report-interval`: each interval's counts and the servers' RSS and open files.
    var intervals: [IntervalSummary]?
    /// The server's resource use, with `--server-pid`.
    var server: ServerReport?
    /// Oddities seen by the client (unparsed frames, foreign pushes, …).
    var client: FinishReport
    /// Whether the run met its bounds (see the command's exit status).
    var passed: Bool

    /// The report as one line of JSON with snake_case keys.
    func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

import Foundation

/// The end-of-run table on standard output.
enum ReportPrinter {
    /// The whole report as aligned text.
    static func table(_ report: RunReport) -> String {
        var lines: [String] = []
        let workers = report.workers == 1 ? "1 process" : "\(report.workers) worker processes"
        let title = "broker-load \(report.mode.rawValue) → \(report.target)"
        lines.append("\(title) (\(workers), \(report.elapsedSeconds) s)")
        lines.append("")
        let sockets = report.sockets
        lines.append(
            row(
                "sockets",
                "\(sockets.opened)/\(sockets.requested) open in \(sockets.connectSeconds) s"
                    + " = \(sockets.connectRate) sockets/s"
            )
        )
        lines.append(row("connect errors", counts(sockets.connectErrors)))
        lines.append(row("dropped", "\(sockets.dropped) sockets closed by the server"))
        if !sockets.closeReasons.isEmpty { lines.append(row("close reasons", counts(sockets.closeReasons))) }
        lines.append(
            row(
                "heartbeats",
                "\(sockets.heartbeatsSent) sent, \(sockets.heartbeatReplies) ok, \(sockets.heartbeatErrors) errors"
            )
        )
        if !report.stages.isEmpty {
            lines.append("")
            lines.append(contentsOf: stageTable(report.stages))
            for stage in report.stages where !stage.sendErrors.isEmpty || !stage.skipped.isEmpty {
                if !stage.sendErrors.isEmpty {
                    lines.append(row("stage \(stage.index) errors", counts(stage.sendErrors)))
                }
                if !stage.skipped.isEmpty { lines.append(row("stage \(stage.index) skipped", counts(stage.skipped))) }
            }
            if report.stages.count == 1, let stage = report.stages.first {
                lines.append("")
                lines.append(row("latency µs", latency(stage.latencyUs)))
                lines.append(row("ack latency µs", latency(stage.ackLatencyUs)))
                lines.append(row("send lag µs", latency(stage.sendLagUs)))
                if stage.reconnects > 0 || !stage.reconnectFailures.isEmpty {
                    lines.append(
                        row(
                            "churn",
                            "\(stage.reconnects) rejoins with last_seen_id (\(stage.reconnectRate)/s), failed: "
                                + counts(stage.reconnectFailures) + ", \(stage.truncatedJoins) truncated, "
                                + "\(stage.redirected) sends moved off reconnecting sockets"
                        )
                    )
                    lines.append(
                        row(
                            "replayed",
                            "\(stage.replayed) delivered by replay (\(stage.recoveredAnnounced) announced); "
                                + "latency µs " + latency(stage.replayLatencyUs)
                        )
                    )
                }
                if let acked = stage.ackedPerSecond {
                    lines.append(row("pipeline", "\(stage.acked) acked at \(acked)/s, \(stage.outOfOrder) out of order"))
                }
            }
        }
        if let ramp = report.ramp {
            lines.append("")
            let best =
                ramp.highestSustainedRate.map { "\(Coordinator.format($0)) msg/s" } ?? "none (first stage failed)"
            lines.append(row("highest sustained", "\(best) (p99 bound \(ramp.p99BoundMs) ms)"))
            lines.append(row("stopped", ramp.stopReason))
        }
        if let server = report.server {
            lines.append("")
            var rss = "RSS \(server.rssKibBefore) KiB before"
            if let connected = server.rssKibConnected { rss += ", \(connected) KiB connected" }
            if let end = server.rssKibEnd { rss += ", \(end) KiB at end" }
            if server.pids.count > 1 {
                lines.append(row("servers", "pids \(server.pids.map(String.init).joined(separator: ", ")) (figures summed)"))
                lines.append(row("servers' RSS", rss))
            } else {
                lines.append(row("server pid \(server.pid)", rss))
            }
            if let perSocket = server.kibPerSocket { lines.append(row("server memory", "\(perSocket) KiB per socket")) }
            if let cpu = server.cpuSeconds { lines.append(row("server CPU", "\(cpu) s over the run")) }
            if let perMessage = server.cpuUsPerDeliveredMessage {
                lines.append(row("server CPU/msg", "\(perMessage) µs per delivered message"))
            }
        }
        let client = report.client
        lines.append("")
        lines.append(
            row(
                "client oddities",
                "unparsed \(client.unparsedFrames), foreign \(client.foreign), "
                    + "sender copies \(client.senderCopies), unknown sequences \(client.unknownSequences), "
                    + "late arrivals \(client.lateArrivals)"
            )
        )
        lines.append(row("other events", counts(client.otherEvents)))
        lines.append(row("result", report.passed ? "PASS" : "FAIL"))
        return lines.joined(separator: "\n")
    }

    /// One row per stage.
    private static func stageTable(_ stages: [StageSummary]) -> [String] {
        let header = [
            "stage", "rate/s", "sent", "acked", "delivered", "deliv/s", "lost", "dup", "misdel", "errors", "skipped",
            "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs", "lag p99 µs", "cpu µs/msg", "result",
        ]
        var rows = [header]
        for stage in stages {
            rows.append([
                String(stage.index), Coordinator.format(stage.targetRate), String(stage.sent), String(stage.acked),
                String(stage.delivered), String(stage.deliveredPerSecond), String(stage.lost), String(stage.duplicates),
                String(stage.misdelivered), String(stage.sendErrors.values.reduce(0, +)),
                String(stage.skipped.values.reduce(0, +)), String(stage.latencyUs.p50), String(stage.latencyUs.p90),
                String(stage.latencyUs.p99), String(stage.latencyUs.p999), String(stage.latencyUs.max),
                String(stage.sendLagUs.p99),
                stage.serverCpuUsPerMessage.map { String($0) } ?? "-",
                stage.passed
                    ? "pass"
                    : "FAIL: " + stage.failures.joined(separator: ", ")
                        + (stage.failedOnLatencyOnly && stage.index < stages.count - 1 ? " (retried)" : ""),
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    /// `label` padded, then `value`.
    private static func row(_ label: String, _ value: String) -> String {
        label.padding(toLength: 18, withPad: " ", startingAt: 0) + value
    }

    /// `reason: count` pairs, largest first; `none` when empty.
    private static func counts(_ counts: [String: Int]) -> String {
        guard !counts.isEmpty else { return "none" }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    /// A latency summary on one line.
    private static func latency(_ summary: LatencySummary) -> String {
        "n \(summary.count)  p50 \(summary.p50)  p90 \(summary.p90)  p99 \(summary.p99)  p99.9 \(summary.p999)"
            + "  max \(summary.max)  mean \(summary.mean)"
    }
}

import Metrics

/// Every metric the store emits; handles made once.
package enum StoreMetrics {
    /// Writes in one group commit.
    static let batchSize = Recorder(label: "broker_store_batch_size")
    /// Time from BEGIN to COMMIT (fsync included) of one group commit.
    static let commitLatency = Metrics.Timer(label: "broker_store_commit_seconds")
    /// Writes waiting for the writer.
    static let queueDepth = Gauge(label: "broker_mailbox_depth", dimensions: [("mailbox", "store_writer")])

    /// Makes every series at zero, so that scrapers see them before the first write.
    package static func register() {
        _ = (batchSize, commitLatency, queueDepth)
    }
}

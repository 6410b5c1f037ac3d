import Broker
import Gateway
import Prometheus
import Store

/// The Prometheus factory behind swift-metrics, with histogram buckets that fit what each histogram measures,
/// and every series made at start-up.
enum MetricsSetup {
    /// A group commit takes about 0.3 ms on SQLite (BENCHMARKS.md): 50 µs to 1 s.
    static let commitBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
    ]
    /// Batches hold 1 to 1,024 writes (the writer's largest batch): powers of two.
    static let batchBuckets: [Double] = (0...10).map { Double(1 << $0) }
    /// HTTP requests: from a cached read (under a millisecond) to a bcrypt login (hundreds of milliseconds).
    static let httpBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]

    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            "broker_store_commit_seconds": commitBuckets,
            "broker_http_request_duration_seconds": httpBuckets,
        ]
        factory.valueHistogramBuckets = [
            "broker_store_batch_size": batchBuckets,
            "broker_conversation_batch_size": batchBuckets,
        ]
        return factory
    }

    /// Makes every series at zero before any traffic: a scraper's first `rate()` and checks need them there.
    /// (`/metrics` adds the process's own, the build's and the store's sampled gauges.)
    static func registerEverySeries(localMailer: Bool) {
        StoreMetrics.register()
        BrokerMetrics.register()
        GatewayMetrics.register(routes: Routes.served(localMailer: localMailer).map { (method: $0.method, path: $0.path) })
    }
}

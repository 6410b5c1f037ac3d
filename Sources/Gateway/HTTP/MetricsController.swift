import Hummingbird
import NIOCore
import Prometheus
import Store

/// `GET /metrics`: the Prometheus text exposition of the registry the process bootstrapped swift-metrics with.
/// Each scrape first reads the figures that are sampled rather than counted: the process's own
/// (``ProcessMetrics``) and the store's outbox depth and notification queue usage.
struct MetricsController {
    let registry: PrometheusCollectorRegistry
    let store: any Store
    let process: ProcessMetrics
    let outboxDepth: Gauge
    let notificationQueueUsage: Gauge

    init(registry: PrometheusCollectorRegistry, store: any Store) {
        self.registry = registry
        self.store = store
        self.process = ProcessMetrics(registry: registry)
        self.outboxDepth = registry.makeGauge(name: "broker_mail_outbox_depth", help: "Mails pending in the outbox.")
        self.notificationQueueUsage = registry.makeGauge(
            name: "broker_pg_notification_queue_usage",
            help: "pg_notification_queue_usage(): the fraction of PostgreSQL's notification queue in use (0 on SQLite)."
        )
        registry.makeGauge(
            name: "broker_build_info",
            labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit)],
            help: "Always 1; the labels name the build."
        ).set(to: 1.0)
    }

    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("metrics") { _, _ in
            process.update()
            await sampleStore()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// The store's gauges, given a second at most: a scrape answers with the last values rather than hang on a
    /// database that does not answer.
    private func sampleStore() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if let depth = try? await store.outboxDepth() { outboxDepth.set(Double(depth)) }
                if let usage = try? await store.notificationQueueUsage() { notificationQueueUsage.set(usage) }
            }
            group.addTask { try? await Task.sleep(for: .seconds(1)) }
            await group.next()
            group.cancelAll()
        }
    }
}

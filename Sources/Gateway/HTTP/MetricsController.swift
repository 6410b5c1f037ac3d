import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of the registry the process bootstrapped swift-metrics with.
struct MetricsController {
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

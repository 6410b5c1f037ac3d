import Broker
import Hummingbird
import Store

/// `GET /healthz` (the process answers) and `GET /readyz` (store reachable, not draining, and in a cluster
/// the cluster channel listening).
struct HealthController {
    let store: any Store
    let readiness: Readiness
    let cluster: ClusterBridge?

    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("healthz") { _, _ in
            try Payloads.response(["status": "ok"])
        }
        router.get("readyz") { _, _ in
            guard !readiness.isDraining else { throw APIError.unavailable("draining") }
            do {
                try await store.ping()
            } catch {
                throw APIError.unavailable("store unavailable")
            }
            if let cluster, !cluster.isListening { throw APIError.unavailable("cluster channel down") }
            return try Payloads.response(["status": "ready"])
        }
    }
}

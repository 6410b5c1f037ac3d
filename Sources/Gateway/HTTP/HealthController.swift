import Hummingbird
import Store

/// `GET /healthz` (the process answers) and `GET /readyz` (store reachable and not draining).
struct HealthController {
    let store: any Store
    let readiness: Readiness

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
            return try Payloads.response(["status": "ready"])
        }
    }
}

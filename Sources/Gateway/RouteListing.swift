import Broker
import Foundation
import Logging
import Prometheus
import Store

/// The routes a server with `configuration` serves, read from the router that ``buildRouter(configuration:dependencies:)``
/// builds, so that `broker routes` and the API document's test see the routes themselves, never a copy. The
/// router needs a store to hold; it gets a throwaway SQLite file that nothing reads or writes, removed at once.
package func servedRoutes(configuration: GatewayConfiguration) async throws -> [(method: String, path: String)] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-routes-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let logger = Logger(label: "broker.routes")
    let store = try makeStore(
        for: StoreConfiguration(backend: .sqlite(path: directory.appendingPathComponent("routes.sqlite").path), sync: .normal),
        logger: logger
    )
    let dependencies = GatewayDependencies(
        store: store,
        tokens: try await TokenService(secret: RequestID.generate() + RequestID.generate(), timeToLive: .seconds(60), store: store),
        hasher: try await PasswordHasher(cost: 4),
        readiness: Readiness(),
        broker: BrokerRoot(store: store, mailAdapter: LocalMailAdapter(), encoder: FrameEncoder(), configuration: .init(), logger: logger),
        metrics: PrometheusCollectorRegistry()
    )
    return buildRouter(configuration: configuration, dependencies: dependencies).routeList
}

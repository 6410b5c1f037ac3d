import Foundation
import Synchronization
import Testing

/// Several real `broker` processes on one PostgreSQL database: one service of `nodes` nodes.
struct ClusterFixture: Sendable {
    /// The database all nodes share.
    let databaseURL: String
    /// The JWT secret all nodes share (a token issued by one is valid on every other).
    let secret: String
    /// The environment every node gets.
    let environment: [String: String]
    /// The running nodes, by index (a restarted node gets a new process).
    let nodes: NodeList

    final class NodeList: Sendable {
        let list: Mutex<[BrokerProcess]>
        init(_ nodes: [BrokerProcess]) { list = Mutex(nodes) }
        subscript(index: Int) -> BrokerProcess { list.withLock { $0[index] } }
        var all: [BrokerProcess] { list.withLock { $0 } }
        func replace(_ index: Int, with node: BrokerProcess) { list.withLock { $0[index] = node } }
    }

    /// The chat helpers against node `index`.
    func chat(_ index: Int) -> ChatFixture { ChatFixture(broker: nodes[index]) }

    /// Starts another process as node `index` (after it was killed).
    func restart(_ index: Int) async throws {
        nodes.replace(index, with: try await Self.startNode(index, databaseURL: databaseURL, secret: secret, environment: environment))
    }

    static func startNode(
        _ index: Int,
        databaseURL: String,
        secret: String,
        environment: [String: String]
    ) async throws -> BrokerProcess {
        try await BrokerProcess(
            environment: [
                "BROKER_DATABASE_URL": databaseURL, "BROKER_JWT_SECRET": secret, "BROKER_NODE_NAME": "node\(index + 1)",
                "BROKER_AUTH_RATE": "10000", "BROKER_AUTH_BURST": "10000", "BROKER_SEND_RATE": "100000",
                "BROKER_SEND_BURST": "100000",
            ].merging(environment) { $1 }
        )
    }

    /// Starts `count` nodes on a fresh database of the test server (or on `databaseURL`), runs `body`, stops them.
    static func run(
        nodes count: Int = 2,
        databaseURL: String? = nil,
        environment: [String: String] = [:],
        _ body: @Sendable (ClusterFixture) async throws -> Void
    ) async throws {
        let url: String
        if let databaseURL {
            url = databaseURL
        } else {
            url = try await TestPostgres.database(TestPostgres.freshName("cluster"), on: try TestPostgres.requireServer())
        }
        let secret = (0..<48).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement()!) }.joined()
        var started: [BrokerProcess] = []
        for index in 0..<count {
            started.append(try await startNode(index, databaseURL: url, secret: secret, environment: environment))
        }
        let fixture = ClusterFixture(databaseURL: url, secret: secret, environment: environment, nodes: NodeList(started))
        defer { for node in fixture.nodes.all { node.removeFiles() } }
        // Each node is ready once it hears the others: wait for /readyz on all.
        for node in fixture.nodes.all { try await waitUntilReady(node) }
        do {
            try await body(fixture)
        } catch {
            for node in fixture.nodes.all where node.process.isRunning { _ = try? await node.terminate() }
            throw error
        }
        for node in fixture.nodes.all where node.process.isRunning { #expect(try await node.terminate() == 0) }
    }

    /// Polls `/readyz` until it answers 200.
    static func waitUntilReady(_ node: BrokerProcess, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await HTTP(base: node.baseURL).send(.GET, "/readyz").status != 200 {
            guard ContinuousClock.now < deadline else { throw TestSocketError.timeout("/readyz of \(node.baseURL)") }
            try await Task.sleep(for: .milliseconds(50))  // polling a server's readiness
        }
    }
}

extension ClusterFixture {
    /// Opens one socket per entry, each to its node, runs `body`, then closes them all.
    func withSockets(
        _ entries: [(node: Int, user: ChatUser)],
        vsn: String = "2.0.0",
        _ body: @Sendable ([PhoenixTestSocket]) async throws -> Void
    ) async throws {
        try await withTestSockets(entries.map { chat($0.node).socketURL($0.user, vsn: vsn) }, vsn: vsn, body)
    }
}

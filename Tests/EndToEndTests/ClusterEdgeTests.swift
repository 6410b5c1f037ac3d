import Foundation
import Logging
import PostgresNIO
import Testing

/// The cluster's edge cases, two real nodes on one PostgreSQL database.
@Suite(.timeLimit(.minutes(3)))
struct ClusterEdgeTests {
    /// A logout stored while node B's cluster channel is down never reaches B as a notification: B closes the
    /// token's sockets when its channel is back, from the stored revocations. Node B connects as a role of its
    /// own, so that its connections can be cut and kept out (`NOLOGIN`) while node A serves.
    @Test func aLogoutMissedWhileTheChannelWasDownTakesEffectOnReconnect() async throws {
        let server = try TestPostgres.requireServer()
        let url = try await TestPostgres.database(TestPostgres.freshName("edge"), on: server)
        let secret = String(repeating: "s3cr3t-", count: 8)
        let nodeA = try await ClusterFixture.startNode(0, databaseURL: url, secret: secret, environment: [:])
        defer { nodeA.removeFiles() }
        let role = "node_b_" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(12)
        try await Self.execute(
            [
                "CREATE ROLE \(role) LOGIN", "GRANT ALL ON SCHEMA public TO \(role)",
                "GRANT ALL ON ALL TABLES IN SCHEMA public TO \(role)", "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO \(role)",
            ],
            on: url
        )
        var components = try #require(URLComponents(string: url))
        components.user = role
        components.password = nil
        let nodeB = try await ClusterFixture.startNode(1, databaseURL: try #require(components.string), secret: secret, environment: [:])
        defer { nodeB.removeFiles() }
        try await ClusterFixture.waitUntilReady(nodeB)
        let onA = ChatFixture(broker: nodeA)
        let onB = ChatFixture(broker: nodeB)
        let a = try await onA.signUp("a@x.io")
        let b = try await onA.signUp("b@x.io")
        do {
            try await withTestSockets([onB.socketURL(a, vsn: "2.0.0"), onB.socketURL(b, vsn: "2.0.0")], vsn: "2.0.0") { sockets in
                for socket in sockets { _ = try await socket.joinRoom() }
                // Node B's channel goes down and stays down.
                try await Self.execute(
                    [
                        "ALTER ROLE \(role) NOLOGIN",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'",
                    ],
                    on: url
                )
                while try await onB.http.send(.GET, "/readyz").status != 503 {
                    try await Task.sleep(for: .milliseconds(50))  // polling node B's readiness
                }
                #expect(try await onA.http.send(.POST, "/api/logout", token: a.token).status == 204)
                // B never heard of it: A's socket on B still answers.
                let heartbeat = await sockets[0].push("phoenix", "heartbeat")
                #expect(try await sockets[0].reply(to: heartbeat).status == "ok")
                // The channel comes back: the stored revocation closes the socket; the other stays.
                try await Self.execute(["ALTER ROLE \(role) LOGIN"], on: url)
                #expect(try await sockets[0].waitForClose(timeout: .seconds(30)) == 1008)
                try await ClusterFixture.waitUntilReady(nodeB)
                let other = await sockets[1].push("phoenix", "heartbeat")
                #expect(try await sockets[1].reply(to: other).status == "ok")
            }
        } catch {
            try? await Self.execute(["ALTER ROLE \(role) LOGIN"], on: url)
            _ = try? await nodeB.terminate()
            _ = try? await nodeA.terminate()
            throw error
        }
        #expect(try await nodeB.terminate() == 0)
        #expect(try await nodeA.terminate() == 0)
    }

    /// Runs statements as the test server's own user (plain connection: the test server allows it).
    static func execute(_ statements: [String], on url: String) async throws {
        let logger = Logger(label: "e2e-postgres")
        let connection = try await TestPostgres.connect(to: url, logger: logger)
        defer { Task { try? await connection.close() } }
        for statement in statements {
            // The statements are the test's own, never outside input.
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }
}

import Foundation
import Testing

/// A signed-in user of the end-to-end tests.
struct ChatUser: Sendable {
    var id: Int
    var token: String
}

/// Users, conversations and sockets against one running broker.
struct ChatFixture: Sendable {
    let broker: BrokerProcess
    var http: HTTP { HTTP(base: broker.baseURL) }

    func signUp(_ email: String) async throws -> ChatUser {
        let registered = try await http.send(
            .POST,
            "/api/users",
            json: #"{"user": {"name": "N", "subname": "S", "email": "\#(email)", "job": "J"}}"#
        )
        let id = try #require(registered.json["id"] as? Int)
        let password = try #require(registered.json["password"] as? String)
        let login = try await http.send(
            .POST,
            "/api/login",
            json: #"{"creds": {"email": "\#(email)", "password": "\#(password)"}}"#
        )
        let token = try #require((login.json["data"] as? [String: Any])?["token"] as? String)
        return ChatUser(id: id, token: token)
    }

    func conversation(_ a: ChatUser, _ b: ChatUser) async throws -> Int {
        let response = try await http.send(
            .POST,
            "/api/conversations",
            json: #"{"conversation": {"recipient_id": \#(b.id)}}"#,
            token: a.token
        )
        return try #require((response.json["data"] as? [String: Any])?["id"] as? Int)
    }

    func history(_ conversation: Int, as user: ChatUser, query: String = "?limit=200") async throws -> [[String: Any]] {
        let response = try await http.send(.GET, "/api/conversations/\(conversation)/messages\(query)", token: user.token)
        return response.json["data"] as? [[String: Any]] ?? []
    }

    func socketURL(_ user: ChatUser, vsn: String) -> String {
        "ws://127.0.0.1:\(broker.port)/socket/websocket?token=\(user.token)&vsn=\(vsn)"
    }

    /// Opens one socket per entry, runs `body`, then closes them all.
    func withSockets(
        _ users: [ChatUser],
        vsn: String,
        _ body: @Sendable ([PhoenixTestSocket]) async throws -> Void
    ) async throws {
        try await withTestSockets(users.map { socketURL($0, vsn: vsn) }, vsn: vsn, body)
    }

    /// Starts a broker, runs `body`, stops it.
    static func run(
        environment: [String: String] = [:],
        captureLog: Bool = false,
        _ body: @Sendable (ChatFixture) async throws -> Void
    ) async throws {
        // Many sign-ups from one address: lift the per-address auth limit (its own tests keep the default).
        let broker = try await BrokerProcess(
            environment: [
                "BROKER_AUTH_RATE": "10000", "BROKER_AUTH_BURST": "10000", "BROKER_SEND_RATE": "100000",
                "BROKER_SEND_BURST": "100000",
            ].merging(environment) { $1 },
            captureLog: captureLog
        )
        defer { broker.removeFiles() }
        do {
            try await body(ChatFixture(broker: broker))
        } catch {
            _ = try? await broker.terminate()
            throw error
        }
        #expect(try await broker.terminate() == 0)
    }
}

/// Opens one socket per URL, runs `body`, then closes them all. A socket that ends abruptly (its node was
/// killed) ends quietly; the test sees it in what it reads.
func withTestSockets(
    _ urls: [String],
    vsn: String,
    _ body: @Sendable ([PhoenixTestSocket]) async throws -> Void
) async throws {
    let sockets = urls.map { _ in PhoenixTestSocket(vsn: vsn) }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (socket, url) in zip(sockets, urls) {
            group.addTask { try? await socket.run(url: url) }
        }
        do {
            try await body(sockets)
        } catch {
            for socket in sockets { await socket.close() }
            throw error
        }
        for socket in sockets { await socket.close() }
        try await group.waitForAll()
    }
}

/// A `send_msg` payload.
func sendPayload(to user: ChatUser, conversation: Int, text: String, clientID: String? = nil) -> String {
    let client = clientID.map { #","client_id":"\#($0)""# } ?? ""
    return #"{"user":\#(user.id),"conv":\#(conversation),"message":"\#(text)"\#(client)}"#
}

import Broker
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Store
import Testing

/// The real router over a real SQLite file in a fresh temporary folder, for `app.test(.router)` tests.
struct TestApp {
    static let secret = "test-secret-that-is-at-least-32-bytes-long!!"

    let store: any Store
    let tokens: TokenService
    let directory: URL

    /// Runs `body` against the router, with the store's writer running, then deletes the folder.
    static func run(
        authRate: Double = 10_000,
        authBurst: Int = 10_000,
        localMailer: Bool = true,
        maxBodyBytes: Int = 1_048_576,
        tokenTTL: Duration = .seconds(3600),
        _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "test")
        let store = try makeStore(
            for: StoreConfiguration(backend: .sqlite(path: directory.appendingPathComponent("t.sqlite").path), sync: .normal),
            logger: logger
        )
        let tokens = try await TokenService(secret: secret, timeToLive: tokenTTL, store: store)
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.authRate = authRate
        configuration.authBurst = authBurst
        configuration.localMailer = localMailer
        configuration.maxBodyBytes = maxBodyBytes
        let broker = BrokerRoot(
            store: store,
            mailAdapter: LocalMailAdapter(),
            encoder: FrameEncoder(),
            configuration: .init(),
            logger: logger
        )
        let dependencies = GatewayDependencies(
            store: store,
            tokens: tokens,
            hasher: try await PasswordHasher(cost: 4),
            readiness: Readiness(),
            broker: broker
        )
        await dependencies.connectCluster()
        let app = buildApplication(
            configuration: configuration,
            dependencies: dependencies,
            services: [store, broker.supervisor],
            logger: logger
        )
        let testApp = TestApp(store: store, tokens: tokens, directory: directory)
        try await app.test(.router) { client in
            try await body(testApp, client)
        }
    }
}

/// A decoded JSON response body.
func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    return try #require(object as? [String: Any])
}

extension TestClientProtocol {
    /// Sends a JSON body.
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        body: String? = nil,
        token: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        headers[.contentType] = "application/json"
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(
            uri: uri,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        ) { $0 }
    }

    /// Registers a user and returns the answer's JSON (with its `password`).
    func register(name: String = "Ann", email: String) async throws -> [String: Any] {
        let response = try await send(
            .post,
            "/api/users",
            body: #"{"user": {"name": "\#(name)", "subname": "Lee", "email": "\#(email)", "job": "engineer"}}"#
        )
        #expect(response.status == .created)
        return try json(response)
    }

    /// Registers and signs in; returns the user's id and token.
    func signUp(email: String) async throws -> (id: Int, token: String) {
        let user = try await register(email: email)
        let password = try #require(user["password"] as? String)
        let response = try await send(
            .post,
            "/api/login",
            body: #"{"creds": {"email": "\#(email)", "password": "\#(password)"}}"#
        )
        #expect(response.status == .ok)
        let data = try #require(try json(response)["data"] as? [String: Any])
        return (try #require(user["id"] as? Int), try #require(data["token"] as? String))
    }
}

/// The `{"errors": {"detail": …}}` text of an error response.
func detail(_ response: TestResponse) throws -> String? {
    (try json(response)["errors"] as? [String: Any])?["detail"] as? String
}

/// The `{"errors": {field: [...]}}` of a 422.
func fieldErrors(_ response: TestResponse) throws -> [String: [String]] {
    try #require(try json(response)["errors"] as? [String: [String]])
}

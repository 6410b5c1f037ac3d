import Foundation
import Testing

/// The real executable, started as operators start it.
@Suite(.timeLimit(.minutes(2)))
struct ExecutableTests {
    @Test func zeroConfigurationServesRegistrationMailLoginMeAndLogout() async throws {
        let broker = try await BrokerProcess()
        defer { broker.removeFiles() }
        let http = HTTP(base: broker.baseURL)

        let registered = try await http.send(
            .POST,
            "/api/users",
            json: #"{"user": {"name": "Ann", "subname": "Lee", "email": "ann@example.com", "job": "dev"}}"#
        )
        #expect(registered.status == 201)
        let password = try #require(registered.json["password"] as? String)

        let mails = try await http.send(.GET, "/api/sent_mails")
        let first = try #require((mails.json["data"] as? [[String: Any]])?.first)
        #expect((first["text_body"] as? String)?.contains(password) == true)

        let login = try await http.send(
            .POST,
            "/api/login",
            json: #"{"creds": {"email": "ann@example.com", "password": "\#(password)"}}"#
        )
        #expect(login.status == 200)
        let token = try #require((login.json["data"] as? [String: Any])?["token"] as? String)
        #expect(login.headers["authorization"] == "Bearer \(token)")

        let me = try await http.send(.GET, "/api/users/me", token: token)
        #expect(me.status == 200)
        #expect((me.json["data"] as? [String: Any])?["email"] as? String == "ann@example.com")
        #expect(try await http.send(.GET, "/api/users", token: token).status == 200)
        #expect(try await http.send(.POST, "/api/logout", token: token).status == 204)
        #expect(try await http.send(.GET, "/api/users/me", token: token).status == 401)
        #expect(try await http.send(.GET, "/healthz").status == 200)
        #expect(try await http.send(.GET, "/readyz").status == 200)

        // Zero configuration keeps its database and a generated secret (mode 0600) under ./data.
        let data = broker.workingDirectory.appendingPathComponent("data")
        let secret = data.appendingPathComponent("jwt_secret").path
        let attributes = try FileManager.default.attributesOfItem(atPath: secret)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("broker.sqlite").path))
        #expect(try await broker.terminate() == 0)
    }

    @Test func aTokenStaysValidAcrossARestartWithTheKeptSecret() async throws {
        let first = try await BrokerProcess()
        defer { first.removeFiles() }
        var http = HTTP(base: first.baseURL)
        let registered = try await http.send(
            .POST,
            "/api/users",
            json: #"{"user": {"name": "A", "subname": "B", "email": "a@b.io", "job": "C"}}"#
        )
        let password = try #require(registered.json["password"] as? String)
        let login = try await http.send(.POST, "/api/login", json: #"{"creds": {"email": "a@b.io", "password": "\#(password)"}}"#)
        let token = try #require((login.json["data"] as? [String: Any])?["token"] as? String)
        #expect(try await first.terminate() == 0)

        let second = try await BrokerProcess(workingDirectory: first.workingDirectory)
        http = HTTP(base: second.baseURL)
        #expect(try await http.send(.GET, "/api/users/me", token: token).status == 200)
        #expect(try await second.terminate() == 0)
    }

    @Test func sigtermExitsZero() async throws {
        let broker = try await BrokerProcess()
        defer { broker.removeFiles() }
        #expect(try await broker.terminate() == 0)
    }

    @Test func routesGenSecretAndMigrate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let routes = try BrokerProcess.runCommand(["routes"], in: directory)
        #expect(routes.status == 0)
        for route in ["POST  /api/users", "GET   /api/users/me", "POST  /api/login", "POST  /api/logout", "GET   /readyz"] {
            #expect(routes.output.contains(route), "\(route)")
        }
        let secret = try BrokerProcess.runCommand(["gen-secret"], in: directory)
        let line = secret.output.trimmingCharacters(in: .newlines)
        #expect(secret.status == 0 && line.count >= 64 && !line.contains("\n"))
        #expect(line.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        let migrate = try BrokerProcess.runCommand(["migrate"], in: directory)
        #expect(migrate.status == 0 && migrate.output.contains("001_initial_schema"))
        let again = try BrokerProcess.runCommand(["migrate"], in: directory)
        #expect(again.output.contains("up to date"))
    }

    @Test func seedLoadCreatesUsersConversationsAndValidTokens() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let seeded = try BrokerProcess.runCommand(["seed-load", "--users", "11", "--out", "seed.json"], in: directory)
        #expect(seeded.status == 0)
        let data = try Data(contentsOf: directory.appendingPathComponent("seed.json"))
        let seed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let users = try #require(seed["users"] as? [[String: Any]])
        let conversations = try #require(seed["conversations"] as? [[String: Any]])
        #expect(users.count == 11 && conversations.count == 5)
        #expect(Set(conversations.flatMap { [$0["a"] as? Int, $0["b"] as? Int] }).count == 10)
        let broker = try await BrokerProcess(workingDirectory: directory)
        let http = HTTP(base: broker.baseURL)
        let token = try #require(users.first?["token"] as? String)
        let me = try await http.send(.GET, "/api/users/me", token: token)
        #expect((me.json["data"] as? [String: Any])?["id"] as? Int == users.first?["id"] as? Int)
        let list = try await http.send(.GET, "/api/conversations", token: token)
        #expect((list.json["data"] as? [[String: Any]])?.count == 1)
        #expect(try await broker.terminate() == 0)
    }
}

import Foundation
import Logging
import PostgresNIO
import Testing

/// The `broker` executable on PostgreSQL over TLS: with `sslmode=verify-full` it serves and every session it
/// opens (its pool's and its cluster listener's) is encrypted; TLS settings it cannot use stop it at start-up.
@Suite(.timeLimit(.minutes(2)))
struct PostgresTLSTests {
    @Test func aBrokerOnVerifiedTLSServesAndEncryptsEverySession() async throws {
        let server = try TestPostgres.requireServer()
        let authority = try TestPostgres.requireCertificateAuthority()
        let name = TestPostgres.freshName("tls")
        let url = try await TestPostgres.database(name, on: server, certificateAuthority: authority)
        #expect(url.hasSuffix("?sslmode=verify-full&sslrootcert=\(authority)"))
        try await ChatFixture.run(environment: ["BROKER_DATABASE_URL": url]) { chat in
            let a = try await chat.signUp("a@tls.io")
            let b = try await chat.signUp("b@tls.io")
            let ab = try await chat.conversation(a, b)
            let posted = try await chat.http.send(
                .POST,
                "/api/conversations/\(ab)/messages",
                json: #"{"message": {"content": "over TLS"}}"#,
                token: a.token
            )
            #expect(posted.status == 201)
            #expect(try await chat.history(ab, as: b).compactMap { $0["content"] as? String } == ["over TLS"])

            let sessions = try await Self.sessions(in: name, on: server)
            #expect(Set(sessions.map(\.application)) == ["broker", "broker-listener"], "the pool's and the listener's")
            #expect(sessions.allSatisfy { $0.encrypted }, "\(sessions)")
        }
    }

    @Test(arguments: ["serve", "migrate"])
    func unusableTLSSettingsStopTheBrokerAtStartUpWithoutShowingThePassword(_ command: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Port 1: were anything to connect, it would fail differently (and later).
        let cases = [
            (
                "postgres://u:hunter2@127.0.0.1:1/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
                "sslrootcert /nonexistent/ca.pem cannot be read"
            ),
            ("postgres://u:hunter2@127.0.0.1:1/d?sslmode=verify-full", "sslmode=verify-full needs sslrootcert"),
            ("postgres://u:hunter2@127.0.0.1:1/d?sslmode=on", "sslmode must be one of"),
        ]
        for (url, says) in cases {
            let (status, errors) = try await Self.run([command], in: directory, environment: ["BROKER_DATABASE_URL": url])
            #expect(status != 0)
            #expect(errors.contains(says), "\(errors)")
            #expect(!errors.contains("hunter2"))
        }
    }

    /// One session of a database: its `application_name` and whether it is encrypted.
    struct Session: Sendable, CustomStringConvertible {
        var application: String
        var encrypted: Bool
        var description: String { "\(application): \(encrypted ? "TLS" : "plain")" }
    }

    /// The sessions connected to `database`, from `pg_stat_activity` and `pg_stat_ssl`, over a connection of
    /// the test's own to the server's maintenance database.
    private static func sessions(in database: String, on serverURL: String) async throws -> [Session] {
        let logger = Logger(label: "e2e-postgres")
        let connection = try await TestPostgres.connect(to: serverURL, logger: logger)
        do {
            var sessions: [Session] = []
            let rows = try await connection.query(
                """
                SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
                WHERE a.datname = \(database)
                """,
                logger: logger
            )
            for try await (application, encrypted) in rows.decode((String, Bool).self) {
                sessions.append(Session(application: application, encrypted: encrypted))
            }
            try await connection.close()
            return sessions
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs `broker` with `arguments` until it exits (it is expected to refuse to start) and returns its exit
    /// status and standard error.
    private static func run(
        _ arguments: [String],
        in directory: URL,
        environment: [String: String]
    ) async throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = BrokerProcess.executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BROKER_") }
            .merging(["BROKER_PORT": "0"].merging(environment) { $1 }) { $1 }
        let pipe = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

import Foundation
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL server of the end-to-end tests: `BROKER_TEST_POSTGRES_URL` (scripts/test starts a
/// throwaway one). Without it a PostgreSQL test fails under `CI` and is skipped, with a warning, elsewhere.
///
/// When the server has a certificate authority (`BROKER_TEST_POSTGRES_CA`, which scripts/pg-test-db
/// exports), every broker connects to it with `sslmode=verify-full`.
enum TestPostgres {
    static var serverURL: String? { ProcessInfo.processInfo.environment["BROKER_TEST_POSTGRES_URL"] }
    /// The PEM file of the certificate authority that signed the server's certificate, if any.
    static var certificateAuthority: String? {
        ProcessInfo.processInfo.environment["BROKER_TEST_POSTGRES_CA"].flatMap { $0.isEmpty ? nil : $0 }
    }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false }
    /// Whether every broker of this run uses PostgreSQL (`BROKER_E2E_DATABASE=postgres`: scripts/test's
    /// second pass runs the contract's end-to-end suites again this way).
    static var everyBrokerOnPostgres: Bool { ProcessInfo.processInfo.environment["BROKER_E2E_DATABASE"] == "postgres" }

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String { "BROKER_TEST_POSTGRES_URL is not set; CI must run the PostgreSQL tests (scripts/test starts one)" }
    }

    struct NoCertificateAuthority: Error, CustomStringConvertible {
        var description: String {
            "BROKER_TEST_POSTGRES_CA is not set; CI must run the TLS tests (scripts/pg-test-db exports it)"
        }
    }

    /// The certificate authority of the server; fails under CI, skips elsewhere, when there is none.
    static func requireCertificateAuthority() throws -> String {
        guard let authority = certificateAuthority else {
            if isCI { throw NoCertificateAuthority() }
            let reason: Comment = "TLS test skipped: BROKER_TEST_POSTGRES_CA is not set (scripts/pg-test-db)"
            Issue.record(reason, severity: .warning)
            try Test.cancel(reason)
        }
        return authority
    }

    /// The server's URL; fails under CI, skips elsewhere, when there is none.
    static func requireServer() throws -> String {
        guard let url = serverURL else {
            if isCI { throw NotConfigured() }
            let reason: Comment = "PostgreSQL test skipped: BROKER_TEST_POSTGRES_URL is not set (scripts/pg-test-db)"
            Issue.record(reason, severity: .warning)
            try Test.cancel(reason)
        }
        return url
    }

    /// A plain connection of the test's own to the database of `url` (query parameters ignored; the test server
    /// allows plain connections).
    static func connect(to url: String, logger: Logger) async throws -> PostgresConnection {
        let components = try #require(URLComponents(string: url))
        return try await PostgresConnection.connect(
            configuration: .init(
                host: components.host ?? "127.0.0.1",
                port: components.port ?? 5432,
                username: components.user ?? "test",
                password: components.password,
                database: String(components.path.dropFirst()),
                tls: .disable
            ),
            id: 1,
            logger: logger
        )
    }

    /// Creates the database `name` (if missing) on the server and returns its URL: with
    /// `sslmode=verify-full&sslrootcert=` `certificateAuthority` when there is one (by default the test
    /// server's), else as the server's URL is.
    static func database(
        _ name: String,
        on serverURL: String,
        certificateAuthority: String? = TestPostgres.certificateAuthority
    ) async throws -> String {
        var components = try #require(URLComponents(string: serverURL))
        let logger = Logger(label: "e2e-postgres")
        let connection = try await connect(to: serverURL, logger: logger)
        do {
            // The name is the test's own (letters, digits, underscores), never outside input.
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE template0"), logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
            // Already there: a restarted broker of the same test.
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        components.path = "/" + name
        if let certificateAuthority {
            components.queryItems = [
                URLQueryItem(name: "sslmode", value: "verify-full"),
                URLQueryItem(name: "sslrootcert", value: certificateAuthority),
            ]
        }
        return try #require(components.string)
    }

    /// A fresh database name.
    static func freshName(_ prefix: String = "e2e") -> String {
        prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}

/// A PostgreSQL server of one test's own (scripts/pg-test-db), which the test can stop and start again.
///
/// Its `url` asks for `sslmode=verify-full` against the server's own certificate authority.
struct PrivatePostgres: Sendable {
    let url: String
    let directory: String

    static var script: URL {
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("scripts/pg-test-db").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("scripts/pg-test-db")
    }

    /// Starts one; fails under CI, skips elsewhere, when PostgreSQL is not installed.
    static func start() async throws -> PrivatePostgres {
        let (status, output) = try await run(["start"])
        guard status == 0,
            let url = output.firstMatch(of: /BROKER_TEST_POSTGRES_URL=(\S+)/)?.1,
            let directory = output.firstMatch(of: /BROKER_TEST_POSTGRES_DIR=(\S+)/)?.1,
            let authority = output.firstMatch(of: /BROKER_TEST_POSTGRES_CA=(\S+)/)?.1
        else {
            if TestPostgres.isCI { throw TestPostgres.NotConfigured() }
            let reason: Comment = "PostgreSQL test skipped: scripts/pg-test-db could not start a server"
            Issue.record(reason, severity: .warning)
            try Test.cancel(reason)
        }
        return PrivatePostgres(url: "\(url)?sslmode=verify-full&sslrootcert=\(authority)", directory: String(directory))
    }

    /// Stops the server at once, keeping its data (an outage).
    func halt() async throws { #expect(try await Self.run(["halt", directory]).status == 0) }
    /// Starts it again on the same port.
    func resume() async throws { #expect(try await Self.run(["resume", directory]).status == 0) }
    /// Stops it and deletes its data.
    func remove() async { _ = try? await Self.run(["stop", directory]) }

    private static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        // Output to a file, not a pipe: the server the script starts inherits the child's descriptors, and a
        // pipe it holds would never reach end-of-file.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pg-test-db-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try FileHandle(forWritingTo: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path] + arguments
        // Durable: an outage test stops the server at once, and an acknowledged commit must survive that.
        process.environment = ProcessInfo.processInfo.environment.merging(["PGTEST_DURABLE": "1"]) { $1 }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Polling, not waitUntilExit(): that can miss the exit of a child whose own child (the server) lives on.
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try output.close()
        let data = try Data(contentsOf: file)
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

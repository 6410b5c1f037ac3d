import Foundation
import Testing

@testable import Store

/// A backend the conformance suite runs against: every test takes one as its argument.
///
/// PostgreSQL runs when `BROKER_TEST_POSTGRES_URL` names a server (`eval "$(scripts/pg-test-db start)"`);
/// each test then gets a database of its own. Without it the PostgreSQL cases are skipped with that reason,
/// except when `CI` is set: there they fail, so CI can never pass by skipping them.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// The embedded SQLite store, in a temporary folder.
    case sqlite
    /// The PostgreSQL store, in a fresh database on the test server.
    case postgres

    /// Every backend, for `@Test(arguments:)`.
    static let all: [StoreBackend] = allCases

    /// The test server's URL (any database: it is only used to create and drop the test databases).
    static let postgresURL: String? = {
        let value = ProcessInfo.processInfo.environment["BROKER_TEST_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }()

    /// Whether this run is CI's, where nothing may be skipped.
    static let isCI: Bool = {
        let value = (ProcessInfo.processInfo.environment["CI"] ?? "").lowercased()
        return !value.isEmpty && value != "false" && value != "0"
    }()

    /// The backend's name in test output.
    var testDescription: String { rawValue }
}

/// Why a PostgreSQL case could not run.
struct PostgresNotConfigured: Error, CustomStringConvertible {
    /// The message shown in the failure.
    var description: String {
        "BROKER_TEST_POSTGRES_URL is not set but CI is: PostgreSQL cases must run in CI "
            + "(start a server with scripts/pg-test-db)"
    }
}

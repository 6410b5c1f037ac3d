import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Store

/// What the conformance suite needs of a store beyond `Store`: its batching writer's counters.
protocol TestableStore: Store {
    /// The counters of the writer that group-commits (every write for SQLite, messages for PostgreSQL).
    var batchStatistics: BatchStatistics { get async }
}

/// A writer's counters, the same shape for both backends.
struct BatchStatistics: Sendable, Hashable {
    /// Transactions committed or attempted.
    var transactions: Int
    /// Writes in them.
    var writes: Int
    /// The largest batch so far.
    var largestBatch: Int
}

extension SQLiteStore: TestableStore {
    var batchStatistics: BatchStatistics {
        get async {
            let statistics = await writerStatistics
            return BatchStatistics(
                transactions: statistics.transactions,
                writes: statistics.writes,
                largestBatch: statistics.largestBatch
            )
        }
    }
}

extension PostgresStore: TestableStore {
    var batchStatistics: BatchStatistics {
        get async {
            let statistics = await writerStatistics
            return BatchStatistics(
                transactions: statistics.transactions,
                writes: statistics.writes,
                largestBatch: statistics.largestBatch
            )
        }
    }
}

/// A fresh, empty store location for one test: a temporary SQLite folder, or a PostgreSQL database created
/// for the test on the server of `BROKER_TEST_POSTGRES_URL` and dropped after it.
struct StoreFixture: Sendable {
    /// Where the test's data lives.
    enum Location: Sendable {
        /// A folder holding `store.sqlite`.
        case sqlite(directory: URL)
        /// A database of its own.
        case postgres(PostgresLocation)
    }

    /// The backend under test.
    let backend: StoreBackend
    /// Where its data lives.
    let location: Location
    /// A logger that keeps the output quiet (connection failures are expected in some tests).
    static let logger: Logger = {
        var logger = Logger(label: "store-test")
        logger.logLevel = ProcessInfo.processInfo.environment["STORE_TEST_LOG"] == nil ? .critical : .trace
        return logger
    }()

    /// The quiet logger, tagged with the test's database so interleaved logs (STORE_TEST_LOG=1) can be told apart.
    static func logger(for location: PostgresLocation) -> Logger {
        var logger = logger
        logger[metadataKey: "db"] = "\(location.database)"
        return logger
    }

    /// Runs `body` with a fresh location for `backend`, then deletes it (also when `body` throws).
    ///
    /// For PostgreSQL without `BROKER_TEST_POSTGRES_URL`, the test case is skipped with the reason, or fails
    /// when `CI` is set.
    static func with<T: Sendable>(
        _ backend: StoreBackend,
        _ body: (StoreFixture) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            return try await body(StoreFixture(backend: backend, location: .sqlite(directory: directory)))
        case .postgres:
            let server = try postgresServer()
            let database = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await maintenance(server, "CREATE DATABASE \(database) TEMPLATE template0")
            var location = server
            location.database = database
            do {
                let result = try await body(StoreFixture(backend: backend, location: .postgres(location)))
                try await maintenance(server, "DROP DATABASE \(database) WITH (FORCE)")
                return result
            } catch {
                try? await maintenance(server, "DROP DATABASE \(database) WITH (FORCE)")
                throw error
            }
        }
    }

    /// The test server from `BROKER_TEST_POSTGRES_URL`; skips or fails the test case without it.
    static func postgresServer() throws -> PostgresLocation {
        guard let url = StoreBackend.postgresURL else {
            if StoreBackend.isCI { throw PostgresNotConfigured() }
            // A warning, so the reason shows in the output (a cancelled case alone is reported silently).
            let reason: Comment = "PostgreSQL case skipped: BROKER_TEST_POSTGRES_URL is not set (scripts/pg-test-db)"
            Issue.record(reason, severity: .warning)
            try Test.cancel(reason)
        }
        return try PostgresLocation(url: url)
    }

    /// Runs one statement on the server's maintenance database over a connection of its own.
    /// The statements are the fixture's own (database names it generated), never test data.
    static func maintenance(_ server: PostgresLocation, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: server.host,
                port: server.port,
                username: server.username,
                password: server.password,
                database: server.database,
                tls: .disable
            ),
            id: 1,
            logger: logger
        )
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The SQLite file of this fixture.
    var sqlitePath: String? {
        if case .sqlite(let directory) = location { directory.appendingPathComponent("store.sqlite").path } else { nil }
    }

    /// The store's configuration for this fixture.
    func configuration(sync: SyncMode) -> StoreConfiguration {
        switch location {
        case .sqlite(let directory):
            StoreConfiguration(backend: .sqlite(path: directory.appendingPathComponent("store.sqlite").path), sync: sync)
        case .postgres(let location):
            StoreConfiguration(backend: .postgres(location), sync: sync)
        }
    }

    /// Opens a store on this fixture's data; the caller runs it.
    ///
    /// The lease timeout also bounds the wait for a free connection of the (small) test pool, so it is long
    /// by default: the whole test suite runs in parallel on two cores. Availability tests pass a short one.
    func open(sync: SyncMode = .normal, leaseTimeout: Duration = .seconds(30)) throws -> any TestableStore {
        switch location {
        case .sqlite(let directory):
            let path = directory.appendingPathComponent("store.sqlite").path
            return try SQLiteStore(path: path, configuration: configuration(sync: sync), logger: Self.logger)
        case .postgres(let location):
            return try PostgresStore(
                location: location,
                configuration: configuration(sync: sync),
                logger: Self.logger(for: location),
                leaseTimeout: leaseTimeout,
                maximumConnections: 4
            )
        }
    }

    /// Applies pending migrations the way `broker migrate` does and returns their names (for PostgreSQL
    /// with the same long lease timeout as ``open(sync:leaseTimeout:)``).
    func migrate() async throws -> [String] {
        switch location {
        case .sqlite:
            try await migrateStore(for: configuration(sync: .normal), logger: Self.logger)
        case .postgres(let location):
            try await PostgresStore.migrate(
                location: location,
                configuration: configuration(sync: .normal),
                logger: Self.logger(for: location),
                leaseTimeout: .seconds(30)
            )
        }
    }

    /// Opens a store, runs it while `body` runs, then stops it.
    @discardableResult
    func withStore<T: Sendable>(
        sync: SyncMode = .normal,
        _ body: @Sendable (any TestableStore) async throws -> T
    ) async throws -> T {
        let store = try open(sync: sync)
        return try await Self.running(store, body)
    }

    /// Runs `body` with a running store that has a short lease timeout, once it answers a ping.
    ///
    /// On a loaded machine such a short timeout can expire while the store starts (its migrations then
    /// fail, which stops it, as it should); that start is retried with a new store, a few times.
    func withStartedStore<T: Sendable>(
        leaseTimeout: Duration,
        _ body: @Sendable (any TestableStore) async throws -> T
    ) async throws -> T {
        for _ in 0..<5 {
            let store = try open(leaseTimeout: leaseTimeout)
            do {
                return try await Self.running(store) { store in
                    guard try await eventually(within: .seconds(10), { try await store.ping() }) else {
                        throw StartFailed()
                    }
                    return try await body(store)
                }
            } catch is StartFailed {
                continue
            }
        }
        throw StartFailed()
    }

    /// A store with a short lease timeout did not start.
    struct StartFailed: Error, CustomStringConvertible {
        /// The failure message.
        var description: String { "the store never started within its short lease timeout" }
    }

    /// Runs `store` while `body` runs, then cancels it and waits for it to stop.
    static func running<T: Sendable>(
        _ store: any TestableStore,
        _ body: @Sendable (any TestableStore) async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            do {
                let result = try await body(store)
                group.cancelAll()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}

/// A registration with the given address.
func newUser(_ email: String) -> NewUser {
    NewUser(name: "N", subname: "S", email: email, job: "J", passwordHash: "$2b$04$hash")
}

/// A welcome mail to the given address.
func mail(to email: String) -> NewMail {
    NewMail(to: email, from: "broker@localhost", subject: "Welcome", textBody: "pw", htmlBody: "<p>pw</p>")
}

import Foundation
import GRDB
import Logging

/// The embedded store: SQLite in WAL mode through GRDB.
///
/// GRDB rather than sqlite-nio because the group-committing writer must run a whole batch (BEGIN, many
/// statements, COMMIT) in one hop to the database thread with cached prepared statements; sqlite-nio
/// re-prepares every statement and hops to its thread pool once per statement. GRDB's `DatabasePool` also
/// gives WAL readers that never wait for the writer.
///
/// It owns the database pool and the ``StoreWriter``; every write goes through the writer. Its `run()` is the
/// writer's loop, stopped by the root service group's graceful shutdown.
final class SQLiteStore: Store {
    private let pool: DatabasePool
    private let writer: StoreWriter<Database>
    private let logger: Logger

    /// Opens (creating if needed) the database file, applies pending migrations and prepares the writer.
    init(path: String, configuration: StoreConfiguration, logger: Logger) throws {
        self.pool = try Self.openPool(path: path, sync: configuration.sync)
        try SQLiteMigrations.migrator.migrate(pool)
        self.logger = logger
        let pool = self.pool
        self.writer = StoreWriter(
            capacity: configuration.writerCapacity, maxBatchSize: configuration.maxBatchSize,
            commitDelay: configuration.commitDelay
        ) { batch in
            await Self.commit(batch, on: pool)
        }
    }

    /// Applies pending migrations to the database file and returns their names.
    static func migrate(path: String, configuration: StoreConfiguration, logger: Logger) throws -> [String] {
        let pool = try openPool(path: path, sync: configuration.sync)
        let migrator = SQLiteMigrations.migrator
        let before = try pool.read { try migrator.appliedIdentifiers($0) }
        try migrator.migrate(pool)
        let after = try pool.read { try migrator.appliedIdentifiers($0) }
        try pool.close()
        return migrator.migrations.filter { after.contains($0) && !before.contains($0) }
    }

    private static func openPool(path: String, sync: SyncMode) throws -> DatabasePool {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        let synchronous = sync == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        return try DatabasePool(path: path, configuration: config)
    }

    /// Runs the writer until graceful shutdown, then lets it commit what it accepted.
    func run() async throws {
        await writer.run()
    }

    /// The writer's counters, for tests.
    var writerStatistics: StoreWriter<Database>.Statistics {
        get async { await writer.statistics }
    }

    // MARK: - Writing

    /// Runs `work` in the next group commit; see ``StoreWriter/submit(_:)``.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.submit(work)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw Self.map(error, operation: "write")
        }
    }

    /// Commits one batch in one transaction: each job in its own savepoint (so one failing job rolls back
    /// alone), then every job is answered after the commit, or with the commit's error.
    private static func commit(_ batch: [WriteJob<Database>], on pool: DatabasePool) async {
        do {
            try await pool.writeWithoutTransaction { db in
                var answers: [@Sendable ((any Error)?) -> Void] = []
                answers.reserveCapacity(batch.count)
                do {
                    try db.inTransaction(.immediate) {
                        for job in batch {
                            var answer: (@Sendable ((any Error)?) -> Void)?
                            try db.inSavepoint {
                                let outcome = job.perform(db)
                                answer = outcome.answer
                                return outcome.failed ? .rollback : .commit
                            }
                            if let answer { answers.append(answer) }
                        }
                        return .commit
                    }
                } catch {
                    let failure = Self.map(error, operation: "commit")
                    for (index, job) in batch.enumerated() {
                        if index < answers.count { answers[index](failure) } else { job.fail(failure) }
                    }
                    return
                }
                for answer in answers { answer(nil) }
            }
        } catch {
            // The pool refused the access itself (closed, cancelled): nobody was answered yet.
            let failure = Self.map(error, operation: "commit")
            for job in batch { job.fail(failure) }
        }
    }

    /// Maps a database error to the store's error, keeping SQL and bound values out of it.
    static func map(_ error: any Error, operation: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? DatabaseError {
            if error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE,
                error.message?.contains("users.email_key") == true
            {
                return .uniqueViolation(.email)
            }
            if error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY { return .notFound }
            if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR {
                return .unavailable
            }
            return .failed(operation: operation, message: error.message ?? "\(error.resultCode)")
        }
        if error is CancellationError { return .unavailable }
        return .failed(operation: operation, message: String(describing: type(of: error)))
    }

    /// Runs a read on one of the pool's readers, which never wait for the writer.
    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.map(error, operation: operation)
        }
    }

    func ping() async throws {
        _ = try await read("ping") { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}

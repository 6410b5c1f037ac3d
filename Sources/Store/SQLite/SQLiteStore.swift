import Foundation
import GRDB
import Logging
import NIOCore

/// The embedded store: SQLite in WAL mode through GRDB.
///
/// GRDB rather than sqlite-nio because the group-committing writer must run a whole batch (BEGIN, many
/// statements, COMMIT) in one hop to the database thread with cached prepared statements; sqlite-nio
/// re-prepares every statement and hops to its thread pool once per statement. GRDB's `DatabasePool` also
/// gives WAL readers that never wait for the writer.
///
/// It owns the database pool and the ``GroupCommitWriter`` whose thread is the only one that writes; every write
/// goes through it. Its `run()` is the writer's, stopped by the root service group's graceful shutdown.
final class SQLiteStore: Store {
    private let pool: DatabasePool
    private let writer: GroupCommitWriter<SQLiteCommitter>
    private let checkpointer: SQLiteCheckpointer
    private let logger: Logger

    /// Opens (creating if needed) the database file, applies pending migrations and prepares the writer.
    init(path: String, configuration: StoreConfiguration, logger: Logger) throws {
        self.pool = try Self.openPool(path: path, sync: configuration.sync)
        try SQLiteMigrations.migrator.migrate(pool)
        self.logger = logger
        self.writer = GroupCommitWriter(
            name: "sqlite-writer",
            capacity: configuration.writerCapacity,
            maxBatchSize: configuration.maxBatchSize,
            commitDelay: configuration.commitDelay,
            committer: SQLiteCommitter(pool: pool)
        )
        self.checkpointer = try SQLiteCheckpointer(path: path)
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

    /// Copies the database at `path` to a new file `destination` with SQLite's online backup API (through
    /// GRDB), from one read transaction: a consistent copy, taken while a broker goes on writing, which only
    /// waits for the copy's pages. The copy is a database like any other: a broker opens it as it is.
    /// - Throws: ``ConfigurationError`` when `path` holds no database or `destination` exists already.
    static func backup(path: String, to destination: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError(message: "no database at \(path)")
        }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw ConfigurationError(message: "\(destination) exists already; a backup never overwrites a file")
        }
        var config = Configuration()
        config.busyMode = .timeout(5)
        let source = try DatabasePool(path: path, configuration: config)
        let copy = try DatabaseQueue(path: destination)
        try source.backup(to: copy)
        try copy.close()
        try source.close()
    }

    /// The size, in bytes, to which a rewound write-ahead log is truncated: the ``SQLiteCheckpointer``'s rewind
    /// point (64 MiB), so that a log at its usual length is reused rather than grown again.
    static let journalSizeLimit = 64 << 20

    /// The pool of connections to the database file at `path`, configured as the store uses it.
    static func openPool(path: String, sync: SyncMode) throws -> DatabasePool {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        let synchronous = sync == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Checkpoints run on the checkpointer's own connection, never inside a commit.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // A log rewound by the checkpointer is cut back to this size (SQLiteCheckpointer).
            try db.execute(sql: "PRAGMA journal_size_limit = \(Self.journalSizeLimit)")
        }
        return try DatabasePool(path: path, configuration: config)
    }

    /// Runs the writer (and the checkpointer beside it) until graceful shutdown, then lets it commit what it
    /// accepted.
    func run() async throws {
        checkpointer.start()
        await writer.run()
        checkpointer.stop()
    }

    /// The writer's counters, for tests.
    var writerStatistics: GroupCommitWriter<SQLiteCommitter>.Statistics {
        get async { writer.statistics }
    }

    // MARK: - Writing

    /// Runs `work` in the next group commit and returns its result once that batch committed.
    /// - Throws: the work's own error (its changes are rolled back alone), the commit's error, or
    ///   ``StoreError/unavailable`` when the writer's intake is full or it is stopping.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let job = Self.job(work, loop: nil, isolated: true) { continuation.resume(with: $0) }
                do {
                    try writer.submit(job)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.map(error, operation: "write")
        }
    }

    /// Runs `work` in the next group commit without suspending the caller: `completion` runs on `loop` once
    /// the batch committed (or failed), answered together with the batch's other calls for that loop. The work
    /// runs without a savepoint of its own (see ``WriteJob/isolated``): it must turn its expected failures into
    /// results instead of throwing.
    func write<T: Sendable>(
        on loop: any EventLoop,
        _ work: @escaping @Sendable (Database) throws -> T,
        completion: @escaping @Sendable (Result<T, StoreError>) -> Void
    ) {
        let job = Self.job(work, loop: loop, isolated: false) { result in
            completion(result.mapError { Self.map($0, operation: "write") })
        }
        do {
            try writer.submit(job)
        } catch {
            loop.execute { completion(.failure(error)) }
        }
    }

    private static func job<T: Sendable>(
        _ work: @escaping @Sendable (Database) throws -> T,
        loop: (any EventLoop)?,
        isolated: Bool,
        answer: @escaping @Sendable (Result<T, any Error>) -> Void
    ) -> WriteJob<Database> {
        WriteJob<Database>(
            perform: { session in
                let result = Result { try work(session) }
                let failed = if case .failure = result { true } else { false }
                return (
                    failed,
                    { commitError in
                        if let commitError {
                            answer(.failure(commitError))
                        } else {
                            answer(result)
                        }
                    }
                )
            },
            fail: { answer(.failure($0)) },
            loop: loop,
            isolated: isolated
        )
    }

    /// Rolls back a batch whose job without a savepoint failed.
    struct BatchAborted: Error {}

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

    /// Runs a read of a single statement on one of the pool's readers, outside a transaction: one statement reads
    /// one snapshot by itself, and the BEGIN and COMMIT that ``read(_:_:)`` puts around its body are parsed anew by
    /// GRDB on every call, which on the socket-open path (token, user, contacts, missed messages) cost more than
    /// the statements. Bodies of more than one statement use ``read(_:_:)``.
    func readOne<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.unsafeRead(body)
        } catch {
            throw Self.map(error, operation: operation)
        }
    }

    func ping() async throws {
        _ = try await read("ping") { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    func outboxDepth() async throws -> Int {
        try await read("outboxDepth") { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM mails WHERE status = 'pending'") ?? 0
        }
    }

    func notificationQueueUsage() async throws -> Double? { nil }
}

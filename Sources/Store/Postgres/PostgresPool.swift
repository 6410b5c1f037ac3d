import Logging
import PostgresNIO
import Synchronization

/// The store's way into PostgreSQL: the client's connection pool, with a deadline on getting a connection,
/// transactions that never hand a connection back in an unknown state, and every error mapped to
/// ``StoreError``.
///
/// The deadline exists because the pool, when the server is down, keeps requests queued while it retries
/// (for up to a minute before its circuit breaker trips); a store caller must hear ``StoreError/unavailable``
/// promptly instead. Only the wait for a connection is bounded: a statement that already runs is left to
/// finish, because its outcome (a commit, say) must not be reported as a failure.
///
/// It owns nothing that needs stopping: the ``PostgresStore`` runs and stops the client.
struct PostgresPool: Sendable {
    /// The pooled client; its `run()` must be running for anything to happen.
    let client: PostgresClient
    /// Where statements log (at the client's own levels; never with bound values).
    let logger: Logger
    /// How long an operation waits for a connection before failing with ``StoreError/unavailable``.
    let leaseTimeout: Duration

    /// Runs `body` on a pooled connection.
    /// - Throws: ``StoreError``: ``StoreError/unavailable`` when no connection came within ``leaseTimeout``
    ///   or the connection broke, otherwise the mapping of ``map(_:operation:connected:)``.
    func withConnection<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let lease = LeaseFlag()
        let client = self.client
        let leaseTimeout = self.leaseTimeout
        do {
            return try await withThrowingTaskGroup(of: LeaseOutcome<T>.self) { group in
                group.addTask {
                    .finished(
                        try await client.withConnection { connection in
                            lease.markLeased()
                            return try await body(connection)
                        }
                    )
                }
                group.addTask {
                    try? await Task.sleep(for: leaseTimeout)
                    return .deadlinePassed
                }
                while let outcome = try await group.next() {
                    switch outcome {
                    case .finished(let value):
                        group.cancelAll()
                        return value
                    case .deadlinePassed:
                        // Cancelling withdraws the pending lease request; a body already running goes on.
                        if !lease.isLeased { group.cancelAll() }
                    }
                }
                throw StoreError.unavailable
            }
        } catch {
            throw Self.map(error, operation: operation, connected: lease.isLeased)
        }
    }

    /// Runs `body` inside `BEGIN` … `COMMIT` on one pooled connection; rolls back when `body` throws.
    ///
    /// A connection whose rollback failed is closed rather than returned to the pool, so no later caller
    /// inherits an aborted transaction.
    /// - Throws: as ``withConnection(_:_:)``; a failed `COMMIT` (the transaction's outcome then is the
    ///   server's) is reported like any other error, and for messages the caller's retry with the same
    ///   `client_id` is safe.
    func withTransaction<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await withConnection(operation) { connection in
            try await connection.query("BEGIN", logger: logger)
            let value: T
            do {
                value = try await body(connection)
            } catch {
                do {
                    try await connection.query("ROLLBACK", logger: logger)
                } catch {
                    try? await connection.close()
                }
                throw error
            }
            try await connection.query("COMMIT", logger: logger)
            return value
        }
    }

    /// Runs one statement and decodes every row it returns.
    func fetch<Row: Sendable>(
        _ operation: String, _ query: PostgresQuery, _ decode: @escaping @Sendable (PostgresRow) throws -> Row
    ) async throws -> [Row] {
        let logger = self.logger
        return try await withConnection(operation) { connection in
            var rows: [Row] = []
            for try await row in try await connection.query(query, logger: logger) {
                rows.append(try decode(row))
            }
            return rows
        }
    }

    /// Runs one statement that returns no rows of interest.
    func execute(_ operation: String, _ query: PostgresQuery) async throws {
        let logger = self.logger
        try await withConnection(operation) { connection in
            try await connection.query(query, logger: logger)
            return ()
        }
    }

    /// Maps anything PostgresNIO or the pool throws to the store's error, keeping SQL and bound values out.
    ///
    /// Unique violations are told apart by constraint name; a failed foreign key is ``StoreError/notFound``;
    /// lost connections, a closed pool, cancellation, server shutdown or overload, serialization failures
    /// and deadlocks are ``StoreError/unavailable`` (each is safe to retry); and any error raised before a
    /// connection was leased (the pool's circuit breaker, a refused connection) is too.
    static func map(_ error: any Error, operation: String, connected: Bool) -> StoreError {
        if let error = error as? StoreError { return error }
        if error is CancellationError { return .unavailable }
        guard let error = error as? PSQLError else {
            return connected ? .failed(operation: operation, message: String(describing: type(of: error))) : .unavailable
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let constraint = error.serverInfo?[.constraintName]
            switch state {
            case "23505" where constraint == "users_email_key":
                return .uniqueViolation(.email)
            case "23503":
                return .notFound
            case "40001", "40P01", "53300", "55P03", "57014":
                return .unavailable
            case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53"):
                return .unavailable
            default:
                let subject = constraint.map { " (\($0))" } ?? ""
                return .failed(operation: operation, message: "SQLSTATE \(state)\(subject)")
            }
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .queryCancelled,
            .uncleanShutdown:
            return .unavailable
        default:
            return connected ? .failed(operation: operation, message: error.code.description) : .unavailable
        }
    }
}

/// What finished first in ``PostgresPool/withConnection(_:_:)``: the operation or its lease deadline.
private enum LeaseOutcome<T: Sendable>: Sendable {
    /// The operation returned.
    case finished(T)
    /// The deadline for getting a connection passed (or the caller was cancelled).
    case deadlinePassed
}

/// Whether an operation got its connection yet; set by the operation, read by its deadline.
private final class LeaseFlag: Sendable {
    /// Set once the pool handed out the connection.
    private let leased = Atomic<Bool>(false)

    /// Records that the pool handed out the connection.
    func markLeased() { leased.store(true, ordering: .releasing) }

    /// Whether the pool handed out the connection.
    var isLeased: Bool { leased.load(ordering: .acquiring) }
}

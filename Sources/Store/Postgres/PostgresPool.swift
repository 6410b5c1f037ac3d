import Logging
import PostgresNIO
import Synchronization

/// The store's way into PostgreSQL: the client's connection pool, with a watchdog on every operation,
/// transactions that never hand a connection back in an unknown state, and every error mapped to
/// ``StoreError``.
///
/// The watchdog exists for two reasons. When the server is down the pool keeps requests queued while it
/// retries (for up to a minute before its circuit breaker trips); a store caller must hear
/// ``StoreError/unavailable`` promptly instead. And with PostgresNIO 1.33.2 a statement written to a
/// connection that is just closing (the server ended it, or the network did) can wait forever: its query
/// promise is dropped with the channel's handlers. So an operation runs in a task of its own, and its
/// caller waits for an outcome that either that task or the watchdog provides: the watchdog withdraws a
/// connection request that is not served within ``leaseTimeout`` and gives up on an operation whose
/// connection has closed, answering ``StoreError/unavailable`` (a statement that merely runs long on a
/// live connection is left to finish, because its outcome, a commit say, must not be reported as a failure).
///
/// It owns nothing that needs stopping: the ``PostgresStore`` runs and stops the client.
struct PostgresPool: Sendable {
    /// The pooled client; its `run()` must be running for anything to happen.
    let client: PostgresClient
    /// Where statements log (at the client's own levels; never with bound values).
    let logger: Logger
    /// How long an operation waits for a connection before failing with ``StoreError/unavailable``; also
    /// how often the watchdog looks at a running operation's connection.
    let leaseTimeout: Duration

    /// Runs `body` on a pooled connection.
    ///
    /// The operation and its watchdog are unstructured tasks on purpose: a child of a task group cannot be
    /// abandoned, and abandoning is the only way out of a statement that will never be answered. Both are
    /// bounded: the watchdog ends with the outcome, and the operation ends with its statement (or, in the
    /// rare case above, stays parked on a closed connection that the pool has already written off).
    /// - Throws: ``StoreError``: ``StoreError/unavailable`` when no connection came within ``leaseTimeout``
    ///   or the connection broke, otherwise the mapping of ``map(_:operation:connected:)``.
    func withConnection<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let attempt = ConnectionAttempt<T>()
        let client = self.client
        let leaseTimeout = self.leaseTimeout
        // Unstructured on purpose (see above): ended by its statement, or abandoned with a connection the pool
        // wrote off.
        let work = Task {
            do {
                let value = try await client.withConnection { connection in
                    // A request served after its caller was answered must not run the caller's writes.
                    guard attempt.lease(connection) else { throw StoreError.unavailable }
                    return try await body(connection)
                }
                attempt.resolve(.success(value))
            } catch {
                attempt.resolve(.failure(error))
            }
        }
        let logger = self.logger
        // Unstructured on purpose: it must outlive nothing, and ends with the outcome (cancelled below).
        let watchdog = Task {
            var withdrawn = false
            while true {
                do { try await Task.sleep(for: leaseTimeout) } catch { return }  // cancelled: the outcome is known
                if let connection = attempt.connection {
                    if connection.isClosed {
                        logger.notice("gave up on a statement whose connection closed", metadata: ["operation": "\(operation)"])
                        attempt.abandon()
                    }
                } else if withdrawn {
                    logger.notice("gave up on a connection request the pool kept", metadata: ["operation": "\(operation)"])
                    attempt.abandon()
                } else {
                    withdrawn = true
                    work.cancel()  // withdraws the connection request; the operation then fails by itself
                }
            }
        }
        defer { watchdog.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await attempt.outcome()
            } onCancel: {
                work.cancel()
            }
        } catch {
            throw Self.map(error, operation: operation, connected: attempt.connection != nil)
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
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
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
        _ operation: String,
        _ query: PostgresQuery,
        _ decode: @escaping @Sendable (PostgresRow) throws -> Row
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
    /// connection was leased (the pool's circuit breaker, a refused connection) is too, except a failed TLS
    /// handshake or a server that refuses required TLS: ``StoreError/failed(operation:message:)`` saying why
    /// (retrying does not help until the settings or the server's certificate change).
    static func map(_ error: any Error, operation: String, connected: Bool) -> StoreError {
        if let error = error as? StoreError { return error }
        if error is CancellationError { return .unavailable }
        if !connected, let failure = PostgresTLS.failure(in: error) {
            return .failed(operation: operation, message: failure)
        }
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

/// One operation of ``PostgresPool/withConnection(_:_:)``: the connection it was given, and its outcome,
/// settled once, by the operation or by its watchdog.
private final class ConnectionAttempt<T: Sendable>: Sendable {
    /// What is known so far.
    private struct State {
        /// The leased connection, once the pool handed one out.
        var connection: PostgresConnection?
        /// The outcome, once settled.
        var outcome: Result<T, any Error>?
        /// The caller, while it waits for the outcome.
        var waiter: CheckedContinuation<T, any Error>?
    }

    /// The state, behind a lock.
    private let state = Locked(State())

    /// Creates an attempt with nothing known yet.
    init() {}

    /// Records the leased connection; `false` when the caller was already answered (the body must not run).
    func lease(_ connection: PostgresConnection) -> Bool {
        state.withLock { state in
            guard state.outcome == nil else { return false }
            state.connection = connection
            return true
        }
    }

    /// The leased connection, if any.
    var connection: PostgresConnection? { state.withLock { $0.connection } }

    /// Settles the outcome (only the first call counts) and answers a waiting caller.
    func resolve(_ outcome: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: outcome)
    }

    /// Gives up on the operation: its caller hears ``StoreError/unavailable``.
    func abandon() { resolve(.failure(StoreError.unavailable)) }

    /// Waits for the outcome.
    func outcome() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let settled = state.withLock { state -> Result<T, any Error>? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let settled { continuation.resume(with: settled) }
        }
    }
}

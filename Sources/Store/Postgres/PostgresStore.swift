import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The production store: PostgreSQL through PostgresNIO's pooled `PostgresClient`; several brokers on one
/// database form one service.
///
/// It owns the client (its pool), the ``GroupCommitWriter`` (with a ``PostgresCommitter``) that group-commits messages, and the
/// ``SchemaGate`` that holds operations back until the schema is up to date. Its `run()` migrates, then
/// runs the client and the writer until the root service group's graceful shutdown (or cancellation)
/// stops it. Users, tokens, read marks and mails are one statement or one short transaction each, straight
/// through the pool; only messages, the hot path, are batched.
///
/// Every statement binds its values (`PostgresQuery` turns each interpolation into a `$n` parameter); the
/// only SQL put together from strings is made of constants.
final class PostgresStore: Store {
    /// The advisory lock key every message batch takes before it assigns ids (an arbitrary constant that
    /// only this store uses); see ``commitMessages(_:origin:in:)`` for why ids then follow commit order.
    static let messageOrderLockKey: Int64 = 0x6272_6F6B_6572_0002  // "broker" + 2

    /// The connection pool with deadlines and error mapping.
    let pool: PostgresPool
    /// The group-committing writer of messages.
    let writer: GroupCommitWriter<PostgresCommitter>
    /// Holds operations back until the migrations ran.
    let schema = SchemaGate()
    /// Set by the first `run()`: the client can run only once (PostgresNIO traps on a second `run()`).
    private let hasRun = Atomic<Bool>(false)
    /// Where the store and its services log.
    private let logger: Logger
    /// The cluster channel on this database.
    let bus: PostgresClusterBus

    /// Prepares the store without touching the network: the connections open, and the migrations run, once
    /// `run()` runs.
    /// - Parameters:
    ///   - location: the server and database.
    ///   - configuration: durability (``SyncMode/normal`` turns `synchronous_commit` off for this store's
    ///     sessions; ``SyncMode/full`` keeps the server's setting), writer capacity and batch size.
    ///   - logger: where the store and the client's background work log.
    ///   - leaseTimeout: how long an operation waits for a connection before failing with
    ///     ``StoreError/unavailable``.
    ///   - maximumConnections: the most connections the pool opens (PostgresNIO's default is 20).
    /// - Throws: ``ConfigurationError`` when the location's TLS settings cannot be used (see ``PostgresTLS``).
    init(
        location: PostgresLocation,
        configuration: StoreConfiguration,
        logger: Logger,
        leaseTimeout: Duration = .seconds(5),
        maximumConnections: Int = 20
    ) throws {
        let tls = try PostgresTLS(for: location)
        var settings = Self.clientConfiguration(
            for: location,
            tls: tls,
            sync: configuration.sync,
            connectTimeout: leaseTimeout
        )
        settings.options.maximumConnections = max(1, maximumConnections)
        let client = PostgresClient(configuration: settings, backgroundLogger: logger)
        let pool = PostgresPool(client: client, logger: logger, leaseTimeout: leaseTimeout)
        self.pool = pool
        self.logger = logger
        let node = configuration.node
        self.bus = PostgresClusterBus(
            node: node,
            location: location,
            tls: tls,
            pool: pool,
            logger: logger,
            schema: schema
        )
        self.writer = GroupCommitWriter(
            name: "pg-writer",
            capacity: configuration.writerCapacity,
            maxBatchSize: configuration.maxBatchSize,
            commitDelay: configuration.commitDelay,
            committer: PostgresCommitter { drafts in
                try await Self.commitMessages(drafts, origin: node.instance, in: pool)
            }
        )
    }

    /// Applies pending migrations with a short-lived client (`broker migrate`) and returns their names.
    /// - Throws: ``ConfigurationError`` when the location's TLS settings cannot be used; ``StoreError``;
    ///   ``StoreError/unavailable`` when the server cannot be reached.
    static func migrate(
        location: PostgresLocation,
        configuration: StoreConfiguration,
        logger: Logger,
        leaseTimeout: Duration = .seconds(5)
    ) async throws -> [String] {
        var settings = clientConfiguration(
            for: location,
            tls: try PostgresTLS(for: location),
            sync: configuration.sync,
            connectTimeout: leaseTimeout
        )
        settings.options.maximumConnections = 1
        let client = PostgresClient(configuration: settings, backgroundLogger: logger)
        let pool = PostgresPool(client: client, logger: logger, leaseTimeout: leaseTimeout)
        let (clientStarted, announce) = AsyncStream.makeStream(of: Void.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await RunningClient(client: client, started: announce).run() }
            defer { group.cancelAll() }  // cancelling run() closes the pool
            for await _ in clientStarted {}
            return try await PostgresMigrations.apply(in: pool)
        }
    }

    /// The client's settings: the location's TLS (see ``PostgresTLS``), an `application_name` for the
    /// server's views, and `synchronous_commit=off` in ``SyncMode/normal``.
    static func clientConfiguration(
        for location: PostgresLocation,
        tls: PostgresTLS,
        sync: SyncMode,
        connectTimeout: Duration
    ) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: tls.clientTLS
        )
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = [("application_name", "broker")]
        if sync == .normal {
            configuration.options.additionalStartupParameters.append(("synchronous_commit", "off"))
        }
        return configuration
    }

    /// Migrates, then runs the client and the message writer until graceful shutdown or cancellation.
    ///
    /// The two run in a nested `ServiceGroup` (a task group that forwards graceful shutdown in reverse start
    /// order) rather than a bare task group: `PostgresClient.run()` cancels itself, closing the pool, the
    /// moment graceful shutdown reaches it, so it must hear of it only after the writer has committed what it
    /// accepted and returned. Afterwards every operation fails with ``StoreError/unavailable``.
    /// - Throws: ``StoreError/unavailable`` when the migrations could not reach the database, or when called
    ///   a second time (a stopped store is not restarted; make a new one).
    func run() async throws {
        guard hasRun.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else {
            throw StoreError.unavailable
        }
        let (clientStarted, announce) = AsyncStream.makeStream(of: Void.self)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: RunningClient(client: pool.client, started: announce)),  // stopped last
                    .init(service: RunningCommitter(committer: writer.committer)),  // stopped after the writer
                    .init(service: SchemaAndWriter(store: self, clientStarted: clientStarted)),
                ],
                logger: logger
            )
        )
        defer { schema.close(with: .unavailable) }
        do {
            try await services.run()
        } catch {
            writer.close(failingWith: .unavailable)
            throw error
        }
        writer.close(failingWith: .unavailable)
    }

    /// The writer's counters, for tests and metrics.
    var writerStatistics: GroupCommitWriter<PostgresCommitter>.Statistics {
        get async { writer.statistics }
    }

    /// The `LISTEN`/`NOTIFY` channel shared by the brokers on this database.
    var clusterBus: (any ClusterBus)? { bus }

    /// Checks that the database answers.
    func ping() async throws {
        try await execute("ping", "SELECT 1")
    }

    func outboxDepth() async throws -> Int {
        let count = try await fetch(
            "outboxDepth",
            "SELECT count(*) FROM mails WHERE status = 'pending'",
            { try $0.decode(Int64.self) }
        )
        return Int(count.first ?? 0)
    }

    func notificationQueueUsage() async throws -> Double? {
        try await fetch("notificationQueueUsage", "SELECT pg_notification_queue_usage()", { try $0.decode(Double.self) }).first
    }

    // MARK: - Access through the schema gate

    /// Runs `body` on a pooled connection once the schema is up to date.
    func withConnection<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await schema.wait()
        return try await pool.withConnection(operation, body)
    }

    /// Runs `body` in one transaction once the schema is up to date.
    func withTransaction<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await schema.wait()
        return try await pool.withTransaction(operation, body)
    }

    /// Runs one statement and decodes its rows once the schema is up to date.
    func fetch<Row: Sendable>(
        _ operation: String,
        _ query: PostgresQuery,
        _ decode: @escaping @Sendable (PostgresRow) throws -> Row
    ) async throws -> [Row] {
        try await schema.wait()
        return try await pool.fetch(operation, query, decode)
    }

    /// Runs one statement without rows of interest once the schema is up to date.
    func execute(_ operation: String, _ query: PostgresQuery) async throws {
        try await schema.wait()
        try await pool.execute(operation, query)
    }
}

extension PostgresStore {
    /// The store's first service: the client's `run()`, announced just before it starts, so that nothing
    /// asks the pool for a connection earlier (PostgresNIO logs a warning for each such lease).
    fileprivate struct RunningClient: Service {
        /// The client to run.
        let client: PostgresClient
        /// Finished right before the client runs.
        let started: AsyncStream<Void>.Continuation

        /// Announces the start, then runs the client until graceful shutdown or cancellation.
        func run() async {
            started.finish()
            await client.run()
        }
    }

    /// The loop that commits the writer's batches (``PostgresCommitter/run()``), until graceful shutdown reaches
    /// it, after the writer has stopped.
    fileprivate struct RunningCommitter: Service {
        /// The committer to run.
        let committer: PostgresCommitter

        /// Runs the committer until graceful shutdown or cancellation.
        func run() async {
            await cancelWhenGracefulShutdown { await committer.run() }
        }
    }

    /// The store's third service: brings the schema up to date, opens the gate, then runs the writer.
    /// When the migrations fail, it fails every waiting operation with their error and throws it, which
    /// stops the store (and, in `broker serve`, the process, for its supervisor to restart).
    fileprivate struct SchemaAndWriter: Service {
        /// The store being started.
        let store: PostgresStore
        /// Ends once the client runs (or when this service is cancelled first).
        let clientStarted: AsyncStream<Void>

        /// Waits for the client, migrates, opens the gate and runs the writer until graceful shutdown.
        func run() async throws {
            for await _ in clientStarted {}
            do {
                _ = try await PostgresMigrations.apply(in: store.pool)
            } catch {
                let failure = PostgresPool.map(error, operation: "migrate", connected: true)
                store.schema.close(with: failure)
                store.writer.close(failingWith: failure)
                throw failure
            }
            store.schema.open()
            await store.writer.run()
        }
    }
}

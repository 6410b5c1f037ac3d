import Foundation

/// How durably a commit is made before it is acknowledged.
package enum SyncMode: String, Sendable, CaseIterable {
    /// Every commit is on disk (fsync) before anyone is answered; survives power loss.
    case full
    /// Commits survive a killed process but not a power loss.
    case normal
}

/// Where and how to open the store, parsed from `BROKER_DATABASE_URL` and `BROKER_SYNC`.
package struct StoreConfiguration: Sendable, Hashable {
    /// The database engine and its location.
    package enum Backend: Sendable, Hashable {
        /// An embedded SQLite database file.
        case sqlite(path: String)
        /// A PostgreSQL server; several brokers on one database form one service.
        case postgres(PostgresLocation)
    }

    /// Engine and location.
    package var backend: Backend
    /// Commit durability.
    package var sync: SyncMode
    /// Most writes waiting for the writer before new ones are refused with ``StoreError/unavailable``.
    package var writerCapacity: Int
    /// Most writes committed in one transaction.
    package var maxBatchSize: Int
    /// How long the writer lets a small batch gather more writes before committing it (PostgreSQL's
    /// `commit_delay`): one fsync then serves several writers even when writes arrive one by one. Zero commits
    /// each batch as soon as the previous one is done.
    package var commitDelay: Duration = .microseconds(1_000)
    /// This process in the service (its message feed and control events carry the instance id).
    package var node = ClusterNode(name: ProcessInfo.processInfo.hostName)

    /// Creates a configuration.
    package init(backend: Backend, sync: SyncMode = .full, writerCapacity: Int = 16_384, maxBatchSize: Int = 1_024) {
        self.backend = backend
        self.sync = sync
        self.writerCapacity = writerCapacity
        self.maxBatchSize = maxBatchSize
    }

    /// Parses a database URL: `sqlite://RELATIVE/OR/ABSOLUTE/PATH` (`sqlite://./data/broker.sqlite`,
    /// `sqlite:///var/lib/broker.sqlite`), or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
    /// (`postgresql://` too; see ``PostgresLocation/init(url:)``).
    /// - Throws: ``ConfigurationError`` for an unknown scheme, an empty path or a malformed PostgreSQL URL.
    package init(url: String, sync: SyncMode = .full) throws {
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw ConfigurationError(message: "BROKER_DATABASE_URL has no path: \(url)") }
            self.init(backend: .sqlite(path: path), sync: sync)
        } else if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            self.init(backend: .postgres(try PostgresLocation(url: url)), sync: sync)
        } else {
            throw ConfigurationError(message: "BROKER_DATABASE_URL must start with sqlite://, postgres:// or postgresql://")
        }
    }
}

/// A setting that cannot be used, with a message for the operator.
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    package var message: String
    /// Creates the error.
    package init(message: String) { self.message = message }
    package var description: String { message }
}

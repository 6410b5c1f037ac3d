import Foundation
import Logging

/// Opens the configured store; the only way out of this module to a backend.
///
/// SQLite applies pending migrations here; PostgreSQL applies them at the start of the store's `run()`
/// (they need its connection pool running), holding every operation back until they are done. The caller
/// runs the returned store (it is a `Service`) for writes to complete.
/// - Throws: ``ConfigurationError`` when the store cannot be opened as configured (for PostgreSQL, TLS settings
///   whose `sslrootcert` cannot be read), or the SQLite store's errors.
package func makeStore(for configuration: StoreConfiguration, logger: Logger) throws -> any Store {
    switch configuration.backend {
    case .sqlite(let path):
        return try SQLiteStore(path: path, configuration: configuration, logger: logger)
    case .postgres(let location):
        return try PostgresStore(location: location, configuration: configuration, logger: logger)
    }
}

/// Applies pending migrations without starting a store (`broker migrate`).
/// - Returns: the names of the migrations applied now.
package func migrateStore(for configuration: StoreConfiguration, logger: Logger) async throws -> [String] {
    switch configuration.backend {
    case .sqlite(let path):
        return try SQLiteStore.migrate(path: path, configuration: configuration, logger: logger)
    case .postgres(let location):
        return try await PostgresStore.migrate(location: location, configuration: configuration, logger: logger)
    }
}

/// Writes a consistent copy of the SQLite database to the new file `destination` while brokers may be serving
/// from it (`broker backup FILE`).
/// - Throws: ``ConfigurationError`` on PostgreSQL, whose own tools do this (`pg_dump`, base backups with WAL
///   archiving), or when the copy cannot be made as asked.
package func backupStore(for configuration: StoreConfiguration, to destination: String) throws {
    switch configuration.backend {
    case .sqlite(let path):
        try SQLiteStore.backup(path: path, to: destination)
    case .postgres:
        throw ConfigurationError(
            message: "broker backup copies a SQLite database; on PostgreSQL use pg_dump or a base backup (docs/operations.md)"
        )
    }
}

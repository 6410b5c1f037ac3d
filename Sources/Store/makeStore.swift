import Foundation
import Logging

/// Opens the configured store and brings its schema up to date; the only way out of this module to a backend.
///
/// The caller runs the returned store (it is a `Service`) for writes to complete.
package func makeStore(for configuration: StoreConfiguration, logger: Logger) throws -> any Store {
    switch configuration.backend {
    case .sqlite(let path):
        return try SQLiteStore(path: path, configuration: configuration, logger: logger)
    }
}

/// Applies pending migrations without starting a store (`broker migrate`).
/// - Returns: the names of the migrations applied now.
package func migrateStore(for configuration: StoreConfiguration, logger: Logger) throws -> [String] {
    switch configuration.backend {
    case .sqlite(let path):
        return try SQLiteStore.migrate(path: path, configuration: configuration, logger: logger)
    }
}

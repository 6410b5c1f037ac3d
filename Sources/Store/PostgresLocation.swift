import Foundation

/// Where a PostgreSQL store lives, parsed from `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable]`.
///
/// Its `description` never shows the password, so the value can be logged.
package struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address of the server.
    package var host: String
    /// TCP port of the server; 5432 when the URL names none.
    package var port: Int
    /// Role to connect as.
    package var username: String
    /// Password of the role, if the server asks for one.
    package var password: String?
    /// Database to open.
    package var database: String

    /// Creates a location.
    package init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `postgres://` or `postgresql://` URLs. User name and password may be percent-encoded; the
    /// database defaults to the user name (as libpq does); the only query parameter understood is `sslmode`,
    /// and only `disable` (the default), because this build connects without TLS.
    /// - Throws: ``ConfigurationError`` naming what is wrong, never echoing the password.
    package init(url: String) throws {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw ConfigurationError(message: "BROKER_DATABASE_URL is not a postgres://USER@HOST[:PORT]/DATABASE URL")
        }
        var host = components.host ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConfigurationError(message: "BROKER_DATABASE_URL names no PostgreSQL host") }
        guard let username = components.user, !username.isEmpty else {
            throw ConfigurationError(message: "BROKER_DATABASE_URL names no PostgreSQL user (postgres://USER@HOST/DATABASE)")
        }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else {
            throw ConfigurationError(message: "BROKER_DATABASE_URL has an invalid PostgreSQL port")
        }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        guard !database.contains("/") else {
            throw ConfigurationError(message: "BROKER_DATABASE_URL has an invalid PostgreSQL database name")
        }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard item.value == "disable" else {
                    throw ConfigurationError(
                        message: "BROKER_DATABASE_URL: only sslmode=disable is supported by this build"
                    )
                }
            default:
                throw ConfigurationError(message: "BROKER_DATABASE_URL: unknown parameter \(item.name)")
            }
        }
        self.init(
            host: host, port: port, username: username,
            password: components.password.flatMap { $0.isEmpty ? nil : $0 },
            database: database.isEmpty ? username : database
        )
    }

    /// The URL without its password, for logs and error messages.
    package var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)\(password == nil ? "" : ":***")@\(shownHost):\(port)/\(database)"
    }
}

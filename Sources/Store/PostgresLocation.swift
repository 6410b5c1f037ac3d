import Foundation

/// Where a PostgreSQL store lives, parsed from
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE]`.
///
/// Its `description` never shows the password, so the value can be logged.
package struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address of the server; with ``SSLMode/verifyFull`` the server's certificate must name it.
    package var host: String
    /// TCP port of the server; 5432 when the URL names none.
    package var port: Int
    /// Role to connect as.
    package var username: String
    /// Password of the role, if the server asks for one.
    package var password: String?
    /// Database to open.
    package var database: String
    /// Whether and how connections use TLS; ``SSLMode/prefer`` when the URL names none, as with libpq.
    package var sslMode: SSLMode
    /// Where the certificates of the certificate authorities to trust are (a PEM file), or
    /// ``systemTrustRoots`` for the operating system's; `nil` when the server's certificate is not verified.
    package var sslRootCertificate: String?

    /// The `sslrootcert` value that trusts the operating system's certificate authorities (as libpq 16 does).
    package static let systemTrustRoots = "system"

    /// Creates a location.
    package init(
        host: String,
        port: Int = 5432,
        username: String,
        password: String? = nil,
        database: String,
        sslMode: SSLMode = .prefer,
        sslRootCertificate: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificate = sslRootCertificate
    }

    /// Parses `postgres://` or `postgresql://` URLs. User name and password may be percent-encoded; the
    /// database defaults to the user name (as libpq does). The query parameters understood are `sslmode`
    /// (see ``SSLMode``; `prefer` when absent) and `sslrootcert` (a PEM file of trusted certificate
    /// authorities, or `system`); any other is refused. The certificate file is read when the store is
    /// made, not here.
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
        var sslMode: SSLMode?
        var sslRootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard sslMode == nil else { throw ConfigurationError(message: "BROKER_DATABASE_URL: sslmode is given twice") }
                sslMode = try SSLMode(parameter: item.value ?? "")
            case "sslrootcert":
                guard sslRootCertificate == nil else {
                    throw ConfigurationError(message: "BROKER_DATABASE_URL: sslrootcert is given twice")
                }
                guard let file = item.value, !file.isEmpty else {
                    throw ConfigurationError(message: "BROKER_DATABASE_URL: sslrootcert names no file")
                }
                sslRootCertificate = file
            default:
                throw ConfigurationError(message: "BROKER_DATABASE_URL: unknown parameter \(item.name)")
            }
        }
        self.init(
            host: host,
            port: port,
            username: username,
            password: components.password.flatMap { $0.isEmpty ? nil : $0 },
            database: database.isEmpty ? username : database,
            sslMode: try SSLMode.resolve(sslMode, rootCertificate: sslRootCertificate),
            sslRootCertificate: sslRootCertificate
        )
    }

    /// The URL without its password, for logs and error messages; TLS settings only when not the default.
    package var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        var parameters: [String] = []
        if sslMode != .prefer || sslRootCertificate != nil { parameters.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCertificate { parameters.append("sslrootcert=\(sslRootCertificate)") }
        let query = parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")
        return "postgres://\(username)\(password == nil ? "" : ":***")@\(shownHost):\(port)/\(database)\(query)"
    }
}

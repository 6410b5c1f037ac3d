extension PostgresLocation {
    /// The `sslmode` of a PostgreSQL URL: whether connections use TLS and what they check, following libpq
    /// where PostgresNIO allows.
    ///
    /// Without `sslrootcert` the weaker modes encrypt without checking the server's certificate (they protect
    /// against eavesdropping, not against an impostor); with it they check the certificate's chain, as libpq
    /// does when it finds a root certificate file, but not its host name.
    package enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plain connections only.
        case disable
        /// Accepted for libpq compatibility and treated as ``prefer``: libpq tries a plain connection first,
        /// PostgresNIO cannot, so this asks for TLS first and falls back to plain when the server refuses it.
        case allow
        /// TLS when the server offers it, plain when it refuses (the default). A server that accepts TLS but
        /// fails the handshake (a certificate that does not verify against `sslrootcert`) fails the connection:
        /// unlike libpq, there is no second, plain attempt.
        case prefer
        /// TLS or no connection.
        case require
        /// TLS, and the server's certificate chain must lead to a certificate authority of `sslrootcert`.
        case verifyCA = "verify-ca"
        /// As ``verifyCA``, and the certificate must name the host of the URL: a host name among its DNS
        /// names, an IP address among its IP addresses.
        case verifyFull = "verify-full"

        /// Parses the parameter's value.
        /// - Throws: ``ConfigurationError`` naming `sslmode` and the values it accepts.
        init(parameter value: String) throws {
            guard let mode = SSLMode(rawValue: value) else {
                let accepted = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError(
                    message: "BROKER_DATABASE_URL: sslmode must be one of \(accepted), not \"\(value)\""
                )
            }
            self = mode
        }

        /// The mode a URL asks for, checked against its `sslrootcert`: the verifying modes need one, and
        /// `sslrootcert=system` makes ``verifyFull`` the default and refuses weaker modes (as libpq 16 does: the
        /// public certificate authorities would vouch for anyone's certificate without the host name check).
        /// - Throws: ``ConfigurationError`` naming `sslmode` or `sslrootcert`.
        static func resolve(_ mode: SSLMode?, rootCertificate: String?) throws -> SSLMode {
            if rootCertificate == PostgresLocation.systemTrustRoots {
                guard mode == nil || mode == .verifyFull else {
                    throw ConfigurationError(
                        message: "BROKER_DATABASE_URL: sslrootcert=system needs sslmode=verify-full"
                    )
                }
                return .verifyFull
            }
            let mode = mode ?? .prefer
            if mode == .verifyCA || mode == .verifyFull, rootCertificate == nil {
                throw ConfigurationError(
                    message:
                        "BROKER_DATABASE_URL: sslmode=\(mode.rawValue) needs sslrootcert=FILE (the certificate authority "
                        + "to trust, PEM) or sslrootcert=system"
                )
            }
            return mode
        }
    }
}

import Foundation
import NIOSSL
import PostgresNIO

/// The TLS settings of every connection a ``PostgresStore`` opens (its pool's and its cluster listener's),
/// made once, when the store is made, from the location's `sslmode` and `sslrootcert`.
///
/// Making it reads the root certificate file, so a missing or unreadable file stops the broker at start-up
/// instead of failing its first query. It holds no connection and needs no stopping.
struct PostgresTLS: Sendable {
    /// Whether TLS is off, tried, or required.
    enum Use: Sendable, Hashable {
        /// Plain connections.
        case disable
        /// TLS when the server offers it.
        case prefer
        /// TLS or no connection.
        case require
    }

    /// Whether TLS is off, tried, or required.
    let use: Use
    /// What the handshake checks; `nil` for ``Use/disable``.
    let configuration: TLSConfiguration?
    /// The context built from ``configuration`` (for the listener's single connections); `nil` for ``Use/disable``.
    let context: NIOSSLContext?

    /// Builds the settings for `location`.
    /// - Throws: ``ConfigurationError`` naming `sslrootcert` when its file cannot be read or holds no PEM
    ///   certificate, or when the TLS library refuses the configuration.
    init(for location: PostgresLocation) throws {
        switch location.sslMode {
        case .disable:
            use = .disable
            configuration = nil
            context = nil
            return
        case .allow, .prefer:
            use = .prefer
        case .require, .verifyCA, .verifyFull:
            use = .require
        }
        // As libpq: no root certificate, no verification; with one, the chain is verified, and only
        // verify-full checks the host name too.
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.sslRootCertificate {
        case nil:
            configuration.certificateVerification = .none
        case PostgresLocation.systemTrustRoots?:
            configuration.trustRoots = .default
            configuration.certificateVerification = .fullVerification  // only with verify-full (see SSLMode)
        case let file?:
            configuration.trustRoots = .certificates(try Self.certificates(in: file))
            configuration.certificateVerification =
                location.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigurationError(message: "BROKER_DATABASE_URL: the TLS settings are refused: \(error)")
        }
        self.configuration = configuration
    }

    /// The certificates of a PEM file.
    /// - Throws: ``ConfigurationError`` naming `sslrootcert` and the file.
    private static func certificates(in file: String) throws -> [NIOSSLCertificate] {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ConfigurationError(message: "BROKER_DATABASE_URL: sslrootcert \(file) cannot be read")
        }
        let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(bytes))
        guard let certificates, !certificates.isEmpty else {
            throw ConfigurationError(message: "BROKER_DATABASE_URL: sslrootcert \(file) holds no PEM certificate")
        }
        return certificates
    }

    /// The setting for the pool (`PostgresClient`).
    var clientTLS: PostgresClient.Configuration.TLS {
        switch (use, configuration) {
        case (.prefer, let configuration?): .prefer(configuration)
        case (.require, let configuration?): .require(configuration)
        default: .disable
        }
    }

    /// The setting for a single connection (the cluster listener).
    var connectionTLS: PostgresConnection.Configuration.TLS {
        switch (use, context) {
        case (.prefer, let context?): .prefer(context)
        case (.require, let context?): .require(context)
        default: .disable
        }
    }

    /// Why a connection attempt failed, when TLS is the reason: the server refused TLS that was required, or
    /// the handshake failed (a certificate that does not verify, or does not name the host); `nil` otherwise.
    /// Never shows the password (TLS errors carry none).
    static func failure(in error: any Error) -> String? {
        var cause = error
        if let error = error as? PSQLError {
            if error.code == .sslUnsupported { return "the server does not accept TLS, which sslmode requires" }
            guard let underlying = error.underlying else { return nil }
            cause = underlying
        }
        switch cause {
        case NIOSSLError.handshakeFailed(let reason):
            return "TLS handshake failed: \(reason)"
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return "TLS handshake failed: the server's certificate does not name the host (\(error))"
        case let error as NIOSSLError:
            guard case .uncleanShutdown = error else { return "TLS failed: \(error)" }
            return nil
        default:
            return nil
        }
    }
}
